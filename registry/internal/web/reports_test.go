package web

import (
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/quality"
	"github.com/civisens/civisens/registry/internal/reports"
	"github.com/civisens/civisens/registry/registryapi"
)

// The catalogue's two parts do not overlap, and the words that pages and
// problems look up by construction exist.
func TestReportsCatalogue(t *testing.T) {
	core, extra := coreCatalogue(), reportsCatalogue()
	for lang, msgs := range extra {
		for k := range msgs {
			if _, ok := core[lang][k]; ok {
				t.Errorf("%s: %q is in both parts of the catalogue", lang, k)
			}
		}
	}
	var keys []string
	for _, k := range registryapi.ReportKinds {
		keys = append(keys, "report.kind."+k, "report.kindx."+k)
	}
	for _, s := range registryapi.ReportStatuses {
		keys = append(keys, "report.status."+s)
	}
	for _, c := range []string{reports.CodeRequired, reports.CodeTooShort, reports.CodeTooLong, reports.CodeText, reports.CodeKind,
		reports.CodeLang, reports.CodeEmail, reports.CodePosition, reports.CodeWhere, reports.CodeSensor, reports.CodeSensorNeeded,
		reports.CodeNoSensor, reports.CodeStatus, reports.CodeAnswerNeeded} {
		keys = append(keys, "err.report."+c)
	}
	keys = append(keys, "role."+reports.RolePublic)
	for _, lang := range []string{LangFR, LangEN} {
		for _, k := range keys {
			if _, ok := catalogue()[lang][k]; !ok {
				t.Errorf("%s: %q is missing", lang, k)
			}
		}
	}
}

func TestReportPages(t *testing.T) {
	p, err := New(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	lat, lon := 46.9, 2.1
	staff := registryapi.StaffReport{Number: "2026-000042", Kind: "missing_sensor", Status: "answered", PublicAnswer: "<b>Réponse</b>",
		CreatedAt: at, UpdatedAt: at, Location: "Près du <marché>", Lat: &lat, Lon: &lon, Message: "Un boîtier <script>", SenderEmail: "a@example.org", Lang: "fr",
		History: []registryapi.StaffReportEvent{{At: at, Status: "received", Role: "public"}, {At: at, Status: "answered", Role: "administrator", Actor: "agnes", Note: "vu"}}}
	public := registryapi.Report{Number: staff.Number, Kind: staff.Kind, Status: staff.Status, PublicAnswer: staff.PublicAnswer, CreatedAt: at, UpdatedAt: at,
		History: []registryapi.ReportEvent{{At: at, Status: "received", Role: "public"}, {At: at, Status: "answered", Role: "administrator", Note: "vu"}}}
	review := quality.Assess(quality.Input{Now: at, Sensors: []registryapi.Sensor{{ID: "air-x-01", Status: "active", Category: "air"}},
		Unknown: []quality.UnknownSensor{{ID: "inconnu-01", Count: 3, LastSeen: at}}})
	for _, lang := range []string{LangFR, LangEN} {
		r := Request{Lang: lang, Path: "/x", Role: "administrator", CSRFToken: "tok"}
		for name, render := range map[string]func(*strings.Builder) error{
			"form": func(b *strings.Builder) error {
				return p.ReportForm(b, r, ReportFormPage{Sensors: []SensorChoice{{ID: "air-x-01", Name: registryapi.Text{FR: "Air"}}},
					Form: ReportForm{Kind: "question"}, Errors: []FieldError{{Field: "message", Key: "err.report.too_short", Args: []any{5}}}})
			},
			"thanks":   func(b *strings.Builder) error { return p.ReportThanks(b, r, staff.Number, true) },
			"notfound": func(b *strings.Builder) error { return p.ReportNotFound(b, r) },
			"public":   func(b *strings.Builder) error { return p.Report(b, r, ReportPage{Report: public}) },
			"list": func(b *strings.Builder) error {
				return p.AdminReports(b, r, AdminReportsPage{Reports: []registryapi.StaffReport{staff}, Counts: map[string]int{"answered": 1}})
			},
			"admin": func(b *strings.Builder) error {
				return p.AdminReport(b, r, AdminReportPage{Report: staff, Form: ReportAnswer{Status: "answered"}})
			},
			"quality": func(b *strings.Builder) error { return p.Quality(b, r, review, "/api/v1/admin/quality") },
		} {
			var b strings.Builder
			if err := render(&b); err != nil {
				t.Fatalf("%s %s: %v", lang, name, err)
			}
			out := b.String()
			if strings.Contains(out, "⟦") {
				t.Errorf("%s %s: a key is missing:\n%s", lang, name, out)
			}
			for _, raw := range []string{"<script>", "<b>Réponse", "<marché>"} {
				if strings.Contains(out, raw) {
					t.Errorf("%s %s: %q is not escaped", lang, name, raw)
				}
			}
			if !strings.Contains(out, `href="/admin/reports?lang=`+lang+`"`) {
				t.Errorf("%s %s: the administrator's menu lacks the reports", lang, name)
			}
		}
	}
	// The public page never shows an actor.
	var b strings.Builder
	if err := p.Report(&b, Request{Lang: LangFR, Path: "/"}, ReportPage{Report: public}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "agnes") || strings.Contains(b.String(), "/admin/") {
		t.Error("the public page shows staff data")
	}
}

// The provisioning pages' part of the catalogue overlaps no other part.
func TestProvisionCatalogue(t *testing.T) {
	core, reps := coreCatalogue(), reportsCatalogue()
	for lang, msgs := range provisionCatalogue() {
		for k := range msgs {
			if _, ok := core[lang][k]; ok {
				t.Errorf("%s: %q is in the core catalogue too", lang, k)
			}
			if _, ok := reps[lang][k]; ok {
				t.Errorf("%s: %q is in the reports' catalogue too", lang, k)
			}
		}
	}
	for _, lang := range []string{LangFR, LangEN} {
		for _, k := range SupportKeys {
			if _, ok := catalogue()[lang]["prov.support."+k]; !ok {
				t.Errorf("%s: support %q has no words", lang, k)
			}
		}
		for _, c := range registryapi.Categories {
			if _, ok := catalogue()[lang]["prov.cat.help."+c]; !ok {
				t.Errorf("%s: category %q has no help", lang, c)
			}
		}
		for _, s := range []string{"active", "maintenance", "retired"} {
			for _, k := range []string{"prov.move.", "prov.move.help.", "prov.move.button.", "prov.refused."} {
				if _, ok := catalogue()[lang][k+s]; !ok {
					t.Errorf("%s: %q is missing", lang, k+s)
				}
			}
		}
	}
}
