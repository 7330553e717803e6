package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// Every way the register is written is seen by the next request to every
// public view, although they are served from a snapshot and rendered
// pages are kept: staff edits, status changes and publication through the
// API, imports, and writes by another connection to the file (as
// "registry import" beside the server makes them).
func TestPublicViewsFollowEveryWrite(t *testing.T) {
	e := newProvEnv(t)
	ctx := context.Background()
	const id = "air-ecole-01"
	views := []string{"/", "/sensors", "/sensors?lang=en&sort=changed&order=desc", "/sensors?status=maintenance",
		registryapi.PathSensors, "/sensors/" + id, "/sensors/air-gare-01", "/sensors/parking-gare-02"}
	warm := func() {
		t.Helper()
		for _, p := range views {
			e.call(http.MethodGet, p, nil)
		}
	}
	page := func(path string) reply {
		t.Helper()
		return e.call(http.MethodGet, path, nil)
	}
	shows := func(what, text string, paths ...string) {
		t.Helper()
		for _, p := range paths {
			r := page(p)
			if r.status != http.StatusOK || !strings.Contains(r.body, text) {
				t.Errorf("%s: GET %s (%d) does not show %q", what, p, r.status, text)
			}
		}
	}
	hides := func(what, text string, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if r := page(p); strings.Contains(r.body, text) {
				t.Errorf("%s: GET %s shows %q", what, p, text)
			}
		}
	}
	rename := func(id, fr, en string, edit func(*registryapi.Sensor)) {
		t.Helper()
		s, err := e.st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s.Name = registryapi.Text{FR: fr, EN: en}
		if edit != nil {
			edit(&s)
		}
		mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/"+id, UpdateRequest{Entry: s, Reason: "renommage"}), http.StatusOK)
	}

	// A staff edit through the API; the entry, no longer open data, is now
	// rendered once per snapshot.
	warm()
	rename(id, "Capteur renomme par API", "Sensor renamed by API", func(s *registryapi.Sensor) {
		s.OpenData, s.OpenDataLicence, s.OpenDataURL = false, "", ""
	})
	shows("PUT", "Capteur renomme par API", "/", "/sensors", "/sensors/"+id, registryapi.PathSensors)
	shows("PUT", "Sensor renamed by API", "/sensors?lang=en&sort=changed&order=desc")

	// Again, the entry's page being kept.
	warm()
	rename(id, "Capteur renomme deux fois", "Sensor renamed twice", nil)
	shows("second PUT", "Capteur renomme deux fois", "/", "/sensors", "/sensors/"+id, registryapi.PathSensors)
	hides("second PUT", "Capteur renomme par API", "/", "/sensors", "/sensors/"+id, registryapi.PathSensors)

	// A change of status.
	warm()
	hides("before the status change", "Capteur renomme deux fois", "/sensors?status=maintenance")
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/"+id+"/status",
		LifecycleRequest{Status: registryapi.StatusMaintenance, Reason: "panne"}), http.StatusOK)
	shows("status", "Capteur renomme deux fois", "/sensors?status=maintenance")
	list := decode[registryapi.SensorList](t, page(registryapi.PathSensors).answer)
	if i := slices.IndexFunc(list.Sensors, func(s registryapi.Sensor) bool { return s.ID == id }); i < 0 || list.Sensors[i].Status != registryapi.StatusMaintenance {
		t.Errorf("status: the API does not say maintenance")
	}

	// The publication of a draft.
	d := e.draftOf("air-mairie-01", "air-neuf-01", registryapi.StatusDraft)
	d.Name = registryapi.Text{FR: "Capteur tout neuf", EN: "Brand new sensor"}
	if _, err := e.st.Update(ctx, d, store.Change{ActorRole: catalog.RoleTechnician, Actor: "t", Reason: "nom"}); err != nil {
		t.Fatal(err)
	}
	warm()
	if r := page("/sensors/air-neuf-01"); r.status != http.StatusNotFound {
		t.Errorf("a draft's page: %d", r.status)
	}
	hides("draft", "Capteur tout neuf", "/", "/sensors", registryapi.PathSensors)
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-neuf-01/publish", LifecycleRequest{}), http.StatusOK)
	shows("publication", "Capteur tout neuf", "/", "/sensors", "/sensors/air-neuf-01", registryapi.PathSensors)

	// An import through the API: the CSV export, one name changed.
	warm()
	rows, err := csv.NewReader(strings.NewReader(page(registryapi.PathSensors + ".csv").body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	var keep []int
	for i, h := range rows[0] {
		if h != "version" && h != "updated_at" && h != "url" {
			keep = append(keep, i)
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, row := range rows {
		if row[col("id")] == "air-gare-01" {
			row[col("name_fr")] = "Capteur importe"
		} else if row[col("id")] != "id" {
			continue
		}
		var out []string
		for _, i := range keep {
			out = append(out, row[i])
		}
		w.Write(out)
	}
	w.Flush()
	r := e.send(http.MethodPost, registryapi.PathImport, &b, append([]string{"Content-Type", "text/csv"}, e.tech...)...)
	if rep := decode[registryapi.ImportReport](t, r.answer); rep.Updated != 1 {
		t.Fatalf("import: %+v", rep)
	}
	shows("import", "Capteur importe", "/", "/sensors", "/sensors/air-gare-01", registryapi.PathSensors)

	// Another connection pool on the same file, as "registry import" beside
	// the server.
	warm()
	other, err := store.Open(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s, err := other.Get(ctx, "parking-gare-02")
	if err != nil {
		t.Fatal(err)
	}
	s.Name.FR = "Capteur ecrit par un autre processus"
	if _, err := other.Update(ctx, s, store.Change{ActorRole: catalog.RoleAdministrator, Actor: "cli", Reason: "import"}); err != nil {
		t.Fatal(err)
	}
	shows("another writer", "Capteur ecrit par un autre processus", "/", "/sensors", "/sensors/parking-gare-02", registryapi.PathSensors)
}

// A signed-in person's list page is theirs (their CSRF token, their menu),
// never one kept for the public, nor kept for the public afterwards.
func TestKeptPagesArePublicOnly(t *testing.T) {
	e := newAuthEnv(t)
	e.account("technicienne", "Technicienne", auth.RoleTechnician, "un mot de passe assez long")
	public := e.send(http.MethodGet, "/sensors", nil)
	s := e.mustLogin("technicienne", "un mot de passe assez long")
	staff := e.send(http.MethodGet, "/sensors", nil, "Cookie", s.cookie)
	if staff.body == public.body || staff.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("a signed-in person got the public's page (Cache-Control %q)", staff.header.Get("Cache-Control"))
	}
	if again := e.send(http.MethodGet, "/sensors", nil); again.body != public.body {
		t.Error("the public got another page after a signed-in person's")
	}
}

// GET /api/v1/sensors answers If-Modified-Since with the time of the
// register's latest change, and a change after it is never hidden.
func TestAPISensorsLastModified(t *testing.T) {
	e := newProvEnv(t)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond))) // the seed's second is past
	r := e.call(http.MethodGet, registryapi.PathSensors, nil)
	lm := r.header.Get("Last-Modified")
	if r.status != http.StatusOK || lm == "" || r.header.Get("ETag") == "" {
		t.Fatalf("status %d, Last-Modified %q, ETag %q", r.status, lm, r.header.Get("ETag"))
	}
	if r := e.call(http.MethodGet, registryapi.PathSensors, nil, "If-Modified-Since", lm); r.status != http.StatusNotModified || r.body != "" {
		t.Errorf("If-Modified-Since its Last-Modified: %d", r.status)
	}
	// If-None-Match wins over If-Modified-Since.
	if r := e.call(http.MethodGet, registryapi.PathSensors, nil, "If-Modified-Since", lm, "If-None-Match", `"other"`); r.status != http.StatusOK {
		t.Errorf("If-None-Match another tag: %d", r.status)
	}
	s, err := e.st.Get(context.Background(), "air-gare-01")
	if err != nil {
		t.Fatal(err)
	}
	s.Name.FR = "Changé dans la même seconde"
	mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/air-gare-01", UpdateRequest{Entry: s, Reason: "renommage"}), http.StatusOK)
	if r := e.call(http.MethodGet, registryapi.PathSensors, nil, "If-Modified-Since", lm); r.status != http.StatusOK || !strings.Contains(r.body, "Changé dans la même seconde") {
		t.Errorf("after a change: %d", r.status)
	}
}

// Readers and writers at once (run with -race): every answer is whole,
// and once the writes are done the next answer shows the last.
func TestSnapshotUnderConcurrentWrites(t *testing.T) {
	e := newProvEnv(t)
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range []string{"/", "/sensors", "/sensors?q=gare&lang=en", registryapi.PathSensors, "/sensors/air-gare-01", "/map"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				req := httptest.NewRequest(http.MethodGet, p, nil)
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Errorf("GET %s: %d", p, rec.Code)
					return
				}
			}
		}()
	}
	for i := range 20 {
		s, err := e.st.Get(ctx, "air-gare-01")
		if err != nil {
			t.Fatal(err)
		}
		s.Name.FR = fmt.Sprintf("Nom numero %d", i)
		if _, err := e.st.Update(ctx, s, store.Change{ActorRole: catalog.RoleTechnician, Actor: "t", Reason: "essai"}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	for _, p := range []string{"/", "/sensors", "/sensors/air-gare-01", registryapi.PathSensors} {
		if r := e.call(http.MethodGet, p, nil); !strings.Contains(r.body, "Nom numero 19") {
			t.Errorf("GET %s does not show the last write", p)
		}
	}
}
