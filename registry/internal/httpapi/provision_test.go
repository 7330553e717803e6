package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// provEnv is a handler over a real store seeded with the demo town, on the
// demo territory, with a technician's and a gateway's API tokens.
type provEnv struct {
	*authEnv
	tech []string // Authorization header of a technician's token
	gw   []string // Authorization header of a gateway's token
}

const testMaxBody = 64 << 10

func newProvEnv(t *testing.T) *provEnv {
	t.Helper()
	e := newAuthEnv(t)
	h, err := NewHandler(Deps{Sensors: e.st, PublicURL: publicURL, Now: e.clock.now,
		Territory: demo.Territory(), MaxBodyBytes: testMaxBody})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return &provEnv{authEnv: e,
		tech: []string{"Authorization", "Bearer " + e.token("tablette de terrain", auth.RoleTechnician)},
		gw:   []string{"Authorization", "Bearer " + e.token("passerelle", auth.RoleGateway)},
	}
}

// call sends body (nil, a string, or a value sent as JSON) with header.
func (e *provEnv) call(method, path string, body any, header ...string) reply {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		r = jsonBody(b)
	}
	if body != nil {
		header = append([]string{"Content-Type", "application/json"}, header...)
	}
	return e.send(method, path, r, header...)
}

// as is the technician's call.
func (e *provEnv) as(method, path string, body any, header ...string) reply {
	e.t.Helper()
	return e.call(method, path, body, append(slices.Clone(e.tech), header...)...)
}

func mustStatus(t *testing.T, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// draftOf stores a copy of the demo entry from as the draft id, complete
// enough to be published, and returns it.
func (e *provEnv) draftOf(from, id, status string) registryapi.Sensor {
	e.t.Helper()
	s, err := e.st.Get(context.Background(), from)
	if err != nil {
		e.t.Fatal(err)
	}
	s.ID, s.Status, s.Version = id, status, 0
	if status == registryapi.StatusDraft {
		s.CommissionedAt = nil
	}
	if status == registryapi.StatusRetired {
		end := s.CommissionedAt.AddDate(1, 0, 0)
		s.DecommissionedAt = &end
	}
	out, err := e.st.Create(context.Background(), s, store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech", Reason: "préparation"})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// view reads the gateway's view with the gateway's token.
func (e *provEnv) view(header ...string) (registryapi.AllowList, reply) {
	e.t.Helper()
	r := e.call(http.MethodGet, registryapi.PathAllowList, nil, append(slices.Clone(e.gw), header...)...)
	var l registryapi.AllowList
	if r.status == http.StatusOK {
		l = decode[registryapi.AllowList](e.t, r.answer)
	}
	return l, r
}

func problemOf(t *testing.T, r reply) registryapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q: %s", ct, r.body)
	}
	return decode[registryapi.Problem](t, r.answer)
}

// A new sensor goes from draft to published in one scripted API session
// with a technician's token, and the gateway's view changes at once.
func TestScriptedProvisioningSession(t *testing.T) {
	e := newProvEnv(t)
	before, r := e.view()
	mustStatus(t, r, http.StatusOK)
	etag0 := r.header.Get("ETag")

	// 1. The template of the category.
	r = e.as(http.MethodGet, pathTemplates+"/air", nil)
	mustStatus(t, r, http.StatusOK)
	tmpl := decode[provision.Template](t, r.answer)
	var names []string
	for _, q := range tmpl.Quantities {
		names = append(names, q.Name)
	}
	if d := cmp.Diff([]string{"pm10", "pm2_5", "no2", "o3", "temperature", "humidity", "pressure"}, names); d != "" {
		t.Errorf("air template quantities:\n%s", d)
	}

	// 2. A draft from the template: the id is suggested, the rest filled.
	r = e.as(http.MethodPost, registryapi.PathSensors+"?template=air", map[string]any{
		"name": map[string]string{"fr": "Qualité de l'air – gare routière", "en": "Air quality – bus station"},
		"site": "gare",
	})
	mustStatus(t, r, http.StatusCreated)
	draft := decode[registryapi.Sensor](t, r.answer)
	if draft.ID != "air-gare-02" || draft.Status != registryapi.StatusDraft || draft.Version != 1 {
		t.Fatalf("draft %s %s v%d, want air-gare-02 (air-gare-01 is taken) draft v1", draft.ID, draft.Status, draft.Version)
	}
	if r.header.Get("Location") != pathStaffSensors+"/air-gare-02" || len(draft.Quantities) != 4 ||
		draft.Accountable.Name.FR != demo.TownFR || draft.PublicContact.Email != demo.Email || draft.Retention != "P5Y" {
		t.Errorf("draft not filled from the template and territory: %+v", draft)
	}
	if got := e.call(http.MethodGet, registryapi.PathSensors+"/air-gare-02", nil); got.status != http.StatusNotFound {
		t.Errorf("public GET of a draft: %d", got.status)
	}

	// 3. Place it, with the phone's position (a draft's update needs no reason).
	draft.Location = registryapi.Location{Lat: 46.9399, Lon: 2.0570, Address: "Gare routière, quai 2, Valmont-sur-Lise"}
	r = e.as(http.MethodPut, registryapi.PathSensors+"/air-gare-02", UpdateRequest{Entry: draft})
	mustStatus(t, r, http.StatusOK)
	draft = decode[registryapi.Sensor](t, r.answer)
	if draft.Version != 2 || draft.Location.Lat != 46.9399 {
		t.Errorf("after placing: version %d, %+v", draft.Version, draft.Location)
	}

	// 4. Complete it.
	draft.AttachedTo = registryapi.Text{FR: "Abri du quai 2", EN: "Platform 2 shelter"}
	draft.Description = registryapi.Text{FR: "Mesure les particules près des bus.", EN: "Measures particles near the buses."}
	draft.StorageLocation = registryapi.Text{FR: "Serveur de la mairie", EN: "Town hall server"}
	draft.DPOContact = registryapi.Contact{Email: "dpo@" + demo.Domain}
	r = e.as(http.MethodPut, registryapi.PathSensors+"/air-gare-02", UpdateRequest{Entry: draft})
	mustStatus(t, r, http.StatusOK)
	if v := decode[registryapi.Sensor](t, r.answer).Version; v != 3 {
		t.Errorf("after the update: version %d", v)
	}

	// 5. Its MQTT credentials, before publication: not in the view yet.
	r = e.as(http.MethodPost, registryapi.PathSensors+"/air-gare-02/credentials", nil)
	mustStatus(t, r, http.StatusCreated)
	issued := decode[provision.Issued](t, r.answer)
	if issued.Username != "air-gare-02" || len(issued.Password) < 22 || issued.Listed || issued.Rotated {
		t.Errorf("issued %+v", issued)
	}
	mid, _ := e.view()
	for _, c := range mid.Credentials {
		if c.Username == "air-gare-02" {
			t.Error("a draft's credential is in the gateway's view")
		}
	}

	// 6. Publish: the gateway's view changes at once.
	r = e.as(http.MethodPost, registryapi.PathSensors+"/air-gare-02/publish", LifecycleRequest{})
	mustStatus(t, r, http.StatusOK)
	pub := decode[registryapi.Sensor](t, r.answer)
	if pub.Status != registryapi.StatusActive || pub.CommissionedAt == nil || pub.Version != 4 {
		t.Errorf("published %s v%d commissioned %v", pub.Status, pub.Version, pub.CommissionedAt)
	}
	after, r := e.view("If-None-Match", etag0)
	mustStatus(t, r, http.StatusOK)
	if r.header.Get("ETag") == etag0 || !after.GeneratedAt.After(before.GeneratedAt) {
		t.Errorf("the view's ETag or generated_at did not change: %s, %v", r.header.Get("ETag"), after.GeneratedAt)
	}
	if !slices.ContainsFunc(after.Sensors, func(g registryapi.GatewaySensor) bool { return g.ID == "air-gare-02" && len(g.Quantities) == 4 }) {
		t.Error("the published sensor is not in the gateway's view")
	}
	i := slices.IndexFunc(after.Credentials, func(c registryapi.Credential) bool { return c.Username == "air-gare-02" })
	if i < 0 {
		t.Fatal("the published sensor's credential is not in the gateway's view")
	}
	c := after.Credentials[i]
	if !cmp.Equal(c.Sensors, []string{"air-gare-02"}) || bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(issued.Password)) != nil {
		t.Errorf("credential %+v does not verify the password issued", c)
	}
	if cost, err := bcrypt.Cost([]byte(c.Hash)); err != nil || cost != provision.DefaultBcryptCost {
		t.Errorf("bcrypt cost %d, %v", cost, err)
	}
	if got := e.call(http.MethodGet, registryapi.PathSensors+"/air-gare-02", nil); got.status != http.StatusOK {
		t.Errorf("public GET after publication: %d", got.status)
	}

	// The public history: four versions, by role, with what changed in words.
	page := e.call(http.MethodGet, "/sensors/air-gare-02", nil).body
	for _, want := range []string{provision.ReasonCreated, provision.ReasonDraftEdit, provision.ReasonPublished,
		"statut (Brouillon → En service)", "date de mise en service", "Modifié : emplacement", "Un technicien ou une technicienne"} {
		if !strings.Contains(page, want) {
			t.Errorf("the entry page's history lacks %q", want)
		}
	}
	if strings.Contains(page, "tablette de terrain") {
		t.Error("the public history names the token")
	}
}

// Every lifecycle move through POST /status, allowed and refused, with its
// problem in French and in English.
func TestLifecycleTransitions(t *testing.T) {
	e := newProvEnv(t)
	const (
		d = registryapi.StatusDraft
		a = registryapi.StatusActive
		m = registryapi.StatusMaintenance
		r = registryapi.StatusRetired
	)
	n := 0
	for _, from := range catalog.Statuses() {
		for _, to := range append(catalog.Statuses(), "deleted") {
			n++
			id := fmt.Sprintf("cycle-%02d", n)
			t.Run(from+"→"+to, func(t *testing.T) {
				e.draftOf("air-mairie-01", id, from)
				body := LifecycleRequest{Status: to, Reason: "Changement d'état " + from + " → " + to}
				var want string // "" when allowed
				switch {
				case to == from:
					want = "status.unchanged"
				default:
					if p := catalog.CheckTransition(from, to); p != nil {
						want = p.Code
					}
				}
				res := e.as(http.MethodPost, registryapi.PathSensors+"/"+id+"/status", body)
				if want == "" {
					mustStatus(t, res, http.StatusOK)
					s := decode[registryapi.Sensor](t, res.answer)
					if s.Status != to || s.Version != 2 {
						t.Errorf("now %s v%d", s.Status, s.Version)
					}
					if to == a && from == d && s.CommissionedAt == nil {
						t.Error("publication did not set commissioned_at")
					}
					if to == r && s.DecommissionedAt == nil {
						t.Error("retirement did not set decommissioned_at")
					}
					vs, _ := e.st.Versions(context.Background(), id)
					last := vs[len(vs)-1]
					if last.ActorRole != "technician" || last.Actor != "token:tablette de terrain" || last.Reason != body.Reason || !strings.Contains(last.Summary, "status") {
						t.Errorf("version %+v", last)
					}
					return
				}
				for _, lang := range []string{"fr", "en"} {
					res := e.as(http.MethodPost, registryapi.PathSensors+"/"+id+"/status?lang="+lang, body)
					if res.status != http.StatusUnprocessableEntity {
						t.Fatalf("%s: status %d: %s", lang, res.status, res.body)
					}
					p := problemOf(t, res)
					if len(p.Errors) != 1 || p.Errors[0].Field != "status" || p.Errors[0].Code != want {
						t.Fatalf("%s: errors %+v, want status/%s", lang, p.Errors, want)
					}
					var args []any
					switch want {
					case "status.unchanged", "status.publish_first":
						args = []any{to}
					case "status.unpublish":
						args = []any{from}
					case "status.invalid":
						args = []any{to, strings.Join(catalog.Statuses(), ", ")}
					}
					if msg := catalog.Message(lang, want, args...); p.Errors[0].Message != msg {
						t.Errorf("%s: message %q, want %q", lang, p.Errors[0].Message, msg)
					}
					if res.header.Get("Content-Language") != lang {
						t.Errorf("%s: Content-Language %q", lang, res.header.Get("Content-Language"))
					}
				}
				if s, _ := e.st.Get(context.Background(), id); s.Status != from || s.Version != 1 {
					t.Errorf("a refused move wrote: %s v%d", s.Status, s.Version)
				}
			})
		}
	}

	// A published entry's move needs a reason; the problem says so in both
	// languages (the default is French, Accept-Language gives English).
	e.draftOf("air-mairie-01", "cycle-reason", a)
	for lang, header := range map[string][]string{"fr": nil, "en": {"Accept-Language", "en-GB,en;q=0.9,fr;q=0.5"}} {
		res := e.as(http.MethodPost, registryapi.PathSensors+"/cycle-reason/status", LifecycleRequest{Status: m}, header...)
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("no reason: %d", res.status)
		}
		p := problemOf(t, res)
		if len(p.Errors) != 1 || p.Errors[0].Code != "reason.required" || p.Errors[0].Message != catalog.Message(lang, "reason.required") {
			t.Errorf("%s: %+v", lang, p.Errors)
		}
	}
	// A draft's publication needs none.
	e.draftOf("air-mairie-01", "cycle-noreason", d)
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/cycle-noreason/publish", nil), http.StatusOK)
}

// Every publication rule of the issue, one refusal each, in both
// languages; and every problem of an entry in one answer.
func TestPublicationRefusals(t *testing.T) {
	e := newProvEnv(t)
	personal := "parking-marche-01" // de-identified at source, GDPR 6(1)(e)
	plain := "air-mairie-01"        // no personal data
	tests := []struct {
		name, from  string
		change      func(*registryapi.Sensor)
		field, code string
		args        []any
	}{
		{"personal data without a legal basis", personal, func(s *registryapi.Sensor) { s.LegalBasis = "" },
			"legal_basis", "legal_basis.required", nil},
		{"identifiable without DPIA", personal, func(s *registryapi.Sensor) { s.Identifiability = registryapi.Identifiable },
			"dpia_reference", "dpia.required", []any{registryapi.Identifiable}},
		{"pseudonymised without DPIA", personal, func(s *registryapi.Sensor) { s.Identifiability = registryapi.Pseudonymised },
			"dpia_reference", "dpia.required", []any{registryapi.Pseudonymised}},
		{"de-identified without method", personal, func(s *registryapi.Sensor) { s.DeidentificationMethod.FR = "" },
			"deidentification_method.fr", "required", nil},
		{"legitimate interest of a public authority", personal, func(s *registryapi.Sensor) { s.LegalBasis = registryapi.BasisLegitimateInterest },
			"legal_basis", "legal_basis.public_authority", nil},
		{"public task without legal text", personal, func(s *registryapi.Sensor) { s.LegalReference = registryapi.Text{} },
			"legal_reference.fr", "legal_reference.required", []any{registryapi.BasisPublicTask}},
		{"legal obligation without legal text", personal, func(s *registryapi.Sensor) {
			s.LegalBasis, s.LegalReference = registryapi.BasisLegalObligation, registryapi.Text{}
		}, "legal_reference.fr", "legal_reference.required", []any{registryapi.BasisLegalObligation}},
		{"no retention", plain, func(s *registryapi.Sensor) { s.Retention = "" },
			"retention", "retention.required", nil},
		{"no declared quantity", plain, func(s *registryapi.Sensor) { s.Quantities = nil },
			"quantities", "quantities.required", nil},
		{"outside the territory", plain, func(s *registryapi.Sensor) { s.Location.Lat, s.Location.Lon = 48.8566, 2.3522 },
			"location", "location.outside", []any{48.8566, 2.3522, demo.TownFR}},
		{"personal public contact", plain, func(s *registryapi.Sensor) { s.PublicContact.Email = "jeanne.martin@" + demo.Domain },
			"public_contact.email", "contact.personal", []any{"jeanne.martin@" + demo.Domain, demo.Email}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("regle-%02d", i)
			s := e.draftOf(tt.from, id, registryapi.StatusDraft)
			tt.change(&s)
			if _, err := e.st.Update(context.Background(), s, store.Change{ActorRole: "technician", Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			for _, lang := range []string{"fr", "en"} {
				res := e.as(http.MethodPost, registryapi.PathSensors+"/"+id+"/publish?lang="+lang, LifecycleRequest{Reason: "mise en service"})
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("%s: %d %s", lang, res.status, res.body)
				}
				p := problemOf(t, res)
				want := []registryapi.FieldError{{Field: tt.field, Code: tt.code, Message: catalog.Message(lang, tt.code, tt.args...)}}
				if d := cmp.Diff(want, p.Errors); d != "" {
					t.Errorf("%s (-want +got):\n%s", lang, d)
				}
				if p.Detail != provisionWords[lang]["invalid"] {
					t.Errorf("%s: detail %q", lang, p.Detail)
				}
			}
			if got, _ := e.st.Get(context.Background(), id); got.Status != registryapi.StatusDraft || got.CommissionedAt != nil {
				t.Errorf("a refused publication wrote: %s %v", got.Status, got.CommissionedAt)
			}
		})
	}

	// Everything wrong at once: every problem in one answer.
	s := e.draftOf(personal, "regle-tout", registryapi.StatusDraft)
	s.LegalBasis = registryapi.BasisLegitimateInterest
	s.Identifiability = registryapi.Pseudonymised
	s.DeidentificationMethod = registryapi.Text{}
	s.Retention = ""
	s.Quantities = nil
	s.Location.Lat, s.Location.Lon = 45.0, 5.0
	s.PublicContact.Email = "jeanne.martin@" + demo.Domain
	s.Name.EN = ""
	if _, err := e.st.Update(context.Background(), s, store.Change{ActorRole: "technician", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	wantFields := []string{"name.en", "public_contact.email", "quantities", "deidentification_method.fr", "deidentification_method.en",
		"dpia_reference", "legal_basis", "retention", "location"}
	for _, lang := range []string{"fr", "en"} {
		res := e.as(http.MethodPost, registryapi.PathSensors+"/regle-tout/publish?lang="+lang, nil)
		p := problemOf(t, res)
		var fields []string
		for _, fe := range p.Errors {
			fields = append(fields, fe.Field)
			if fe.Code == "" || fe.Message == "" || fe.Message == fe.Code {
				t.Errorf("%s: %+v", lang, fe)
			}
		}
		slices.Sort(fields)
		w := slices.Clone(wantFields)
		slices.Sort(w)
		if d := cmp.Diff(w, fields); d != "" {
			t.Errorf("%s: every problem at once (-want +got):\n%s", lang, d)
		}
	}
	// An update of a published entry must keep it publishable.
	cur, _ := e.st.Get(context.Background(), plain)
	cur.Retention = ""
	res := e.as(http.MethodPut, registryapi.PathSensors+"/"+plain+"?lang=en", UpdateRequest{Entry: cur, Reason: "oubli"})
	if p := problemOf(t, res); res.status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Code != "retention.required" {
		t.Errorf("update breaking a published entry: %d %+v", res.status, p.Errors)
	}
}

// Credentials: the password is shown once, stored as a bcrypt hash only,
// and a rotation replaces the hash in the gateway's view at once.
func TestCredentialsShownOnceStoredHashedRotated(t *testing.T) {
	e := newProvEnv(t)
	path := registryapi.PathSensors + "/air-mairie-01/credentials"
	r := e.as(http.MethodPost, path, nil)
	mustStatus(t, r, http.StatusCreated)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	first := decode[provision.Issued](t, r.answer)
	if first.Username != "air-mairie-01" || len(first.Password) != 32 || !first.Listed || first.HashAlgorithm != "bcrypt" {
		t.Fatalf("issued %+v", first)
	}
	v1, r := e.view()
	etag1 := r.header.Get("ETag")
	hash1 := credentialHash(t, v1, "air-mairie-01")
	if bcrypt.CompareHashAndPassword([]byte(hash1), []byte(first.Password)) != nil {
		t.Fatal("the view's hash does not verify the password")
	}

	// Not retrievable afterwards: no read answers it, the database has the hash only.
	for _, p := range []string{pathStaffSensors + "/air-mairie-01", pathDrafts, registryapi.PathSensors + "/air-mairie-01"} {
		if body := e.as(http.MethodGet, p, nil).body; strings.Contains(body, first.Password) || strings.Contains(body, hash1) {
			t.Errorf("GET %s answers the password or its hash", p)
		}
	}
	staff := decode[provision.Entry](t, e.as(http.MethodGet, pathStaffSensors+"/air-mairie-01", nil).answer)
	if staff.Credential == nil || staff.Credential.Username != "air-mairie-01" || !staff.Credential.Listed {
		t.Errorf("staff view of the credential: %+v", staff.Credential)
	}
	db := openDB(t, e.path)
	var stored, by string
	if err := db.QueryRow("SELECT hash, issued_by FROM mqtt_credentials WHERE username = 'air-mairie-01'").Scan(&stored, &by); err != nil {
		t.Fatal(err)
	}
	if stored != hash1 || !strings.HasPrefix(stored, "$2a$10$") || by != "token:tablette de terrain" {
		t.Errorf("stored %q by %q", stored, by)
	}
	if strings.Contains(readFiles(t, e.path), first.Password) {
		t.Error("the password is in the database files")
	}

	// Rotation: a new password, the old one stops verifying, a new ETag.
	r = e.as(http.MethodPost, path, nil)
	mustStatus(t, r, http.StatusCreated)
	second := decode[provision.Issued](t, r.answer)
	if !second.Rotated || second.Password == first.Password {
		t.Fatalf("rotation %+v", second)
	}
	v2, r := e.view("If-None-Match", etag1)
	mustStatus(t, r, http.StatusOK)
	hash2 := credentialHash(t, v2, "air-mairie-01")
	if r.header.Get("ETag") == etag1 || hash2 == hash1 {
		t.Error("rotation did not change the view")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash2), []byte(first.Password)) == nil ||
		bcrypt.CompareHashAndPassword([]byte(hash2), []byte(second.Password)) != nil {
		t.Error("after rotation, the view's hash verifies the old password or not the new one")
	}
	if strings.Contains(e.call(http.MethodGet, registryapi.PathAllowList, nil, e.gw...).body, hash1) {
		t.Error("the rotated-away hash is still listed")
	}

	// Revocation removes it; a retired sensor gets none and is not listed.
	mustStatus(t, e.as(http.MethodDelete, path, nil), http.StatusNoContent)
	v3, _ := e.view()
	if slices.ContainsFunc(v3.Credentials, func(c registryapi.Credential) bool { return c.Username == "air-mairie-01" }) {
		t.Error("a revoked credential is listed")
	}
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-ecole-01/credentials", nil), http.StatusCreated)
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-ecole-01/status", LifecycleRequest{Status: "retired", Reason: "démonté"}), http.StatusOK)
	v4, _ := e.view()
	if slices.ContainsFunc(v4.Credentials, func(c registryapi.Credential) bool { return c.Username == "air-ecole-01" }) {
		t.Error("a retired sensor's credential is listed")
	}
	if res := e.as(http.MethodPost, registryapi.PathSensors+"/air-ecole-01/credentials", nil); res.status != http.StatusUnprocessableEntity {
		t.Errorf("credentials for a retired sensor: %d", res.status)
	}
	if res := e.as(http.MethodPost, registryapi.PathSensors+"/nope-nope-01/credentials", nil); res.status != http.StatusNotFound {
		t.Errorf("credentials for an unknown sensor: %d", res.status)
	}
}

func credentialHash(t *testing.T, l registryapi.AllowList, username string) string {
	t.Helper()
	for _, c := range l.Credentials {
		if c.Username == username {
			return c.Hash
		}
	}
	t.Fatalf("no credential %s in the view", username)
	return ""
}

// The gateway's view needs a gateway's token or an administrator, and its
// ETag changes the moment an entry is published, put in maintenance, back
// in service, retired, or its credentials rotated — and only then.
func TestGatewayViewETagFollowsTheRegister(t *testing.T) {
	e := newProvEnv(t)
	if r := e.call(http.MethodGet, registryapi.PathAllowList, nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	if r := e.as(http.MethodGet, registryapi.PathAllowList, nil); r.status != http.StatusForbidden {
		t.Errorf("a technician's token: %d", r.status)
	}
	e.account("admin", "", auth.RoleAdministrator, "admin password")
	s := e.mustLogin("admin", "admin password")
	if r := e.call(http.MethodGet, registryapi.PathAllowList, nil, "Cookie", s.cookie); r.status != http.StatusOK {
		t.Errorf("an administrator: %d", r.status)
	}

	e.draftOf("air-mairie-01", "air-etag-01", registryapi.StatusDraft)
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-etag-01/credentials", nil), http.StatusCreated)
	_, r := e.view()
	etag := r.header.Get("ETag")
	sp := registryapi.PathSensors + "/air-etag-01"
	for _, step := range []struct {
		name       string
		method, to string
		body       any
		status     string // of air-etag-01 in the view; "" absent
	}{
		{"published", http.MethodPost, "/publish", nil, registryapi.StatusActive},
		{"put in maintenance", http.MethodPost, "/status", LifecycleRequest{Status: "maintenance", Reason: "nettoyage"}, registryapi.StatusMaintenance},
		{"back in service", http.MethodPost, "/status", LifecycleRequest{Status: "active", Reason: "nettoyé"}, registryapi.StatusActive},
		{"credentials rotated", http.MethodPost, "/credentials", nil, registryapi.StatusActive},
		{"retired", http.MethodPost, "/status", LifecycleRequest{Status: "retired", Reason: "démonté"}, ""},
	} {
		if got := e.as(step.method, sp+step.to, step.body); got.status >= 300 {
			t.Fatalf("%s: %d %s", step.name, got.status, got.body)
		}
		l, r := e.view("If-None-Match", etag)
		if r.status != http.StatusOK || r.header.Get("ETag") == etag {
			t.Errorf("%s: %d, ETag %s unchanged", step.name, r.status, etag)
		}
		i := slices.IndexFunc(l.Sensors, func(g registryapi.GatewaySensor) bool { return g.ID == "air-etag-01" })
		got := ""
		if i >= 0 {
			got = l.Sensors[i].Status
		}
		listed := slices.ContainsFunc(l.Credentials, func(c registryapi.Credential) bool { return c.Username == "air-etag-01" })
		if got != step.status || listed != (step.status != "") {
			t.Errorf("%s: in the view as %q, credential listed %v", step.name, got, listed)
		}
		etag = r.header.Get("ETag")
		// Unchanged: 304.
		if _, r := e.view("If-None-Match", etag); r.status != http.StatusNotModified {
			t.Errorf("%s, unchanged: %d", step.name, r.status)
		}
	}
	// A change elsewhere than the view (a draft's text) leaves the view's
	// sensors and credentials as they are.
	before, _ := e.view()
	d := e.draftOf("air-mairie-01", "air-etag-02", registryapi.StatusDraft)
	d.Description.FR = "autre"
	mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/air-etag-02", UpdateRequest{Entry: d}), http.StatusOK)
	after, _ := e.view()
	if !cmp.Equal(before.Sensors, after.Sensors) || !cmp.Equal(before.Credentials, after.Credentials) {
		t.Error("a draft's change changed the view's sensors or credentials")
	}
}

// Firmware bridges: registered apart, assigned sensors, their own
// credential in the view with their published sensors only.
func TestBridges(t *testing.T) {
	e := newProvEnv(t)
	mustStatus(t, e.as(http.MethodPost, pathBridges, BridgeRequest{ID: "lora-mairie", Name: "Serveur LoRaWAN de la mairie"}), http.StatusCreated)
	for _, bad := range []BridgeRequest{{ID: "lora-mairie", Name: "encore"}, {ID: "L", Name: "x"}, {ID: "lora-02", Name: ""}} {
		if r := e.as(http.MethodPost, pathBridges, bad); r.status != http.StatusUnprocessableEntity {
			t.Errorf("bridge %+v: %d", bad, r.status)
		}
	}
	e.draftOf("air-mairie-01", "air-pont-01", registryapi.StatusDraft)
	e.draftOf("air-mairie-01", "air-pont-02", registryapi.StatusRetired)
	r := e.as(http.MethodPut, pathBridges+"/lora-mairie/sensors?lang=en", BridgeSensorsRequest{Sensors: []string{"air-pont-02", "ghost-01"}})
	p := problemOf(t, r)
	if r.status != http.StatusUnprocessableEntity || len(p.Errors) != 2 || p.Errors[0].Code != "bridge.sensor_retired" || p.Errors[1].Code != "bridge.sensor_unknown" {
		t.Errorf("bad sensors: %d %+v", r.status, p.Errors)
	}
	r = e.as(http.MethodPut, pathBridges+"/lora-mairie/sensors", BridgeSensorsRequest{Sensors: []string{"parking-gare-01", "air-pont-01", "parking-gare-02"}})
	mustStatus(t, r, http.StatusOK)
	r = e.as(http.MethodPost, pathBridges+"/lora-mairie/credentials", nil)
	mustStatus(t, r, http.StatusCreated)
	issued := decode[provision.Issued](t, r.answer)
	if issued.Username != "bridge.lora-mairie" || len(issued.Sensors) != 3 {
		t.Errorf("bridge credentials %+v", issued)
	}
	l, r := e.view()
	etag := r.header.Get("ETag")
	c := l.Credentials[slices.IndexFunc(l.Credentials, func(c registryapi.Credential) bool { return c.Username == "bridge.lora-mairie" })]
	if !cmp.Equal(c.Sensors, []string{"parking-gare-01", "parking-gare-02"}) || bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(issued.Password)) != nil {
		t.Errorf("bridge in the view: %+v (its draft must not be listed)", c)
	}
	// Unassigning changes the view.
	mustStatus(t, e.as(http.MethodPut, pathBridges+"/lora-mairie/sensors", BridgeSensorsRequest{Sensors: []string{"parking-gare-01"}}), http.StatusOK)
	l, r = e.view("If-None-Match", etag)
	if r.status != http.StatusOK || !slices.ContainsFunc(l.Credentials, func(c registryapi.Credential) bool {
		return c.Username == "bridge.lora-mairie" && cmp.Equal(c.Sensors, []string{"parking-gare-01"})
	}) {
		t.Errorf("after unassigning: %d %+v", r.status, l.Credentials)
	}
	bl := decode[BridgeList](t, e.as(http.MethodGet, pathBridges, nil).answer)
	if len(bl.Bridges) != 1 || bl.Bridges[0].Credential == nil || bl.Bridges[0].Name != "Serveur LoRaWAN de la mairie" {
		t.Errorf("bridges %+v", bl)
	}
	if strings.Contains(e.as(http.MethodGet, pathBridges+"/lora-mairie", nil).body, c.Hash) {
		t.Error("the staff's bridge view shows the hash")
	}
	if r := e.as(http.MethodGet, pathBridges+"/nope-nope", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown bridge: %d", r.status)
	}
}

// A script tag in any text comes back escaped in every HTML page (the
// list, the entry page and its history, in both languages) and verbatim,
// as data, in JSON.
func TestScriptTagIsEscapedInPagesVerbatimInJSON(t *testing.T) {
	e := newProvEnv(t)
	const script = `<script>alert("capteur")</script>`
	s := e.draftOf("air-mairie-01", "air-script-01", registryapi.StatusDraft)
	s.Name = registryapi.Text{FR: "Station " + script, EN: "Station " + script}
	s.Description = registryapi.Text{FR: "Description " + script, EN: "Description " + script}
	s.Location.Address = "1 rue " + script
	s.Quantities[0].Label.FR = "PM10 " + script
	mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/air-script-01", UpdateRequest{Entry: s, Reason: "texte " + script}), http.StatusOK)
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-script-01/publish", LifecycleRequest{Reason: "publication " + script}), http.StatusOK)

	for _, p := range []string{"/", "/?lang=en", "/sensors/air-script-01", "/sensors/air-script-01?lang=en", "/sensors/air-script-01/sign.svg"} {
		r := e.call(http.MethodGet, p, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", p, r.status)
		}
		if strings.Contains(r.body, "<script") {
			t.Errorf("%s contains a script tag", p)
		}
		if !strings.Contains(r.body, "&lt;script&gt;") {
			t.Errorf("%s does not show the text escaped", p)
		}
	}
	page := e.call(http.MethodGet, "/sensors/air-script-01", nil).body
	if !strings.Contains(page, "publication &lt;script&gt;alert(&#34;capteur&#34;)&lt;/script&gt;") {
		t.Error("the history's reason is not shown escaped")
	}
	for _, p := range []string{registryapi.PathSensors + "/air-script-01", pathStaffSensors + "/air-script-01"} {
		r := e.as(http.MethodGet, p, nil)
		var got struct {
			registryapi.Sensor
			Inner *registryapi.Sensor `json:"sensor"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		sensor := got.Sensor
		if got.Inner != nil {
			sensor = *got.Inner
		}
		if sensor.Description.FR != "Description "+script || sensor.Location.Address != "1 rue "+script || sensor.Quantities[0].Label.FR != "PM10 "+script {
			t.Errorf("%s: not verbatim: %q", p, sensor.Description.FR)
		}
	}
}

// tricky is a text full of SQL metacharacters and unicode.
const tricky = `'; DROP TABLE sensors; -- 100% _sure_ "quoted" \backslash\ ‘’ «é» 東京 🚦 \x00-free`

// fillStrings sets every string in v (recursively: structs, slices, maps'
// values) to tricky, except the fields named in keep.
func fillStrings(v reflect.Value, keep map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillStrings(v.Elem(), keep)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && !keep[f.Name] {
				fillStrings(v.Field(i), keep)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			fillStrings(v.Index(i), keep)
		}
	case reflect.String:
		v.SetString(tricky)
	}
}

// SQL metacharacters in every text field are stored and returned verbatim.
func TestSQLMetacharactersAreStoredVerbatim(t *testing.T) {
	e := newProvEnv(t)
	s := e.draftOf("parking-marche-01", "sql-01", registryapi.StatusDraft)
	s.Operators = []registryapi.Organisation{{Name: registryapi.Text{FR: "x"}}}
	fillStrings(reflect.ValueOf(&s).Elem(), map[string]bool{"ID": true, "Category": true, "Status": true})
	s.Tags = map[string]string{tricky: tricky}
	for i := range s.Technology {
		s.Technology[i] = tricky + fmt.Sprint(i)
	}
	r := e.as(http.MethodPut, registryapi.PathSensors+"/sql-01", UpdateRequest{Entry: s, Reason: tricky})
	mustStatus(t, r, http.StatusOK)
	got := decode[provision.Entry](t, e.as(http.MethodGet, pathStaffSensors+"/sql-01", nil).answer)
	want := s
	want.Version, want.UpdatedAt, want.URL = got.Sensor.Version, got.Sensor.UpdatedAt, got.Sensor.URL
	if d := cmp.Diff(want, got.Sensor); d != "" {
		t.Errorf("not returned verbatim (-sent +got):\n%s", d)
	}
	if last := got.History[len(got.History)-1]; last.Reason != tricky {
		t.Errorf("reason %q", last.Reason)
	}
	// As a new draft, and as a bridge's name, too.
	s.ID, s.Version = "sql-02", 0
	r = e.as(http.MethodPost, registryapi.PathSensors, s)
	mustStatus(t, r, http.StatusCreated)
	created := decode[registryapi.Sensor](t, r.answer)
	if created.Description != s.Description || created.Name != s.Name || created.Tags[tricky] != tricky {
		t.Errorf("created %+v", created.Description)
	}
	r = e.as(http.MethodPost, pathBridges, BridgeRequest{ID: "sql-bridge", Name: strings.ReplaceAll(tricky, `\x00`, "")})
	mustStatus(t, r, http.StatusCreated)
	if b := decode[provision.Bridge](t, r.answer); b.Name != strings.ReplaceAll(tricky, `\x00`, "") {
		t.Errorf("bridge name %q", b.Name)
	}
	// The tables are all there.
	var n int
	if err := openDB(t, e.path).QueryRow("SELECT count(*) FROM sensors").Scan(&n); err != nil || n < 14 {
		t.Errorf("sensors: %d, %v", n, err)
	}
}

// Optimistic concurrency: an update made from an old version is a 409
// and writes nothing; an update without a version is refused.
func TestOptimisticConcurrency(t *testing.T) {
	e := newProvEnv(t)
	s := e.draftOf("air-mairie-01", "air-conc-01", registryapi.StatusDraft)
	a, b := s, s
	a.Model, b.Model = "Modèle A", "Modèle B"
	mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/air-conc-01", UpdateRequest{Entry: a}), http.StatusOK)
	for _, lang := range []string{"fr", "en"} {
		r := e.as(http.MethodPut, registryapi.PathSensors+"/air-conc-01?lang="+lang, UpdateRequest{Entry: b})
		if p := problemOf(t, r); r.status != http.StatusConflict || p.Detail != provisionWords[lang]["conflict"] {
			t.Errorf("%s: stale update: %d %q", lang, r.status, p.Detail)
		}
	}
	if got, _ := e.st.Get(context.Background(), "air-conc-01"); got.Model != "Modèle A" || got.Version != 2 {
		t.Errorf("after the conflict: %q v%d", got.Model, got.Version)
	}
	b.Version = 0
	if r := e.as(http.MethodPut, registryapi.PathSensors+"/air-conc-01", UpdateRequest{Entry: b}); r.status != http.StatusUnprocessableEntity ||
		problemOf(t, r).Errors[0].Code != "version.required" {
		t.Errorf("no version: %d %s", r.status, r.body)
	}
	// A stale lifecycle move too.
	if r := e.as(http.MethodPost, registryapi.PathSensors+"/air-conc-01/publish", LifecycleRequest{Version: 1}); r.status != http.StatusConflict {
		t.Errorf("stale publication: %d", r.status)
	}
	// An update changes neither the id nor the status.
	b = a
	b.Version, b.Status, b.ID = 2, registryapi.StatusActive, "air-autre-01"
	r := e.as(http.MethodPut, registryapi.PathSensors+"/air-conc-01?lang=en", UpdateRequest{Entry: b})
	var codes []string
	for _, fe := range problemOf(t, r).Errors {
		codes = append(codes, fe.Code)
	}
	if d := cmp.Diff([]string{"id.changed", "status.use_lifecycle"}, codes); r.status != http.StatusUnprocessableEntity || d != "" {
		t.Errorf("id and status in an update: %d\n%s", r.status, d)
	}
}

// Bodies over the limit are refused with 413 before anything reads them,
// the CSRF check included; bodies are strict JSON.
func TestBodiesAreBoundedAndStrict(t *testing.T) {
	e := newProvEnv(t)
	big := `{"description":{"fr":"` + strings.Repeat("a", testMaxBody) + `"}}`
	if r := e.as(http.MethodPost, registryapi.PathSensors, big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("large JSON: %d", r.status)
	}
	e.account("tech", "", auth.RoleTechnician, "tech password!")
	s := e.mustLogin("tech", "tech password!")
	r := e.send(http.MethodPost, registryapi.PathSensors, strings.NewReader("csrf_token="+s.csrf+"&x="+strings.Repeat("a", testMaxBody)),
		"Cookie", s.cookie, "Content-Type", formType)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("large form with a session: %d, want 413 before the CSRF check", r.status)
	}
	// A body of unknown length (chunked) is bounded too.
	req := httptest.NewRequest(http.MethodPost, registryapi.PathSensors, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(e.tech[0], e.tech[1])
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked large body: %d", rec.Code)
	}
	// With the session and its CSRF token, JSON works.
	r = e.call(http.MethodPost, registryapi.PathSensors, map[string]string{"category": "parking", "site": "mairie"}, "Cookie", s.cookie, "X-CSRF-Token", s.csrf)
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"id":"parking-mairie-01"`) {
		t.Errorf("session create: %d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		body, contentType string
		status            int
	}{
		{`{"category":"air","colour":"blue"}`, "application/json", http.StatusBadRequest},
		{`{"category":"air"} {}`, "application/json", http.StatusBadRequest},
		{`{"category":`, "application/json", http.StatusBadRequest},
		{`category=air`, formType, http.StatusUnsupportedMediaType},
		{`{"category":"water"}`, "application/json", http.StatusUnprocessableEntity},
		{`{"category":"air","status":"active"}`, "application/json", http.StatusUnprocessableEntity},
	} {
		r := e.send(http.MethodPost, registryapi.PathSensors, strings.NewReader(tt.body), append(slices.Clone(e.tech), "Content-Type", tt.contentType)...)
		if r.status != tt.status {
			t.Errorf("%s (%s): %d, want %d: %s", tt.body, tt.contentType, r.status, tt.status, r.body)
		}
	}
}

// Staff see drafts; the public does not. Only technicians and
// administrators provision.
func TestDraftsStaffViewAndRoles(t *testing.T) {
	e := newProvEnv(t)
	s := e.draftOf("air-mairie-01", "air-staff-01", registryapi.StatusDraft)
	s.Location = registryapi.Location{}
	mustStatus(t, e.as(http.MethodPut, registryapi.PathSensors+"/air-staff-01", UpdateRequest{Entry: s}), http.StatusOK)
	if r := e.call(http.MethodGet, registryapi.PathSensors+"/air-staff-01", nil, e.tech...); r.status != http.StatusNotFound {
		t.Errorf("GET /api/v1/sensors/{draft}: %d", r.status)
	}
	l := decode[registryapi.SensorList](t, e.as(http.MethodGet, pathDrafts+"?status=draft", nil).answer)
	if len(l.Sensors) != 1 || l.Sensors[0].ID != "air-staff-01" || l.Sensors[0].URL == "" {
		t.Errorf("drafts %+v", l.Sensors)
	}
	if all := decode[registryapi.SensorList](t, e.as(http.MethodGet, pathDrafts, nil).answer); len(all.Sensors) != 13 {
		t.Errorf("every entry: %d", len(all.Sensors))
	}
	if r := e.as(http.MethodGet, pathDrafts+"?status=gone", nil); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad status filter: %d", r.status)
	}
	for lang, want := range map[string]string{"fr": "est obligatoire : un point WGS84", "en": "is required: a WGS84 point"} {
		v := decode[provision.Entry](t, e.as(http.MethodGet, pathStaffSensors+"/air-staff-01?lang="+lang, nil).answer)
		if len(v.Missing) != 1 || v.Missing[0].Field != "location" || !strings.HasPrefix(v.Missing[0].Message, want) ||
			!cmp.Equal(v.Transitions, []string{"active"}) || len(v.History) != 2 || v.History[1].Actor != "token:tablette de terrain" {
			t.Errorf("%s: staff view %+v", lang, v)
		}
	}
	// Duplicate: everything but the id, the lifecycle and the location.
	r := e.as(http.MethodPost, registryapi.PathSensors+"/air-mairie-01/duplicate", nil)
	mustStatus(t, r, http.StatusCreated)
	dup := decode[registryapi.Sensor](t, r.answer)
	orig, _ := e.st.Get(context.Background(), "air-mairie-01")
	if dup.ID != "air-hotel-de-ville-01" || dup.Status != registryapi.StatusDraft || dup.CommissionedAt != nil ||
		!cmp.Equal(dup.Location, registryapi.Location{}) || !cmp.Equal(dup.Quantities, orig.Quantities) || dup.Description != orig.Description {
		t.Errorf("duplicate %+v", dup)
	}
	mustStatus(t, e.as(http.MethodPost, registryapi.PathSensors+"/air-mairie-01/duplicate", DuplicateRequest{ID: "air-copie-01"}), http.StatusCreated)
	if r := e.as(http.MethodPost, registryapi.PathSensors+"/air-mairie-01/duplicate", DuplicateRequest{ID: "air-copie-01"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("duplicate to a taken id: %d", r.status)
	}

	// Roles: energy managers and gateways do not provision.
	e.account("eve", "", auth.RoleEnergyManager, "energy password")
	es := e.mustLogin("eve", "energy password")
	if r := e.call(http.MethodPost, registryapi.PathSensors, map[string]string{"category": "air"}, "Cookie", es.cookie, "X-CSRF-Token", es.csrf); r.status != http.StatusForbidden {
		t.Errorf("energy manager creates: %d", r.status)
	}
	if r := e.call(http.MethodPost, registryapi.PathSensors+"/air-staff-01/publish", nil, e.gw...); r.status != http.StatusForbidden {
		t.Errorf("gateway publishes: %d", r.status)
	}
	// A technician's token cannot manage accounts.
	if r := e.as(http.MethodPost, pathAccounts, map[string]string{"username": "intrus", "role": "administrator"}); r.status != http.StatusForbidden {
		t.Errorf("technician token creates an account: %d", r.status)
	}
	if r := e.as(http.MethodGet, pathTemplates+"/other", nil); r.status != http.StatusNotFound {
		t.Errorf("template of other: %d", r.status)
	}
	if r := e.as(http.MethodPost, registryapi.PathSensors+"?template=water", nil); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown template: %d", r.status)
	}
}
