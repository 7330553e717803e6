package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/internal/testinfra"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHelpListsEveryFlag(t *testing.T) {
	for _, arg := range []string{"-help", "--help", "-h"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{arg}, env(nil), &out, &errOut); err != nil {
			t.Fatalf("run %s: %v", arg, err)
		}
		help := out.String()
		for _, o := range options() {
			def := o.def
			if def == "" {
				def = `""`
			}
			for _, want := range []string{"-" + o.name + " ", o.env, "default " + def} {
				if !strings.Contains(help, want) {
					t.Errorf("%s output lacks %q", arg, want)
				}
			}
		}
		if errOut.Len() != 0 {
			t.Errorf("%s wrote to stderr: %s", arg, errOut.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, env(nil), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "civisens-gateway dev\n" {
		t.Errorf("--version printed %q", got)
	}
}

func TestDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Config{}, c); diff != "" {
		t.Errorf("no flags and no environment gave a Config that is not the zero one (-want +got):\n%s", diff)
	}
	want := Config{
		MQTTListen: "127.0.0.1:1883", HTTPListen: "127.0.0.1:9464", RegistryURL: "http://127.0.0.1:8080",
		AllowListRefresh: 30 * time.Second, LastSeenInterval: time.Minute, DataDir: "var/gateway", ClientID: "civisens-gateway",
		InfluxURL: "http://127.0.0.1:8086", InfluxBucket: "civisens", BatchSize: 500, FlushInterval: time.Second,
		InfluxBatchSize: 5000, InfluxFlushInterval: 100 * time.Millisecond, InfluxWriters: 4,
		MaxFuture: 5 * time.Minute, MaxPast: 7 * 24 * time.Hour, LogLevel: "info",
		SpoolDir: "var/gateway/spool", SpoolMaxBytes: 256 << 20, SpoolSegmentBytes: 8 << 20, SpoolSyncRecords: 1000,
		SpoolSyncInterval: 50 * time.Millisecond, DeadLetterMaxBytes: 16 << 20, DrainTimeout: 10 * time.Second,
		MQTTMaxPacket: 64 << 10, MQTTMaxInflight: 4096, MQTTReceiveMax: 256, MQTTMaxConnRate: 20, MaxPayload: 64 << 10, MaxRecords: 500,
		AggregateWindows: []time.Duration{time.Minute, 15 * time.Minute, time.Hour}, AggregateGrace: time.Minute, AggregateRetention: "P10Y",
	}
	if diff := cmp.Diff(want, c.withDefaults()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("the zero Config is invalid: %v", err)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	e := env(map[string]string{
		"BROKER_URL":                "tcp://broker.local:1883",
		"GATEWAY_HTTP_LISTEN":       "0.0.0.0:9999",
		"GATEWAY_ALLOWLIST_REFRESH": "2m",
		"GATEWAY_LASTSEEN_INTERVAL": "5m",
		"GATEWAY_MAX_PAST":          "30d",
		"INFLUX_TOKEN":              "admin:s3cret",
		"GATEWAY_BATCH_SIZE":        "not a number", // overridden by the flag: not an error
		"GATEWAY_CLIENT_ID":         "from-env",
		"GATEWAY_MQTT_MAX_PACKET":   "128KiB",
		"GATEWAY_MAX_RECORDS":       "50",
	})
	c, err := parseConfig([]string{"-batch-size", "100", "-client-id", "from-flag", "-max-future", "90s"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		BrokerURL: "tcp://broker.local:1883", HTTPListen: "0.0.0.0:9999", AllowListRefresh: 2 * time.Minute, LastSeenInterval: 5 * time.Minute,
		MaxPast: 30 * 24 * time.Hour, MaxFuture: 90 * time.Second, InfluxToken: "admin:s3cret",
		BatchSize: 100, ClientID: "from-flag", MQTTMaxPacket: 128 << 10, MaxRecords: 50,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // in the error
	}{
		{"unknown flag", []string{"-bogus"}, nil, []string{"-bogus"}},
		{"argument", []string{"extra"}, nil, []string{`"extra"`}},
		{"bad environment", nil, map[string]string{"GATEWAY_FLUSH_INTERVAL": "soon"}, []string{"GATEWAY_FLUSH_INTERVAL", `"soon"`}},
		{"bad duration flag", []string{"-max-past", "3w"}, nil, []string{"-max-past", `"3w"`}},
		{"several at once", []string{"-broker-url", "ftp://x", "-registry-url", "registry", "-batch-size", "-1", "-log-level", "loud", "-http-listen", "9464"},
			nil, []string{"-broker-url", "-registry-url", "-batch-size", "-log-level", "-http-listen"}},
		{"1.x token", []string{"-influx-token", "abcdef"}, nil, []string{"-influx-token", "user:password"}},
		{"1.x bucket", []string{"-influx-bucket", "a/b/c"}, nil, []string{"-influx-bucket"}},
		{"refresh too often", []string{"-allowlist-refresh", "10ms"}, nil, []string{"-allowlist-refresh"}},
		{"last-seen too often", []string{"-lastseen-interval", "100ms"}, nil, []string{"-lastseen-interval"}},
		{"TLS without a certificate", []string{"-mqtt-tls-listen", "0.0.0.0:8883"}, nil, []string{"-mqtt-tls-listen", "-mqtt-tls-cert"}},
		{"a certificate without TLS", []string{"-mqtt-tls-cert", "a.pem", "-mqtt-tls-key", "a.key"}, nil, []string{"-mqtt-tls-listen"}},
		{"MQTT limits", []string{"-mqtt-max-packet", "100", "-mqtt-max-inflight", "70000", "-mqtt-max-conn-rate", "-1"},
			nil, []string{"-mqtt-max-packet", "-mqtt-max-inflight", "-mqtt-max-conn-rate"}},
		{"bad size", nil, map[string]string{"GATEWAY_MAX_PAYLOAD": "64kB"}, []string{"GATEWAY_MAX_PAYLOAD", `"64kB"`}},
		{"SenML limits", []string{"-max-payload", "32MiB", "-max-records", "0"}, nil, []string{"-max-payload"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, env(tc.env), &bytes.Buffer{}, &bytes.Buffer{})
			if !errors.Is(err, errUsage) {
				t.Fatalf("run = %v, want a configuration error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// A 2.x token needs no colon.
	if err := (Config{InfluxOrg: "commune", InfluxToken: "abcdef"}).Validate(); err != nil {
		t.Errorf("2.x config: %v", err)
	}
}

func TestSecretsAreNotLogged(t *testing.T) {
	var b bytes.Buffer
	c := Config{BrokerURL: "tcp://gw:hunter2@broker:1883", InfluxToken: "admin:s3cret"}
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "config", c)
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("a secret was logged: %s", b.String())
		}
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "0d": 0, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, "250ms": 250 * time.Millisecond} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "3w", "5"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
	for d, want := range map[time.Duration]string{7 * 24 * time.Hour: "7d", 2 * time.Hour: "2h", 5 * time.Minute: "5m", time.Second: "1s", 1500 * time.Millisecond: "1.5s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1883": "127.0.0.1:1883",
		"0.0.0.0:1883":   "127.0.0.1:1883",
		":1883":          "127.0.0.1:1883",
		"[::]:1883":      "[::1]:1883",
		"10.0.0.5:1883":  "10.0.0.5:1883",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, flag := range []string{"-http-listen", "-mqtt-listen"} {
		args := []string{"-http-listen", "127.0.0.1:0", "-mqtt-listen", "127.0.0.1:0", "-influx-url", "http://127.0.0.1:1", "-data-dir", t.TempDir(), flag, l.Addr().String()}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := run(ctx, args, env(nil), &bytes.Buffer{}, &bytes.Buffer{})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%s on a busy port: run = %v, want an error", flag, err)
		}
	}
}

func TestStopsWhileTheBrokerIsAway(t *testing.T) {
	registry := fakeRegistry(t)
	nowhere := testinfra.FreePort(t) // no broker there
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logWatch{}
	done := make(chan error, 1)
	args := []string{"-broker-url", fmt.Sprintf("tcp://127.0.0.1:%d", nowhere), "-http-listen", "127.0.0.1:0",
		"-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", "http://127.0.0.1:1"}
	go func() { done <- run(ctx, args, env(nil), &bytes.Buffer{}, logs) }()
	testinfra.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `msg="mqtt connecting"`) {
			return errors.New("not connecting yet")
		}
		return nil
	})
	addr, _ := logs.find(httpAddrRe)
	g := &gateway{HTTP: addr}
	if code, body := g.health(t); code != 503 || !strings.Contains(body, "not subscribed") {
		t.Errorf("/healthz without a broker = %d: %s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not return after its context ended:\n%s", logs)
	}
}
