package quality

import (
	"slices"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// Every field the publication rules may name is one of CheckedFields, so
// that completeness counts what the rules check.
func TestCheckedFieldsCoverTheRules(t *testing.T) {
	empty := registryapi.Sensor{Status: registryapi.StatusRetired, Identifiability: registryapi.Pseudonymised,
		LegalBasis: registryapi.BasisPublicTask, OpenData: true, Tags: map[string]string{"sensor": "x"},
		Operators: []registryapi.Organisation{{URL: "ftp://x"}}, Quantities: []registryapi.Quantity{{}}}
	seen := map[string]bool{}
	for _, p := range catalog.CheckPublishable(empty, catalog.Territory{}) {
		f := TopField(p.Field)
		seen[f] = true
		if !slices.Contains(CheckedFields, f) {
			t.Errorf("the rules name %q (%s), which CheckedFields lacks", f, p.Field)
		}
	}
	if len(seen) < len(CheckedFields)-3 {
		t.Errorf("an empty entry fails only %d of %d checked fields", len(seen), len(CheckedFields))
	}
	if c := Completeness(empty, catalog.Territory{}); c.Completeness > 20 {
		t.Errorf("an empty entry is %d%% complete", c.Completeness)
	}
	if c := Completeness(demo.Sensors()[0], catalog.Territory{}); c.Completeness != 100 || len(c.Problems) != 0 {
		t.Errorf("a demo entry: %+v", c)
	}
}

func TestSilenceThreshold(t *testing.T) {
	q := func(p ...int) registryapi.Sensor {
		var s registryapi.Sensor
		for _, x := range p {
			s.Quantities = append(s.Quantities, registryapi.Quantity{PeriodSeconds: x})
		}
		return s
	}
	for _, tc := range []struct {
		s    registryapi.Sensor
		want time.Duration
	}{
		{q(60, 900), 45 * time.Minute},
		{q(1), MinSilence},
		{q(0), SilenceWithoutPeriod},
		{q(), SilenceWithoutPeriod},
	} {
		if got := SilenceThreshold(tc.s); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.s.Quantities, got, tc.want)
		}
	}
}

func TestAssess(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	sensors := demo.Sensors()
	for i := range sensors {
		sensors[i].UpdatedAt = now.Add(-time.Hour)
	}
	// Everything heard recently…
	seen := map[string]time.Time{}
	for _, s := range sensors {
		seen[s.ID] = now.Add(-time.Minute)
	}
	// …but one, silent for a day, and one never heard.
	silent, never := sensors[0], sensors[1]
	seen[silent.ID] = now.Add(-24 * time.Hour)
	delete(seen, never.ID)
	// An active entry past its end of service; a retired one past it too.
	expired := sensors[2]
	sensors[2].ActiveUntil = ptr(now.Add(-48 * time.Hour))
	sensors[3].Status, sensors[3].DecommissionedAt, sensors[3].ActiveUntil = registryapi.StatusRetired, ptr(now), ptr(now.Add(-time.Hour))
	// A fresh incomplete draft and a stale one.
	draft := registryapi.Sensor{ID: "brouillon-01", Status: registryapi.StatusDraft, Category: "air", UpdatedAt: now.Add(-time.Hour)}
	stale := registryapi.Sensor{ID: "brouillon-02", Status: registryapi.StatusDraft, Category: "air", UpdatedAt: now.Add(-31 * 24 * time.Hour)}
	sensors = append(sensors, draft, stale)

	r := Assess(Input{
		Now:      now,
		Sensors:  sensors,
		LastSeen: seen,
		Unknown: []UnknownSensor{
			{ID: "inconnu-01", Count: 12, LastSeen: now.Add(-time.Hour), Gateways: []string{"gw"}},
			{ID: "brouillon-01", Count: 3, LastSeen: now.Add(-2 * time.Hour)},
			{ID: sensors[4].ID, Count: 1, LastSeen: now.Add(-time.Hour)},        // now published: not unknown any more
			{ID: "vieux-01", Count: 1, LastSeen: now.Add(-40 * 24 * time.Hour)}, // too old
		},
		Gateways: []GatewayReport{{GatewayID: "gw", ReportedAt: now.Add(-time.Minute)}},
	})

	var silentIDs []string
	for _, s := range r.Silent {
		silentIDs = append(silentIDs, s.ID)
	}
	if !slices.Equal(silentIDs, []string{never.ID, silent.ID}) || r.Silent[0].LastSeen != nil || r.Silent[1].LastSeen == nil {
		t.Errorf("silent %+v", r.Silent)
	}
	if len(r.Unknown) != 2 || r.Unknown[0].ID != "inconnu-01" || r.Unknown[0].Status != "" || r.Unknown[1].Status != registryapi.StatusDraft {
		t.Errorf("unknown %+v", r.Unknown)
	}
	if len(r.Expired) != 1 || r.Expired[0].ID != expired.ID {
		t.Errorf("expired %+v", r.Expired)
	}
	if len(r.StaleDrafts) != 1 || r.StaleDrafts[0].ID != "brouillon-02" {
		t.Errorf("stale drafts %+v", r.StaleDrafts)
	}
	if r.Entries[0].Completeness >= 50 || r.Entries[0].Status != registryapi.StatusDraft || len(r.Entries[0].Problems) == 0 {
		t.Errorf("least complete entry first: %+v", r.Entries[0])
	}
	want := Counts{Entries: len(sensors), Complete: len(sensors) - 2, Incomplete: 2, Silent: 2, Unknown: 2, Expired: 1, StaleDrafts: 1}
	if r.Counts != want {
		t.Errorf("counts %+v, want %+v", r.Counts, want)
	}
	if len(r.Gateways) != 1 {
		t.Errorf("gateways %+v", r.Gateways)
	}
}

func ptr[T any](v T) *T { return &v }
