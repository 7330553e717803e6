// Package metrics is the gateway's monitoring surface: counters and gauges
// written by hand in the Prometheus text exposition format (version 0.0.4),
// served at /metrics, and the health report served at /healthz.
//
// It uses the standard library only. A [Registry] holds metric families; each
// package of the gateway registers the ones it updates, and the program wires
// a few more as functions read at scrape time ([Registry.GaugeFunc],
// [Registry.CounterFunc]). Every name is prefixed civisens_gateway_ by the
// caller, so that a grep of the code finds it.
//
// Labels: a series is identified by its label values, in the order the
// family declared its label names. An empty label value is left out of the
// exposition, which Prometheus reads as "label absent": the gateway uses it
// for the sensor label of readings from sensors that the register does not
// know, so that the number of series stays bounded by the register's size
// whatever a publisher sends.
//
// Registering a family twice, or with a name that Prometheus would refuse, is
// a programming error and panics, as does passing the wrong number of label
// values.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the media type of the exposition.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

var nameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Registry holds metric families and writes them out. Its zero value is not
// usable; call [NewRegistry].
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: make(map[string]*family)}
}

type kind string

const (
	kindCounter kind = "counter"
	kindGauge   kind = "gauge"
)

type family struct {
	name, help string
	kind       kind
	labels     []string
	fn         func() float64 // for GaugeFunc and CounterFunc

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	values []string
	bits   atomic.Uint64 // float64 bits
}

func (s *series) add(d float64) {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func (s *series) value() float64 { return math.Float64frombits(s.bits.Load()) }

func (r *Registry) register(name, help string, k kind, labels []string, fn func() float64) *family {
	if !nameRe.MatchString(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for _, l := range labels {
		if !nameRe.MatchString(l) || strings.Contains(l, ":") || strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: invalid label name %q of %s", l, name))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.families[name]; ok {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	f := &family{name: name, help: help, kind: k, labels: labels, fn: fn, series: make(map[string]*series)}
	r.families[name] = f
	return f
}

func (f *family) with(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.series[key]
	if !ok {
		s = &series{values: slices.Clone(values)}
		f.series[key] = s
	}
	return s
}

// Counter is a value that only goes up.
type Counter struct{ s *series }

// Inc adds one.
func (c *Counter) Inc() { c.s.add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.s.add(float64(n)) }

// AddFloat adds d, a count of seconds or other fractional units; a
// negative d is ignored.
func (c *Counter) AddFloat(d float64) {
	if d > 0 {
		c.s.add(d)
	}
}

// Value returns the current value.
func (c *Counter) Value() float64 { return c.s.value() }

// Counter registers a counter without labels.
func (r *Registry) Counter(name, help string) *Counter {
	return &Counter{s: r.register(name, help, kindCounter, nil, nil).with(nil)}
}

// CounterVec is a family of counters told apart by label values.
type CounterVec struct{ f *family }

// CounterVec registers a counter family with the given label names.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	return &CounterVec{f: r.register(name, help, kindCounter, labels, nil)}
}

// With returns the counter of the given label values, in the order of the
// family's label names, creating it at zero.
func (v *CounterVec) With(values ...string) *Counter { return &Counter{s: v.f.with(values)} }

// Gauge is a value that goes up and down.
type Gauge struct{ s *series }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.s.bits.Store(math.Float64bits(v)) }

// Add adds d, which may be negative.
func (g *Gauge) Add(d float64) { g.s.add(d) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return g.s.value() }

// Gauge registers a gauge without labels.
func (r *Registry) Gauge(name, help string) *Gauge {
	return &Gauge{s: r.register(name, help, kindGauge, nil, nil).with(nil)}
}

// GaugeFunc registers a gauge whose value is read from fn at each scrape.
// fn must be safe for concurrent use.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.register(name, help, kindGauge, nil, fn)
}

// CounterFunc registers a counter whose value is read from fn at each scrape;
// fn must never return less than it did before, and be safe for concurrent
// use.
func (r *Registry) CounterFunc(name, help string, fn func() float64) {
	r.register(name, help, kindCounter, nil, fn)
}

// WriteTo writes every family in the text exposition format, families sorted
// by name and series by label values, so that the output is stable.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })

	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.kind)
		if f.fn != nil {
			fmt.Fprintf(bw, "%s %s\n", f.name, formatValue(f.fn()))
			continue
		}
		f.mu.Lock()
		ss := make([]*series, 0, len(f.series))
		for _, s := range f.series {
			ss = append(ss, s)
		}
		f.mu.Unlock()
		slices.SortFunc(ss, func(a, b *series) int { return slices.Compare(a.values, b.values) })
		for _, s := range ss {
			bw.WriteString(f.name)
			writeLabels(bw, f.labels, s.values)
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.value()))
			bw.WriteByte('\n')
		}
	}
	err := bw.Flush()
	return cw.n, err
}

func writeLabels(w *bufio.Writer, names, values []string) {
	first := true
	for i, n := range names {
		if values[i] == "" {
			continue
		}
		if first {
			w.WriteByte('{')
			first = false
		} else {
			w.WriteByte(',')
		}
		w.WriteString(n)
		w.WriteString(`="`)
		w.WriteString(escapeLabel(values[i]))
		w.WriteByte('"')
	}
	if !first {
		w.WriteByte('}')
	}
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// ServeHTTP writes the exposition.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	r.WriteTo(w)
}
