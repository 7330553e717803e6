package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/demo"
)

// The entry, about and follow pages' part of the catalogue overlaps no
// other part.
func TestEntryCatalogue(t *testing.T) {
	parts := map[string]map[string]map[string]string{
		"core": coreCatalogue(), "reports": reportsCatalogue(), "provision": provisionCatalogue(),
	}
	for lang, msgs := range entryCatalogue() {
		for k := range msgs {
			for name, part := range parts {
				if _, ok := part[lang][k]; ok {
					t.Errorf("%s: %q is in the %s catalogue too", lang, k, name)
				}
			}
		}
	}
}

func TestShortDates(t *testing.T) {
	fr, en := localizers()
	at := time.Date(2026, 11, 27, 14, 5, 0, 0, time.UTC)
	for _, tt := range []struct{ got, want string }{
		{fr.ShortDate(at), "27 nov. 2026"},
		{en.ShortDate(at), "27 Nov 2026"},
		{fr.DateTimeShort(at), "27 nov. 2026 à 14:05"},
		{en.DateTimeShort(at), "27 Nov 2026, 14:05"},
		{fr.ShortDate(at.AddDate(0, -8, 0)), "27 mars 2026"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// An open sensor with readings shows a chart per declared quantity with
// readings and a table of the same averages; the page says so when the
// last hours had none, and shows neither for a closed sensor.
func TestEntryRecentReadings(t *testing.T) {
	p := newPages(t)
	to := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	e := Entry{
		Sensor:   demoSensor(t, "air-mairie-01"),
		Readings: []Reading{{Quantity: "pm10", Value: 12.5, Time: to.Add(-10 * time.Minute)}},
		State:    ReadingsShown,
		Recent: &Recent{From: from, To: to, Every: time.Hour, Series: []Series{
			{Quantity: "pm10", Points: []Point{{Time: from, Value: 12.5}, {Time: from.Add(time.Hour), Value: 14}, {Time: from.Add(23 * time.Hour), Value: 9.75}}},
			{Quantity: "not_declared", Points: []Point{{Time: from, Value: 1}}},
		}},
	}
	fr := render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/air-mairie-01"}, e)
	})
	mustContain(t, fr,
		`<h3 id="recent">Les 24 dernières heures</h3>`, `<figure class="chart"><svg class="chart" role="img"`,
		"<title id=\"chart-pm10-title\">Particules PM10 (µg/m³), moyennes horaires</title>", "3 moyennes horaires.",
		`<table class="recent">`, "<caption>Moyennes horaires des 24 dernières heures</caption>",
		`<th scope="col">Particules PM10 (µg/m³)</th>`,
		`<time datetime="2026-11-27T15:00:00Z">27 nov. 2026 à 15:00</time>`, `<td class="num">9,75</td>`,
		// downloads, rights
		`href="/api/v1/sensors.csv"`, `href="/api/v1/sensors.geojson"`, "Le registre complet en CSV",
		"Aucune donnée ne vous concerne",
	)
	if strings.Contains(fr, "not_declared") {
		t.Error("an undeclared quantity is charted")
	}
	if n := strings.Count(fr, `<svg class="chart"`); n != 1 {
		t.Errorf("%d charts, want 1 (pm10 only has readings)", n)
	}
	en := render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangEN, Path: "/sensors/air-mairie-01"}, e)
	})
	mustContain(t, en, "The last 24 hours", "PM10 particulate matter (µg/m³), hourly averages", `<td class="num">9.75</td>`, "27 Nov 2026, 15:00", "The whole register as CSV")

	// Nothing in the last 24 hours: a sentence, no chart.
	e.Recent = &Recent{From: from, To: to, Every: time.Hour}
	fr = render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/air-mairie-01"}, e)
	})
	mustContain(t, fr, "Aucune mesure reçue de ce capteur ces 24 dernières heures.")
	if strings.Contains(fr, "<svg") || strings.Contains(fr, `class="recent"`) {
		t.Error("a chart or table without readings")
	}
	// Closed data: neither.
	e.State, e.Readings = ReadingsClosed, nil
	fr = render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/air-mairie-01"}, e)
	})
	if strings.Contains(fr, "<svg") || !strings.Contains(fr, "ne sont pas publiées") {
		t.Error("closed data: a chart, or no sentence")
	}
	// A sensor that may identify people points to one's rights.
	id := demoSensor(t, "parking-marche-01")
	fr = render(t, func(b *bytes.Buffer) error {
		return p.Entry(b, Request{Lang: LangFR, Path: "/sensors/" + id.ID}, Entry{Sensor: id})
	})
	if id.Identifiability != "no_personal_data" {
		mustContain(t, fr, "Vos droits et comment les exercer", `href="/about?lang=fr#rights"`)
	}
}

func TestAboutPage(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	fr := render(t, func(b *bytes.Buffer) error { return p.About(b, Request{Lang: LangFR, Path: AboutPath}, sensors) })
	mustContain(t, fr, `<html lang="fr">`, "<h1>À propos du registre</h1>",
		"caméras et capteurs privés", "police", "Droit d&#39;accès", "Droit d&#39;opposition", "Droit à l&#39;effacement",
		`href="https://www.cnil.fr/fr/plaintes"`, "<caption>Organisations responsables",
		"mailto:dpo@"+demo.Domain, `href="/reports?lang=fr"`, `href="/api/v1/sensors.csv"`)
	name := sensors[0].Accountable.Name.FR
	if strings.Count(fr, ">"+templateEscape(name)+"<") != 1 {
		t.Errorf("the organisation %q is not listed exactly once", name)
	}
	en := render(t, func(b *bytes.Buffer) error { return p.About(b, Request{Lang: LangEN, Path: AboutPath}, sensors) })
	mustContain(t, en, `<html lang="en">`, "About this register", "Private cameras", "Right of access", "Right to object",
		"Right to erasure", "Lodge a complaint with the CNIL", `href="https://www.cnil.fr/fr/plaintes"`, "Data protection officer")
	empty := render(t, func(b *bytes.Buffer) error { return p.About(b, Request{Lang: LangFR, Path: AboutPath}, nil) })
	mustContain(t, empty, "Aucun capteur n&#39;est encore publié.")
}

// A refused report form opens with a summary of its errors, each linking
// to its field, which is marked invalid; what was typed stays.
func TestReportFormErrorSummary(t *testing.T) {
	p := newPages(t)
	d := ReportFormPage{
		Form:   ReportForm{Message: "abc", Email: "pas une adresse"},
		Errors: []FieldError{{Field: "email", Key: "err.report.email"}, {Field: "kind", Key: "err.report.kind"}, {Field: "message", Key: "err.report.too_short", Args: []any{5}}},
	}
	page := render(t, func(b *bytes.Buffer) error { return p.ReportForm(b, Request{Lang: LangFR, Path: NewReportPath}, d) })
	mustContain(t, page, `<div class="error-summary" role="alert"`, "3 champ(s) à corriger",
		`<a href="#rep-kind-missing_sensor">Type de signalement : `, `<a href="#rep-message">Votre message : `, `<a href="#rep-email">`,
		`id="rep-kind-missing_sensor" name="kind" value="missing_sensor" required aria-describedby="rep-kind-missing_sensor-help rep-kind-err" aria-invalid="true"`,
		`>abc</textarea>`, `value="pas une adresse"`, `href="/reports?lang=fr"`)
	if strings.Index(page, "#rep-kind") > strings.Index(page, "#rep-message") || strings.Index(page, "#rep-message") > strings.Index(page, "#rep-email") {
		t.Error("the summary is not in the form's order")
	}
	clean := render(t, func(b *bytes.Buffer) error {
		return p.ReportForm(b, Request{Lang: LangEN, Path: NewReportPath}, ReportFormPage{})
	})
	if strings.Contains(clean, "error-summary") || strings.Contains(clean, `aria-invalid`) {
		t.Error("a form without errors shows errors")
	}
}

func TestReportFollowPage(t *testing.T) {
	p := newPages(t)
	page := render(t, func(b *bytes.Buffer) error {
		return p.ReportFollow(b, Request{Lang: LangEN, Path: ReportsPath}, ReportFollowPage{Number: "12", Error: "err.follow.format"})
	})
	mustContain(t, page, "<h1>Follow a report</h1>", `<label for="follow-number">Report number</label>`, `value="12"`, `aria-invalid="true"`,
		`<a href="#follow-number">Report number: This is not a report number: it looks like 2026-000042.</a>`, `<input type="hidden" name="lang" value="en">`)
}
