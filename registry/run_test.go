package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/registryapi"
)

// syncBuffer is a bytes.Buffer that run's goroutine writes while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

var listeningRE = regexp.MustCompile(`msg=listening .*addr=(\S+)`)

// start runs the registry with args until the test ends, and returns its
// base URL once it listens.
func start(t *testing.T, args ...string) (base string, stop func() error, log *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, noEnv, io.Discard, log) }()
	testinfra.Eventually(t, 10*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, log)
		default:
		}
		m := listeningRE.FindStringSubmatch(log.String())
		if m == nil {
			return errors.New("not listening yet")
		}
		base = "http://" + m[1]
		return nil
	})
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(shutdownTimeout + 5*time.Second):
			return errors.New("run did not return after its context was cancelled")
		}
	}
	t.Cleanup(func() { stop() })
	return base, stop, log
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestRunServesAndStops(t *testing.T) {
	db := filepath.Join(t.TempDir(), "var", "registry", "registry.db") // folders created by run
	down := fmt.Sprintf("http://127.0.0.1:%d", testinfra.FreePort(t))  // no InfluxDB there
	args := []string{"-listen", "127.0.0.1:0", "-db", db, "-demo", "-influx-url", down, "-influx-token", "reader:s3cret"}

	base, stop, log := start(t, args...)
	if code := getJSON(t, base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	var list registryapi.SensorList
	getJSON(t, base+registryapi.PathSensors, &list)
	if len(list.Sensors) != 12 {
		t.Fatalf("%d sensors served, want the 12 of the demo town", len(list.Sensors))
	}
	if want := "http://127.0.0.1:8080/sensors/" + list.Sensors[0].ID; list.Sensors[0].URL != want {
		t.Errorf("url %q, want %q (the default public URL)", list.Sensors[0].URL, want)
	}
	// With InfluxDB away, an entry page is still served.
	resp, err := http.Get(base + "/sensors/air-mairie-01")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "momentanément indisponibles") {
		t.Errorf("entry page with InfluxDB down: %d", resp.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after its context was cancelled")
	}
	out := log.String()
	for _, want := range []string{"demo town seeded", "msg=stopped", "influx_token=REDACTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Error("the log shows the InfluxDB password")
	}

	// A second start reuses the data: nothing seeded twice.
	base, stop, log = start(t, args...)
	getJSON(t, base+registryapi.PathSensors, &list)
	if len(list.Sensors) != 12 || list.Sensors[0].Version != 1 {
		t.Errorf("second start: %d sensors, version %d", len(list.Sensors), list.Sensors[0].Version)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "nothing seeded") {
		t.Errorf("second start seeded again:\n%s", log)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, noEnv, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		help := stdout.String()
		for _, want := range []string{
			"-listen", "REGISTRY_LISTEN", "127.0.0.1:8080",
			"-db", "REGISTRY_DB", "var/registry/registry.db",
			"-demo", "REGISTRY_DEMO", "false",
			"-public-url", "REGISTRY_PUBLIC_URL", "http://127.0.0.1:8080",
			"-influx-url", "INFLUX_URL", "http://127.0.0.1:8086",
			"-influx-token", "INFLUX_TOKEN",
			"-influx-org", "INFLUX_ORG",
			"-influx-bucket", "INFLUX_BUCKET", "civisens",
			"-log-level", "REGISTRY_LOG_LEVEL",
			"-timezone", "REGISTRY_TIMEZONE", "Europe/Paris",
			"-version",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("%s: help lacks %q", arg, want)
			}
		}
		if stderr.Len() > 0 {
			t.Errorf("%s wrote to stderr: %s", arg, stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, noEnv, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), "civisens-registry "+version+"\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-nope"}, nil, "-nope"},
		{"argument", []string{"serve"}, nil, "unexpected argument"},
		{"bad boolean in the environment", nil, map[string]string{"REGISTRY_DEMO": "oui"}, "REGISTRY_DEMO"},
		{"bad listen", []string{"-listen", "8080"}, nil, "listen"},
		{"bad public URL", []string{"-public-url", "capteurs.example.fr"}, nil, "public-url"},
		{"bad influx URL from the environment", nil, map[string]string{"INFLUX_URL": "ftp://x"}, "influx-url"},
		{"1.x token without user", []string{"-influx-token", "abc"}, nil, "user:password"},
		{"bad log level", []string{"-log-level", "loud"}, nil, "log-level"},
		{"bad time zone", []string{"-timezone", "Europe/Nowhere"}, nil, "timezone"},
		{"database path with a query", []string{"-db", "x.db?mode=ro"}, nil, "db"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			getenv := func(k string) string { return tt.env[k] }
			err := run(context.Background(), tt.args, getenv, io.Discard, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "Usage:") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func TestEnvironmentFallback(t *testing.T) {
	env := map[string]string{
		"REGISTRY_LISTEN":     "127.0.0.1:9999",
		"REGISTRY_DEMO":       "true",
		"REGISTRY_PUBLIC_URL": "https://capteurs.example.fr",
		"INFLUX_ORG":          "valmont",
		"INFLUX_TOKEN":        "a-2x-token",
		"INFLUX_BUCKET":       "capteurs",
	}
	cfg, err := parseConfig([]string{"-listen", "127.0.0.1:7777"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		Listen:       "127.0.0.1:7777", // the flag wins
		DB:           defaultDB,
		Demo:         true,
		PublicURL:    "https://capteurs.example.fr",
		InfluxURL:    defaultInfluxURL,
		InfluxToken:  "a-2x-token",
		InfluxOrg:    "valmont",
		InfluxBucket: "capteurs",
		LogLevel:     defaultLogLevel,
		Timezone:     defaultTimezone,
		// Open data (opendata_config.go).
		OpenDataLicence:    opendata.LicenceOuverte.Name,
		OpenDataLicenceURL: opendata.LicenceOuverte.URL,
		ImportMaxSize:      defaultImportMaxSize,
		// Provisioning (provision_config.go).
		MaxBodySize: defaultMaxBodySize,
		// The map (map_config.go).
		MapTiles:       defaultMapTiles,
		MapAttribution: defaultMapAttribution,
	}
	if cfg != want {
		t.Errorf("config = %+v\nwant %+v", cfg, want)
	}
	// -demo=false on the command line beats REGISTRY_DEMO=true.
	cfg, err = parseConfig([]string{"-demo=false"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil || cfg.Demo {
		t.Errorf("-demo=false: demo %v, %v", cfg.Demo, err)
	}
}

func TestZeroConfigIsValid(t *testing.T) {
	if err := (config{}).Validate(); err != nil {
		t.Errorf("the zero config (all defaults) is invalid: %v", err)
	}
	if got := (config{}).withDefaults(); got.Listen != defaultListen || got.DB != defaultDB || got.InfluxBucket != defaultInfluxBucket {
		t.Errorf("defaults: %+v", got)
	}
	if s := fmt.Sprint(secret("user:pw")); strings.Contains(s, "pw") {
		t.Errorf("a secret prints as %q", s)
	}
}
