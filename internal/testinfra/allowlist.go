package testinfra

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/civisens/civisens/registry/registryapi"
)

// AllowListServer serves al at registryapi.PathAllowList as the registry
// does: with the ETag etag, and 304 Not Modified to a request that
// already has it. It stops with the test.
func AllowListServer(t testing.TB, al registryapi.AllowList, etag string) *httptest.Server {
	t.Helper()
	body, err := json.Marshal(al)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != registryapi.PathAllowList {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
