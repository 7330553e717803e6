package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/internal/publish"
)

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-help", "--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		out := stdout.String()
		for name, env := range envVars() {
			if !strings.Contains(out, "  -"+name+" ") || !strings.Contains(out, "env "+env) {
				t.Errorf("%s does not list -%s with %s:\n%s", arg, name, env, out)
			}
		}
		for _, def := range []string{"default simulate", "default tcp://127.0.0.1:1883", "default civisens-bridge-sim",
			"default http://127.0.0.1:8080", "default 1)", "default 10s", "default 1m0s", "default Europe/Paris"} {
			if !strings.Contains(out, def) {
				t.Errorf("%s does not show %q:\n%s", arg, def, out)
			}
		}
		if stderr.Len() != 0 {
			t.Errorf("%s wrote to stderr: %s", arg, stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, func(string) string { return "" }, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), "civisens-firmware-bridge dev\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{
			name: "defaults",
			want: Config{Mode: "simulate", DataDir: DefaultDataDir, BrokerURL: DefaultBrokerURL, ClientID: DefaultClientID, RegistryURL: DefaultRegistryURL,
				Seed: 1, Period: 10 * time.Second, Refresh: time.Minute, TimeZone: "Europe/Paris"},
		},
		{
			name: "environment",
			env: map[string]string{"BRIDGE_MODE": "simulate", "BROKER_URL": "tcp://broker:1883", "BRIDGE_MQTT_USERNAME": "bridge",
				"BRIDGE_MQTT_PASSWORD": "pw", "BRIDGE_CLIENT_ID": "bridge-2", "REGISTRY_URL": "http://registry:8080",
				"BRIDGE_TOWN": "town.json", "BRIDGE_SEED": "7", "BRIDGE_PERIOD": "5s", "BRIDGE_REFRESH": "2m",
				"BRIDGE_TIMEZONE": "America/Cayenne", "BRIDGE_LOG_LEVEL": "debug"},
			want: Config{Mode: "simulate", DataDir: DefaultDataDir, BrokerURL: "tcp://broker:1883", MQTTUsername: "bridge", MQTTPassword: "pw",
				ClientID: "bridge-2", RegistryURL: "http://registry:8080", Town: "town.json", Seed: 7, Period: 5 * time.Second,
				Refresh: 2 * time.Minute, TimeZone: "America/Cayenne", LogLevel: -4},
		},
		{
			name: "a flag wins over its variable",
			args: []string{"-seed", "3", "-broker-url", "tcp://flag:1883"},
			env:  map[string]string{"BRIDGE_SEED": "7", "BROKER_URL": "tcp://env:1883", "BRIDGE_PERIOD": "1s"},
			want: Config{Mode: "simulate", DataDir: DefaultDataDir, BrokerURL: "tcp://flag:1883", ClientID: DefaultClientID, RegistryURL: DefaultRegistryURL,
				Seed: 3, Period: time.Second, Refresh: time.Minute, TimeZone: "Europe/Paris"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, new(bytes.Buffer))
			if err != nil || done {
				t.Fatalf("parseConfig: %v, done %v", err, done)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // every one in the error
	}{
		{"unknown flag", []string{"-sede", "3"}, nil, []string{"-sede"}},
		{"stray argument", []string{"town.json"}, nil, []string{`"town.json"`}},
		{"bad variable names itself", nil, map[string]string{"BRIDGE_PERIOD": "ten seconds", "BRIDGE_SEED": "x"},
			[]string{`BRIDGE_PERIOD="ten seconds"`, `BRIDGE_SEED="x"`}},
		{"every problem at once", []string{"-mode", "serial", "-broker-url", "http://x", "-period", "1ms", "-mqtt-password", "pw", "-registry-url", "localhost"}, nil,
			[]string{`mode "serial"`, `broker URL "http://x"`, "period 1ms", "password without a username", `registry URL "localhost"`}},
		{"unknown time zone", []string{"-town", "x.json", "-timezone", "Europe/Nowhere"}, nil, []string{"time zone"}},
		{"bridge without its file", []string{"-mode", "bridge"}, nil, []string{"needs -config"}},
		{"bridge file missing", []string{"-mode", "bridge", "-config", "/nonexistent/bridge.json"}, nil, []string{"/nonexistent/bridge.json"}},
		{"unknown log level", []string{"-log-level", "loud"}, nil, []string{"loud"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, new(bytes.Buffer), new(bytes.Buffer))
			if err == nil {
				t.Fatal("run accepted the configuration")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestConfigLogValueRedactsPassword(t *testing.T) {
	c := Config{MQTTUsername: "bridge", MQTTPassword: publish.Secret("hunter2")}.withDefaults()
	v := c.LogValue().String()
	if strings.Contains(v, "hunter2") || !strings.Contains(v, "REDACTED") {
		t.Errorf("LogValue = %s", v)
	}
}

func TestStopsWhileWaitingForTheBroker(t *testing.T) {
	// Nothing listens on port 1: run waits for the broker until stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := run(ctx, []string{"-town", "testdata/town.json", "-broker-url", "tcp://127.0.0.1:1"}, func(string) string { return "" }, new(bytes.Buffer), new(bytes.Buffer))
	if err != nil {
		t.Fatalf("run = %v, want nil on a stop", err)
	}
}
