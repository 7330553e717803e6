package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/reports"
	"github.com/civisens/civisens/registry/registryapi"
)

func newReport(t *testing.T, n registryapi.NewReport, at time.Time) reports.Report {
	t.Helper()
	n, err := reports.Clean(n)
	if err != nil {
		t.Fatal(err)
	}
	return reports.New(n, "", at)
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	if _, err := s.Create(ctx, entry("air-mairie-01"), Change{ActorRole: catalog.RoleTechnician, Actor: "t", Reason: "pose"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 31, 23, 0, 0, 123456789, time.UTC)

	if n, err := s.PeekReportNumber(ctx, t0); err != nil || n != "2026-000001" {
		t.Errorf("peek: %q %v", n, err)
	}
	lat, lon := 46.9, 2.1
	a, err := s.CreateReport(ctx, newReport(t, registryapi.NewReport{Kind: "missing_sensor", Location: "rue des Lilas", Lat: &lat, Lon: &lon,
		Message: "Un boîtier ' OR 1=1; --", Email: "jean@example.org"}, t0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateReport(ctx, newReport(t, registryapi.NewReport{Kind: "wrong_information", SensorID: "air-mairie-01", Message: "Mauvaise adresse", Lang: "en"}, t0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateReport(ctx, newReport(t, registryapi.NewReport{Kind: "question", Message: "Bonne année ?"}, t0.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Number != "2026-000001" || b.Number != "2026-000002" || c.Number != "2027-000001" {
		t.Errorf("numbers %s %s %s", a.Number, b.Number, c.Number)
	}
	if n, _ := s.PeekReportNumber(ctx, t0); n != "2026-000003" {
		t.Errorf("peek after two: %q", n)
	}

	got, err := s.Report(ctx, a.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.Message != "Un boîtier ' OR 1=1; --" || got.SenderEmail != "jean@example.org" || *got.Lat != lat || got.Location != "rue des Lilas" ||
		!got.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || len(got.Events) != 1 || got.Events[0].ActorRole != reports.RolePublic {
		t.Errorf("read back %+v", got)
	}
	if _, err := s.Report(ctx, "2026-000099"); !errors.Is(err, ErrNoReport) {
		t.Errorf("unknown number: %v", err)
	}
	// A report of an entry that does not exist is refused by the database.
	bad := newReport(t, registryapi.NewReport{Kind: "question", SensorID: "air-absent-01", Message: "Bonjour madame"}, t0)
	if _, err := s.CreateReport(ctx, bad); err == nil {
		t.Error("a report names an entry the register lacks")
	}

	// Update through reports.Apply, in a transaction.
	answer := "Le capteur appartient à la commune."
	upd, err := s.UpdateReport(ctx, a.Number, func(r reports.Report) (reports.Report, reports.Event, error) {
		return reports.Apply(r, registryapi.ReportUpdate{Status: "answered", PublicAnswer: &answer, Note: "Vérifié sur place"}, "administrator", "agnes", t0.Add(time.Hour))
	})
	if err != nil || upd.Status != "answered" || len(upd.Events) != 2 {
		t.Fatalf("update: %+v %v", upd, err)
	}
	got, _ = s.Report(ctx, a.Number)
	if got.Status != "answered" || got.PublicAnswer != answer || len(got.Events) != 2 || got.Events[1].Actor != "agnes" ||
		got.Events[1].Note != "Vérifié sur place" || !got.UpdatedAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Errorf("after update %+v", got)
	}
	// A refused change writes nothing.
	_, err = s.UpdateReport(ctx, a.Number, func(r reports.Report) (reports.Report, reports.Event, error) {
		return reports.Apply(r, registryapi.ReportUpdate{Status: "received"}, "administrator", "agnes", t0.Add(2*time.Hour))
	})
	var p reports.Problems
	if !errors.As(err, &p) {
		t.Errorf("bad update: %v", err)
	}
	if again, _ := s.Report(ctx, a.Number); len(again.Events) != 2 {
		t.Errorf("a refused update wrote an event")
	}
	if _, err := s.UpdateReport(ctx, "2026-000099", nil); !errors.Is(err, ErrNoReport) {
		t.Errorf("update unknown: %v", err)
	}

	// Lists and filters.
	all, err := s.ListReports(ctx, ReportFilter{})
	if err != nil || len(all) != 3 || all[0].Number != c.Number || len(all[2].Events) != 2 {
		t.Errorf("list: %d %v", len(all), err)
	}
	if l, _ := s.ListReports(ctx, ReportFilter{Status: "received"}); len(l) != 2 {
		t.Errorf("received: %d", len(l))
	}
	if l, _ := s.ListReports(ctx, ReportFilter{Kind: "wrong_information"}); len(l) != 1 || l[0].SensorID != "air-mairie-01" || l[0].Lang != "en" {
		t.Errorf("by kind: %+v", l)
	}
	if counts, err := s.CountReports(ctx); err != nil || counts["received"] != 2 || counts["answered"] != 1 {
		t.Errorf("counts %v %v", counts, err)
	}

	// The history is append-only.
	if _, err := s.db.ExecContext(ctx, "DELETE FROM report_events"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete events: %v", err)
	}
}

// Concurrent filings get distinct numbers.
func TestReportNumbersUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	numbers := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			r, err := s.CreateReport(ctx, newReport(t, registryapi.NewReport{Kind: "question", Message: "Bonjour madame"}, at))
			if err != nil {
				t.Error(err)
				return
			}
			numbers <- r.Number
		})
	}
	wg.Wait()
	close(numbers)
	seen := map[string]bool{}
	for n := range numbers {
		if seen[n] {
			t.Errorf("number %s given twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 20 || !seen["2026-000020"] {
		t.Errorf("numbers %v", seen)
	}
}

func TestRecordSeen(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	report := registryapi.GatewaySeen{
		GatewayID: "passerelle-mairie",
		Sensors:   []registryapi.SeenSensor{{ID: "air-mairie-01", LastSeen: t0}, {ID: "parking-gare-01", LastSeen: t0.Add(-time.Hour)}},
		Unknown:   []registryapi.SeenUnknown{{ID: "inconnu-01", Count: 3, LastSeen: t0}},
	}
	if err := s.RecordSeen(ctx, report, t0); err != nil {
		t.Fatal(err)
	}
	// A second gateway, later; then the first one again with an older time.
	if err := s.RecordSeen(ctx, registryapi.GatewaySeen{GatewayID: "passerelle-gare",
		Sensors: []registryapi.SeenSensor{{ID: "parking-gare-01", LastSeen: t0.Add(time.Minute)}},
		Unknown: []registryapi.SeenUnknown{{ID: "inconnu-01", Count: 2, LastSeen: t0.Add(time.Minute)}}}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSeen(ctx, registryapi.GatewaySeen{GatewayID: "passerelle-mairie",
		Sensors: []registryapi.SeenSensor{{ID: "air-mairie-01", LastSeen: t0.Add(-time.Hour)}},
		Unknown: []registryapi.SeenUnknown{{ID: "inconnu-01", Count: 1, LastSeen: t0.Add(-time.Hour)}}}, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	seen, err := s.LastSeen(ctx)
	if err != nil || len(seen) != 2 || !seen["air-mairie-01"].Equal(t0) || !seen["parking-gare-01"].Equal(t0.Add(time.Minute)) {
		t.Errorf("last seen %v %v", seen, err)
	}
	unknown, err := s.UnknownSeen(ctx, t0.Add(-24*time.Hour))
	if err != nil || len(unknown) != 1 || unknown[0].Count != 6 || !unknown[0].LastSeen.Equal(t0.Add(time.Minute)) ||
		strings.Join(unknown[0].Gateways, ",") != "passerelle-gare,passerelle-mairie" {
		t.Errorf("unknown %+v %v", unknown, err)
	}
	if u, _ := s.UnknownSeen(ctx, t0.Add(time.Hour)); len(u) != 0 {
		t.Errorf("unknown since later: %+v", u)
	}
	gws, err := s.GatewayReports(ctx)
	if err != nil || len(gws) != 2 || gws[1].GatewayID != "passerelle-mairie" || gws[1].Reports != 2 || !gws[1].ReportedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("gateways %+v %v", gws, err)
	}

	// Bad reports write nothing.
	for name, bad := range map[string]registryapi.GatewaySeen{
		"no gateway":   {Sensors: report.Sensors},
		"bad id":       {GatewayID: "gw", Sensors: []registryapi.SeenSensor{{ID: "air-mairie-01", LastSeen: t0}, {ID: "../etc", LastSeen: t0}}},
		"no time":      {GatewayID: "gw", Sensors: []registryapi.SeenSensor{{ID: "air-ok-01"}}},
		"minus count":  {GatewayID: "gw", Unknown: []registryapi.SeenUnknown{{ID: "x-y-z", Count: -1, LastSeen: t0}}},
		"control char": {GatewayID: "g\x00w"},
	} {
		if err := s.RecordSeen(ctx, bad, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if gws, _ := s.GatewayReports(ctx); len(gws) != 2 {
		t.Errorf("a refused report was recorded: %+v", gws)
	}

	// Old unknown ids are forgotten.
	if err := s.RecordSeen(ctx, registryapi.GatewaySeen{GatewayID: "gw",
		Unknown: []registryapi.SeenUnknown{{ID: "recent-01", Count: 1, LastSeen: t0.Add(100 * 24 * time.Hour)}}}, t0.Add(100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UnknownSeen(ctx, time.Time{}); len(u) != 1 || u[0].ID != "recent-01" {
		t.Errorf("after 100 days: %+v", u)
	}
}
