package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// largeRegister returns a real store of n published entries made from the
// demo town's, under new ids, as the bench's import makes them, and the id
// of the middle one.
func largeRegister(tb testing.TB, n int) (*store.Store, string) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(tb.TempDir(), "registry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	models := demo.Sensors()
	sensors := make([]registryapi.Sensor, n)
	for i := range sensors {
		s := models[i%len(models)]
		base, _, _ := strings.Cut(s.ID, "-")
		s.ID = fmt.Sprintf("%s-b%05d", base, i)
		sensors[i] = s
	}
	if ok, err := st.SeedIfEmpty(ctx, sensors, store.Change{ActorRole: catalog.RoleSystem, Actor: "bench", Reason: "seed"}); !ok || err != nil {
		tb.Fatalf("seed: %v, %v", ok, err)
	}
	return st, sensors[n/2].ID
}

func benchHandler(b *testing.B) (http.Handler, string) {
	st, mid := largeRegister(b, 10000)
	h, err := NewHandler(Deps{Sensors: st, PublicURL: publicURL})
	if err != nil {
		b.Fatal(err)
	}
	return h, mid
}

// benchGet serves path through the handler b.N times, from parallel
// goroutines, after one request that builds the snapshot.
func benchGet(b *testing.B, h http.Handler, path string) {
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
		return rec.Body.Len()
	}
	size := get()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			get()
		}
	})
	b.ReportMetric(float64(size), "bytes/answer")
}

// The public pages over 10,000 published entries in a real SQLite store,
// through the real handler; the snapshot is built before the timer starts.
//
//	go test -run '^$' -bench 'ListPage|EntryPage|APISensors' -cpuprofile cpu.out ./registry/internal/httpapi/
func BenchmarkListPage(b *testing.B) {
	h, _ := benchHandler(b)
	benchGet(b, h, "/sensors")
}

func BenchmarkListPageFiltered(b *testing.B) {
	h, _ := benchHandler(b)
	benchGet(b, h, "/sensors?category=air&category=parking&ident=no_personal_data&q=rue&sort=changed&order=desc&page=3&lang=en")
}

func BenchmarkEntryPage(b *testing.B) {
	h, mid := benchHandler(b)
	benchGet(b, h, "/sensors/"+mid)
}

func BenchmarkAPISensors(b *testing.B) {
	h, _ := benchHandler(b)
	benchGet(b, h, registryapi.PathSensors)
}

// BenchmarkSnapshot builds the snapshot of 10,000 entries and what the
// list page derives from it (web.Published, French sort orders), as after
// a write, and reports the heap each keeps: entries-MB, the decoded
// entries; pages-MB, web.Published. The body of GET /api/v1/sensors, when
// asked, adds its size (bytes/answer of BenchmarkAPISensors).
func BenchmarkSnapshot(b *testing.B) {
	st, _ := largeRegister(b, 10000)
	ctx := context.Background()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var kept *snapshot
	var entries, pages uint64
	for b.Loop() {
		b.StopTimer()
		kept = nil
		before := heap()
		b.StartTimer()
		s, err := loadSnapshot(ctx, st, publicURL, store.Generation{}, false)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mid := heap()
		b.StartTimer()
		s.pagesView().Prepare(web.LangFR)
		kept = s
		b.StopTimer()
		entries, pages = mid-before, heap()-mid
		b.StartTimer()
	}
	b.ReportMetric(float64(entries)/(1<<20), "entries-MB")
	b.ReportMetric(float64(pages)/(1<<20), "pages-MB")
	runtime.KeepAlive(kept)
}
