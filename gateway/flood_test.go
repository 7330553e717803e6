package main

// Fault test (issue 4): a flood of malformed and hostile payloads mixed with
// good ones, against the real gateway program with its embedded broker and
// a real InfluxDB 1.8.10.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// fuzzCorpus returns the payloads of the SenML decoder's fuzz corpus.
func fuzzCorpus(t *testing.T) [][]byte {
	t.Helper()
	dir := filepath.Join(testinfra.RepoRoot(t), "firmware-bridge", "senml", "testdata", "fuzz", "FuzzDecode")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			lit, ok := strings.CutPrefix(strings.TrimSpace(line), "[]byte(")
			if !ok {
				continue
			}
			lit, ok = strings.CutSuffix(lit, ")")
			if !ok {
				t.Fatalf("%s: malformed line %q", e.Name(), line)
			}
			s, err := strconv.Unquote(lit)
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			out = append(out, []byte(s))
			found = true
		}
		if !found {
			t.Fatalf("%s: no []byte value", e.Name())
		}
	}
	if len(out) == 0 {
		t.Fatal("empty fuzz corpus")
	}
	return out
}

// sumSeries returns the sum of every series of metric name whose labels
// include all of labels (`k="v"` strings); 0 if none.
func sumSeries(t *testing.T, g *gatewayProc, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + g.http + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var lbl, val string
		if rest, ok := strings.CutPrefix(line, name+"{"); ok {
			i := strings.LastIndex(rest, "} ")
			if i < 0 {
				continue
			}
			lbl, val = rest[:i], rest[i+2:]
		} else if rest, ok := strings.CutPrefix(line, name+" "); ok {
			val = rest
		} else {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(","+lbl+",", ","+l+",") {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("metric %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestFaultHostileFlood publishes, interleaved on one authenticated
// connection, good packs and hostile ones: the fuzz corpus, oversized
// payloads, wrong units, out-of-range values, records naming another
// sensor, non-finite values and publications the ACL denies. The gateway
// must keep running, count each deterministic refusal exactly by reason,
// have received every message the broker let through, and store every good
// reading exactly once.
func TestFaultHostileFlood(t *testing.T) {
	faultTest(t)
	start := time.Now()
	const (
		nGood      = 300
		maxPayload = 1024
		good       = "air-hdv-01"      // good packs and deterministic refusals
		corpusTo   = "energy-ecole-02" // the fuzz corpus
	)
	corpus := fuzzCorpus(t)
	influx := testinfra.StartInfluxDB(t)
	registry := fakeRegistry(t)
	bin := buildGateway(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	mqttAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	g := startGatewayProc(t, bin, httpAddr, "-mqtt-listen", mqttAddr, "-client-id", "civisens-gateway-flood",
		"-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", influx.URL, "-influx-bucket", "flood",
		"-flush-interval", "50ms", "-max-payload", strconv.Itoa(maxPayload))

	c, err := mqttClient(t, mqttAddr, "flood-bridge", testBridge, testPassword(testBridge))
	if err != nil {
		t.Fatalf("bridge connect: %v", err)
	}

	// Expected refusals, by counter and reason, for sensor air-hdv-01.
	type key struct{ metric, reason string }
	payloads := func(r string) key { return key{"civisens_gateway_payloads_rejected_total", r} }
	readings := func(r string) key { return key{"civisens_gateway_readings_rejected_total", r} }
	want := map[key]float64{}
	keys := []key{payloads("too_large"), payloads("non_finite"), payloads("sensor_mismatch"),
		readings("unit_mismatch"), readings("unknown_unit"), readings("out_of_range")}
	get := func(k key) float64 {
		return sumSeries(t, g, k.metric, `reason="`+k.reason+`"`, `sensor="`+good+`"`)
	}
	const aclMetric = "civisens_gateway_broker_acl_denied_total"
	before := map[key]float64{}
	for _, k := range keys {
		before[k] = get(k)
	}
	aclBefore := sumSeries(t, g, aclMetric, `reason="not_assigned"`)
	aclBadTopicBefore := sumSeries(t, g, aclMetric, `reason="bad_topic"`)
	receivedBefore := g.must(t, "civisens_gateway_messages_received_total")
	payloadsAllBefore := sumSeries(t, g, "civisens_gateway_payloads_rejected_total")
	readingsAllBefore := sumSeries(t, g, "civisens_gateway_readings_rejected_total")
	acceptedBefore := g.must(t, "civisens_gateway_readings_accepted_total")

	// Good readings: pm10 = i, temperature = 20, one point per message, at
	// base + i ms, in the past hour (the corpus's relative times resolve
	// around now; its absolute ones are not in this window).
	base := time.Now().Add(-90 * time.Minute).Truncate(time.Second).Add(123 * time.Millisecond)
	ts := func(i int) string {
		at := base.Add(time.Duration(i) * time.Millisecond)
		return fmt.Sprintf("%d.%03d", at.Unix(), at.Nanosecond()/1e6)
	}
	goodPack := func(i int) string {
		return fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%s,"n":"pm10","u":"ug/m3","v":%d},{"n":"temperature","u":"Cel","v":20}]`, ts(i), i)
	}
	other := base.Add(-time.Minute).Unix() // hostile readings' time: valid, outside the good window
	oversized := `[{"n":"pm10","u":"ug/m3","v":1,"vs":"` + strings.Repeat("x", 2*maxPayload) + `"}]`
	// hostile are the deterministic refusals, each with its counter.
	hostile := []struct {
		topic, payload string
		k              *key // nil: denied by the broker's ACL
		n              float64
	}{
		{"sensors/" + good + "/senml", oversized, &keys[0], 1},
		{"sensors/" + good + "/senml", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"bv":1e308,"n":"pm10","u":"ug/m3","v":1e308}]`, other), &keys[1], 1},
		{"sensors/" + good + "/senml", fmt.Sprintf(`[{"n":"energy-ecole-02:energy_wh","u":"Wh","v":5,"t":%d}]`, other), &keys[2], 1},
		{"sensors/" + good + "/senml", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"W","v":5},{"n":"temperature","u":"Pa","v":20}]`, other), &keys[3], 2},
		{"sensors/" + good + "/senml", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"µg/m3","v":5},{"n":"temperature","u":"degC","v":20}]`, other), &keys[4], 2},
		{"sensors/" + good + "/senml", fmt.Sprintf(`[{"bn":"air-hdv-01:","bt":%d,"n":"pm10","u":"ug/m3","v":5000},{"n":"temperature","u":"Cel","v":-80}]`, other), &keys[5], 2},
		{"sensors/air-autre-77/senml", fmt.Sprintf(`[{"n":"pm10","u":"ug/m3","v":5,"t":%d}]`, other), nil, 1},
	}

	pub := func(topic string, payload []byte) {
		t.Helper()
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish to %s: %v", topic, tok.Error())
		}
	}
	delivered, aclDenied, badTopic := 0, 0.0, 0.0
	ci, hi := 0, 0
	for i := 0; i < nGood || ci < len(corpus) || hi < 3*len(hostile); i++ {
		if i < nGood {
			pub("sensors/"+good+"/senml", []byte(goodPack(i)))
			delivered++
		}
		if ci < len(corpus) {
			pub("sensors/"+corpusTo+"/senml", corpus[ci])
			ci++
			delivered++
		}
		if i%4 == 0 && hi < 3*len(hostile) {
			h := hostile[hi%len(hostile)]
			hi++
			pub(h.topic, []byte(h.payload))
			if h.k == nil {
				aclDenied += h.n
			} else {
				want[*h.k] += h.n
				delivered++
			}
		}
		if i%50 == 0 {
			// A topic no credential may publish to.
			pub("sensors/"+good+"/senml/extra", []byte(goodPack(0)))
			badTopic++
		}
	}
	t.Logf("published %d good, %d corpus, %d hostile, %v to bad topics in %s", nGood, len(corpus), hi, badTopic, time.Since(start))

	// Every message the broker let through reached the gateway.
	testinfra.Eventually(t, 20*time.Second, func() error {
		if g.Exited() {
			t.Fatalf("the gateway exited: %s", g.Output())
		}
		if got := g.must(t, "civisens_gateway_messages_received_total") - receivedBefore; got != float64(delivered) {
			return fmt.Errorf("messages_received rose by %v, want %d", got, delivered)
		}
		return nil
	})

	// Every good reading is in InfluxDB exactly once.
	q := fmt.Sprintf(`SELECT COUNT("pm10"), SUM("pm10"), COUNT("temperature") FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01' AND time >= %d AND time < %d`,
		base.UnixNano(), base.Add(time.Second).UnixNano())
	wantSum := float64(nGood * (nGood - 1) / 2)
	testinfra.Eventually(t, 20*time.Second, func() error {
		rs, err := rows(influx, "flood", q)
		if err != nil {
			return err
		}
		if len(rs) != 1 {
			return fmt.Errorf("%d rows", len(rs))
		}
		n := func(v any) float64 { // null while a field has no point yet: 0, and the loop waits
			num, _ := v.(json.Number)
			f, _ := num.Float64()
			return f
		}
		if pm, tp, sum := n(rs[0]["count"]), n(rs[0]["count_1"]), n(rs[0]["sum"]); pm != nGood || tp != nGood || sum != wantSum {
			return fmt.Errorf("InfluxDB holds %v pm10 (sum %v) and %v temperature; want %d (sum %v)", pm, sum, tp, nGood, wantSum)
		}
		return nil
	})
	// Nothing hostile of air-hdv-01 was stored: all its points are the good ones.
	rs, err := rows(influx, "flood", `SELECT COUNT("pm10"), COUNT("temperature") FROM "civisens_p1y"."air" WHERE "sensor" = 'air-hdv-01'`)
	if err != nil || len(rs) != 1 {
		t.Fatalf("count all: %v %v", rs, err)
	}
	if rs[0]["count"].(json.Number).String() != strconv.Itoa(nGood) || rs[0]["count_1"].(json.Number).String() != strconv.Itoa(nGood) {
		t.Errorf("air-hdv-01 has %v pm10 and %v temperature readings in all, want %d: a hostile reading was stored", rs[0]["count"], rs[0]["count_1"], nGood)
	}

	// Each deterministic refusal is counted exactly, by reason.
	for _, k := range keys {
		if got := get(k) - before[k]; got != want[k] {
			t.Errorf("%s{reason=%q,sensor=%q} rose by %v, want %v", k.metric, k.reason, good, got, want[k])
		}
	}
	if got := sumSeries(t, g, aclMetric, `reason="not_assigned"`) - aclBefore; got != aclDenied {
		t.Errorf("acl_denied{not_assigned} rose by %v, want %v", got, aclDenied)
	}
	if got := sumSeries(t, g, aclMetric, `reason="bad_topic"`) - aclBadTopicBefore; got != badTopic {
		t.Errorf("acl_denied{bad_topic} rose by %v, want %v", got, badTopic)
	}
	// Every corpus payload was processed: each is refused whole or yields
	// at least one reading, accepted or refused.
	pRej := sumSeries(t, g, "civisens_gateway_payloads_rejected_total") - payloadsAllBefore
	rRej := sumSeries(t, g, "civisens_gateway_readings_rejected_total") - readingsAllBefore
	acc := g.must(t, "civisens_gateway_readings_accepted_total") - acceptedBefore
	var detPayloads, detReadings float64
	for _, k := range keys {
		if k.metric == "civisens_gateway_payloads_rejected_total" {
			detPayloads += want[k]
		} else {
			detReadings += want[k]
		}
	}
	corpusOutcomes := (pRej - detPayloads) + (rRej - detReadings) + (acc - 2*nGood)
	if pRej < detPayloads || rRej < detReadings || acc < 2*nGood || corpusOutcomes < float64(len(corpus)) {
		t.Errorf("outcomes do not cover what was sent: payloads rejected %v (%v deterministic), readings rejected %v (%v deterministic), accepted %v (%d good), corpus outcomes %v < %d",
			pRej, detPayloads, rRej, detReadings, acc, 2*nGood, corpusOutcomes, len(corpus))
	}
	if pRej-detPayloads > float64(len(corpus)) {
		t.Errorf("%v corpus payloads refused whole, but only %d were sent", pRej-detPayloads, len(corpus))
	}

	// Still running, still healthy, still subscribed.
	if g.Exited() {
		t.Fatalf("the gateway exited: %s", g.Output())
	}
	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	if v := g.must(t, "civisens_gateway_mqtt_connected"); v != 1 {
		t.Error("the gateway's reader lost its connection")
	}
	if !c.IsConnectionOpen() {
		t.Error("the publisher was disconnected")
	}
	t.Logf("corpus: %d payloads; refused whole %v, readings refused %v, accepted %v (beyond the deterministic ones); took %s",
		len(corpus), pRej-detPayloads, rRej-detReadings, acc-2*nGood, time.Since(start))
}
