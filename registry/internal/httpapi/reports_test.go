package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// sendFrom makes a request from the client address addr.
func (e *authEnv) sendFrom(addr, method, path string, body io.Reader, header ...string) reply {
	e.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = addr + ":40000"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return reply{answer{rec.Code, res.Header, string(b)}, res.Cookies()}
}

var numberRE = regexp.MustCompile(`<strong class="report-number">([0-9]{4}-[0-9]{6})</strong>`)

// fileForm files a report with the public form from addr and returns the
// answer and the number it shows.
func (e *authEnv) fileForm(addr, lang string, kv ...string) (reply, string) {
	e.t.Helper()
	r := e.sendFrom(addr, http.MethodPost, web.ReportsPath+"?lang="+lang, form(kv...), "Content-Type", formType)
	m := numberRE.FindStringSubmatch(r.body)
	if m == nil {
		return r, ""
	}
	return r, m[1]
}

// fileJSON files a report with the JSON API from addr.
func (e *authEnv) fileJSON(addr string, in registryapi.NewReport, header ...string) (reply, registryapi.Report) {
	e.t.Helper()
	r := e.sendFrom(addr, http.MethodPost, registryapi.PathReports, jsonBody(in), append([]string{"Content-Type", "application/json"}, header...)...)
	var out registryapi.Report
	if r.status == http.StatusCreated {
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, out
}

func TestCitizensFileAndFollowReports(t *testing.T) {
	e := newAuthEnv(t)

	// The form: three kinds, the sensors, a labelled honeypot; linked from
	// every page's footer and from each entry.
	page := e.send(http.MethodGet, web.NewReportPath, nil)
	for _, want := range []string{`name="kind" value="missing_sensor"`, `name="kind" value="wrong_information"`, `name="kind" value="question"`,
		`<option value="air-mairie-01"`, `<label for="rep-website">Laissez ce champ vide</label>`, `tabindex="-1"`,
		`<label for="rep-message">`, `<label for="rep-email">`, `action="/reports?lang=fr"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	if strings.Contains(page.body, "csrf_token") {
		t.Error("the public's form carries a CSRF field")
	}
	pre := e.send(http.MethodGet, web.NewReportPath+"?sensor=air-mairie-01&lang=en", nil).body
	if !strings.Contains(pre, `<option value="air-mairie-01" selected>`) || !strings.Contains(pre, `value="wrong_information" checked`) || !strings.Contains(pre, "Leave this field empty") {
		t.Error("?sensor= does not preselect the entry and wrong information")
	}
	entry := e.send(http.MethodGet, "/sensors/air-mairie-01", nil).body
	if !strings.Contains(entry, `href="/reports/new?kind=wrong_information&amp;lang=fr&amp;sensor=air-mairie-01"`) || !strings.Contains(entry, "Signaler une erreur") {
		t.Error("the entry page has no link to report an error")
	}
	if !strings.Contains(entry, `href="/reports/new?kind=missing_sensor&amp;lang=fr"`) || !strings.Contains(entry, "Signaler un capteur manquant") {
		t.Error("the footer has no link to report a missing sensor")
	}

	// A missing sensor, by the form, without an account.
	r, missing := e.fileForm("198.51.100.1", "fr", "kind", "missing_sensor", "sensor_id", "air-mairie-01",
		"location", "Lampadaire devant le 3, rue des Lilas", "message", "Un boîtier gris avec une antenne.", "email", "habitant@example.org")
	if r.status != http.StatusCreated || missing == "" || !strings.Contains(r.body, "votre signalement est enregistré") ||
		!strings.Contains(r.body, `href="/reports/`+missing+`?lang=fr"`) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("file a missing sensor: %d\n%s", r.status, r.body)
	}
	// Wrong information, by JSON.
	r, wrong := e.fileJSON("198.51.100.2", registryapi.NewReport{Kind: "wrong_information", SensorID: "air-mairie-01", Message: "Le capteur a été déplacé.", Lang: "fr"})
	if r.status != http.StatusCreated || wrong.Status != "received" || wrong.SensorID != "air-mairie-01" || r.header.Get("Location") != registryapi.PathReports+"/"+wrong.Number ||
		wrong.URL != publicURL+"/reports/"+wrong.Number || len(wrong.History) != 1 || wrong.History[0].Role != "public" {
		t.Fatalf("file wrong information: %d %+v", r.status, wrong)
	}
	// A question, in English.
	r, question := e.fileForm("198.51.100.3", "en", "kind", "question", "message", "Who reads this data?")
	if r.status != http.StatusCreated || question == "" || !strings.Contains(r.body, "Thank you") {
		t.Fatalf("ask a question: %d\n%s", r.status, r.body)
	}
	if missing == wrong.Number || wrong.Number == question {
		t.Errorf("numbers %s %s %s", missing, wrong.Number, question)
	}

	// Each is followed by its number, as a page and as JSON.
	for _, n := range []string{missing, wrong.Number, question} {
		p := e.send(http.MethodGet, web.ReportPath(n), nil)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Signalement n° "+n) || !strings.Contains(p.body, "Reçu") ||
			!strings.Contains(p.body, "Le public (formulaire)") || !strings.Contains(p.body, "Pas encore de réponse") {
			t.Errorf("page of %s: %d\n%s", n, p.status, p.body)
		}
		j := e.send(http.MethodGet, registryapi.PathReports+"/"+n, nil)
		got := decode[registryapi.Report](t, j.answer)
		if got.Number != n || got.Status != "received" || j.header.Get("ETag") == "" {
			t.Errorf("JSON of %s: %+v", n, got)
		}
	}
	if p := e.send(http.MethodGet, web.ReportPath(wrong.Number), nil).body; !strings.Contains(p, `href="/sensors/air-mairie-01?lang=fr"`) {
		t.Error("the report page does not link the entry concerned")
	}
	stored, _ := e.st.Report(context.Background(), missing)
	if stored.SensorID != "" || stored.Lang != "fr" || stored.SenderEmail != "habitant@example.org" {
		t.Errorf("stored %+v: a missing sensor names no entry", stored)
	}

	// Unknown or malformed numbers.
	for _, n := range []string{"2026-999999", "air-mairie-01", "2026-1"} {
		if p := e.send(http.MethodGet, "/reports/"+n, nil); p.status != http.StatusNotFound || !strings.Contains(p.body, "Signalement introuvable") {
			t.Errorf("page of %s: %d", n, p.status)
		}
		wantProblem(t, e.send(http.MethodGet, registryapi.PathReports+"/"+n, nil).answer, http.StatusNotFound)
	}
}

func TestReportsAreValidated(t *testing.T) {
	e := newAuthEnv(t)
	// The form shows each problem next to its field, keeping what was typed.
	r, n := e.fileForm("198.51.100.1", "fr", "kind", "wrong_information", "message", "abc", "email", "pas une adresse")
	if r.status != http.StatusBadRequest || n != "" {
		t.Fatalf("bad form: %d", r.status)
	}
	for _, want := range []string{"Choisissez le capteur dont la fiche contient une erreur.", "Au moins 5 caractères.",
		"Adresse électronique non valable", `value="pas une adresse"`, `aria-invalid="true"`, `value="wrong_information" checked`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	r, _ = e.fileForm("198.51.100.1", "en", "kind", "missing_sensor", "message", "A grey box.")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Say where the sensor is") {
		t.Errorf("missing sensor without location: %d", r.status)
	}
	// JSON: a problem body, field by field, in the request's language.
	r, _ = e.fileJSON("198.51.100.1", registryapi.NewReport{Kind: "complaint", Message: "Bonjour madame", Email: "x@y"}, "Accept-Language", "en")
	wantProblem(t, r.answer, http.StatusBadRequest)
	for _, want := range []string{`"field":"kind"`, "Choose the kind of report.", `"field":"email"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("problem lacks %q: %s", want, r.body)
		}
	}
	// An entry that is not published cannot be reported on.
	for _, id := range []string{"air-absent-01"} {
		r, _ = e.fileJSON("198.51.100.1", registryapi.NewReport{Kind: "wrong_information", SensorID: id, Message: "Bonjour madame"})
		wantProblem(t, r.answer, http.StatusBadRequest)
		if !strings.Contains(r.body, `"field":"sensor_id"`) || !strings.Contains(r.body, "Aucun capteur publié") {
			t.Errorf("%s: %s", id, r.body)
		}
	}
	// Strict JSON, bounded bodies.
	r = e.sendFrom("198.51.100.1", http.MethodPost, registryapi.PathReports, strings.NewReader(`{"kind":"question","message":"Bonjour madame","admin":true}`), "Content-Type", "application/json")
	wantProblem(t, r.answer, http.StatusBadRequest)
	r = e.sendFrom("198.51.100.1", http.MethodPost, registryapi.PathReports, strings.NewReader(`{"kind":"question","message":"`+strings.Repeat("a", 2<<20)+`"}`), "Content-Type", "application/json")
	wantProblem(t, r.answer, http.StatusRequestEntityTooLarge)
	// HTML and SQL in a message are kept verbatim and shown escaped.
	r, rep := e.fileJSON("198.51.100.9", registryapi.NewReport{Kind: "question", Message: `<script>alert(1)</script> '); DROP TABLE reports; --`})
	if r.status != http.StatusCreated {
		t.Fatalf("file: %d %s", r.status, r.body)
	}
	stored, err := e.st.Report(context.Background(), rep.Number)
	if err != nil || stored.Message != `<script>alert(1)</script> '); DROP TABLE reports; --` {
		t.Errorf("stored %q %v", stored.Message, err)
	}
	if l, _ := e.st.ListReports(context.Background(), store.ReportFilter{}); len(l) != 1 {
		t.Errorf("%d reports stored, want 1 (refused ones store nothing)", len(l))
	}
}

// The sender's e-mail address, message and location text appear on no
// public page or JSON — every GET route answering without an account is
// read, with the numbers of real reports — and only on the
// administrators' pages.
func TestReportsNeverPublishTheSender(t *testing.T) {
	e := newAuthEnv(t)
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	private := []string{"expediteur.secret@example.org", "MESSAGE-PRIVE-4217", "LIEU-PRIVE-9931"}
	_, n1 := e.fileForm("198.51.100.1", "fr", "kind", "missing_sensor", "location", private[2], "message", "Boîtier "+private[1], "email", private[0])
	_, r2 := e.fileJSON("198.51.100.2", registryapi.NewReport{Kind: "wrong_information", SensorID: "air-mairie-01", Message: "Erreur " + private[1], Email: private[0]})
	if n1 == "" || r2.Number == "" {
		t.Fatal("filing failed")
	}
	// An answer makes every public part of the report show.
	s := e.mustLogin("admin", "admin password")
	if r := e.send(http.MethodPost, web.AdminReportPath(n1), form("status", "answered", "public_answer", "Le boîtier mesure le bruit.", "note", "vu", "csrf_token", s.csrf),
		"Cookie", s.cookie, "Content-Type", formType); r.status != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}

	checked := 0
	for _, number := range []string{n1, r2.Number} {
		for _, rt := range e.h.(*gin.Engine).Routes() {
			if rt.Method != http.MethodGet {
				continue
			}
			path := paramRE.ReplaceAllStringFunc(rt.Path, func(p string) string {
				switch p {
				case ":number":
					return number
				case ":format":
					return "svg"
				}
				return "air-mairie-01"
			})
			for _, q := range []string{"", "?lang=en"} {
				r := e.send(http.MethodGet, path+q, nil)
				if r.status == http.StatusUnauthorized || r.status == http.StatusSeeOther {
					continue // not public
				}
				checked++
				for _, p := range private {
					if strings.Contains(r.body, p) {
						t.Errorf("GET %s%s (%d) shows %q", path, q, r.status, p)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d public answers checked", checked)
	}
	// The public page shows the answer; the administrators' page shows all.
	if p := e.send(http.MethodGet, web.ReportPath(n1), nil).body; !strings.Contains(p, "Le boîtier mesure le bruit.") {
		t.Error("the public page lacks the answer")
	}
	admin := e.send(http.MethodGet, web.AdminReportPath(n1), nil, "Cookie", s.cookie).body
	for _, p := range private {
		if !strings.Contains(admin, p) {
			t.Errorf("the administrators' page lacks %q", p)
		}
	}
}

func TestReportHoneypot(t *testing.T) {
	e := newAuthEnv(t)
	r, n := e.fileForm("198.51.100.1", "fr", "kind", "question", "message", "Achetez nos montres !", web.HoneypotField, "https://spam.example")
	if r.status != http.StatusCreated || n == "" || !strings.Contains(r.body, "votre signalement est enregistré") {
		t.Fatalf("a filled honeypot is not answered as usual: %d\n%s", r.status, r.body)
	}
	if l, _ := e.st.ListReports(context.Background(), store.ReportFilter{}); len(l) != 0 {
		t.Errorf("a filled honeypot stored %d reports", len(l))
	}
	// The next real report gets the number the discarded one was shown.
	r, real := e.fileForm("198.51.100.2", "fr", "kind", "question", "message", "Qui lit ces données ?", web.HoneypotField, "")
	if r.status != http.StatusCreated || real != n {
		t.Errorf("real report %q after discarded %q", real, n)
	}
}

func TestReportRateLimit(t *testing.T) {
	e := newAuthEnv(t)
	file := func(addr string) reply {
		r, _ := e.fileForm(addr, "fr", "kind", "question", "message", "Qui lit ces données ?")
		return r
	}
	// Refused filings do not count.
	for range 3 {
		if r, _ := e.fileForm("198.51.100.1", "fr", "kind", "question", "message", "?"); r.status != http.StatusBadRequest {
			t.Fatalf("invalid: %d", r.status)
		}
	}
	for i := range reportMaxPerClient {
		if r := file("198.51.100.1"); r.status != http.StatusCreated {
			t.Fatalf("filing %d: %d", i+1, r.status)
		}
		e.clock.add(time.Minute)
	}
	// Five from 8:00 to 8:04; at 8:05 the sixth waits until 9:00.
	r := file("198.51.100.1")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3300" || !strings.Contains(r.body, "Réessayez dans 55 minutes") {
		t.Errorf("sixth filing: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	r2, _ := e.fileJSON("198.51.100.1", registryapi.NewReport{Kind: "question", Message: "Qui lit ces données ?"})
	wantProblem(t, r2.answer, http.StatusTooManyRequests)
	// An IPv6 client is limited by its /64.
	for i := range reportMaxPerClient {
		if r := file("2001:db8:1:2::" + string(rune('a'+i))); r.status != http.StatusCreated {
			t.Fatalf("IPv6 filing %d: %d", i+1, r.status)
		}
	}
	if r := file("2001:db8:1:2::ff"); r.status != http.StatusTooManyRequests {
		t.Errorf("same /64: %d", r.status)
	}
	// Another address files; an hour later the first one does again.
	if r := file("198.51.100.2"); r.status != http.StatusCreated {
		t.Errorf("another address: %d", r.status)
	}
	e.clock.add(time.Hour)
	if r := file("198.51.100.1"); r.status != http.StatusCreated {
		t.Errorf("an hour later: %d", r.status)
	}
	if l, _ := e.st.ListReports(context.Background(), store.ReportFilter{}); len(l) != 2*reportMaxPerClient+2 {
		t.Errorf("%d reports stored", len(l))
	}
}

func TestAdministratorsAnswerReports(t *testing.T) {
	e := newAuthEnv(t)
	e.account("agnes.admin", "Agnès Zébulon", auth.RoleAdministrator, "admin password")
	_, n := e.fileForm("198.51.100.1", "fr", "kind", "wrong_information", "sensor_id", "air-mairie-01", "message", "Le capteur a été déplacé.", "email", "habitant@example.org")
	_, q := e.fileJSON("198.51.100.2", registryapi.NewReport{Kind: "question", Message: "Qui lit ces données ?"})
	s := e.mustLogin("agnes.admin", "admin password")

	// The list, with filters; the menu links it.
	list := e.send(http.MethodGet, web.AdminReportsPath, nil, "Cookie", s.cookie)
	if list.status != http.StatusOK || !strings.Contains(list.body, n) || !strings.Contains(list.body, q.Number) ||
		!strings.Contains(list.body, `href="/admin/reports?lang=fr"`) || list.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("list: %d\n%s", list.status, list.body)
	}
	if f := e.send(http.MethodGet, web.AdminReportsPath+"?kind=question", nil, "Cookie", s.cookie).body; strings.Contains(f, ">"+n+"<") || !strings.Contains(f, ">"+q.Number+"<") {
		t.Error("the kind filter does not filter")
	}
	// The report's page: everything, and the form.
	page := e.send(http.MethodGet, web.AdminReportPath(n), nil, "Cookie", s.cookie).body
	for _, want := range []string{"habitant@example.org", "Le capteur a été déplacé.", `name="public_answer"`, `name="csrf_token"`, `<option value="in_progress" selected>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the report's page lacks %q", want)
		}
	}
	// Without the CSRF token: refused, nothing written.
	if r := e.send(http.MethodPost, web.AdminReportPath(n), form("status", "closed"), "Cookie", s.cookie, "Content-Type", formType); r.status != http.StatusForbidden {
		t.Errorf("answer without CSRF token: %d", r.status)
	}
	// Answered needs an answer.
	r := e.send(http.MethodPost, web.AdminReportPath(n), form("status", "answered", "public_answer", "", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "besoin d&#39;une réponse publique") {
		t.Errorf("answered without answer: %d", r.status)
	}
	// In progress, then answered.
	r = e.send(http.MethodPost, web.AdminReportPath(n), form("status", "in_progress", "public_answer", "", "note", "Transmis au service technique", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != web.AdminReportPath(n)+"?lang=fr&done=updated" {
		t.Fatalf("in progress: %d %q", r.status, r.header.Get("Location"))
	}
	e.clock.add(time.Hour)
	r = e.send(http.MethodPost, web.AdminReportPath(n), form("status", "answered", "public_answer", "Merci : la fiche est corrigée.", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusSeeOther {
		t.Fatalf("answered: %d", r.status)
	}
	if done := e.send(http.MethodGet, r.header.Get("Location"), nil, "Cookie", s.cookie).body; !strings.Contains(done, "Signalement mis à jour.") {
		t.Error("no confirmation after the answer")
	}
	// The same again changes nothing.
	r = e.send(http.MethodPost, web.AdminReportPath(n), form("status", "answered", "public_answer", "Merci : la fiche est corrigée.", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType)
	if !strings.HasSuffix(r.header.Get("Location"), "done=unchanged") {
		t.Errorf("no change: %q", r.header.Get("Location"))
	}

	// The public sees the status, the answer and the history by role.
	pub := e.send(http.MethodGet, web.ReportPath(n), nil).body
	for _, want := range []string{"Répondu", "Merci : la fiche est corrigée.", "L&#39;administration du registre", "Transmis au service technique", "En cours de traitement"} {
		if !strings.Contains(pub, want) {
			t.Errorf("the public page lacks %q", want)
		}
	}
	for _, name := range []string{"agnes.admin", "Zébulon"} {
		if strings.Contains(pub, name) {
			t.Errorf("the public page names %q", name)
		}
	}
	got := decode[registryapi.Report](t, e.send(http.MethodGet, registryapi.PathReports+"/"+n, nil).answer)
	if got.Status != "answered" || got.PublicAnswer != "Merci : la fiche est corrigée." || len(got.History) != 3 ||
		got.History[1].Role != "administrator" || got.History[1].Note != "Transmis au service technique" || got.History[2].Status != "answered" {
		t.Errorf("public JSON %+v", got)
	}

	// JSON for administrators.
	all := decode[registryapi.StaffReportList](t, e.send(http.MethodGet, registryapi.PathAdminReports+"?status=received", nil, "Cookie", s.cookie).answer)
	if len(all.Reports) != 1 || all.Reports[0].Number != q.Number {
		t.Errorf("received reports %+v", all.Reports)
	}
	wantProblem(t, e.send(http.MethodGet, registryapi.PathAdminReports+"?status=lost", nil, "Cookie", s.cookie).answer, http.StatusBadRequest)
	one := decode[registryapi.StaffReport](t, e.send(http.MethodGet, registryapi.PathAdminReports+"/"+n, nil, "Cookie", s.cookie).answer)
	if one.SenderEmail != "habitant@example.org" || one.History[1].Actor != "agnes.admin" {
		t.Errorf("staff JSON %+v", one)
	}
	r = e.send(http.MethodPost, registryapi.PathAdminReports+"/"+q.Number, jsonBody(map[string]any{"status": "closed", "note": "Hors sujet"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Content-Type", "application/json")
	closed := decode[registryapi.StaffReport](t, r.answer)
	if r.status != http.StatusOK || closed.Status != "closed" || closed.History[1].Note != "Hors sujet" {
		t.Errorf("close by JSON: %d %+v", r.status, closed)
	}
	r = e.send(http.MethodPost, registryapi.PathAdminReports+"/"+q.Number, jsonBody(map[string]any{"status": "received"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Content-Type", "application/json", "Accept-Language", "en")
	wantProblem(t, r.answer, http.StatusBadRequest)
	if !strings.Contains(r.body, "Choose a state") {
		t.Errorf("back to received: %s", r.body)
	}
	wantProblem(t, e.send(http.MethodPost, registryapi.PathAdminReports+"/2026-999999", jsonBody(map[string]any{"status": "closed"}),
		"Cookie", s.cookie, "X-CSRF-Token", s.csrf).answer, http.StatusNotFound)
}

// Only administrators read and answer reports: other roles get 403, the
// public 401 (or the login page).
func TestReportAdministrationNeedsAdministrator(t *testing.T) {
	e := newAuthEnv(t)
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	e.account("energie", "", auth.RoleEnergyManager, "energy password")
	_, n := e.fileForm("198.51.100.1", "fr", "kind", "question", "message", "Qui lit ces données ?", "email", "habitant@example.org")
	type req struct{ method, path string }
	reqs := []req{
		{http.MethodGet, web.AdminReportsPath}, {http.MethodGet, web.AdminReportPath(n)}, {http.MethodPost, web.AdminReportPath(n)},
		{http.MethodGet, registryapi.PathAdminReports}, {http.MethodGet, registryapi.PathAdminReports + "/" + n}, {http.MethodPost, registryapi.PathAdminReports + "/" + n},
	}
	for _, who := range []struct{ user, pw string }{{"tech", "tech password!"}, {"energie", "energy password"}} {
		s := e.mustLogin(who.user, who.pw)
		for _, q := range reqs {
			r := e.send(q.method, q.path, form("status", "closed", "csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType, "X-CSRF-Token", s.csrf)
			if r.status != http.StatusForbidden || strings.Contains(r.body, "habitant@example.org") {
				t.Errorf("%s: %s %s: %d", who.user, q.method, q.path, r.status)
			}
		}
	}
	for _, role := range auth.TokenRoles() {
		tok := e.token("jeton "+string(role), role)
		for _, q := range reqs {
			r := e.send(q.method, q.path, jsonBody(map[string]string{"status": "closed"}), "Authorization", "Bearer "+tok, "Content-Type", "application/json")
			wantProblem(t, r.answer, http.StatusForbidden)
		}
	}
	for _, q := range reqs {
		r := e.send(q.method, q.path, nil, "Accept", "application/json")
		wantProblem(t, r.answer, http.StatusUnauthorized)
	}
	if rep, _ := e.st.Report(context.Background(), n); rep.Status != "received" {
		t.Errorf("status %q after refused updates", rep.Status)
	}
}

// A signed-in person filing a report from the public form sends the
// session's CSRF token, which the form carries; another site's form is
// refused, with or without a session.
func TestReportFormAndSessions(t *testing.T) {
	e := newAuthEnv(t)
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	s := e.mustLogin("tech", "tech password!")
	page := e.send(http.MethodGet, web.NewReportPath, nil, "Cookie", s.cookie).body
	if !strings.Contains(page, `name="csrf_token" value="`+s.csrf+`"`) {
		t.Error("the form of a signed-in person lacks the CSRF token")
	}
	body := func(extra ...string) io.Reader {
		return form(append([]string{"kind", "question", "message", "Qui lit ces données ?"}, extra...)...)
	}
	if r := e.send(http.MethodPost, web.ReportsPath, body(), "Cookie", s.cookie, "Content-Type", formType); r.status != http.StatusForbidden {
		t.Errorf("session without CSRF token: %d", r.status)
	}
	if r := e.send(http.MethodPost, web.ReportsPath, body("csrf_token", s.csrf), "Cookie", s.cookie, "Content-Type", formType); r.status != http.StatusCreated {
		t.Errorf("session with CSRF token: %d", r.status)
	}
	if r := e.send(http.MethodPost, web.ReportsPath, body(), "Content-Type", formType, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("another site's form: %d", r.status)
	}
	if r := e.send(http.MethodPost, web.ReportsPath, body(), "Content-Type", formType, "Origin", publicURL, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusCreated {
		t.Errorf("the public, same origin: %d", r.status)
	}
}
