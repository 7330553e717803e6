package catalog_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// Every move between two states, allowed or refused, with its code.
func TestCheckTransition(t *testing.T) {
	const (
		d = registryapi.StatusDraft
		a = registryapi.StatusActive
		m = registryapi.StatusMaintenance
		r = registryapi.StatusRetired
	)
	want := map[[2]string]string{ // "" allowed, else the code
		{d, d}: "", {d, a}: "", {d, m}: "status.publish_first", {d, r}: "status.publish_first",
		{a, d}: "status.unpublish", {a, a}: "", {a, m}: "", {a, r}: "",
		{m, d}: "status.unpublish", {m, a}: "", {m, m}: "", {m, r}: "",
		{r, d}: "status.retired_final", {r, a}: "status.retired_final", {r, m}: "status.retired_final", {r, r}: "",
		{a, "published"}: "status.invalid", {d, ""}: "status.invalid",
	}
	for move, code := range want {
		got := ""
		if p := catalog.CheckTransition(move[0], move[1]); p != nil {
			got = p.Code
			if p.Field != "status" {
				t.Errorf("%s → %s: field %q", move[0], move[1], p.Field)
			}
			for _, lang := range []string{"fr", "en"} {
				if msg := p.In(lang).Message; msg == "" || msg == p.Code || strings.Contains(msg, "%!") {
					t.Errorf("%s → %s in %s: message %q", move[0], move[1], lang, msg)
				}
			}
		}
		if got != code {
			t.Errorf("%s → %s: %q, want %q", move[0], move[1], got, code)
		}
	}
	// Transitions lists exactly the allowed moves to another state.
	for _, from := range catalog.Statuses() {
		var allowed []string
		for _, to := range catalog.Statuses() {
			if to != from && catalog.CheckTransition(from, to) == nil {
				allowed = append(allowed, to)
			}
		}
		if d := cmp.Diff(allowed, catalog.Transitions(from)); d != "" {
			t.Errorf("Transitions(%s) (-allowed +listed):\n%s", from, d)
		}
	}
}

var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// Both languages of a message take the same arguments.
func TestMessagesCatalogue(t *testing.T) {
	for _, code := range catalog.Codes() {
		fr, en := catalog.Message("fr", code), catalog.Message("en", code)
		if fr == "" || en == "" || fr == en && !strings.Contains(fr, "%") {
			t.Errorf("%s: fr %q, en %q", code, fr, en)
		}
		verbs := func(s string) []string {
			v := verbRE.FindAllString(s, -1)
			slices.Sort(v)
			return v
		}
		if d := cmp.Diff(verbs(fr), verbs(en)); d != "" {
			t.Errorf("%s: the languages' verbs differ (-fr +en):\n%s", code, d)
		}
	}
}

// Every problem of publication has a code of the catalogue and a message
// in each language; the DTPR facet is named in the message's language.
func TestPublishableProblemsAreTranslated(t *testing.T) {
	s := demoEntry(t, "parking-marche-01")
	s.Name = registryapi.Text{}
	s.Technology = nil
	s.Quantities = []registryapi.Quantity{{Name: "PM10", Unit: "µg"}}
	s.Retention = "1 an"
	s.LegalBasis = registryapi.BasisLegitimateInterest
	s.Identifiability = registryapi.Pseudonymised
	s.DPIAReference = ""
	s.Location.Lat, s.Location.Lon = 48.85, 2.35
	s.PublicContact.Email = "jean.dupont@" + demo.Domain
	ps := catalog.Publishable(s, demo.Territory())
	if len(ps) < 8 {
		t.Fatalf("%d problems: %v", len(ps), ps)
	}
	known := catalog.Codes()
	for _, p := range ps {
		if !slices.Contains(known, p.Code) {
			t.Errorf("%s: code %q is not in the catalogue", p.Field, p.Code)
		}
	}
	fr, en := ps.In("fr"), ps.In("en")
	for i := range fr {
		if fr[i].Message == en[i].Message || fr[i].Code != en[i].Code || fr[i].Field != en[i].Field {
			t.Errorf("%s: fr %q, en %q", fr[i].Field, fr[i].Message, en[i].Message)
		}
	}
	byField := func(errs []registryapi.FieldError, f string) string {
		for _, e := range errs {
			if e.Field == f {
				return e.Message
			}
		}
		return ""
	}
	for _, tt := range []struct{ lang, field, want string }{
		{"fr", "technology", "« Technologie »"},
		{"en", "technology", "DTPR Technology element"},
		{"fr", "location", "hors du territoire (" + demo.TownFR + ")"},
		{"en", "location", "outside the territory"},
		{"fr", "legal_basis", "autorité publique"},
		{"en", "retention", `"1 an" is not an ISO 8601 duration`},
	} {
		errs := fr
		if tt.lang == "en" {
			errs = en
		}
		if got := byField(errs, tt.field); !strings.Contains(got, tt.want) {
			t.Errorf("%s %s: %q lacks %q", tt.lang, tt.field, got, tt.want)
		}
	}
	// CheckPublishable is the same, in English.
	if d := cmp.Diff(en, catalog.CheckPublishable(s, demo.Territory())); d != "" {
		t.Errorf("CheckPublishable differs from Publishable(...).In(en):\n%s", d)
	}
}

// Every field of an entry has a name in words, in both languages.
func TestFieldLabels(t *testing.T) {
	b, _ := json.Marshal(registryapi.Sensor{Tags: map[string]string{"a": "b"}, Operators: []registryapi.Organisation{{}}})
	var fields map[string]any
	json.Unmarshal(b, &fields)
	for _, f := range []string{"commissioned_at", "decommissioned_at", "active_until", "url", "source_ref"} {
		fields[f] = true
	}
	for f := range fields {
		fr, okFR := catalog.FieldLabel("fr", f)
		en, okEN := catalog.FieldLabel("en", f)
		if !okFR || !okEN || fr == "" || en == "" {
			t.Errorf("field %s has no label: %q %q", f, fr, en)
		}
	}
	if got := catalog.DescribeChanges("fr", "location, name, legal_basis"); got != "emplacement, nom, base légale" {
		t.Errorf("DescribeChanges = %q", got)
	}
	if got := catalog.DescribeChanges("en", "quantities, mystery"); got != "measured quantities, mystery" {
		t.Errorf("DescribeChanges = %q", got)
	}
}

func TestParseBBox(t *testing.T) {
	b, err := catalog.ParseBBox(" 2.005, 46.925,2.085 ,46.970")
	if err != nil || b != (catalog.BBox{MinLon: 2.005, MinLat: 46.925, MaxLon: 2.085, MaxLat: 46.97}) {
		t.Fatalf("ParseBBox = %+v, %v", b, err)
	}
	if b.String() != "2.005,46.925,2.085,46.97" {
		t.Errorf("String = %q", b.String())
	}
	for _, bad := range []string{"", "1,2,3", "1,2,3,4,5", "a,46,3,47", "2.1,46,2.0,47", "2,47,3,46", "-181,0,0,1", "0,0,1,91", "NaN,0,1,1"} {
		if _, err := catalog.ParseBBox(bad); err == nil {
			t.Errorf("ParseBBox(%q) accepted", bad)
		}
	}
}
