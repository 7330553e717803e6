package register

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/civisens/civisens/registry/registryapi"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "town.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFile(t *testing.T) {
	path := writeFile(t, `{"sensors": [{"id": "air-test-01", "category": "air", "status": "active",
		"quantities": [{"name": "pm10", "unit": "ug/m3", "min": 0, "max": 500, "period_s": 60}]}],
		"attribution": "DTPR"}`)
	got, err := File{Path: path}.Sensors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "air-test-01" || got[0].Quantities[0].PeriodSeconds != 60 {
		t.Fatalf("got %+v", got)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown field", `{"sensors": [{"id": "air-test-01", "categroy": "air"}]}`, `unknown field "categroy"`},
		{"syntax error names the line", "{\"sensors\": [\n{\"id\": \"air-test-01\",,}\n]}", "town.json:2"},
		{"wrong type names the line", "{\"sensors\": [\n\n{\"id\": 12}]}", "town.json:3"},
		{"trailing data", `{"sensors": []} {}`, "data after"},
		{"not an object", `[]`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := File{Path: writeFile(t, tt.body)}.Sensors(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
	if _, err := (File{Path: filepath.Join(t.TempDir(), "missing.json")}).Sensors(context.Background()); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestClientETag(t *testing.T) {
	var gets, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != registryapi.PathSensors {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/json")
		// A field the contract does not know yet is ignored.
		w.Write([]byte(`{"sensors": [{"id": "air-test-01", "category": "air", "status": "active", "future_field": 1}], "attribution": "DTPR"}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		got, err := c.Sensors(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "air-test-01" {
			t.Fatalf("call %d: %+v", i, got)
		}
	}
	if gets.Load() != 3 || notModified.Load() != 2 {
		t.Errorf("%d requests, %d not modified; want 3 and 2", gets.Load(), notModified.Load())
	}
}

func TestClientErrors(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"sensors": [`))
	}))
	defer broken.Close()
	starting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(registryapi.Problem{Title: "Starting", Status: 503, Detail: "database migration"})
	}))
	defer starting.Close()
	tests := []struct {
		name, url string
		want      []string
	}{
		{"problem body", starting.URL, []string{"503", "Starting: database migration"}},
		{"truncated JSON", broken.URL, []string{"GET " + broken.URL + "/api/v1/sensors", "unexpected end"}},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Sensors(context.Background())
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to say %q", tt.name, err, w)
			}
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := NewClient(bad, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}
