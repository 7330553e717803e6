package opendata

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/registryapi"
)

// mandatory lists, per class, the properties that DCAT-AP (2.1.1 and 3.0)
// marks mandatory, and the recommended ones that the register promises
// because a harvester such as data.gouv.fr uses them.
var mandatory = map[string][]string{
	"dcat:Catalog": {"dct:title", "dct:description", "dct:publisher", "dcat:dataset",
		/* recommended */ "foaf:homepage", "dct:language", "dct:license", "dct:modified", "dcat:themeTaxonomy", "dct:spatial"},
	"dcat:Dataset": {"dct:title", "dct:description",
		/* recommended */ "dcat:contactPoint", "dcat:distribution", "dcat:keyword", "dct:publisher", "dct:spatial", "dcat:theme",
		/* optional, used by harvesters */ "dct:identifier", "dcat:landingPage", "dct:issued", "dct:modified", "dct:accrualPeriodicity", "dct:language"},
	"dcat:Distribution": {"dcat:accessURL",
		/* recommended */ "dct:description", "dct:license"},
	"dcat:DataService":    {"dct:title", "dcat:endpointURL", "dcat:endpointDescription", "dcat:servesDataset"},
	"foaf:Agent":          {"foaf:name"},
	"vcard:Organization":  {"vcard:fn"},
	"dct:LicenseDocument": {"rdfs:label"},
	"dct:Location":        {"dcat:centroid"},
	"dct:PeriodOfTime":    {"dcat:startDate"},
}

// catalogDoc returns the catalogue record as the HTTP API serves it,
// parsed back as plain JSON.
func catalogDoc(t *testing.T, sensors []registryapi.Sensor, o CatalogOptions) map[string]any {
	t.Helper()
	b, err := json.Marshal(Catalog(sensors, o))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func types(n map[string]any) []string {
	switch t := n["@type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// nodes returns every node object of the document, with its path.
func nodes(v any, path string, out map[string]map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		out[path] = v
		for k, x := range v {
			if k != "@context" {
				nodes(x, path+"/"+k, out)
			}
		}
	case []any:
		for i, x := range v {
			nodes(x, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// empty reports whether a property value says nothing.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0 || slices.ContainsFunc(v, empty)
	case map[string]any:
		if val, ok := v["@value"]; ok {
			return empty(val)
		}
		if id, ok := v["@id"]; ok {
			return empty(id)
		}
		return len(v) == 0
	}
	return false
}

func TestCatalogDCATAP(t *testing.T) {
	sensors := published()
	doc := catalogDoc(t, sensors, CatalogOptions{PublicURL: base})

	// The context defines the vocabularies with their right namespaces,
	// and every compact IRI uses a defined prefix: nothing is lost when a
	// harvester expands the document.
	ctx, ok := doc["@context"].(map[string]any)
	if !ok {
		t.Fatalf("@context is %T", doc["@context"])
	}
	for prefix, ns := range map[string]string{
		"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
		"foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
		"xsd": "http://www.w3.org/2001/XMLSchema#",
	} {
		if ctx[prefix] != ns {
			t.Errorf("@context %s = %v, want %s", prefix, ctx[prefix], ns)
		}
	}
	all := map[string]map[string]any{}
	nodes(doc, "$", all)
	compact := func(s, where string) {
		prefix, _, ok := strings.Cut(s, ":")
		if !ok || ctx[prefix] == nil {
			t.Errorf("%s: %q is not a compact IRI of the context", where, s)
		}
	}
	byType := map[string]int{}
	for path, n := range all {
		for k, v := range n {
			switch k {
			case "@context", "@language", "@value":
			case "@id":
				u, err := url.Parse(v.(string))
				if err != nil || !u.IsAbs() {
					t.Errorf("%s: @id %v is not an absolute IRI", path, v)
				}
			case "@type":
				for _, ty := range types(n) {
					compact(ty, path)
					byType[ty]++
				}
			default:
				compact(k, path)
			}
		}
		for _, ty := range types(n) {
			for _, p := range mandatory[ty] {
				if empty(n[p]) {
					t.Errorf("%s (%s) lacks %s", path, ty, p)
				}
			}
		}
	}

	// What the catalogue holds.
	open := 0
	for _, s := range sensors {
		if s.OpenData && s.OpenDataURL != "" {
			open++
		}
	}
	if open == 0 {
		t.Fatal("the fixture has no open data")
	}
	if byType["dcat:Catalog"] != 1 || byType["dcat:Dataset"] != 1+open || byType["dcat:DataService"] != 1 ||
		byType["dcat:Distribution"] != 3+open {
		t.Errorf("node types %v; want 1 catalog, %d datasets, %d distributions, 1 service", byType, 1+open, 3+open)
	}
	datasets := doc["dcat:dataset"].([]any)
	register := datasets[0].(map[string]any)
	var downloads []string
	for _, d := range register["dcat:distribution"].([]any) {
		d := d.(map[string]any)
		downloads = append(downloads, d["dcat:downloadURL"].(map[string]any)["@id"].(string)+" "+
			d["dcat:mediaType"].(map[string]any)["@id"].(string))
		if id := d["dct:license"].(map[string]any)["@id"]; id != LicenceOuverte.URL {
			t.Errorf("distribution licence %v, want Licence Ouverte by default", id)
		}
	}
	wantDownloads := []string{
		base + "/api/v1/sensors https://www.iana.org/assignments/media-types/application/json",
		base + "/api/v1/sensors.csv https://www.iana.org/assignments/media-types/text/csv",
		base + "/api/v1/sensors.geojson https://www.iana.org/assignments/media-types/application/geo+json",
	}
	if !slices.Equal(downloads, wantDownloads) {
		t.Errorf("register distributions %v", downloads)
	}
	ids := map[string]bool{}
	for _, d := range datasets {
		id := d.(map[string]any)["dct:identifier"].(string)
		if ids[id] {
			t.Errorf("dataset identifier %s twice", id)
		}
		ids[id] = true
	}
	if !ids[base+"/sensors/air-mairie-01#donnees"] {
		t.Errorf("no readings dataset for air-mairie-01: %v", ids)
	}
	// The readings distribution is the entry's open-data link.
	mairie := datasets[1].(map[string]any)
	dist := mairie["dcat:distribution"].([]any)[0].(map[string]any)
	if got := dist["dcat:accessURL"].(map[string]any)["@id"]; got != "https://data.valmont-sur-lise.example/capteurs/air" {
		t.Errorf("readings accessURL %v", got)
	}
	contact := mairie["dcat:contactPoint"].(map[string]any)
	if contact["vcard:hasEmail"].(map[string]any)["@id"] != "mailto:capteurs@valmont-sur-lise.example" {
		t.Errorf("contact point %v", contact)
	}
	// The publisher defaults to the accountable organisation.
	name := doc["dct:publisher"].(map[string]any)["foaf:name"].([]any)[0].(map[string]any)["@value"]
	if name != "Commune de Valmont-sur-Lise" {
		t.Errorf("publisher %v", name)
	}
}

func TestCatalogOptions(t *testing.T) {
	odbl := Licence{Name: "ODbL", URL: "https://opendatacommons.org/licenses/odbl/1-0/"}
	sensors := published()
	sensors[0].OpenDataLicence = "https://example.org/my-licence"
	sensors[1].OpenDataLicence = "Licence maison"
	doc := catalogDoc(t, sensors, CatalogOptions{
		PublicURL: base + "/",
		Licence:   odbl,
		Publisher: Publisher{Name: registryapi.Text{FR: "Métropole", EN: "Metropolis"}, URL: "https://metropole.example"},
	})
	b, _ := json.Marshal(doc)
	s := string(b)
	for _, want := range []string{
		`"dct:license":{"@id":"https://opendatacommons.org/licenses/odbl/1-0/"`,
		`"@id":"https://metropole.example"`,
		`Registre des capteurs – Métropole`,
		`"@id":"https://example.org/my-licence"`,
		`{"@type":"dct:LicenseDocument","rdfs:label":"Licence maison"}`,
		`"@id":"` + base + `/api/v1/catalog.jsonld"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("catalogue lacks %s", want)
		}
	}
	if strings.Contains(s, base+"//") {
		t.Error("a double slash after the public URL")
	}

	// An empty register is still a valid catalogue.
	empty := catalogDoc(t, nil, CatalogOptions{PublicURL: base})
	if ds := empty["dcat:dataset"].([]any); len(ds) != 1 {
		t.Errorf("empty register: %d datasets", len(ds))
	}
}

func TestLicenceOf(t *testing.T) {
	for name, want := range map[string]string{
		"": LicenceOuverte.URL,
		"Licence Ouverte / Open Licence version 2.0 (Etalab)": LicenceOuverte.URL,
		"licence ouverte v2.0":                                LicenceOuverte.URL,
		"ODbL 1.0":                                            "https://opendatacommons.org/licenses/odbl/1-0/",
		"CC BY 4.0":                                           "https://creativecommons.org/licenses/by/4.0/",
		"https://example.org/l":                               "https://example.org/l",
		"Tous droits réservés":                                "",
	} {
		if got := licenceOf(name, LicenceOuverte).URL; got != want {
			t.Errorf("licenceOf(%q) = %q, want %q", name, got, want)
		}
	}
}
