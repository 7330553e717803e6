package main

// Fault tests (issue 4): the real gateway program, built with go build and
// run as a process, against a real InfluxDB 1.8.10 and Debian's Mosquitto
// with persistence on. Each kills, stops or damages something under load
// and checks, with InfluxQL, that every reading whose message was
// acknowledged is in InfluxDB exactly once per (sensor, quantity, time).
//
// Budget: each test stays under a minute on two cores. The issue's
// 20,000-message stream is kept for kill -9; the InfluxDB outage lasts
// seconds, not two minutes (what matters is that the spool grows and then
// drains, which a few seconds show).

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/internal/testinfra"
)

// buildGateway builds the program into a temporary folder.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "civisens-gateway")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(testinfra.RepoRoot(t), "gateway")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gatewayProc is one run of the gateway program.
type gatewayProc struct {
	*testinfra.Process
	http string
}

// startGatewayProc starts bin with args and waits until it is subscribed.
func startGatewayProc(t *testing.T, bin, httpAddr string, args ...string) *gatewayProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-http-listen", httpAddr, "-log-level", "info"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	g := &gatewayProc{Process: testinfra.StartCmd(t, cmd), http: httpAddr}
	t.Cleanup(func() {
		if t.Failed() {
			lines := testinfra.Lines(g.Output())
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("gateway log (end):\n%s", strings.Join(lines, "\n"))
		}
	})
	testinfra.Eventually(t, 20*time.Second, func() error {
		if g.Exited() {
			t.Fatalf("the gateway exited: %s", g.Output())
		}
		if v, err := g.metric("civisens_gateway_mqtt_connected"); err != nil || v != 1 {
			return fmt.Errorf("not subscribed yet (%v)", err)
		}
		return nil
	})
	return g
}

// metric returns the value of a series of the gateway's exposition.
func (g *gatewayProc) metric(series string) (float64, error) {
	resp, err := http.Get("http://" + g.http + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(rest, 64)
		}
	}
	return 0, fmt.Errorf("no series %s", series)
}

func (g *gatewayProc) must(t *testing.T, series string) float64 {
	t.Helper()
	v, err := g.metric(series)
	if err != nil {
		t.Fatalf("metric %s: %v", series, err)
	}
	return v
}

// publisher sends numbered readings of air-hdv-01 at QoS 1 and records the
// ones the broker acknowledged: message i carries pm10 = i mod 1000 (the
// declared range is 0..1000) and temperature = 20, at base + i ms, so that
// each message is one point of its own.
type publisher struct {
	c     paho.Client
	base  time.Time
	acked sync.Map // i → true
	count atomic.Int64
	sent  atomic.Int64
	errs  atomic.Int64
}

func newPublisher(t *testing.T, addr string) *publisher {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("fault-publisher-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(10 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return &publisher{c: c, base: time.Now().Add(-time.Hour).Truncate(time.Second)}
}

func (p *publisher) payload(i int) string {
	t := p.base.Add(time.Duration(i) * time.Millisecond)
	return fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d.%03d,"n":"pm10","u":"ug/m3","v":%d},{"n":"temperature","u":"Cel","v":20}]`,
		t.Unix(), t.Nanosecond()/1e6, i%1000)
}

// publish sends messages from..to-1 with at most window unacknowledged,
// pausing pause between messages, and returns when all are answered.
func (p *publisher) publish(from, to, window int, pause time.Duration) {
	type pending struct {
		i   int
		tok paho.Token
	}
	ch := make(chan pending, window)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pd := range ch {
			if pd.tok.WaitTimeout(60*time.Second) && pd.tok.Error() == nil {
				p.acked.Store(pd.i, true)
				p.count.Add(1)
			} else {
				p.errs.Add(1)
			}
		}
	}()
	for i := from; i < to; i++ {
		ch <- pending{i, p.c.Publish("sensors/air-hdv-01/senml", 1, false, p.payload(i))}
		p.sent.Add(1)
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	close(ch)
	<-done
}

// ackedSum returns how many messages were acknowledged and the sum of
// their pm10 values.
func (p *publisher) ackedSum() (n int, sum float64) {
	p.acked.Range(func(k, _ any) bool { n++; sum += float64(k.(int) % 1000); return true })
	return n, sum
}

// influxCounts returns COUNT and SUM of pm10 and COUNT of temperature.
func influxCounts(in *testinfra.Influx, db string) (pm10, temp int, sum float64, err error) {
	rs, err := in.Query(db, `SELECT COUNT("pm10"), SUM("pm10"), COUNT("temperature") FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01'`)
	if err != nil {
		if strings.Contains(err.Error(), "database not found") {
			return 0, 0, 0, nil
		}
		return 0, 0, 0, err
	}
	if len(rs) == 0 {
		return 0, 0, 0, nil
	}
	n := func(v any) float64 {
		f, _ := v.(json.Number).Float64()
		return f
	}
	return int(n(rs[0]["count"])), int(n(rs[0]["count_1"])), n(rs[0]["sum"]), nil
}

// waitAllInInflux waits until InfluxDB holds exactly the acknowledged
// messages: one point per message, every number present.
func waitAllInInflux(t *testing.T, in *testinfra.Influx, db string, p *publisher, timeout time.Duration) {
	t.Helper()
	want, wantSum := p.ackedSum()
	testinfra.Eventually(t, timeout, func() error {
		n, nt, sum, err := influxCounts(in, db)
		if err != nil {
			return err
		}
		if n != want || nt != want || sum != wantSum {
			return fmt.Errorf("InfluxDB holds %d pm10 (sum %v) and %d temperature readings; want %d (sum %v)", n, sum, nt, want, wantSum)
		}
		return nil
	})
}

func faultTest(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: runs the gateway, InfluxDB and Mosquitto; skipped under -short")
	}
}

// TestFaultKill9 kills the gateway with SIGKILL in the middle of a
// 20,000-message QoS 1 stream through Mosquitto, and starts it again on
// the same data folder and client id.
func TestFaultKill9(t *testing.T) {
	faultTest(t)
	const n = 20000
	start := time.Now()
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 1000, MaxQueued: -1})
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	args := []string{"-broker-url", mosq.URL, "-client-id", "civisens-gateway-kill9", "-registry-url", registry.URL,
		"-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "kill9"}
	g := startGatewayProc(t, bin, httpAddr, args...)

	pub := newPublisher(t, mosq.Addr)
	published := make(chan struct{})
	go func() { defer close(published); pub.publish(0, n, 500, 0) }()

	// Kill once a quarter of the stream is acknowledged by the gateway.
	var ackedAtKill float64
	testinfra.Eventually(t, 30*time.Second, func() error {
		v, err := g.metric("civisens_gateway_messages_acknowledged_total")
		if err != nil || v < n/4 {
			return fmt.Errorf("gateway acknowledged %v (%v)", v, err)
		}
		ackedAtKill = v
		return nil
	})
	if err := g.SignalGroup(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	g.Wait(10 * time.Second)
	sentAtKill := pub.sent.Load()
	t.Logf("killed with %v messages acknowledged by the gateway, %d sent by the publisher", ackedAtKill, sentAtKill)
	if ackedAtKill >= n {
		t.Fatal("the stream was over before the kill")
	}

	g2 := startGatewayProc(t, bin, httpAddr, args...)
	<-published
	if pub.errs.Load() > 0 {
		t.Errorf("%d publishes failed", pub.errs.Load())
	}
	waitAllInInflux(t, influx, "kill9", pub, 45*time.Second)
	acked, _ := pub.ackedSum()
	t.Logf("%d messages acknowledged by the broker, all in InfluxDB once; after restart: torn tails %v, spool records %v; %v in all",
		acked, g2.must(t, "civisens_gateway_spool_torn_tails_total"), g2.must(t, "civisens_gateway_spool_records"), time.Since(start).Round(time.Millisecond))
	if acked != n {
		t.Errorf("the broker acknowledged %d of %d messages", acked, n)
	}
}

// TestFaultInfluxDown stops InfluxDB under load: the spool grows, the
// metrics and /healthz say so, and once InfluxDB is back on the same port
// and data, everything drains.
func TestFaultInfluxDown(t *testing.T) {
	faultTest(t)
	const n = 6000
	start := time.Now()
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 1000, MaxQueued: -1})
	influx := testinfra.StartInfluxDBRestartable(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	g := startGatewayProc(t, bin, httpAddr, "-broker-url", mosq.URL, "-client-id", "civisens-gateway-influxdown", "-registry-url", registry.URL,
		"-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "down")

	pub := newPublisher(t, mosq.Addr)
	published := make(chan struct{})
	go func() { defer close(published); pub.publish(0, n, 100, 500*time.Microsecond) }()

	testinfra.Eventually(t, 20*time.Second, func() error {
		if v := pub.count.Load(); v < n/5 {
			return fmt.Errorf("published %d", v)
		}
		return nil
	})
	influx.Stop(t)
	stoppedAt := time.Now()
	var depth float64
	testinfra.Eventually(t, 20*time.Second, func() error {
		depth = g.must(t, "civisens_gateway_spool_records")
		if depth < 20 {
			return fmt.Errorf("spool_records = %v: not growing", depth)
		}
		if v := g.must(t, "civisens_gateway_spool_oldest_unsent_age_seconds"); v <= 0 {
			return fmt.Errorf("oldest unsent age = %v", v)
		}
		return nil
	})
	// /healthz says so once the drainer's request to the stopped InfluxDB
	// has failed (one may still be in flight when it stops).
	testinfra.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "InfluxDB does not take writes") || !strings.Contains(string(body), `"spool"`) {
			return fmt.Errorf("/healthz with InfluxDB down = %d: %s", resp.StatusCode, body)
		}
		return nil
	})
	// Stay down a few seconds under load, then come back.
	time.Sleep(time.Until(stoppedAt.Add(4 * time.Second)))
	peak := g.must(t, "civisens_gateway_spool_records")
	influx.Start(t)
	<-published
	waitAllInInflux(t, influx.Influx, "down", pub, 40*time.Second)
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_spool_records"); v != 0 {
			return fmt.Errorf("spool_records = %v after the drain", v)
		}
		return nil
	})
	acked, _ := pub.ackedSum()
	t.Logf("spool peaked at %v records during the outage; %d messages all in InfluxDB once; %v in all", peak, acked, time.Since(start).Round(time.Millisecond))
}

// TestFaultTornSegment stops the gateway cleanly with readings in its
// spool (InfluxDB away), appends half a record and garbage to the last
// segment, as a power cut in the middle of a write leaves it, and starts
// again: the gateway starts, truncates the tail once, and sends every
// acknowledged reading.
func TestFaultTornSegment(t *testing.T) {
	faultTest(t)
	const n = 500
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 1000, MaxQueued: -1})
	influx := testinfra.StartInfluxDBRestartable(t)
	influx.Stop(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	dataDir := t.TempDir()
	args := []string{"-broker-url", mosq.URL, "-client-id", "civisens-gateway-torn", "-registry-url", registry.URL,
		"-data-dir", dataDir, "-influx-url", influx.URL, "-influx-bucket", "torn", "-drain-timeout", "200ms"}
	g := startGatewayProc(t, bin, httpAddr, args...)
	pub := newPublisher(t, mosq.Addr)
	pub.publish(0, n, 100, 0)
	testinfra.Eventually(t, 20*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_messages_acknowledged_total"); v != n {
			return fmt.Errorf("acknowledged %v of %d", v, n)
		}
		return nil
	})
	if err := g.SignalGroup(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(20 * time.Second); err != nil {
		t.Fatalf("the gateway did not stop cleanly: %v", err)
	}

	segs, _ := filepath.Glob(filepath.Join(dataDir, "spool", "*.seg"))
	sort.Strings(segs)
	if len(segs) == 0 {
		t.Fatal("no spool segment")
	}
	last := segs[len(segs)-1]
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	const segHeader = 16
	if len(b) < segHeader+8 {
		t.Fatalf("%s holds no record (%d bytes)", last, len(b))
	}
	rec := b[segHeader : segHeader+8+int(binary.LittleEndian.Uint32(b[segHeader:]))]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec[:len(rec)/2])               // a record cut in the middle…
	f.Write([]byte("\x00\x00junk\xff\x13")) // …and what a power cut leaves after it
	f.Close()

	influx.Start(t)
	g2 := startGatewayProc(t, bin, httpAddr, args...)
	if v := g2.must(t, "civisens_gateway_spool_torn_tails_total"); v != 1 {
		t.Errorf("torn tails = %v, want 1", v)
	}
	if !strings.Contains(g2.Output(), "torn tail truncated") {
		t.Error("the truncation was not logged")
	}
	waitAllInInflux(t, influx.Influx, "torn", pub, 30*time.Second)
	if v := g2.must(t, "civisens_gateway_spool_corrupt_skipped_total"); v != 0 {
		t.Errorf("corrupt skipped = %v, want 0", v)
	}
}

// TestFaultSpoolFull fills a tiny spool while InfluxDB is away:
// acknowledgements stop, the broker keeps the messages, and they flow
// again once InfluxDB is back and the spool drains.
func TestFaultSpoolFull(t *testing.T) {
	faultTest(t)
	const n = 8000
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 100, MaxQueued: -1})
	influx := testinfra.StartInfluxDBRestartable(t)
	influx.Stop(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	g := startGatewayProc(t, bin, httpAddr, "-broker-url", mosq.URL, "-client-id", "civisens-gateway-full", "-registry-url", registry.URL,
		"-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "full",
		"-spool-max-bytes", "128KiB", "-spool-segment-bytes", "64KiB")

	pub := newPublisher(t, mosq.Addr)
	pub.publish(0, n, 500, 0)
	if acked, _ := pub.ackedSum(); acked != n {
		t.Fatalf("the broker acknowledged %d of %d", acked, n)
	}
	testinfra.Eventually(t, 30*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_spool_full"); v != 1 {
			return fmt.Errorf("spool_full = %v", v)
		}
		return nil
	})
	// Acknowledgements stop: the count holds still, well short of n.
	a1 := g.must(t, "civisens_gateway_messages_acknowledged_total")
	time.Sleep(2 * time.Second)
	a2 := g.must(t, "civisens_gateway_messages_acknowledged_total")
	if a2 != a1 || a2 >= n {
		t.Errorf("acknowledgements did not stop: %v then %v of %d", a1, a2, n)
	}
	if v := g.must(t, "civisens_gateway_spool_disk_bytes"); v > 128<<10+16<<10 {
		t.Errorf("spool disk bytes %v beyond the bound", v)
	}
	if v := g.must(t, "civisens_gateway_spool_full_refusals_total"); v < 1 {
		t.Errorf("full refusals = %v", v)
	}
	t.Logf("spool full with %v of %d messages acknowledged; the broker holds the rest", a2, n)

	influx.Start(t)
	waitAllInInflux(t, influx.Influx, "full", pub, 45*time.Second)
	testinfra.Eventually(t, 10*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_messages_acknowledged_total"); v != n {
			return fmt.Errorf("acknowledged %v of %d", v, n)
		}
		if v := g.must(t, "civisens_gateway_spool_full"); v != 0 {
			return errors.New("spool still full")
		}
		return nil
	})
}
