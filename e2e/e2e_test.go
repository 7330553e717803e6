// Package e2e tests the whole civisens system as `make run` starts it: the
// real programs, built from this checkout, started by scripts/run.sh with a
// real InfluxDB 1.8.10, the gateway's embedded broker or Debian's mosquitto,
// and checked the way a person would: InfluxQL over InfluxDB's HTTP API,
// mosquitto_pub, the registry's pages and the gateway's metrics.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

// system is one run of scripts/run.sh.
type system struct {
	proc        *testinfra.Process
	bin         string // the programs
	varDir      string
	registryURL string
	metricsURL  string
	mqttAddr    string // the embedded broker, when used
	influx      *testinfra.Influx
}

// programs builds the three programs once per test binary.
var programs = struct {
	dir string
	err error
}{}

func buildPrograms(t *testing.T) string {
	t.Helper()
	if programs.dir == "" && programs.err == nil {
		dir, err := os.MkdirTemp("", "civisens-e2e-bin-")
		if err != nil {
			t.Fatal(err)
		}
		root := testinfra.RepoRoot(t)
		cmd := exec.Command("go", "build", "-o", dir+"/", "./firmware-bridge", "./gateway", "./registry")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			programs.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
		programs.dir = dir
	}
	if programs.err != nil {
		t.Fatal(programs.err)
	}
	return programs.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if programs.dir != "" {
		os.RemoveAll(programs.dir)
	}
	os.Exit(code)
}

// startSystem runs scripts/run.sh on free loopback ports with its data in
// varDir, and waits for its "is running" banner.
func startSystem(t *testing.T, varDir string, extraEnv ...string) *system {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the whole system: skipped under -short")
	}
	bin := buildPrograms(t)
	root := testinfra.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "bin", "influxd")); err != nil {
		t.Fatal("bin/influxd is missing: run `make test`")
	}
	s := &system{varDir: varDir, bin: bin}
	regAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	s.registryURL = "http://" + regAddr
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	s.metricsURL = "http://" + httpAddr + "/metrics"
	s.mqttAddr = fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
	influxPort := testinfra.FreePort(t)
	s.influx = &testinfra.Influx{URL: fmt.Sprintf("http://127.0.0.1:%d", influxPort)}

	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "INFLUX"), strings.HasPrefix(k, "REGISTRY_"),
			strings.HasPrefix(k, "GATEWAY_"), strings.HasPrefix(k, "BRIDGE_"), k == "BROKER_URL":
			continue // the system under test gets only what this test says
		}
		env = append(env, kv)
	}
	env = append(env,
		"VAR_DIR="+varDir,
		"BIN_DIR="+bin,
		"REGISTRY_LISTEN="+regAddr,
		"GATEWAY_HTTP_LISTEN="+httpAddr,
		"GATEWAY_MQTT_LISTEN="+s.mqttAddr,
		"INFLUXD_PORT="+strconv.Itoa(influxPort),
		"INFLUXD_RPC_PORT="+strconv.Itoa(testinfra.FreePort(t)),
		"BRIDGE_PERIOD=1s",
		// Credentials issued during a test work at the gateway's next
		// refresh of the allow-list.
		"GATEWAY_ALLOWLIST_REFRESH=1s",
	)
	env = append(env, extraEnv...)
	cmd := exec.Command(filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = env
	s.proc = testinfra.StartCmd(t, cmd)
	testinfra.Eventually(t, 90*time.Second, func() error {
		if s.proc.Exited() {
			t.Fatalf("run.sh exited before it was running:\n%s\n%s", s.proc.Output(), s.logs())
		}
		if !strings.Contains(s.proc.Output(), "civisens is running") {
			return fmt.Errorf("no banner yet:\n%s", s.proc.Output())
		}
		return nil
	})
	return s
}

// logs returns the end of every program's log, for failure messages.
func (s *system) logs() string {
	var b strings.Builder
	for _, name := range []string{"influxd", "registry", "gateway", "firmware-bridge"} {
		data, err := os.ReadFile(filepath.Join(s.varDir, "log", name+".log"))
		if err != nil {
			continue
		}
		lines := testinfra.Lines(string(data))
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s.log\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// stop sends Ctrl-C to run.sh's process group and checks that it ends
// cleanly, leaving none of the processes it started behind.
func (s *system) stop(t *testing.T) {
	t.Helper()
	pgid := s.proc.Cmd.Process.Pid
	members := processGroup(pgid)
	if len(members) < 5 { // run.sh, influxd, registry, gateway, firmware-bridge
		t.Errorf("process group of run.sh has %d processes, want at least 5: %v", len(members), members)
	}
	if err := s.proc.SignalGroup(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := s.proc.Wait(60 * time.Second); err != nil {
		t.Fatalf("run.sh after Ctrl-C: %v\n%s\n%s", err, s.proc.Output(), s.logs())
	}
	for _, pid := range members {
		if alive(pid) {
			t.Errorf("process %d (%s) still runs after Ctrl-C", pid, comm(pid))
		}
	}
	if !strings.Contains(s.proc.Output(), "stopped.") {
		t.Errorf("run.sh did not report a clean stop:\n%s", s.proc.Output())
	}
}

// processGroup lists the PIDs whose process group is pgid.
func processGroup(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func getText(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

func (s *system) sensors(t *testing.T) []registryapi.Sensor {
	t.Helper()
	var list registryapi.SensorList
	if err := getJSON(s.registryURL+registryapi.PathSensors, &list); err != nil {
		t.Fatal(err)
	}
	return list.Sensors
}

// countsBySensor asks InfluxDB, with InfluxQL over its HTTP API, how many
// readings each sensor has in every measurement of the civisens database.
func (s *system) countsBySensor() (map[string]int, error) {
	var list registryapi.SensorList
	if err := getJSON(s.registryURL+registryapi.PathSensors, &list); err != nil {
		return nil, err
	}
	rps := map[string]bool{}
	for _, sn := range list.Sensors {
		rps[sn.Retention] = true
	}
	counts := map[string]int{}
	for ret := range rps {
		for _, m := range registryapi.Categories {
			rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT count(*) FROM %s GROUP BY "sensor"`, from(m, ret)))
			if err != nil {
				if strings.Contains(err.Error(), "retention policy not found") {
					continue // no reading of that retention yet
				}
				return nil, err
			}
			for _, r := range rows {
				id, _ := r["sensor"].(string)
				for k, v := range r {
					if !strings.HasPrefix(k, "count_") {
						continue
					}
					if n, ok := v.(json.Number); ok {
						c, _ := n.Int64()
						counts[id] += int(c)
					}
				}
			}
		}
	}
	return counts, nil
}

// from is the InfluxQL measurement of category in the retention policy
// that the gateway writes readings of retention into (registryapi's
// naming rule): "civisens_p1y"."air".
func from(category, retention string) string {
	r, err := registryapi.ParseRetention(retention)
	if err != nil {
		return fmt.Sprintf("%q", category) // the default retention policy: finds nothing
	}
	return fmt.Sprintf("%q.%q", r.RetentionPolicy(), category)
}

// metric sums the samples of a Prometheus metric whose labels contain every
// label given, like reason="unknown_sensor".
func metric(url, name string, labels ...string) (float64, error) {
	text, err := getText(url)
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric whose name starts the same
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %v", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, nil
	}
	return sum, nil
}

// mqttUser is an MQTT credential; the zero value publishes anonymously.
type mqttUser struct{ name, password string }

// mosquittoPubAs publishes payload on topic with Debian's mosquitto_pub,
// QoS 1, as user, and returns its error and output.
func mosquittoPubAs(addr string, user mqttUser, topic, payload string) (string, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-h", host, "-p", port, "-q", "1", "-i", "e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36), "-t", topic, "-m", payload}
	if user.name != "" {
		args = append(args, "-u", user.name, "-P", user.password)
	}
	out, err := exec.Command("mosquitto_pub", args...).CombinedOutput()
	return string(out), err
}

// mosquittoPub publishes payload on topic with mosquitto_pub, QoS 1, as
// user, and fails the test if it cannot.
func mosquittoPub(t *testing.T, addr string, user mqttUser, topic, payload string) {
	t.Helper()
	if out, err := mosquittoPubAs(addr, user, topic, payload); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
}

// issueCredential issues the MQTT credential of sensor the way a
// provisioning script does: a technician API token from the registry's
// command line ("registry admin token"), then POST
// /api/v1/sensors/{id}/credentials. It waits until the gateway's embedded
// broker admits it (the gateway refreshes its allow-list every second in
// these tests).
func (s *system) issueCredential(t *testing.T, sensor string) mqttUser {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "registry"), "admin", "token", "-quiet",
		"-db", filepath.Join(s.varDir, "registry", "registry.db"), "-name", "e2e "+sensor, "-role", "technician")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("registry admin token: %v: %s", err, out)
	}
	token := strings.TrimSpace(string(out))
	req, _ := http.NewRequest(http.MethodPost, s.registryURL+registryapi.PathSensors+"/"+sensor+"/credentials", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var issued struct{ Username, Password string }
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST credentials of %s: %s: %s", sensor, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil || issued.Username != sensor || issued.Password == "" {
		t.Fatalf("credentials of %s: %+v, %v", sensor, issued, err)
	}
	return mqttUser{issued.Username, issued.Password}
}

// openQuantity picks an open-data air sensor and one of its quantities, and a
// value inside its declared range with two decimals to find again.
func openQuantity(t *testing.T, sensors []registryapi.Sensor) (registryapi.Sensor, registryapi.Quantity, float64) {
	t.Helper()
	for _, s := range sensors {
		if s.Category != registryapi.CategoryAir || !s.OpenData || s.Status != registryapi.StatusActive {
			continue
		}
		for _, q := range s.Quantities {
			if q.Min == nil || q.Max == nil || *q.Max-*q.Min < 4 {
				continue
			}
			v := math.Floor((*q.Min+*q.Max)/2) + 0.75
			return s, q, v
		}
	}
	t.Fatal("the demo town has no open air-quality sensor with a ranged quantity")
	return registryapi.Sensor{}, registryapi.Quantity{}, 0
}

func TestMakeRunChainWithEmbeddedBroker(t *testing.T) {
	varDir := t.TempDir()
	s := startSystem(t, varDir)

	// The public register lists the demo town.
	sensors := s.sensors(t)
	counts := map[string]int{}
	for _, sn := range sensors {
		counts[sn.Category]++
	}
	if len(sensors) < 12 || counts["air"] < 3 || counts["parking"] < 4 || counts["lighting"] < 3 || counts["energy"] < 2 {
		t.Fatalf("demo town: %d sensors by category %v; want ≥12 with ≥3 air, 4 parking, 3 lighting, 2 energy", len(sensors), counts)
	}
	home, err := getText(s.registryURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range sensors {
		if !strings.Contains(home, sn.Name.FR) && !strings.Contains(home, htmlEscape(sn.Name.FR)) {
			t.Errorf("the register's home page does not list %q", sn.Name.FR)
		}
	}
	// The list has a row per published entry (README: grep -c 'scope="row"').
	list, err := getText(s.registryURL + "/sensors?per=100")
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(list, `scope="row"`); rows != len(sensors) {
		t.Errorf("the register's list has %d rows, want %d", rows, len(sensors))
	}

	// Readings of every simulated sensor reach InfluxDB through the embedded
	// broker and the gateway, within 60 seconds.
	testinfra.Eventually(t, 60*time.Second, func() error {
		got, err := s.countsBySensor()
		if err != nil {
			return err
		}
		var missing []string
		for _, sn := range sensors {
			if got[sn.ID] == 0 {
				missing = append(missing, sn.ID)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("no readings in InfluxDB yet for %v\n%s", missing, s.logs())
		}
		return nil
	})

	// A reading published with mosquitto_pub lands with its own timestamp,
	// and the register's entry page shows it. The time is two minutes ahead
	// so that it stays the latest reading while the simulator publishes.
	// The broker admits only the credentials the registry issued.
	sensor, q, value := openQuantity(t, sensors)
	ts := time.Now().Add(2 * time.Minute).Truncate(time.Second)
	payload := fmt.Sprintf(`[{"bn":"%s:","bt":%d,"n":%q,"u":%q,"v":%g}]`, sensor.ID, ts.Unix(), q.Name, q.Unit, value)
	before, err := metric(s.metricsURL, "civisens_gateway_broker_auth_failures_total", `reason="anonymous"`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := mosquittoPubAs(s.mqttAddr, mqttUser{}, "sensors/"+sensor.ID+"/senml", payload); err == nil {
		t.Errorf("an anonymous mosquitto_pub was accepted: %s", out)
	}
	if after, _ := metric(s.metricsURL, "civisens_gateway_broker_auth_failures_total", `reason="anonymous"`); after <= before {
		t.Errorf("anonymous refusals %v, want more than %v", after, before)
	}
	user := s.issueCredential(t, sensor.ID)
	testinfra.Eventually(t, 20*time.Second, func() error { // until the gateway has the new credential
		if out, err := mosquittoPubAs(s.mqttAddr, user, "sensors/"+sensor.ID+"/senml", payload); err != nil {
			return fmt.Errorf("mosquitto_pub -u %s: %v: %s", user.name, err, out)
		}
		return nil
	})
	testinfra.Eventually(t, 20*time.Second, func() error {
		rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT %q FROM %s WHERE "sensor"='%s' AND time = %d`,
			q.Name, from(sensor.Category, sensor.Retention), sensor.ID, ts.UnixNano()))
		if err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("%d rows at %v, want 1\n%s", len(rows), ts, s.logs())
		}
		if got, _ := rows[0][q.Name].(json.Number).Float64(); got != value {
			return fmt.Errorf("%s = %v at %v, want %v", q.Name, rows[0][q.Name], ts, value)
		}
		return nil
	})
	frValue := strings.Replace(strconv.FormatFloat(value, 'f', -1, 64), ".", ",", 1)
	testinfra.Eventually(t, 10*time.Second, func() error {
		page, err := getText(s.registryURL + "/sensors/" + sensor.ID)
		if err != nil {
			return err
		}
		if !strings.Contains(page, frValue) {
			return fmt.Errorf("entry page of %s does not show %s", sensor.ID, frValue)
		}
		return nil
	})

	// The sensor's credential does not let it publish for another sensor:
	// mosquitto_pub (MQTT 3.1.1) gets its PUBACK, the broker drops the
	// reading and counts it, and the reading never lands.
	var other registryapi.Sensor
	for _, sn := range sensors {
		if sn.ID != sensor.ID && sn.Category == sensor.Category {
			other = sn
			break
		}
	}
	if other.ID == "" {
		t.Fatalf("the demo town has no second %s sensor", sensor.Category)
	}
	forged := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	before, err = metric(s.metricsURL, "civisens_gateway_broker_acl_denied_total", `reason="other_sensor"`)
	if err != nil {
		t.Fatal(err)
	}
	mosquittoPub(t, s.mqttAddr, user, "sensors/"+other.ID+"/senml",
		fmt.Sprintf(`[{"bn":"%s:","bt":%d,"n":%q,"u":%q,"v":%g}]`, other.ID, forged.Unix(), q.Name, q.Unit, value))
	testinfra.Eventually(t, 10*time.Second, func() error {
		after, err := metric(s.metricsURL, "civisens_gateway_broker_acl_denied_total", `reason="other_sensor"`)
		if err != nil {
			return err
		}
		if after <= before {
			return fmt.Errorf("other_sensor denials %v, want more than %v", after, before)
		}
		return nil
	})
	// A later reading of the sensor itself lands: the forged one, before
	// it, would have too.
	later := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	mosquittoPub(t, s.mqttAddr, user, "sensors/"+sensor.ID+"/senml",
		fmt.Sprintf(`[{"bn":"%s:","bt":%d,"n":%q,"u":%q,"v":%g}]`, sensor.ID, later.Unix(), q.Name, q.Unit, value))
	testinfra.Eventually(t, 20*time.Second, func() error {
		rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT %q FROM %s WHERE "sensor"='%s' AND time = %d`,
			q.Name, from(sensor.Category, sensor.Retention), sensor.ID, later.UnixNano()))
		if err != nil || len(rows) != 1 {
			return fmt.Errorf("the later reading: %v, %v", rows, err)
		}
		return nil
	})
	rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT * FROM %s WHERE "sensor"='%s' AND time = %d AND %q = %g`,
		from(other.Category, other.Retention), other.ID, forged.UnixNano(), q.Name, value))
	if err != nil && strings.Contains(err.Error(), "retention policy not found") {
		err = nil // nothing of that retention was ever written
	}
	if err != nil || len(rows) != 0 {
		t.Errorf("the reading published on %s's topic with %s's credential landed: %v, %v", other.ID, sensor.ID, rows, err)
	}

	// A sensor the register does not know has no credential: refused.
	before, err = metric(s.metricsURL, "civisens_gateway_broker_auth_failures_total", `reason="unknown_user"`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := mosquittoPubAs(s.mqttAddr, mqttUser{"capteur-inconnu-99", "devine"}, "sensors/capteur-inconnu-99/senml",
		fmt.Sprintf(`[{"bn":"capteur-inconnu-99:","bt":%d,"n":"pm10","u":"ug/m3","v":12}]`, time.Now().Unix())); err == nil {
		t.Errorf("a sensor without credential published: %s", out)
	}
	if after, _ := metric(s.metricsURL, "civisens_gateway_broker_auth_failures_total", `reason="unknown_user"`); after <= before {
		t.Errorf("unknown_user refusals %v, want more than %v", after, before)
	}
	got, err := s.countsBySensor()
	if err != nil {
		t.Fatal(err)
	}
	if got["capteur-inconnu-99"] != 0 {
		t.Errorf("InfluxDB holds %d readings of an unknown sensor", got["capteur-inconnu-99"])
	}

	s.stop(t)

	// A second run reuses the data: the demo town is not seeded twice and the
	// reading published above is still there.
	s2 := startSystem(t, varDir)
	if n := len(s2.sensors(t)); n != len(sensors) {
		t.Errorf("second run: %d sensors, want the same %d", n, len(sensors))
	}
	rows, err = s2.influx.Query("civisens", fmt.Sprintf(`SELECT %q FROM %s WHERE "sensor"='%s' AND time = %d`,
		q.Name, from(sensor.Category, sensor.Retention), sensor.ID, ts.UnixNano()))
	if err != nil || len(rows) != 1 {
		t.Errorf("second run: the reading at %v is gone (%v, %v)", ts, rows, err)
	}
	s2.stop(t)
}

func TestMakeRunChainThroughMosquitto(t *testing.T) {
	mq := testinfra.StartMosquitto(t)
	// Aggregates of 5-second windows, so that they come within the test.
	s := startSystem(t, t.TempDir(), "BROKER_URL="+mq.URL,
		"GATEWAY_AGGREGATE_WINDOWS=5s,1m", "GATEWAY_AGGREGATE_GRACE=1s", "GATEWAY_MAX_FUTURE=1s")
	sensors := s.sensors(t)
	testinfra.Eventually(t, 60*time.Second, func() error {
		got, err := s.countsBySensor()
		if err != nil {
			return err
		}
		for _, sn := range sensors {
			if got[sn.ID] == 0 {
				return fmt.Errorf("no readings through mosquitto yet for %s\n%s", sn.ID, s.logs())
			}
		}
		return nil
	})
	sensor, q, value := openQuantity(t, sensors)
	ts := time.Now().Add(-90 * time.Second).Truncate(time.Millisecond)
	payload := fmt.Sprintf(`[{"bn":"%s:","bt":%.3f,"n":%q,"u":%q,"v":%g}]`,
		sensor.ID, float64(ts.UnixMilli())/1000, q.Name, q.Unit, value)
	mosquittoPub(t, mq.Addr, mqttUser{}, "sensors/"+sensor.ID+"/senml", payload) // Mosquitto's access is its own
	testinfra.Eventually(t, 20*time.Second, func() error {
		rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT %q FROM %s WHERE "sensor"='%s' AND time = %d`,
			q.Name, from(sensor.Category, sensor.Retention), sensor.ID, ts.UnixNano()))
		if err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("%d rows at %v through mosquitto, want 1", len(rows), ts)
		}
		return nil
	})

	// Every demo sensor gets its 5-second aggregates, in the long-retention
	// policy (none of the demo's data is identifiable or pseudonymised),
	// with the fields its quantities' aggregation gives.
	testinfra.Eventually(t, 60*time.Second, func() error {
		for _, sn := range sensors {
			rows, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT * FROM %s WHERE "sensor"='%s' AND "window"='5s' ORDER BY time DESC LIMIT 1`,
				from(sn.Category+"_agg", "P10Y"), sn.ID))
			if err != nil {
				return err
			}
			if len(rows) != 1 {
				return fmt.Errorf("no 5s aggregate yet for %s\n%s", sn.ID, s.logs())
			}
			for _, q := range sn.Quantities {
				field := map[string]string{registryapi.AggregationIndex: "_delta", registryapi.AggregationOccupancy: "_arrivals"}[q.AggregationKind()]
				if field == "" {
					field = "_mean"
				}
				if rows[0][q.Name+field] == nil {
					return fmt.Errorf("%s: aggregate without %s%s: %v", sn.ID, q.Name, field, rows[0])
				}
			}
		}
		return nil
	})
	// The reading published 90 s in the past came after its window was
	// aggregated (or before the gateway's memory started): the window is
	// repaired from the raw readings, and counts exactly those.
	win := ts.Truncate(5 * time.Second)
	testinfra.Eventually(t, 30*time.Second, func() error {
		raw, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT count(%q) FROM %s WHERE "sensor"='%s' AND time >= %d AND time < %d`,
			q.Name, from(sensor.Category, sensor.Retention), sensor.ID, win.UnixNano(), win.Add(5*time.Second).UnixNano()))
		if err != nil || len(raw) != 1 {
			return fmt.Errorf("raw count: %v %v", raw, err)
		}
		agg, err := s.influx.Query("civisens", fmt.Sprintf(`SELECT %q FROM %s WHERE "sensor"='%s' AND "window"='5s' AND time = %d`,
			q.Name+"_count", from(sensor.Category+"_agg", "P10Y"), sensor.ID, win.UnixNano()))
		if err != nil || len(agg) != 1 {
			return fmt.Errorf("aggregate of the window %s: %v %v", win, agg, err)
		}
		if fmt.Sprint(agg[0][q.Name+"_count"]) != fmt.Sprint(raw[0]["count"]) {
			return fmt.Errorf("window %s: aggregate count %v, raw readings %v", win, agg[0][q.Name+"_count"], raw[0]["count"])
		}
		return nil
	})

	// Through a broker that lets anyone publish, the gateway still stores
	// nothing of a sensor the register does not know: dropped and counted.
	before, err := metric(s.metricsURL, "civisens_gateway_readings_rejected_total", `reason="unknown_sensor"`)
	if err != nil {
		t.Fatal(err)
	}
	mosquittoPub(t, mq.Addr, mqttUser{}, "sensors/capteur-inconnu-99/senml",
		fmt.Sprintf(`[{"bn":"capteur-inconnu-99:","bt":%d,"n":"pm10","u":"ug/m3","v":12}]`, time.Now().Unix()))
	testinfra.Eventually(t, 20*time.Second, func() error {
		after, err := metric(s.metricsURL, "civisens_gateway_readings_rejected_total", `reason="unknown_sensor"`)
		if err != nil {
			return err
		}
		if after <= before {
			return fmt.Errorf("unknown_sensor rejections %v, want more than %v", after, before)
		}
		return nil
	})
	if got, err := s.countsBySensor(); err != nil || got["capteur-inconnu-99"] != 0 {
		t.Errorf("InfluxDB holds %d readings of an unknown sensor (%v)", got["capteur-inconnu-99"], err)
	}
	s.stop(t)
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}
