package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/brokertest"
	"github.com/civisens/civisens/firmware-bridge/internal/register"
	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

const townFile = "testdata/town.json"

// syncBuffer collects the bridge's logs while it runs.
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

// startBridge calls run with args and env, and stops it when the test
// ends, failing the test if run did not return nil.
func startBridge(t *testing.T, args []string, env map[string]string) *syncBuffer {
	t.Helper()
	logs := new(syncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return within 10s of its context's end")
		}
		if t.Failed() {
			t.Logf("bridge logs:\n%s", logs.String())
		}
	})
	return logs
}

func loadTown(t *testing.T) []registryapi.Sensor {
	t.Helper()
	sensors, err := register.File{Path: townFile}.Sensors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sensors
}

// checkPack checks that payload, received on the topic of s, is a SenML
// pack of the civisens profile that Decode and Resolve accept, with the
// declared quantities and units, values in range, and a recent time.
func checkPack(s registryapi.Sensor, payload []byte) error {
	now := time.Now()
	p, err := senml.Decode(payload)
	if err != nil {
		return fmt.Errorf("%s: decode %s: %w", s.ID, payload, err)
	}
	rs, err := p.Resolve(s.ID, now)
	if err != nil {
		return fmt.Errorf("%s: resolve %s: %w", s.ID, payload, err)
	}
	if len(rs) != len(s.Quantities) {
		return fmt.Errorf("%s: %d readings for %d declared quantities: %s", s.ID, len(rs), len(s.Quantities), payload)
	}
	if p[0].BaseName != s.ID+":" {
		return fmt.Errorf("%s: base name %q", s.ID, p[0].BaseName)
	}
	for i, r := range rs {
		q := s.Quantities[i]
		if r.Sensor != s.ID || r.Quantity != q.Name || r.Unit != q.Unit {
			return fmt.Errorf("%s: reading %d is %s %s %s, declared %s %s", s.ID, i, r.Sensor, r.Quantity, r.Unit, q.Name, q.Unit)
		}
		if (q.Min != nil && r.Value < *q.Min) || (q.Max != nil && r.Value > *q.Max) {
			return fmt.Errorf("%s: %s = %g out of its declared range", s.ID, r.Quantity, r.Value)
		}
		if d := now.Sub(r.Time); d < -time.Second || d > time.Minute {
			return fmt.Errorf("%s: reading time %v, %v from now", s.ID, r.Time, d)
		}
	}
	return nil
}

// waitForTown waits until every sensor of the town that is not retired has
// published a valid pack, and checks that the retired one has not.
func waitForTown(t *testing.T, in *brokertest.Inbox, sensors []registryapi.Sensor, timeout time.Duration) {
	t.Helper()
	testinfra.Eventually(t, timeout, func() error {
		for _, s := range sensors {
			if s.Status == registryapi.StatusRetired {
				continue
			}
			payload, ok := in.Last(senml.Topic(s.ID))
			if !ok {
				return fmt.Errorf("nothing from %s yet", s.ID)
			}
			if err := checkPack(s, payload); err != nil {
				t.Fatal(err) // a bad pack does not get better by waiting
			}
		}
		return nil
	})
	for _, s := range sensors {
		if s.Status == registryapi.StatusRetired && in.Count(senml.Topic(s.ID)) > 0 {
			t.Errorf("retired sensor %s published", s.ID)
		}
	}
}

func TestTownOnEmbeddedBroker(t *testing.T) {
	b := brokertest.Start(t, "127.0.0.1:0")
	in := brokertest.Subscribe(t, b.URL, senml.Subscription)
	startBridge(t, []string{"-town", townFile, "-broker-url", b.URL, "-period", "200ms"}, nil)
	sensors := loadTown(t)
	waitForTown(t, in, sensors, 20*time.Second)
	// And again: every sensor keeps publishing at its period.
	testinfra.Eventually(t, 10*time.Second, func() error {
		for _, s := range sensors {
			if n := in.Count(senml.Topic(s.ID)); s.Status != registryapi.StatusRetired && n < 3 {
				return fmt.Errorf("%d packs from %s", n, s.ID)
			}
		}
		return nil
	})
}

func TestTownOnMosquitto(t *testing.T) {
	m := testinfra.StartMosquitto(t)
	in := brokertest.Subscribe(t, m.URL, senml.Subscription)
	// The configuration from the environment, as in a systemd unit.
	startBridge(t, nil, map[string]string{"BRIDGE_TOWN": townFile, "BROKER_URL": m.URL, "BRIDGE_SEED": "42"})
	waitForTown(t, in, loadTown(t), 20*time.Second)
}

// fakeRegistry serves a sensor list with an ETag, answering 503 until it
// is ready.
type fakeRegistry struct {
	ready    atomic.Bool
	requests atomic.Int32
	mu       sync.Mutex
	list     registryapi.SensorList
	version  int
}

func (f *fakeRegistry) set(sensors []registryapi.Sensor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = registryapi.SensorList{Sensors: sensors, Attribution: "DTPR, CC BY 4.0"}
	f.version++
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.URL.Path != registryapi.PathSensors {
		http.NotFound(w, r)
		return
	}
	if !f.ready.Load() {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(registryapi.Problem{Title: "Registry starting", Status: http.StatusServiceUnavailable})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	etag := fmt.Sprintf(`"v%d"`, f.version)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(f.list)
}

// TestRegistryComesUpLater starts the bridge while the registry answers
// 503: the bridge keeps retrying, publishes nothing, and publishes the town
// as soon as the registry answers; a sensor published later starts
// publishing at the next refresh.
func TestRegistryComesUpLater(t *testing.T) {
	sensors := loadTown(t)
	newcomer := sensors[0]
	newcomer.ID = "air-nouveau-10"
	reg := new(fakeRegistry)
	reg.set(sensors)
	srv := httptest.NewServer(reg)
	defer srv.Close()

	b := brokertest.Start(t, "127.0.0.1:0")
	in := brokertest.Subscribe(t, b.URL, senml.Subscription)
	logs := startBridge(t, []string{"-registry-url", srv.URL, "-broker-url", b.URL, "-refresh", "300ms"}, nil)

	testinfra.Eventually(t, 20*time.Second, func() error {
		if n := reg.requests.Load(); n < 3 {
			return fmt.Errorf("%d requests to the registry", n)
		}
		return nil
	})
	if got := in.Messages(); len(got) != 0 {
		t.Fatalf("published before the registry answered: %v", got)
	}
	if !strings.Contains(logs.String(), "Registry starting") {
		t.Errorf("the retries do not say why:\n%s", logs.String())
	}
	reg.ready.Store(true)
	waitForTown(t, in, sensors, 20*time.Second)

	reg.set(append(sensors, newcomer))
	testinfra.Eventually(t, 10*time.Second, func() error {
		payload, ok := in.Last(senml.Topic(newcomer.ID))
		if !ok {
			return errors.New("nothing from the new sensor yet")
		}
		return checkPack(newcomer, payload)
	})
}

func TestPasswordNotLogged(t *testing.T) {
	const password = "s3cret-pw"
	b := brokertest.StartWithUser(t, "127.0.0.1:0", "bridge", password)
	logs := startBridge(t, []string{"-town", townFile, "-broker-url", b.URL, "-mqtt-username", "bridge"},
		map[string]string{"BRIDGE_MQTT_PASSWORD": password})
	testinfra.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "connected to the broker") {
			return errors.New("not connected yet")
		}
		return nil
	})
	if strings.Contains(logs.String(), password) {
		t.Errorf("the password is in the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "mqtt_password=REDACTED") {
		t.Errorf("the configuration log does not show the password redacted:\n%s", logs.String())
	}
}
