package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
)

// fakeSeries serves unit tests of the chart; the integration test reads
// InfluxDB.
type fakeSeries struct {
	fakeReadings
	series []dashboards.Series
	err    error
	calls  *int
	asked  *[2]time.Time
}

func (f fakeSeries) Series(_ context.Context, _, _, _ string, from, to time.Time, every time.Duration) ([]dashboards.Series, error) {
	*f.calls++
	*f.asked = [2]time.Time{from, to}
	if every != time.Hour {
		return nil, errors.New("not hourly")
	}
	return f.series, f.err
}

func TestEntryPageChart(t *testing.T) {
	st := testStore(t)
	now := time.Now()
	hour := now.Truncate(time.Hour)
	latest := fakeReadings{readings: []dashboards.Reading{{Quantity: "pm10", Value: 12.5, Time: now.Add(-time.Minute)}}}
	series := []dashboards.Series{{Quantity: "pm10", Points: []dashboards.Point{
		{Time: hour.Add(-2 * time.Hour), Value: 10.5}, {Time: hour.Add(-time.Hour), Value: 11}, {Time: hour, Value: 12.25},
	}}}
	var calls int
	var asked [2]time.Time
	h := newHandler(t, st, fakeSeries{fakeReadings: latest, series: series, calls: &calls, asked: &asked})

	fr := get(t, h, "/sensors/air-mairie-01")
	for _, want := range []string{
		"Les 24 dernières heures", `<svg class="chart" role="img"`, "<desc id=\"chart-pm10-desc\">3 moyennes horaires.",
		`<table class="recent">`, `<td class="num">10,5</td>`, `<td class="num">12,25</td>`, ">12,5<",
	} {
		if !strings.Contains(fr.body, want) {
			t.Errorf("French entry page lacks %q", want)
		}
	}
	if calls != 1 || asked[1].Sub(asked[0]) != 24*time.Hour || !asked[1].After(now) || asked[1].Sub(now) > time.Hour {
		t.Errorf("Series called %d times over %v", calls, asked)
	}
	en := get(t, h, "/sensors/air-mairie-01?lang=en")
	for _, want := range []string{"The last 24 hours", "3 hourly averages.", `<td class="num">12.25</td>`} {
		if !strings.Contains(en.body, want) {
			t.Errorf("English entry page lacks %q", want)
		}
	}

	// No averages in 24 hours: a sentence instead of the chart.
	h = newHandler(t, st, fakeSeries{fakeReadings: latest, calls: &calls, asked: &asked})
	if a := get(t, h, "/sensors/air-mairie-01"); !strings.Contains(a.body, "ces 24 dernières heures") || strings.Contains(a.body, "<svg") {
		t.Error("without averages: no sentence, or a chart")
	}
	// InfluxDB fails for the series only: the page says nothing of them.
	h = newHandler(t, st, fakeSeries{fakeReadings: latest, err: errors.New("timeout"), calls: &calls, asked: &asked})
	if a := get(t, h, "/sensors/air-mairie-01"); a.status != http.StatusOK || strings.Contains(a.body, "<svg") || !strings.Contains(a.body, ">12,5<") {
		t.Errorf("series failing: %d", a.status)
	}
	// No latest reading: no series asked, no chart.
	calls = 0
	h = newHandler(t, st, fakeSeries{series: series, calls: &calls, asked: &asked})
	if a := get(t, h, "/sensors/air-mairie-01"); !strings.Contains(a.body, "Aucune mesure reçue") || strings.Contains(a.body, "<svg") || calls != 0 {
		t.Errorf("without readings: a chart, or Series called %d times", calls)
	}
}

// A sensor whose data is not open is never read, and has no chart.
func TestEntryPageChartClosedData(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	s, err := st.Get(ctx, "air-mairie-01")
	if err != nil {
		t.Fatal(err)
	}
	s.OpenData, s.OpenDataLicence, s.OpenDataURL = false, "", ""
	if _, err := st.Update(ctx, s, store.Change{ActorRole: catalog.RoleAdministrator, Reason: "données fermées"}); err != nil {
		t.Fatal(err)
	}
	var calls int
	var asked [2]time.Time
	h := newHandler(t, st, fakeSeries{fakeReadings: fakeReadings{readings: []dashboards.Reading{{Quantity: "pm10", Value: 1, Time: time.Now()}}},
		series: []dashboards.Series{{Quantity: "pm10", Points: []dashboards.Point{{Time: time.Now(), Value: 1}}}}, calls: &calls, asked: &asked})
	a := get(t, h, "/sensors/air-mairie-01")
	if a.status != http.StatusOK || strings.Contains(a.body, "<svg") || !strings.Contains(a.body, "ne sont pas publiées") {
		t.Errorf("closed data: %d, with a chart or without its sentence", a.status)
	}
	if calls != 0 {
		t.Errorf("Series called %d times for closed data", calls)
	}
}

func TestAboutPage(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for _, path := range []string{web.AboutPath, web.AboutPathFR} {
		a := get(t, h, path)
		if a.status != http.StatusOK || a.header.Get("Content-Language") != "fr" {
			t.Fatalf("%s: %d %s", path, a.status, a.header.Get("Content-Language"))
		}
		for _, want := range []string{"À propos du registre", "caméras et capteurs privés", "Droit d&#39;accès",
			`href="https://www.cnil.fr/fr/plaintes"`, "mailto:dpo@" + demo.Domain, templateEscape(demo.Sensors()[0].Accountable.Name.FR)} {
			if !strings.Contains(a.body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	en := get(t, h, "/about?lang=en")
	for _, want := range []string{`<html lang="en">`, "Right to object", "Lodge a complaint with the CNIL", "mailto:dpo@" + demo.Domain} {
		if !strings.Contains(en.body, want) {
			t.Errorf("English about page lacks %q", want)
		}
	}
	// Every page's footer leads there.
	if !strings.Contains(get(t, h, "/?lang=en").body, `href="/about?lang=en"`) {
		t.Error("the footer has no link to the about page")
	}
}

func templateEscape(s string) string {
	return strings.NewReplacer("'", "&#39;", "&", "&amp;", `"`, "&#34;").Replace(s)
}

// A refused report comes back with an error summary linking to the marked
// fields, and what was typed kept.
func TestReportFormErrors(t *testing.T) {
	e := newAuthEnv(t)
	r, n := e.fileForm("198.51.100.7", "fr", "message", "abc", "email", "pas une adresse", "location", "rue des Lilas")
	if r.status != http.StatusBadRequest || n != "" {
		t.Fatalf("bad form: %d", r.status)
	}
	for _, want := range []string{
		`<div class="error-summary" role="alert"`, `<a href="#rep-kind-missing_sensor">Type de signalement : Choisissez le type de signalement.</a>`,
		`<a href="#rep-message">Votre message : Au moins`, `<a href="#rep-email">`,
		`aria-describedby="rep-message-help rep-message-err" aria-invalid="true">abc</textarea>`,
		`value="pas une adresse"`, `value="rue des Lilas"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if strings.Index(r.body, "error-summary") > strings.Index(r.body, "<form") {
		t.Error("the error summary is not above the form")
	}
}

// A report is followed by its number: the form finds it, and says what is
// wrong with a number that finds none.
func TestReportFollowByNumber(t *testing.T) {
	e := newAuthEnv(t)
	_, n := e.fileForm("198.51.100.8", "fr", "kind", "question", "message", "Que mesure ce boîtier ?")
	if n == "" {
		t.Fatal("no report filed")
	}
	form := e.send(http.MethodGet, web.ReportsPath, nil)
	if form.status != http.StatusOK || !strings.Contains(form.body, `<label for="follow-number">Numéro du signalement</label>`) || strings.Contains(form.body, "aria-invalid") {
		t.Errorf("the follow form: %d", form.status)
	}
	found := e.send(http.MethodGet, web.ReportsPath+"?lang=en&number=+"+n+"+", nil)
	if found.status != http.StatusSeeOther || found.header.Get("Location") != web.ReportPath(n)+"?lang=en" {
		t.Errorf("a known number: %d → %q", found.status, found.header.Get("Location"))
	}
	for _, tt := range []struct {
		number string
		status int
		want   string
	}{
		{"", http.StatusBadRequest, "Saisissez le numéro du signalement"},
		{"abc", http.StatusBadRequest, "Ce n&#39;est pas un numéro de signalement"},
		{"2020-999999", http.StatusNotFound, "Aucun signalement ne porte ce numéro"},
	} {
		a := e.send(http.MethodGet, web.ReportsPath+"?number="+tt.number, nil)
		if a.status != tt.status || !strings.Contains(a.body, tt.want) || !strings.Contains(a.body, `aria-invalid="true"`) ||
			!strings.Contains(a.body, `value="`+tt.number+`"`) || !strings.Contains(a.body, `href="#follow-number"`) {
			t.Errorf("number %q: %d, want %d and %q", tt.number, a.status, tt.status, tt.want)
		}
	}
	// The report form leads to it.
	if !strings.Contains(e.send(http.MethodGet, web.NewReportPath, nil).body, `href="/reports?lang=fr"`) {
		t.Error("the report form does not link to following a report")
	}
}
