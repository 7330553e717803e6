package bench

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

const registryEntries = 10000

// registryBench starts the registry with its demo town, imports 10,000
// entries made from the demo's published ones (registry import), starts
// it again and loads three pages with concurrent workers.
func registryBench(t *testing.T, cfg config, bin, influxURL string, rec *recorder) {
	dir := t.TempDir()
	db := filepath.Join(dir, "registry.db")
	addr := freeAddr(t)
	reg := filepath.Join(bin, "registry")
	start := func(extra ...string) (*testinfra.Process, time.Duration) {
		cmd := exec.Command(reg, append([]string{"-db", db, "-listen", addr, "-public-url", "http://" + addr, "-influx-url", influxURL, "-log-level", "warn"}, extra...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		began := time.Now()
		p := testinfra.StartCmd(t, cmd)
		at, err := waitHTTP("http://"+addr+"/healthz", 0, 60*time.Second)
		if err != nil {
			t.Fatalf("registry: %v\n%s", err, p.Output())
		}
		if _, err := waitHTTP("http://"+addr+"/healthz", http.StatusOK, 60*time.Second); err != nil {
			t.Fatalf("registry: %v\n%s", err, p.Output())
		}
		return p, at.Sub(began)
	}
	p, _ := start("-demo")
	resp, err := http.Get("http://" + addr + "/api/v1/sensors.csv")
	if err != nil {
		t.Fatal(err)
	}
	demo, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(demo) < 2 {
		t.Fatalf("registry CSV export: %v (%d lines)", err, len(demo))
	}
	p.Stop(t)

	// 10,000 published entries: the demo's, again and again, under new ids;
	// the export's own version, update time and URL columns left out.
	header := demo[0]
	var keep []int
	idCol := -1
	for i, h := range header {
		switch h {
		case "version", "updated_at", "url":
			continue
		case "id":
			idCol = len(keep)
		}
		keep = append(keep, i)
	}
	file := filepath.Join(dir, "entries.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	row := func(src []string) []string {
		out := make([]string, len(keep))
		for j, i := range keep {
			out[j] = src[i]
		}
		return out
	}
	w.Write(row(header))
	var someID string
	for n := 0; n < registryEntries; n++ {
		r := row(demo[1+n%(len(demo)-1)])
		base, _, _ := strings.Cut(r[idCol], "-")
		r[idCol] = fmt.Sprintf("%s-b%05d", base, n)
		if n == registryEntries/2 {
			someID = r[idCol]
		}
		w.Write(r)
	}
	w.Flush()
	if err := f.Close(); err != nil || w.Error() != nil {
		t.Fatal(err, w.Error())
	}
	began := time.Now()
	out, err := exec.Command(reg, "import", "-db", db, "-reason", "bench", file).CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Fatalf("registry import: %v: %s", err, lines[len(lines)-1])
	}
	rec.add("reg.import", "registry: import of 10,000 entries (registry import)", "s", time.Since(began).Seconds())

	_, up := start()
	rec.add("startup.registry", "registry start-up to /healthz (10,000 entries)", "ms", float64(up.Microseconds())/1000)
	base := "http://" + addr
	for _, pg := range []struct{ key, name, path string }{
		{"reg.list", "/sensors (list page)", "/sensors"},
		{"reg.entry", "/sensors/{id} (entry page)", "/sensors/" + someID},
		{"reg.api", "/api/v1/sensors (10,000 entries)", "/api/v1/sensors"},
	} {
		r := hammer(t, base+pg.path, cfg.RegistryWorkers, cfg.RegistryFor)
		rec.add(pg.key+".rps", fmt.Sprintf("registry %s, %d workers", pg.name, cfg.RegistryWorkers), "req/s", r.rps)
		rec.add(pg.key+".p50", "registry "+pg.name+" p50", "ms", r.p50)
		rec.add(pg.key+".p99", "registry "+pg.name+" p99", "ms", r.p99)
		t.Logf("registry %s: %d done, %d cut at the deadline, %d errors, %.0f bytes/answer", pg.path, r.done, r.cut, r.errs, r.bytes)
	}
}

type hammerResult struct {
	rps, p50, p99   float64
	done, cut, errs int
	bytes           float64
}

// hammer gets url from workers goroutines for d; requests started before
// the end run to their end (at most a minute, beyond which they are cut
// and counted apart); the rate is answers over the time until the last.
func hammer(t *testing.T, url string, workers int, d time.Duration) hammerResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	// Warm up: one request, as a browser's first visit.
	if resp, err := client.Get(url); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", url, err, resp)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	end := time.Now().Add(d)
	var mu sync.Mutex
	var r hammerResult
	var lat []time.Duration
	var total int64
	var wg sync.WaitGroup
	began := time.Now()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				s := time.Now()
				resp, err := client.Do(req)
				var n int64
				if err == nil {
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				el := time.Since(s)
				mu.Lock()
				switch {
				case err == nil:
					r.done++
					total += n
					lat = append(lat, el)
				case ctx.Err() != nil:
					r.cut++
					lat = append(lat, el)
				default:
					r.errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(began)
	r.rps = float64(r.done) / el.Seconds()
	r.p50, r.p99 = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	if r.done > 0 {
		r.bytes = float64(total) / float64(r.done)
	}
	return r
}
