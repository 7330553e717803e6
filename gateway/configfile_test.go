package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gateway.conf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFilePrecedence: defaults < file < environment < flags, and the
// file is named by -config or GATEWAY_CONFIG.
func TestConfigFilePrecedence(t *testing.T) {
	p := writeConf(t, `# a comment
batch-size = 100
flush-interval = 3s
max-past = 2d
registry-token = "from file"
spool-evict-oldest = true
`)
	e := env(map[string]string{"GATEWAY_FLUSH_INTERVAL": "4s", "GATEWAY_MAX_PAST": "3d"})
	c, err := parseConfig([]string{"-config", p, "-max-past", "4d"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.BatchSize != 100 || c.RegistryToken != "from file" || !c.SpoolEvictOldest {
		t.Errorf("file not applied: %+v", c)
	}
	if c.FlushInterval != 4*time.Second {
		t.Errorf("flush interval = %v, want the environment's 4s", c.FlushInterval)
	}
	if c.MaxPast != 4*24*time.Hour {
		t.Errorf("max past = %v, want the flag's 4d", c.MaxPast)
	}
	if d := c.withDefaults(); d.MaxFuture != defaultMaxFuture {
		t.Errorf("max future = %v, want the default", d.MaxFuture)
	}

	// GATEWAY_CONFIG names the file when -config does not.
	c, err = parseConfig(nil, env(map[string]string{"GATEWAY_CONFIG": p}), &bytes.Buffer{})
	if err != nil || c.BatchSize != 100 {
		t.Errorf("GATEWAY_CONFIG: batch size %d, err %v", c.BatchSize, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want []string
	}{
		"unknown key": {"batch-size = 10\n\n# x\nbatch-sise = 10\n", []string{":4: batch-sise: unknown key"}},
		"bad value":   {"flush-interval = 1s\nmax-payload = lots\n", []string{":2: max-payload:", `"lots" is not a size`}},
		"bad int":     {"\nbatch-size = ten\n", []string{":2: batch-size:", "not an integer"}},
		"no equals":   {"batch-size 10\n", []string{":1:", "is not `key = value`"}},
		"twice":       {"batch-size = 10\nbatch-size = 20\n", []string{":2: batch-size: set again (first on line 1)"}},
		"bad quote":   {`registry-token = "abc` + "\n", []string{":1: registry-token:"}},
		"invalid":     {"batch-size = 0\nspool-sync-records = -1\n", []string{"-spool-sync-records", "configuration from"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeConf(t, tc.body)
			_, err := parseConfig([]string{"-config", p}, env(nil), &bytes.Buffer{})
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range append(tc.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := parseConfig([]string{"-config", filepath.Join(t.TempDir(), "missing.conf")}, env(nil), &bytes.Buffer{})
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing file: %v", err)
	}
}

// TestConfigSample: -print-config-sample prints the embedded sample, which
// is a valid file that sets the defaults.
func TestConfigSample(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-print-config-sample"}, env(nil), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != configSample || !strings.Contains(configSample, "influx-url =") {
		t.Fatalf("printed %q", out.String())
	}
	p := writeConf(t, out.String())
	c, err := parseConfig([]string{"-config", p}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Config{}.withDefaults(), c.withDefaults()); diff != "" {
		t.Errorf("the sample does not set the defaults (-want +got):\n%s", diff)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimSpace(configSample)) {
		t.Error("README.md does not show config.sample.conf as it is")
	}
}
