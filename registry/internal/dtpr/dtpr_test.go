package dtpr

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The embedded file must stay an exact copy of the project's shared
// vocabulary, when the checkout has it next to the module.
func TestEmbeddedCopyIsExact(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "..", "shared", "vocab", "dtpr-device.json")
	want, err := os.ReadFile(shared)
	if os.IsNotExist(err) {
		t.Skipf("%s is not in this checkout", shared)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deviceJSON, want) {
		t.Fatalf("registry/internal/dtpr/dtpr-device.json differs from %s: copy it again, unchanged", shared)
	}
}

func TestDeviceVocabulary(t *testing.T) {
	v := Device()
	want := []string{Accountable, Purpose, Tech, Data, Process, Access, Retention, Storage}
	got := v.Categories()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("categories = %v, want %v", got, want)
	}
	n := 0
	for _, id := range got {
		c, _ := v.Category(id)
		n += len(c.Elements)
		for _, e := range c.Elements {
			if e.Name.FR == "" || e.Name.EN == "" {
				t.Errorf("%s/%s lacks a French or English name", id, e.ID)
			}
		}
	}
	if n != 124 {
		t.Errorf("%d elements, want the 124 of the shared vocabulary", n)
	}
	if v.head.Attribution != Attribution || v.head.LicenseURL != LicenceURL || v.head.License != Licence {
		t.Errorf("the file credits %q %q %q; the package says %q %q %q",
			v.head.Attribution, v.head.License, v.head.LicenseURL, Attribution, Licence, LicenceURL)
	}
	if c := v.Colours(); c.Identifiable == "" || c.DeIdentified == "" || c.NotIdentifying == "" {
		t.Errorf("colour guidance incomplete: %+v", c)
	}
}

func TestLookups(t *testing.T) {
	v := Device()
	tests := []struct {
		category, id, lang string
		vars               map[string]string
		want               string
	}{
		{Purpose, "enforcement", "fr", nil, "Cadre légal"},
		{Purpose, "enforcement", "en", nil, "Enforcement"},
		{Purpose, "health", "de", nil, "Santé"}, // unknown language: French
		{Tech, "air_quality", "en", nil, "Air Quality"},
		{Retention, DataRetained, "fr", map[string]string{"duration": "1 an"}, "Retenu 1 an"},
		{Retention, DataRetained, "en", map[string]string{"duration": "5 years"}, "Retained 5 years"},
		{Purpose, "no-such-purpose", "fr", nil, "no-such-purpose"},
	}
	for _, tt := range tests {
		if got := v.Name(tt.category, tt.id, tt.lang, tt.vars); got != tt.want {
			t.Errorf("Name(%s, %s, %s) = %q, want %q", tt.category, tt.id, tt.lang, got, tt.want)
		}
	}
	if !v.Has(Purpose, "health") {
		t.Error("health is a purpose")
	}
	if v.Has(Tech, "health") {
		t.Error("health is not a technology: an element belongs to its category only")
	}
	if v.Has("device__nope", "health") {
		t.Error("unknown category accepted")
	}
	if d := v.Description(Retention, DataRetained, "en", map[string]string{"duration": "1 year"}); !strings.Contains(d, "stored for 1 year") {
		t.Errorf("description not filled: %q", d)
	}
}

func TestReadOnly(t *testing.T) {
	v := Device()
	c, _ := v.Category(Purpose)
	c.Elements[0].ID = "changed"
	e, _ := v.Element(Retention, DataRetained)
	e.Variables[0] = "changed"
	c2, _ := v.Category(Purpose)
	e2, _ := v.Element(Retention, DataRetained)
	if c2.Elements[0].ID == "changed" || e2.Variables[0] == "changed" {
		t.Fatal("a caller changed the shared vocabulary")
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":           `{`,
		"duplicate element":  `{"categories":[{"id":"device__x","elements":[{"id":"a"},{"id":"a"}]}]}`,
		"duplicate category": `{"categories":[{"id":"device__x","elements":[]},{"id":"device__x","elements":[]}]}`,
		"element without id": `{"categories":[{"id":"device__x","elements":[{"name":{"fr":"x"}}]}]}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCredit(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		c := Credit(lang)
		for _, want := range []string{Attribution, Licence, LicenceURL} {
			if !strings.Contains(c, want) {
				t.Errorf("Credit(%s) = %q lacks %q", lang, c, want)
			}
		}
	}
}
