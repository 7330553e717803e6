package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/httpapi"
)

func TestMapConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		bad  string // in the error; empty: valid
	}{
		{nil, ""},
		{[]string{"-map-tiles", "https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png", "-map-attribution", "© OpenStreetMap France"}, ""},
		{[]string{"-map-tiles", "http://127.0.0.1:8081/{z}/{x}/{y}.png"}, ""},
		{[]string{"-map-tiles", "tile.openstreetmap.org/{z}/{x}/{y}.png"}, "map-tiles"},
		{[]string{"-map-tiles", "https://tiles.example.fr/tile.png"}, "{z}, {x} and {y}"},
		{[]string{"-map-attribution", "a\nb"}, "map-attribution"},
	} {
		cfg, err := parseConfig(c.args, func(string) string { return "" }, io.Discard, io.Discard)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%q: error %v, want one about %s", c.args, err, c.bad)
		case c.bad == "" && cfg.mapDeps(httpapi.Deps{}).Map.Tiles != cfg.MapTiles:
			t.Errorf("%q: tiles not passed on", c.args)
		}
	}
	// Another tile server gets no OpenStreetMap credit by default.
	cfg, err := parseConfig([]string{"-map-tiles", "http://127.0.0.1:8081/{z}/{x}/{y}.png"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil || cfg.MapAttribution != "" {
		t.Errorf("attribution %q, %v", cfg.MapAttribution, err)
	}
	cfg, _ = parseConfig(nil, func(k string) string {
		return map[string]string{"REGISTRY_MAP_TILES": "http://127.0.0.1:1/{z}/{x}/{y}.png"}[k]
	}, io.Discard, io.Discard)
	if cfg.MapTiles != "http://127.0.0.1:1/{z}/{x}/{y}.png" {
		t.Errorf("REGISTRY_MAP_TILES: %q", cfg.MapTiles)
	}
}

// A plain `go build ./registry/` works without node, npm or
// node_modules: static/vendor holds only its committed README.md, which
// the web package embeds (and the map page then shows the list). The
// module is copied without the files `make` vendors, and built offline.
func TestBuildsWithoutVendoredFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the registry")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	vendor := filepath.Join("registry", "internal", "web", "static", "vendor")
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir() && (rel == ".git" || rel == "var" || rel == "bin" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case strings.HasPrefix(rel, vendor+string(filepath.Separator)) && rel != filepath.Join(vendor, "README.md"):
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, vendor, "leaflet")); !os.IsNotExist(err) {
		t.Fatalf("the copy has Leaflet: %v", err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "registry"), "./registry/")
	cmd.Dir = dst
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./registry/ without vendored files: %v\n%s", err, out)
	}
}

func TestDashboardsSettledAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "8d": 8 * 24 * time.Hour, "36h": 36 * time.Hour, "off": -1, "0d": 0, "-2h": 0, "huit": 0} {
		cfg, err := parseConfig([]string{"-dashboards-settled-after", in}, func(string) string { return "" }, io.Discard, io.Discard)
		valid := want != 0 || in == ""
		switch {
		case valid && err != nil:
			t.Errorf("%q: %v", in, err)
		case !valid && (err == nil || !strings.Contains(err.Error(), "dashboards-settled-after")):
			t.Errorf("%q: error %v, want one about dashboards-settled-after", in, err)
		case valid && cfg.dashboardDeps(httpapi.Deps{}).Dashboards.SettledAfter != want:
			t.Errorf("%q: SettledAfter %v, want %v", in, cfg.dashboardDeps(httpapi.Deps{}).Dashboards.SettledAfter, want)
		}
	}
}
