package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/internal/testinfra"
)

// TestFaultBrokerRestart (issue 4: "broker restart under load: the gateway
// reconnects and nothing is lost") stops Mosquitto, persistence on, in the
// middle of a QoS 1 stream and starts it again on the same port and data
// folder. Both the real gateway process and the publisher (persistent
// session, fixed client id, auto-reconnect and connect-retry on) must
// reconnect; every publication the broker acknowledged — those that failed
// while it was away are published again, same payload and timestamp, until
// acknowledged — must be in InfluxDB exactly once per (sensor, quantity,
// time).
func TestFaultBrokerRestart(t *testing.T) {
	faultTest(t)
	const n = 4000
	start := time.Now()
	mosq := testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 1000, MaxQueued: -1})
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	g := startGatewayProc(t, bin, httpAddr, "-broker-url", mosq.URL, "-client-id", "civisens-gateway-brokerrestart",
		"-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "brokerrestart")

	var lost, reconnected atomic.Int64
	opts := paho.NewClientOptions().AddBroker(mosq.URL).
		SetClientID("civisens-fault-publisher-brokerrestart").
		SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(250 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(250 * time.Millisecond).
		SetConnectTimeout(2 * time.Second).SetWriteTimeout(5 * time.Second).
		SetConnectionLostHandler(func(paho.Client, error) { lost.Add(1) }).
		SetOnConnectHandler(func(paho.Client) { reconnected.Add(1) })
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	pub := &publisher{c: c, base: time.Now().Add(-time.Hour).Truncate(time.Second)}

	// unacked holds the messages whose token failed or timed out.
	var mu sync.Mutex
	unacked := map[int]bool{}
	settle := func(i int, tok paho.Token, timeout time.Duration) bool {
		if tok.WaitTimeout(timeout) && tok.Error() == nil {
			pub.acked.Store(i, true)
			mu.Lock()
			delete(unacked, i)
			mu.Unlock()
			return true
		}
		mu.Lock()
		unacked[i] = true
		mu.Unlock()
		return false
	}

	// The stream: at most 200 unacknowledged, a short pause between
	// messages so that the broker stops in the middle of it.
	type pending struct {
		i   int
		tok paho.Token
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		ch := make(chan pending, 200)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for pd := range ch {
				if settle(pd.i, pd.tok, 15*time.Second) {
					pub.count.Add(1)
				}
			}
		}()
		for i := 0; i < n; i++ {
			ch <- pending{i, c.Publish("sensors/air-hdv-01/senml", 1, false, pub.payload(i))}
			pub.sent.Add(1)
			time.Sleep(time.Millisecond)
		}
		close(ch)
		<-done
	}()

	// Stop the broker once a quarter of the stream has reached the gateway.
	testinfra.Eventually(t, 30*time.Second, func() error {
		if v, err := g.metric("civisens_gateway_messages_acknowledged_total"); err != nil || v < n/4 {
			return fmt.Errorf("gateway acknowledged %v (%v)", v, err)
		}
		return nil
	})
	mosq.Stop(t)
	sentAtStop := pub.sent.Load()
	testinfra.Eventually(t, 15*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_mqtt_connected"); v != 0 {
			return fmt.Errorf("gateway mqtt_connected = %v with the broker stopped", v)
		}
		if lost.Load() == 0 || c.IsConnectionOpen() {
			return errors.New("the publisher has not noticed the broker is gone")
		}
		return nil
	})
	if sentAtStop >= n {
		t.Fatal("the stream was over before the broker stopped")
	}
	t.Logf("broker stopped with %d of %d messages sent", sentAtStop, n)

	if _, err := os.Stat(filepath.Join(mosq.Dir, "mosquitto.db")); err != nil {
		t.Fatalf("the broker saved no persistence file at its stop: %v", err)
	}
	mosq.Start(t)
	testinfra.Eventually(t, 20*time.Second, func() error {
		if v := g.must(t, "civisens_gateway_mqtt_connected"); v != 1 {
			return fmt.Errorf("gateway mqtt_connected = %v after the broker's restart", v)
		}
		if reconnected.Load() < 2 || !c.IsConnectionOpen() {
			return errors.New("the publisher has not reconnected")
		}
		return nil
	})
	<-published

	// Publish again, same payload and timestamp, whatever the broker did
	// not acknowledge, until it does.
	mu.Lock()
	failed := len(unacked)
	mu.Unlock()
	testinfra.Eventually(t, 20*time.Second, func() error {
		mu.Lock()
		var todo []int
		for i := range unacked {
			todo = append(todo, i)
		}
		mu.Unlock()
		sort.Ints(todo)
		toks := make([]paho.Token, len(todo))
		for k, i := range todo {
			toks[k] = c.Publish("sensors/air-hdv-01/senml", 1, false, pub.payload(i))
		}
		left := 0
		for k, i := range todo {
			if !settle(i, toks[k], 5*time.Second) {
				left++
			}
		}
		if left > 0 {
			return fmt.Errorf("%d of %d republished messages not acknowledged", left, len(todo))
		}
		return nil
	})
	if acked, _ := pub.ackedSum(); acked != n {
		t.Fatalf("the broker acknowledged %d of %d messages", acked, n)
	}

	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, m := range []string{"civisens_gateway_messages_received_total", "civisens_gateway_messages_acknowledged_total", "civisens_gateway_messages_pending", "civisens_gateway_spool_records"} {
			v, err := g.metric(m)
			t.Logf("on failure: %s = %v %v", m, v, err)
		}
		rs, err := influx.Query("brokerrestart", `SELECT "pm10" FROM "civisens_p1y"."air"`)
		if err != nil {
			t.Logf("on failure: %v", err)
			return
		}
		have := map[int64]bool{}
		for _, r := range rs {
			ts, _ := r["time"].(json.Number).Int64()
			have[(ts-pub.base.UnixNano())/1e6] = true
		}
		var miss []int
		for i := 0; i < n; i++ {
			if !have[int64(i)] {
				miss = append(miss, i)
			}
		}
		if len(miss) > 0 {
			t.Logf("on failure: %d missing, first %d last %d", len(miss), miss[0], miss[len(miss)-1])
		}
		t.Logf("on failure: lost=%d reconnected=%d failed=%d", lost.Load(), reconnected.Load(), failed)
	})
	waitAllInInflux(t, influx, "brokerrestart", pub, 30*time.Second)
	if v := g.must(t, "civisens_gateway_mqtt_connected"); v != 1 {
		t.Errorf("gateway mqtt_connected = %v at the end", v)
	}
	t.Logf("%d messages acknowledged (%d republished after the restart), all in InfluxDB once; publisher lost its connection %d times; %v in all",
		n, failed, lost.Load(), time.Since(start).Round(time.Millisecond))
}
