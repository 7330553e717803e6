// Package dtpr is the device vocabulary of the Digital Trust for Places &
// Routines taxonomy (DTPR), embedded as published: eight device__* categories
// (facets of a register entry) and their elements, with French and English
// labels and descriptions.
//
// A register entry stores element ids (e.g. "health" under device__purpose);
// pages show their labels from here. The vocabulary is the file
// dtpr-device.json, an exact copy of the project's shared/vocab file; its text
// is licensed CC BY 4.0 by Helpful Places, and every page or export that shows
// it must credit it: see [Attribution], [LicenceURL] and [Credit].
//
// The vocabulary is parsed once, on first use, and is read-only afterwards.
package dtpr

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// The device categories, i.e. the facets of a register entry.
const (
	Accountable = "device__accountable"
	Purpose     = "device__purpose"
	Tech        = "device__tech"
	Data        = "device__data"
	Process     = "device__process"
	Access      = "device__access"
	Retention   = "device__retention"
	Storage     = "device__storage"
)

// Retention elements; data_retained has the variable {{duration}}.
const (
	DataRetained   = "data_retained"
	NoDataRetained = "no_data_retained"
)

// Credit of the taxonomy, as its licence requires.
const (
	Attribution = "Digital Trust for Places & Routines (DTPR), Helpful Places"
	Licence     = "CC BY 4.0"
	LicenceURL  = "https://creativecommons.org/licenses/by/4.0/"
	// SourceURL is where the taxonomy is published.
	SourceURL = "https://github.com/Helpful-Places/dtpr"
)

//go:embed dtpr-device.json
var deviceJSON []byte

// Label is a text in French and English.
type Label struct {
	FR string `json:"fr"`
	EN string `json:"en"`
}

// In returns the label in lang ("fr" or "en"), falling back to French.
func (l Label) In(lang string) string {
	if lang == "en" && l.EN != "" {
		return l.EN
	}
	return l.FR
}

// Element is one value of a category, e.g. "health" in device__purpose.
type Element struct {
	ID          string   `json:"id"`
	Name        Label    `json:"name"`
	Description Label    `json:"description"`
	Variables   []string `json:"variables"`
}

// Category is a facet of a register entry, with its elements in the
// taxonomy's order.
type Category struct {
	ID          string    `json:"id"`
	Name        Label     `json:"name"`
	Description Label     `json:"description"`
	Elements    []Element `json:"elements"`
}

// Vocabulary is the parsed device vocabulary. Its methods return copies, so
// that it stays read-only.
type Vocabulary struct {
	head       header
	categories []Category
	byCategory map[string]int
	byElement  map[string]map[string]int
}

// header is what the file says of itself.
type header struct {
	Source      string  `json:"source"`
	License     string  `json:"license"`
	LicenseURL  string  `json:"license_url"`
	Attribution string  `json:"attribution"`
	Colours     Colours `json:"colour_guidance"`
}

// Colours are the colours that the DTPR design guide gives to the three
// levels of identifiability.
type Colours struct {
	Identifiable   string `json:"identifiable"`
	DeIdentified   string `json:"de_identified"`
	NotIdentifying string `json:"not_identifying"`
}

// Parse reads a DTPR device vocabulary in the format of dtpr-device.json.
func Parse(b []byte) (*Vocabulary, error) {
	var raw struct {
		header
		Categories []Category `json:"categories"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("dtpr: parse vocabulary: %w", err)
	}
	v := Vocabulary{head: raw.header, categories: raw.Categories}
	v.byCategory = make(map[string]int, len(v.categories))
	v.byElement = make(map[string]map[string]int, len(v.categories))
	for i, c := range v.categories {
		if c.ID == "" {
			return nil, fmt.Errorf("dtpr: category %d has no id", i)
		}
		if _, dup := v.byCategory[c.ID]; dup {
			return nil, fmt.Errorf("dtpr: category %s is listed twice", c.ID)
		}
		v.byCategory[c.ID] = i
		els := make(map[string]int, len(c.Elements))
		for j, e := range c.Elements {
			if e.ID == "" {
				return nil, fmt.Errorf("dtpr: %s: element %d has no id", c.ID, j)
			}
			if _, dup := els[e.ID]; dup {
				return nil, fmt.Errorf("dtpr: %s: element %s is listed twice", c.ID, e.ID)
			}
			els[e.ID] = j
		}
		v.byElement[c.ID] = els
	}
	return &v, nil
}

var device = sync.OnceValue(func() *Vocabulary {
	v, err := Parse(deviceJSON)
	if err != nil {
		// The file is embedded at build time and checked by the tests.
		panic(err)
	}
	return v
})

// Device returns the embedded DTPR device vocabulary.
func Device() *Vocabulary { return device() }

// Colours returns the colours of the DTPR design guide.
func (v *Vocabulary) Colours() Colours { return v.head.Colours }

// Source says where the vocabulary was taken from.
func (v *Vocabulary) Source() string { return v.head.Source }

// Categories returns the ids of the categories, in the taxonomy's order.
func (v *Vocabulary) Categories() []string {
	ids := make([]string, len(v.categories))
	for i, c := range v.categories {
		ids[i] = c.ID
	}
	return ids
}

// Category returns the category id with its elements.
func (v *Vocabulary) Category(id string) (Category, bool) {
	i, ok := v.byCategory[id]
	if !ok {
		return Category{}, false
	}
	c := v.categories[i]
	c.Elements = append([]Element(nil), c.Elements...)
	return c, true
}

// Element returns the element id of category.
func (v *Vocabulary) Element(category, id string) (Element, bool) {
	j, ok := v.byElement[category][id]
	if !ok {
		return Element{}, false
	}
	e := v.categories[v.byCategory[category]].Elements[j]
	e.Variables = append([]string(nil), e.Variables...)
	return e, true
}

// Has reports whether id is an element of category.
func (v *Vocabulary) Has(category, id string) bool {
	_, ok := v.byElement[category][id]
	return ok
}

// Name returns the label of the element id of category in lang, with its
// variables ({{duration}}…) filled from vars, or id itself when the element
// is unknown.
func (v *Vocabulary) Name(category, id, lang string, vars map[string]string) string {
	e, ok := v.Element(category, id)
	if !ok {
		return id
	}
	return fill(e.Name.In(lang), vars)
}

// Description returns the description of the element id of category in
// lang, with its variables filled from vars, or "" when it is unknown.
func (v *Vocabulary) Description(category, id, lang string, vars map[string]string) string {
	e, ok := v.Element(category, id)
	if !ok {
		return ""
	}
	return fill(e.Description.In(lang), vars)
}

func fill(s string, vars map[string]string) string {
	for k, val := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", val)
	}
	return s
}

// Notice is the one-line credit for exports that carry element ids (the
// JSON API), in English.
const Notice = "DTPR element ids from " + Attribution + ", licensed " + Licence + " (" + LicenceURL + "); not changed."

// Credit returns the sentence that credits the taxonomy in lang, naming its
// licence and saying that its text is shown unchanged.
func Credit(lang string) string {
	if lang == "en" {
		return "Device labels and descriptions: " + Attribution + ", licensed " + Licence +
			" (" + LicenceURL + "); the text is shown without changes."
	}
	return "Libellés et descriptions des dispositifs : " + Attribution + ", sous licence " + Licence +
		" (" + LicenceURL + ") ; le texte est repris sans modification."
}
