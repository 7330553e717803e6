package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

// The load's sensors: nSensors of category air with three quantities,
// and one latency sensor per publisher connection.
const (
	nSensors     = 10000
	bridgeUser   = "bridge.bench"
	bridgePass   = "bench-bridge-password-0123456789"
	latSensorFmt = "bench-lat-%d"
	maxConns     = 64
)

func sensorID(i int) string { return fmt.Sprintf("bench-%05d", i) }

func fp(v float64) *float64 { return &v }

// fakeRegistry serves the allow-list of the bench's sensors, with one
// bridge credential (bcrypt) covering all of them, as the registry does.
func fakeRegistry(t *testing.T) *httptest.Server {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(bridgePass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	al := registryapi.AllowList{GeneratedAt: time.Now().UTC()}
	var ids []string
	add := func(id string) {
		ids = append(ids, id)
		al.Sensors = append(al.Sensors, registryapi.GatewaySensor{
			ID: id, Category: registryapi.CategoryAir, Site: "bench",
			Quantities: []registryapi.Quantity{
				{Name: "pm10", Unit: "ug/m3", Min: fp(0), Max: fp(1000), PeriodSeconds: 60, Label: registryapi.Text{FR: "PM10", EN: "PM10"}},
				{Name: "pm2_5", Unit: "ug/m3", Min: fp(0), Max: fp(1000), PeriodSeconds: 60, Label: registryapi.Text{FR: "PM2,5", EN: "PM2.5"}},
				{Name: "temperature", Unit: "Cel", Min: fp(-40), Max: fp(60), PeriodSeconds: 60, Label: registryapi.Text{FR: "Température", EN: "Temperature"}},
			},
			Retention: "P1Y", Status: registryapi.StatusActive,
		})
	}
	for i := 0; i < nSensors; i++ {
		add(sensorID(i))
	}
	for c := 0; c < maxConns; c++ {
		add(fmt.Sprintf(latSensorFmt, c))
	}
	al.Credentials = []registryapi.Credential{{Username: bridgeUser, Hash: string(hash), Sensors: ids}}
	return testinfra.AllowListServer(t, al, `"bench-1"`)
}

// startMosquitto starts Debian's mosquitto with the settings
// gateway/README.md recommends: persistence on, 10,000 in flight, the
// queue bounded in bytes.
func startMosquitto(t *testing.T) *testinfra.MosquittoServer {
	t.Helper()
	return testinfra.StartMosquittoWith(t, testinfra.MosquittoOptions{Persistence: true, MaxInflight: 10000, MaxQueued: -1, MaxQueuedBytes: 256 << 20})
}

// influx is an InfluxDB 1.8.10 on a port chosen before it starts, so that
// a gateway can be pointed at it while it is down.
type influx struct {
	*testinfra.Influx
	dir       string
	port, rpc int
}

func newInflux(t *testing.T) *influx {
	return &influx{Influx: &testinfra.Influx{}, dir: t.TempDir(), port: testinfra.FreePort(t), rpc: testinfra.FreePort(t)}
}

func (in *influx) start(t *testing.T) {
	t.Helper()
	root := testinfra.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "bin", "influxd")); err != nil {
		t.Fatal("bench: bin/influxd is missing: run `make influxd`")
	}
	in.URL = fmt.Sprintf("http://127.0.0.1:%d", in.port)
	// InfluxDB's own WAL fsync setting (no delay), as in the reference
	// figures of issue 8; `make run` delays fsyncs by 100 ms for SD cards.
	cmd := exec.Command(filepath.Join(root, "scripts", "influxd.sh"), "run", in.dir, strconv.Itoa(in.port), strconv.Itoa(in.rpc))
	cmd.Env = append(os.Environ(), "INFLUXD_WAL_FSYNC_DELAY=0s")
	in.Proc = testinfra.StartCmd(t, cmd)
	if _, err := waitHTTP(in.URL+"/ping", http.StatusNoContent, 60*time.Second); err != nil {
		t.Fatalf("bench: InfluxDB did not start: %v\n%s", err, in.Proc.Output())
	}
}

// count returns how many points of pm10 the database holds for sensors
// matching re.
func (in *influx) count(db, sensorRe string) (int, error) {
	q := `SELECT COUNT("pm10") FROM "civisens_p1y"."air"`
	if sensorRe != "" {
		q += ` WHERE "sensor" =~ /` + sensorRe + `/`
	}
	rows, err := in.Query(db, q)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return 0, nil
		}
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	n, _ := rows[0]["count"].(json.Number).Int64()
	return int(n), nil
}

// gatewayProc is one run of the gateway program.
type gatewayProc struct {
	*testinfra.Process
	HTTP, MQTT string // MQTT: the embedded broker's address, if any
	Started    time.Time
	Healthz    time.Duration // until /healthz answered
	Ready      time.Duration // until /readyz answered 200
}

func (g *gatewayProc) PID() int { return g.Cmd.Process.Pid }

func (g *gatewayProc) metrics() (map[string]float64, error) {
	return metrics("http://" + g.HTTP + "/metrics")
}

func (g *gatewayProc) metric(t *testing.T, name string) float64 {
	t.Helper()
	m, err := g.metrics()
	if err != nil {
		t.Fatalf("gateway metrics: %v", err)
	}
	return m[name]
}

// startGateway starts the gateway binary with args, its HTTP (and, when
// embedded, MQTT) on the given loopback addresses, and waits until
// /readyz says it accepts readings.
func startGateway(t *testing.T, bin, httpAddr, mqttAddr string, args ...string) *gatewayProc {
	t.Helper()
	base := []string{"-http-listen", httpAddr, "-log-level", "warn"}
	if mqttAddr != "" {
		base = append(base, "-mqtt-listen", mqttAddr)
	}
	// CIVISENS_BENCH_GATEWAY_ARGS adds flags, for what-if runs
	// (e.g. "-batch-size 5000"); the targets are for the defaults.
	base = append(base, strings.Fields(os.Getenv("CIVISENS_BENCH_GATEWAY_ARGS"))...)
	cmd := exec.Command(bin, append(base, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	g := &gatewayProc{HTTP: httpAddr, MQTT: mqttAddr, Started: time.Now()}
	g.Process = testinfra.StartCmd(t, cmd)
	h, err := waitHTTP("http://"+httpAddr+"/healthz", 0, 30*time.Second)
	if err != nil {
		t.Fatalf("gateway: %v\n%s", err, g.Output())
	}
	g.Healthz = h.Sub(g.Started)
	r, err := waitHTTP("http://"+httpAddr+"/readyz", http.StatusOK, 30*time.Second)
	if err != nil {
		t.Fatalf("gateway: %v\n%s", err, g.Output())
	}
	g.Ready = r.Sub(g.Started)
	return g
}

// buildGateway builds the gateway and the registry as `make build` does,
// but with their symbols (no -s -w), so that perf can name their functions;
// the symbols change no figure but the binary sizes, which binarySizes
// measures on builds of their own.
func buildGateway(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./gateway", "./registry")
	cmd.Dir = testinfra.RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testinfra.FreePort(t))
}
