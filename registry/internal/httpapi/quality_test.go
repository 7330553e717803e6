package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/quality"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

func TestGatewaySeenAndQualityPage(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	e.account("energie", "", auth.RoleEnergyManager, "energy password")
	now := e.clock.now()

	// An entry in service past its end; an incomplete draft, which a
	// device already publishes for.
	cur, err := e.st.Get(ctx, "eclairage-parc-01")
	if err != nil {
		t.Fatal(err)
	}
	end := now.AddDate(0, -1, 0)
	cur.ActiveUntil = &end
	if _, err := e.st.Update(ctx, cur, store.Change{ActorRole: catalog.RoleAdministrator, Actor: "admin", Reason: "fin de l'expérimentation"}); err != nil {
		t.Fatal(err)
	}
	draft := registryapi.Sensor{ID: "air-brouillon-01", Status: registryapi.StatusDraft, Category: "air", Name: registryapi.Text{FR: "Capteur en préparation"}}
	if _, err := e.st.Create(ctx, draft, store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech", Reason: "pose"}); err != nil {
		t.Fatal(err)
	}

	// Nothing reported yet: every active sensor is silent, and the page says
	// why that means little.
	s := e.mustLogin("admin", "admin password")
	page := e.send(http.MethodGet, web.QualityPath, nil, "Cookie", s.cookie).body
	if !strings.Contains(page, "Aucune passerelle n&#39;a encore rendu compte") {
		t.Errorf("the page does not say that no gateway reported:\n%s", page)
	}

	// The gateway reports, with a clock one hour late: air-gare-01 is never
	// heard, parking-gare-01 was last heard two hours ago.
	gwClock := now.Add(-time.Hour)
	seen := registryapi.GatewaySeen{GatewayID: "civisens-gateway", SentAt: gwClock,
		Unknown: []registryapi.SeenUnknown{
			{ID: "capteur-inconnu-01", Count: 7, LastSeen: gwClock.Add(-time.Minute)},
			{ID: "air-brouillon-01", Count: 2, LastSeen: gwClock.Add(-2 * time.Minute)},
		}}
	for _, id := range demo.IDs() {
		switch id {
		case "air-gare-01":
		case "parking-gare-01":
			seen.Sensors = append(seen.Sensors, registryapi.SeenSensor{ID: id, LastSeen: gwClock.Add(-2 * time.Hour)})
		default:
			seen.Sensors = append(seen.Sensors, registryapi.SeenSensor{ID: id, LastSeen: gwClock.Add(-30 * time.Second)})
		}
	}
	gw := e.token("passerelle mairie", auth.RoleGateway)
	if r := e.send(http.MethodPost, registryapi.PathGatewaySeen, jsonBody(seen), "Authorization", "Bearer "+gw, "Content-Type", "application/json"); r.status != http.StatusNoContent {
		t.Fatalf("gateway report: %d %s", r.status, r.body)
	}
	// Not a technician's token; not anyone; not a malformed report.
	tech := e.token("script", auth.RoleTechnician)
	wantProblem(t, e.send(http.MethodPost, registryapi.PathGatewaySeen, jsonBody(seen), "Authorization", "Bearer "+tech).answer, http.StatusForbidden)
	wantProblem(t, e.send(http.MethodPost, registryapi.PathGatewaySeen, jsonBody(seen)).answer, http.StatusUnauthorized)
	bad := registryapi.GatewaySeen{GatewayID: "gw", Sensors: []registryapi.SeenSensor{{ID: "Pas Un Id", LastSeen: now}}}
	wantProblem(t, e.send(http.MethodPost, registryapi.PathGatewaySeen, jsonBody(bad), "Authorization", "Bearer "+gw).answer, http.StatusBadRequest)
	wantProblem(t, e.send(http.MethodPost, registryapi.PathGatewaySeen, strings.NewReader(`{"gateway_id":"gw","extra":1}`), "Authorization", "Bearer "+gw).answer, http.StatusBadRequest)

	// The JSON review.
	a := e.send(http.MethodGet, pathQuality, nil, "Cookie", s.cookie)
	q := decode[quality.Review](t, a.answer)
	if a.status != http.StatusOK || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("quality JSON: %d", a.status)
	}
	var silent []string
	for _, x := range q.Silent {
		silent = append(silent, x.ID)
	}
	if !slices.Equal(silent, []string{"air-gare-01", "parking-gare-01"}) || q.Silent[0].LastSeen != nil || !q.Silent[1].LastSeen.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("silent %+v", q.Silent)
	}
	if len(q.Unknown) != 2 || q.Unknown[0].ID != "capteur-inconnu-01" || q.Unknown[0].Status != "" || q.Unknown[0].Count != 7 ||
		!q.Unknown[0].LastSeen.Equal(now.Add(-time.Minute)) || q.Unknown[1].Status != registryapi.StatusDraft {
		t.Errorf("unknown %+v", q.Unknown)
	}
	if len(q.Expired) != 1 || q.Expired[0].ID != "eclairage-parc-01" {
		t.Errorf("expired %+v", q.Expired)
	}
	if q.Entries[0].ID != "air-brouillon-01" || q.Entries[0].Completeness > 50 || len(q.Entries[0].Problems) < 5 {
		t.Errorf("least complete %+v", q.Entries[0])
	}
	if q.Counts.Silent != 2 || q.Counts.Unknown != 2 || q.Counts.Expired != 1 || q.Counts.Incomplete != 1 || q.Counts.Entries != len(demo.IDs())+1 ||
		len(q.Gateways) != 1 || q.Gateways[0].GatewayID != "civisens-gateway" {
		t.Errorf("counts %+v, gateways %+v", q.Counts, q.Gateways)
	}

	// The page lists the same.
	page = e.send(http.MethodGet, web.QualityPath+"?lang=en", nil, "Cookie", s.cookie).body
	for _, want := range []string{"Register quality", "<strong>2</strong> <a href=\"#silent\">silent sensors</a>",
		"air-gare-01", "never", "parking-gare-01", "capteur-inconnu-01", "absent", "Draft", "eclairage-parc-01",
		"air-brouillon-01", "Publishable", "civisens-gateway", `<caption>Silent sensors in service, longest silence first</caption>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the quality page lacks %q", want)
		}
	}
	// The entry says until when it is in service.
	if p := e.send(http.MethodGet, "/sensors/eclairage-parc-01", nil).body; !strings.Contains(p, "En service jusqu&#39;au") {
		t.Error("the entry page does not show active_until")
	}

	// Technicians read it; energy managers and the public do not.
	ts := e.mustLogin("tech", "tech password!")
	if r := e.send(http.MethodGet, web.QualityPath, nil, "Cookie", ts.cookie); r.status != http.StatusOK || !strings.Contains(r.body, `href="/admin/quality?lang=fr"`) {
		t.Errorf("technician: %d", r.status)
	}
	es := e.mustLogin("energie", "energy password")
	if r := e.send(http.MethodGet, web.QualityPath, nil, "Cookie", es.cookie); r.status != http.StatusForbidden {
		t.Errorf("energy manager: %d", r.status)
	}
	wantProblem(t, e.send(http.MethodGet, pathQuality, nil, "Cookie", es.cookie).answer, http.StatusForbidden)
	wantProblem(t, e.send(http.MethodGet, pathQuality, nil).answer, http.StatusUnauthorized)
	wantProblem(t, e.send(http.MethodGet, pathQuality, nil, "Authorization", "Bearer "+gw).answer, http.StatusForbidden)

	// Later, the silent sensor speaks again and the draft is published: both
	// leave the lists.
	e.clock.add(time.Minute)
	again := registryapi.GatewaySeen{GatewayID: "civisens-gateway", SentAt: e.clock.now(),
		Sensors: []registryapi.SeenSensor{{ID: "parking-gare-01", LastSeen: e.clock.now()}}, Unknown: []registryapi.SeenUnknown{}}
	if r := e.send(http.MethodPost, registryapi.PathGatewaySeen, jsonBody(again), "Authorization", "Bearer "+gw, "Content-Type", "application/json"); r.status != http.StatusNoContent {
		t.Fatalf("second report: %d %s", r.status, r.body)
	}
	q = decode[quality.Review](t, e.send(http.MethodGet, pathQuality, nil, "Cookie", s.cookie).answer)
	if len(q.Silent) != 1 || q.Silent[0].ID != "air-gare-01" {
		t.Errorf("silent after the second report %+v", q.Silent)
	}
}
