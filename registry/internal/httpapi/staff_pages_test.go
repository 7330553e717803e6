package httpapi

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

var (
	formRE     = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	textareaRE = regexp.MustCompile(`(?s)<textarea ([^>]*)>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select ([^>]*)>(.*?)</select>`)
	optionRE   = regexp.MustCompile(`<option value="([^"]*)"( selected)?>`)
	attrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// submitted returns what a browser submits with the first form of page
// whose action starts with action, as the page shows it (checked boxes,
// selected options, texts); and the form's action.
func submitted(page, action string) (url.Values, string) {
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(html.UnescapeString(m[1]), action) {
			continue
		}
		body := m[2]
		v := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(body, -1) {
			a := attrs(in[1])
			if a["name"] == "" {
				continue
			}
			if (a["type"] == "checkbox" || a["type"] == "radio") && !strings.Contains(in[1], " checked") {
				continue
			}
			v.Add(a["name"], a["value"])
		}
		for _, ta := range textareaRE.FindAllStringSubmatch(body, -1) {
			v.Add(attrs(ta[1])["name"], html.UnescapeString(strings.TrimPrefix(ta[2], "\n")))
		}
		for _, se := range selectRE.FindAllStringSubmatch(body, -1) {
			name, value, first := attrs(se[1])["name"], "", true
			for _, o := range optionRE.FindAllStringSubmatch(se[2], -1) {
				if first || o[2] != "" {
					value = html.UnescapeString(o[1])
				}
				first = false
			}
			v.Add(name, value)
		}
		return v, html.UnescapeString(m[1])
	}
	return nil, ""
}

// staffEnv is a provisioning environment with a technician's session.
type staffEnv struct {
	*provEnv
	s session
}

func newStaffEnv(t *testing.T) *staffEnv {
	e := newProvEnv(t)
	e.account("theo", "Théo", auth.RoleTechnician, "tech password!")
	return &staffEnv{provEnv: e, s: e.mustLogin("theo", "tech password!")}
}

func (e *staffEnv) get(path string) reply {
	e.t.Helper()
	return e.send(http.MethodGet, path, nil, "Cookie", e.s.cookie)
}

func (e *staffEnv) post(path string, v url.Values) reply {
	e.t.Helper()
	v.Set(web.CSRFField, e.s.csrf)
	return e.send(http.MethodPost, path, strings.NewReader(v.Encode()), "Cookie", e.s.cookie, "Content-Type", formType)
}

// Every demo entry's edit form, submitted as shown, changes nothing: the
// form shows every field and reads it back exactly.
func TestEditFormRoundTrips(t *testing.T) {
	e := newStaffEnv(t)
	for _, s := range demo.Sensors() {
		page := e.get(web.StaffSensorPath(s.ID, "edit"))
		mustStatus(t, page, http.StatusOK)
		if strings.Contains(page.body, "⟦") {
			t.Fatalf("%s: a message key is missing", s.ID)
		}
		v, action := submitted(page.body, web.StaffSensorPath(s.ID))
		if v == nil {
			t.Fatalf("%s: no edit form", s.ID)
		}
		v.Set("reason", "relecture")
		r := e.post(action, v)
		if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "done=unchanged") {
			t.Errorf("%s: unchanged form: %d %s %s", s.ID, r.status, r.header.Get("Location"), r.body)
		}
	}
}

// The creation form, the row buttons, refusals with every problem linked
// to its field, the optimistic version, lifecycle reasons, credentials
// shown once, and roles.
func TestProvisioningPages(t *testing.T) {
	e := newStaffEnv(t)
	mustStatus(t, e.get(web.StaffSensorsPath), http.StatusOK)
	if p := e.get(web.NewSensorPath).body; !strings.Contains(p, `class="big-choice cat-air"`) || !strings.Contains(p, `name="from"`) {
		t.Error("the chooser lacks the categories or the copy")
	}
	for _, c := range registryapi.Categories {
		for _, lang := range []string{"fr", "en"} {
			r := e.get(web.NewSensorPath + "?category=" + c + "&lang=" + lang)
			mustStatus(t, r, http.StatusOK)
			if strings.Contains(r.body, "⟦") {
				t.Errorf("%s %s: a message key is missing", c, lang)
			}
		}
	}

	// "Add a quantity" shows the form again with an empty row, and saves
	// nothing; a number that is not one is refused at its field.
	form, action := submitted(e.get(web.NewSensorPath+"?category=parking").body, web.StaffSensorsPath)
	form.Set("action", web.ActionAddQuantity)
	r := e.post(action, form)
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `name="quantities[1].name"`) {
		t.Error("no empty quantity row after add_quantity")
	}
	form.Del("action")
	form.Set("location.lat", "quarante-six")
	r = e.post(action, form)
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `href="#f-location-lat"`) || !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, "n&#39;est pas un nombre") {
		t.Errorf("a bad latitude is not shown at its field:\n%s", r.body)
	}

	// A draft with only a name: created, then its publication is refused
	// with every problem, each linking to its field of the edit form.
	form.Set("location.lat", "")
	form.Set("name.fr", "Place du marché")
	form.Set("site", "marche")
	r = e.post(action, form)
	mustStatus(t, r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], web.StaffSensorsPath+"/")
	if !strings.HasPrefix(id, "parking-marche-") || !strings.HasSuffix(loc, "?lang=fr&done=created") {
		t.Fatalf("created at %s", loc)
	}
	r = e.post(web.StaffSensorPath(id, "publish"), url.Values{"version": {"1"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{"Publication refusée", `/edit?lang=fr#f-name-en"`, `/edit?lang=fr#f-location-lat"`, `/edit?lang=fr#f-identifiability"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused publication lacks %q", want)
		}
	}
	if en := e.send(http.MethodGet, web.StaffSensorPath(id)+"?lang=en", nil, "Cookie", e.s.cookie).body; !strings.Contains(en, "Before publishing") || !strings.Contains(en, "Name (English)") {
		t.Error("the English page does not list what is missing")
	}

	// The edit form from an old version: 409, with a reload link.
	edit, editAction := submitted(e.get(web.StaffSensorPath(id, "edit")).body, web.StaffSensorPath(id))
	edit.Set("name.en", "Market square")
	mustStatus(t, e.post(editAction, edit), http.StatusSeeOther)
	edit.Set("name.en", "Market place")
	r = e.post(editAction, edit)
	mustStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.body, "Quelqu&#39;un a modifié cette fiche") || !strings.Contains(r.body, `href="/staff/sensors/`+id+`/edit?lang=fr"`) {
		t.Error("the conflict is not explained with a reload link")
	}

	// Credentials: shown in the answer to the POST, never by a GET.
	r = e.post(web.StaffSensorPath(id, "credentials"), url.Values{})
	mustStatus(t, r, http.StatusOK)
	m := regexp.MustCompile(`id="mqtt-password">([^<]+)<`).FindStringSubmatch(r.body)
	if m == nil || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("no password shown, or cached: %s", r.header.Get("Cache-Control"))
	}
	if page := e.get(web.StaffSensorPath(id)).body; strings.Contains(page, m[1]) || !strings.Contains(page, "par theo") {
		t.Error("the password is shown again, or the issue is not said")
	}

	// A draft's sign, for staff; the public's is 404.
	r = e.get(web.StaffSensorPath(id, "sign.pdf") + "?size=a6")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("staff sign of a draft: %d %s", r.status, r.header.Get("Content-Type"))
	}
	mustStatus(t, e.get("/sensors/"+id+"/sign.pdf"), http.StatusNotFound)

	// A copy, with the suggested id.
	dup := e.get(web.NewSensorPath + "?from=air-mairie-01")
	if !strings.Contains(dup.body, `value="air-hotel-de-ville-01"`) {
		t.Errorf("copy form without the suggested id:\n%s", dup.body)
	}
	r = e.post(web.StaffSensorPath("air-mairie-01", "duplicate"), url.Values{"id": {"air-hotel-de-ville-01"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "air-hotel-de-ville-01") {
		t.Errorf("duplicate: %d %s", r.status, r.header.Get("Location"))
	}
	r = e.post(web.StaffSensorPath("air-mairie-01", "duplicate"), url.Values{"id": {"air-hotel-de-ville-01"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)

	// A move of a published entry needs a reason.
	r = e.post(web.StaffSensorPath("air-mairie-01", "status"), url.Values{"status": {"maintenance"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `href="#f-reason-maintenance"`) || !strings.Contains(r.body, "Mise en maintenance refusée") {
		t.Error("a move without a reason is not refused at its field")
	}
	r = e.post(web.StaffSensorPath("air-mairie-01", "status"), url.Values{"status": {"maintenance"}, "reason": {"Nettoyage"}})
	mustStatus(t, r, http.StatusSeeOther)

	// Another role: refused; nobody: sent to the login page.
	e.account("eve", "", auth.RoleEnergyManager, "energy password")
	eve := e.mustLogin("eve", "energy password")
	if r := e.send(http.MethodGet, web.StaffSensorsPath, nil, "Cookie", eve.cookie); r.status != http.StatusForbidden {
		t.Errorf("energy manager: %d", r.status)
	}
	if r := e.send(http.MethodGet, web.StaffSensorsPath, nil); r.status != http.StatusSeeOther {
		t.Errorf("anonymous: %d", r.status)
	}
	// The script is served, and the policy lets the pages run it.
	r = e.send(http.MethodGet, web.ProvisionJSPath, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("script: %d %s %s", r.status, r.header.Get("Content-Type"), r.header.Get("Content-Security-Policy"))
	}
}
