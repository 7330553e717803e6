// Package metrics is the gateway's monitoring surface: Prometheus counters,
// gauges and histograms, built on github.com/prometheus/client_golang and
// served at /metrics, and the health reports served at /healthz and /readyz.
//
// A [Registry] holds metric families; each package of the gateway registers
// the ones it updates, and the program wires a few more as functions read at
// scrape time ([Registry.GaugeFunc], [Registry.CounterFunc]). Every name is
// prefixed civisens_gateway_ by the caller, so that a grep of the code finds
// it. A new registry also holds the Go runtime's go_* families and the
// process's process_* families (resident memory, CPU seconds, open file
// descriptors), from client_golang's collectors.
//
// Latencies are histograms ([Registry.Histogram]) observed in seconds, as
// are distributions of sizes, with buckets chosen by the caller for what it
// measures; a dashboard derives quantiles from them with PromQL's
// histogram_quantile.
//
// Labels: a series is identified by its label values, in the order the
// family declared its label names. An empty label value is left out of the
// exposition, which Prometheus reads as "label absent" (as it reads
// label=""): the gateway uses it for the sensor label of readings from
// sensors that the register does not know, so that the number of series
// stays bounded by the register's size whatever a publisher sends.
//
// [Registry.ServeHTTP] serves the exposition through promhttp: the text
// format (version 0.0.4) unless the scraper asks for Prometheus's protobuf
// format, gzip-compressed when the scraper accepts it. A family that fails
// to collect is left out and counted in
// promhttp_metric_handler_errors_total; the others are still served.
//
// Registering a family twice, or with a metric or label name outside
// Prometheus's classic character set ([a-zA-Z_:][a-zA-Z0-9_:]*, no colon
// and no leading __ in label names), is a programming error and panics, as
// does passing the wrong number of label values.
package metrics

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// ContentType is the media type of the text exposition, which
// [Registry.ServeHTTP] serves to scrapers that ask for no other format:
// version 0.0.4, with names outside the classic character set (there are
// none) escaped with underscores.
const ContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

var nameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Registry holds metric families and writes them out. Its zero value is not
// usable; call [NewRegistry].
type Registry struct {
	reg     *prometheus.Registry
	handler http.Handler
}

// NewRegistry returns a registry that holds the go_* and process_*
// families, and promhttp_metric_handler_errors_total, and nothing else yet.
func NewRegistry() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Registry{
		reg: reg,
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			Registry:      reg, // counts failures in promhttp_metric_handler_errors_total
		}),
	}
}

// register checks the names and registers c.
func (r *Registry) register(name string, labels []string, c prometheus.Collector) {
	if !nameRe.MatchString(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for _, l := range labels {
		if !nameRe.MatchString(l) || strings.Contains(l, ":") || strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: invalid label name %q of %s", l, name))
		}
	}
	if err := r.reg.Register(c); err != nil {
		panic(fmt.Sprintf("metrics: %s: %v", name, err))
	}
}

// read returns the value of a counter or gauge.
func read(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return math.NaN()
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return math.NaN()
}

// Counter is a value that only goes up.
type Counter struct{ c prometheus.Counter }

// Inc adds one.
func (c *Counter) Inc() { c.c.Inc() }

// Add adds n.
func (c *Counter) Add(n uint64) { c.c.Add(float64(n)) }

// AddFloat adds d, a count of seconds or other fractional units; a
// negative d (or NaN) is ignored.
func (c *Counter) AddFloat(d float64) {
	if d > 0 {
		c.c.Add(d)
	}
}

// Value returns the current value.
func (c *Counter) Value() float64 { return read(c.c) }

// Counter registers a counter without labels.
func (r *Registry) Counter(name, help string) *Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	r.register(name, nil, c)
	return &Counter{c: c}
}

// CounterVec is a family of counters told apart by label values.
type CounterVec struct{ v *prometheus.CounterVec }

// CounterVec registers a counter family with the given label names.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.register(name, labels, emptyLabelsAbsent{v})
	return &CounterVec{v: v}
}

// With returns the counter of the given label values, in the order of the
// family's label names, creating it at zero.
func (v *CounterVec) With(values ...string) *Counter {
	return &Counter{c: v.v.WithLabelValues(values...)}
}

// Gauge is a value that goes up and down.
type Gauge struct{ g prometheus.Gauge }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.g.Set(v) }

// Add adds d, which may be negative.
func (g *Gauge) Add(d float64) { g.g.Add(d) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return read(g.g) }

// Gauge registers a gauge without labels.
func (r *Registry) Gauge(name, help string) *Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	r.register(name, nil, g)
	return &Gauge{g: g}
}

// GaugeFunc registers a gauge whose value is read from fn at each scrape.
// fn must be safe for concurrent use.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.register(name, nil, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// CounterFunc registers a counter whose value is read from fn at each scrape;
// fn must never return less than it did before, and be safe for concurrent
// use.
func (r *Registry) CounterFunc(name, help string, fn func() float64) {
	r.register(name, nil, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Histogram counts observations, a duration in seconds or another
// quantity, in cumulative buckets, and sums them: it is exposed as the
// series name_bucket{le="…"}, name_sum and name_count.
type Histogram struct{ o prometheus.Observer }

// Observe records v (seconds, for a duration).
func (h *Histogram) Observe(v float64) { h.o.Observe(v) }

// ObserveDuration records d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.o.Observe(d.Seconds()) }

// Histogram registers a histogram without labels. buckets are the
// buckets' upper bounds, strictly increasing (an +Inf bucket is added);
// nil means Prometheus's default, 5 ms to 10 s.
func (r *Registry) Histogram(name, help string, buckets []float64) *Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	r.register(name, nil, h)
	return &Histogram{o: h}
}

// HistogramVec is a family of histograms told apart by label values.
type HistogramVec struct{ v *prometheus.HistogramVec }

// HistogramVec registers a histogram family with the given buckets, as
// [Registry.Histogram], and label names; le is reserved for the buckets.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if slices.Contains(labels, "le") {
		panic(fmt.Sprintf("metrics: label name le of %s is reserved for the buckets", name))
	}
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	r.register(name, labels, emptyLabelsAbsent{v})
	return &HistogramVec{v: v}
}

// With returns the histogram of the given label values, in the order of the
// family's label names, creating it empty.
func (v *HistogramVec) With(values ...string) *Histogram {
	return &Histogram{o: v.v.WithLabelValues(values...)}
}

// emptyLabelsAbsent is a family whose series leave out the labels whose
// value is empty.
type emptyLabelsAbsent struct{ prometheus.Collector }

// Collect collects the family's series through a channel of its own, as
// client_golang's own wrapping collectors do.
func (c emptyLabelsAbsent) Collect(ch chan<- prometheus.Metric) {
	in := make(chan prometheus.Metric)
	go func() {
		c.Collector.Collect(in)
		close(in)
	}()
	for m := range in {
		ch <- emptyLabelsAbsentMetric{m}
	}
}

type emptyLabelsAbsentMetric struct{ prometheus.Metric }

func (m emptyLabelsAbsentMetric) Write(out *dto.Metric) error {
	if err := m.Metric.Write(out); err != nil {
		return err
	}
	empty := func(l *dto.LabelPair) bool { return l.GetValue() == "" }
	if slices.ContainsFunc(out.Label, empty) {
		// out.Label is the metric's own slice: filter a copy.
		out.Label = slices.DeleteFunc(slices.Clone(out.Label), empty)
	}
	return nil
}

// WriteTo writes every family in the text exposition format, families sorted
// by name and series by label values, so that the output is stable. A
// family that fails to collect is left out, and the error returned once the
// others are written.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	mfs, gatherErr := r.reg.Gather()
	var total int64
	for _, mf := range mfs {
		n, err := expfmt.MetricFamilyToText(w, mf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	if gatherErr != nil {
		return total, errors.Join(errors.New("metrics: some families were left out"), gatherErr)
	}
	return total, nil
}

// ServeHTTP writes the exposition in the format the scraper negotiates;
// see the package documentation.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.handler.ServeHTTP(w, req)
}
