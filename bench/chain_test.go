package bench

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// chain is what one run's gateway measurements share.
type chain struct {
	cfg      config
	bin      string // folder of the gateway and registry binaries
	registry string // the fake registry's URL
	influx   *influx
	rec      *recorder
}

// waitCount polls InfluxDB until db holds want points of the load's
// sensors, or timeout, or until the count stops growing; it returns the
// count and when it was reached.
func (c *chain) waitCount(db string, want int, timeout time.Duration) (int, time.Time) {
	deadline := time.Now().Add(timeout)
	last, lastChange := -1, time.Now()
	for {
		n, err := c.influx.count(db, "^bench-[0-9]")
		now := time.Now()
		if err == nil && n >= want {
			return n, now
		}
		if err == nil && n != last {
			last, lastChange = n, now
		}
		// Give up at the deadline, or when nothing came for 5 s (the
		// drainer flushes every second): the count is final, reached when
		// it last changed.
		if now.After(deadline) || now.Sub(lastChange) > 5*time.Second {
			return last, lastChange
		}
		time.Sleep(c.cfg.Poll)
	}
}

// throughput measures one broker: the publishers' ceiling, then the
// sustained end-to-end rate, loss and the gateway's resources, then the
// latencies at a steady 2,000 messages/s.
func (c *chain) throughput(t *testing.T, kind string) {
	name := map[string]string{"mosq": "Mosquitto", "emb": "embedded broker"}[kind]
	db := "bench_" + kind
	args := []string{"-registry-url", c.registry, "-data-dir", t.TempDir(), "-influx-url", c.influx.URL,
		"-influx-bucket", db, "-client-id", "civisens-gateway-bench"}
	var addr, user, pass, mqttAddr string
	var ceiling loadResult
	ceilingTopic := func(s string) string { return "bench/" + s + "/senml" }
	if kind == "mosq" {
		m := startMosquitto(t)
		addr = m.Addr
		args = append(args, "-broker-url", m.URL)
		// The ceiling: nobody subscribes to bench/#, Mosquitto acks and drops.
		ceiling = load{Addr: addr, Conns: c.cfg.Conns, N: c.cfg.CeilingN, T0: time.Now(), TopicOf: ceilingTopic}.run(t)
	} else {
		mqttAddr = freeAddr(t)
		addr, user, pass = mqttAddr, bridgeUser, bridgePass
		// The ceiling: topics the bridge is not assigned, acked and dropped
		// by the broker's policy, never delivered to the gateway's reader.
		ceilingTopic = func(s string) string { return "sensors/x" + s + "/senml" }
	}
	g := startGateway(t, filepath.Join(c.bin, "gateway"), freeAddr(t), mqttAddr, args...)
	c.rec.add("startup.gateway."+kind, "gateway start-up to /healthz ("+name+")", "ms", float64(g.Healthz.Microseconds())/1000)
	if kind == "emb" {
		ceiling = load{Addr: addr, User: user, Pass: pass, Conns: c.cfg.Conns, N: c.cfg.CeilingN, T0: time.Now(), TopicOf: ceilingTopic}.run(t)
	}
	c.rec.add(kind+".ceiling", "publishers' ceiling, "+name+" (acks/s, not delivered)", "msg/s", ceiling.AckRate())

	before, err := readProc(g.PID())
	if err != nil {
		t.Fatal(err)
	}
	n := c.cfg.ThroughputN
	t0 := time.Now().Truncate(time.Second)
	m0, _ := g.metrics()
	w := watch(g, m0, float64(n))
	res := load{Addr: addr, User: user, Pass: pass, Conns: c.cfg.Conns, N: n, T0: t0}.run(t)
	got, done := c.waitCount(db, n, time.Duration(n/500+60)*time.Second)
	ackedAt, m1 := w()
	after, err := readProc(g.PID())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := done.Sub(res.Start).Seconds()
	c.rec.add(kind+".publish", "publishers' rate with the gateway, "+name, "msg/s", res.AckRate())
	c.rec.add(kind+".e2e", "end to end, publish → InfluxDB, "+name, "msg/s", float64(got)/elapsed)
	c.rec.add(kind+".lost", "lost (published, not in InfluxDB), "+name, "msgs", float64(n-got))
	if got < n {
		// A speed target missed is a figure; a reading lost is a bug.
		t.Errorf("%s: %d of %d published messages never reached InfluxDB", name, n-got, n)
	}
	if !ackedAt.IsZero() {
		c.rec.add(kind+".ingest", "gateway ingest, publish → all acked after fsync, "+name, "msg/s", float64(n)/ackedAt.Sub(res.Start).Seconds())
	}
	c.rec.add(kind+".dropped", "messages dropped by the broker or refused, "+name, "msgs",
		m1["civisens_gateway_broker_messages_dropped_total"]-m0["civisens_gateway_broker_messages_dropped_total"])
	logMetrics(t, name, m0, m1)
	if res.Errors > 0 {
		t.Logf("%s: %d publishes not acknowledged by the broker", name, res.Errors)
	}
	if kind == "emb" {
		c.rec.add("emb.reached", "embedded: end to end ÷ publishers' ceiling", "%", 100*float64(got)/elapsed/ceiling.AckRate())
	}
	cpu := after.CPUSeconds - before.CPUSeconds
	c.rec.add(kind+".cpu", "gateway CPU per 100,000 msgs, "+name, "s", cpu/float64(n)*1e5)
	c.rec.add(kind+".rss", "gateway peak RSS (VmHWM), "+name, "MiB", float64(after.HWMKiB)/1024)
	wb := float64(after.WriteBytes - before.WriteBytes)
	c.rec.add(kind+".disk_msg", "gateway disk writes per message, "+name, "B", wb/float64(n))
	c.rec.add(kind+".disk_byte", "gateway disk writes per payload byte, "+name, "B/B", wb/float64(res.PayloadBytes))
	t.Logf("%s: %d msgs, %d payload bytes, %d in InfluxDB after %.1fs; gateway CPU %.2fs, wrote %.0f bytes",
		name, n, res.PayloadBytes, got, elapsed, cpu, wb)

	c.latency(t, kind, name, g, addr, user, pass, db)
}

// watch polls the gateway's metrics until messages_acknowledged_total
// has grown by n; the function it returns stops it and returns when that
// happened (zero if not) and the last metrics.
func watch(g *gatewayProc, m0 map[string]float64, n float64) func() (time.Time, map[string]float64) {
	stop := make(chan struct{})
	done := make(chan struct{})
	var at time.Time
	var last map[string]float64
	go func() {
		defer close(done)
		for {
			m, err := g.metrics()
			if err == nil {
				last = m
				if at.IsZero() && m["civisens_gateway_messages_acknowledged_total"]-m0["civisens_gateway_messages_acknowledged_total"] >= n {
					at = time.Now()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() (time.Time, map[string]float64) {
		close(stop)
		<-done
		if m, err := g.metrics(); err == nil {
			last = m
		}
		return at, last
	}
}

// logMetrics logs what the gateway's counters say of a phase.
func logMetrics(t *testing.T, name string, m0, m1 map[string]float64) {
	var b strings.Builder
	for _, k := range []string{"messages_received_total", "messages_acknowledged_total", "readings_accepted_total", "readings_written_total",
		"influx_points_written_total", "influx_batches_written_total", "influx_write_seconds_sum", "influx_write_errors_total",
		"spool_fsyncs_total", "spool_appends_total", "commit_errors_total", "broker_messages_dropped_total", "aggregate_repairs_total{result=\"ok\"}",
		"aggregate_late_readings_total", "ingest_commit_seconds_sum", "ingest_commit_seconds_count"} {
		full := "civisens_gateway_" + k
		fmt.Fprintf(&b, " %s=%v", k, m1[full]-m0[full])
	}
	for k, v := range m1 {
		if strings.Contains(k, "rejected_total") && v-m0[k] > 0 {
			fmt.Fprintf(&b, " %s=%v", k, v-m0[k])
		}
	}
	t.Logf("%s gateway counters:%s", name, b.String())
}

// latency publishes at a steady 2,000 messages/s, one in 20 for the
// connection's latency sensor, and polls InfluxDB for those every 10 ms.
func (c *chain) latency(t *testing.T, kind, name string, g *gatewayProc, addr, user, pass, db string) {
	var mu sync.Mutex
	pending := map[int64]time.Time{}
	var visible []time.Duration
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		stopped := false
		var deadline time.Time
		for {
			select {
			case <-stop:
				if !stopped {
					stopped, deadline = true, time.Now().Add(15*time.Second)
				}
			default:
			}
			mu.Lock()
			min := int64(-1)
			for ts := range pending {
				if min < 0 || ts < min {
					min = ts
				}
			}
			mu.Unlock()
			if min < 0 {
				if stopped {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if stopped && time.Now().After(deadline) {
				return
			}
			rows, err := c.influx.Query(db, fmt.Sprintf(`SELECT "pm10" FROM "civisens_p1y"."air" WHERE "sensor" =~ /^bench-lat-/ AND time >= %d`, min))
			now := time.Now()
			if err == nil {
				mu.Lock()
				for _, r := range rows {
					ts, _ := r["time"].(json.Number).Int64()
					if sent, ok := pending[ts]; ok {
						visible = append(visible, now.Sub(sent))
						delete(pending, ts)
					}
				}
				mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	before, _ := g.metrics()
	n := int(c.cfg.LatencyFor.Seconds() * 2000)
	res := load{Addr: addr, User: user, Pass: pass, Conns: c.cfg.Conns, N: n, Rate: 2000, T0: time.Now().Add(time.Second).Truncate(time.Second),
		SampleEvery: 20, OnSample: func(ts int64, sent time.Time) {
			mu.Lock()
			pending[ts] = sent
			mu.Unlock()
		}}.run(t)
	close(stop)
	<-polled
	after, _ := g.metrics()
	mu.Lock()
	missing := len(pending)
	mu.Unlock()
	c.rec.add("lat."+kind+".rate", "latency load: publishers' rate, "+name, "msg/s", res.AckRate())
	c.rec.add("lat."+kind+".ack_p50", "publish → PUBACK p50 at 2,000 msg/s, "+name, "ms", percentileMS(res.AckLatency, 0.50))
	c.rec.add("lat."+kind+".ack_p99", "publish → PUBACK p99 at 2,000 msg/s, "+name, "ms", percentileMS(res.AckLatency, 0.99))
	c.rec.add("lat."+kind+".commit_p99", "gateway commit → fsync p99 (histogram bucket), "+name, "ms",
		1000*histQuantile(before, after, "civisens_gateway_ingest_commit_seconds", 0.99))
	c.rec.add("lat."+kind+".influx_p99", "publish → visible in InfluxDB p99 at 2,000 msg/s, "+name, "ms", percentileMS(visible, 0.99))
	if missing > 0 {
		t.Logf("%s: %d sampled messages never seen in InfluxDB", name, missing)
	}
	t.Logf("%s latency: %d msgs, %d sampled visible, %d missing", name, n, len(visible), missing)
}

// recovery fills the spool with InfluxDB down (embedded broker), kills
// the gateway with SIGKILL, starts InfluxDB, starts the gateway again and
// measures when it accepts messages and how fast the spool drains.
func (c *chain) recovery(t *testing.T) {
	down := newInflux(t) // not started yet: its port is free
	down.URL = fmt.Sprintf("http://127.0.0.1:%d", down.port)
	m := startMosquitto(t)
	httpAddr := freeAddr(t)
	args := []string{"-registry-url", c.registry, "-data-dir", t.TempDir(), "-influx-url", down.URL, "-broker-url", m.URL,
		"-influx-bucket", "bench_rec", "-client-id", "civisens-gateway-rec", "-spool-max-bytes", "1024MiB"}
	bin := filepath.Join(c.bin, "gateway")
	g := startGateway(t, bin, httpAddr, "", args...)
	msgs := (c.cfg.RecoveryReadings + 2) / 3
	// Through Mosquitto, which queues what the gateway has not yet taken:
	// the embedded broker drops beyond -mqtt-max-inflight.
	res := load{Addr: m.Addr, Conns: c.cfg.Conns, N: msgs, T0: time.Now().Truncate(time.Second)}.run(t)
	var spooled float64
	testinfra.Eventually(t, time.Duration(msgs/1000+60)*time.Second, func() error {
		spooled = g.metric(t, "civisens_gateway_spool_appended_readings_total")
		if acked := g.metric(t, "civisens_gateway_messages_acknowledged_total"); acked < float64(res.Acked) {
			return fmt.Errorf("gateway acknowledged %v of %d", acked, res.Acked)
		}
		return nil
	})
	if err := g.SignalGroup(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	g.Wait(10 * time.Second)
	down.start(t)
	g2 := startGateway(t, bin, httpAddr, "", args...)
	c.rec.add("rec.spooled", "recovery: readings spooled at kill -9", "readings", spooled)
	c.rec.add("rec.healthz", "recovery: restart to /healthz", "s", g2.Healthz.Seconds())
	c.rec.add("rec.accept", "recovery: restart to accepting (/readyz 200)", "s", g2.Ready.Seconds())
	var first time.Time
	var firstN float64
	deadline := time.Now().Add(time.Duration(spooled/2000+60) * time.Second)
	for {
		w := g2.metric(t, "civisens_gateway_readings_written_total")
		now := time.Now()
		if w > 0 && first.IsZero() {
			first, firstN = now, w
		}
		if w >= spooled {
			c.rec.add("rec.drain", "recovery: drain rate once InfluxDB is back", "readings/s", (w-firstN)/now.Sub(first).Seconds())
			c.rec.add("rec.drain_total", "recovery: restart to spool drained", "s", now.Sub(g2.Started).Seconds())
			return
		}
		if now.After(deadline) {
			t.Errorf("recovery: %v of %v readings written after %v", w, spooled, now.Sub(g2.Started))
			c.rec.add("rec.drain", "recovery: drain rate once InfluxDB is back", "readings/s", (w-firstN)/now.Sub(first).Seconds())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
