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
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
	"github.com/civisens/civisens/registry/registryapi"
)

// With a registry token, the gateway reports what it saw every
// -lastseen-interval, with its token and client id; without one, it says
// that it does not. No broker is needed: an idle gateway reports too.
func TestGatewayReportsLastSeen(t *testing.T) {
	const token = "cvs_gateway-token-for-the-test"
	allow, err := json.Marshal(allowList())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reports []registryapi.GatewaySeen
	var auths []string
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case registryapi.PathAllowList:
			w.Header().Set("Content-Type", "application/json")
			w.Write(allow)
		case registryapi.PathGatewaySeen:
			var s registryapi.GatewaySeen
			if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			reports = append(reports, s)
			auths = append(auths, r.Header.Get("Authorization"))
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer registry.Close()

	start := func(extra ...string) (*logWatch, context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		logs := &logWatch{}
		done := make(chan error, 1)
		args := append([]string{"-broker-url", fmt.Sprintf("tcp://127.0.0.1:%d", testinfra.FreePort(t)), "-http-listen", "127.0.0.1:0",
			"-registry-url", registry.URL, "-data-dir", t.TempDir(), "-influx-url", "http://127.0.0.1:1", "-client-id", "passerelle-mairie"}, extra...)
		go func() { done <- run(ctx, args, env(nil), &bytes.Buffer{}, logs) }()
		return logs, cancel, done
	}
	stop := func(cancel context.CancelFunc, done chan error) {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("run did not stop")
		}
	}

	logs, cancel, done := start("-registry-token", token, "-lastseen-interval", "1s")
	testinfra.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(reports) < 2 {
			return errors.New("fewer than two reports yet")
		}
		return nil
	})
	addr, _ := logs.find(httpAddrRe)
	g := &gateway{HTTP: addr}
	if n := g.metric(t, "civisens_gateway_lastseen_reports_total"); n < 2 {
		t.Errorf("civisens_gateway_lastseen_reports_total = %v", n)
	}
	stop(cancel, done)
	mu.Lock()
	for i, s := range reports {
		if s.GatewayID != "passerelle-mairie" || s.SentAt.IsZero() || auths[i] != "Bearer "+token {
			t.Errorf("report %d: %+v, Authorization %q", i, s, auths[i])
		}
	}
	n := len(reports)
	mu.Unlock()
	if strings.Contains(logs.String(), token) {
		t.Error("the token is logged")
	}

	// Without a token: no report, and the log says so.
	logs, cancel, done = start()
	testinfra.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "last-seen reports off") {
			return errors.New("not said yet")
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond)
	stop(cancel, done)
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != n {
		t.Errorf("a gateway without a token sent %d reports", len(reports)-n)
	}
}
