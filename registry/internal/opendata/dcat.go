package opendata

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// Licence is an open-data licence: its name, and the URL of its text.
type Licence struct {
	Name string
	URL  string
}

// LicenceOuverte is Etalab's Licence Ouverte 2.0, the licence of French
// public open data, and the default licence of the register.
var LicenceOuverte = Licence{
	Name: "Licence Ouverte / Open Licence version 2.0",
	URL:  "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}

// Publisher is the organisation that publishes the register.
type Publisher struct {
	Name registryapi.Text
	URL  string
	// PublicAuthority makes the publisher a local authority in the ADMS
	// publisher types.
	PublicAuthority bool
}

// CatalogOptions are what Catalog needs besides the entries.
type CatalogOptions struct {
	// PublicURL is the base of the register's URLs, without a trailing
	// slash, e.g. "https://capteurs.example.fr".
	PublicURL string
	// Licence is the licence of the register's own data (the entries);
	// the zero Licence means LicenceOuverte.
	Licence Licence
	// Publisher is who publishes the register; the zero Publisher means
	// the accountable organisation that most entries name.
	Publisher Publisher
	// EntryURL returns the stable public URL of an entry; default
	// PublicURL + "/sensors/" + id.
	EntryURL func(id string) string
}

// Vocabularies of the catalogue record.
const (
	nsDCAT   = "http://www.w3.org/ns/dcat#"
	nsDCT    = "http://purl.org/dc/terms/"
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsVCard  = "http://www.w3.org/2006/vcard/ns#"
	nsXSD    = "http://www.w3.org/2001/XMLSchema#"
	nsLOCN   = "http://www.w3.org/ns/locn#"
	nsRDFS   = "http://www.w3.org/2000/01/rdf-schema#"
	nsGSP    = "http://www.opengis.net/ont/geosparql#"
	nsDCATAP = "http://data.europa.eu/r5r/"

	euTheme     = "http://publications.europa.eu/resource/authority/data-theme/"
	euLanguage  = "http://publications.europa.eu/resource/authority/language/"
	euFrequency = "http://publications.europa.eu/resource/authority/frequency/"
	euFileType  = "http://publications.europa.eu/resource/authority/file-type/"
	ianaMedia   = "https://www.iana.org/assignments/media-types/"
	admsLocal   = "http://purl.org/adms/publishertype/LocalAuthority"
	stable      = "http://data.europa.eu/r5r/availability/stable"
)

// Context is the JSON-LD @context of the catalogue record: the prefixes of
// its compact IRIs.
func Context() map[string]string {
	return map[string]string{
		"dcat":   nsDCAT,
		"dct":    nsDCT,
		"foaf":   nsFOAF,
		"vcard":  nsVCard,
		"xsd":    nsXSD,
		"locn":   nsLOCN,
		"rdfs":   nsRDFS,
		"gsp":    nsGSP,
		"dcatap": nsDCATAP,
	}
}

// themes maps a category to its EU data theme.
var themes = map[string]string{
	registryapi.CategoryAir:      "ENVI",
	registryapi.CategoryParking:  "TRAN",
	registryapi.CategoryLighting: "ENER",
	registryapi.CategoryEnergy:   "ENER",
	registryapi.CategoryOther:    "REGI",
}

var categoryWords = map[string]registryapi.Text{
	registryapi.CategoryAir:      {FR: "qualité de l'air", EN: "air quality"},
	registryapi.CategoryParking:  {FR: "stationnement", EN: "parking"},
	registryapi.CategoryLighting: {FR: "éclairage public", EN: "street lighting"},
	registryapi.CategoryEnergy:   {FR: "énergie", EN: "energy"},
	registryapi.CategoryOther:    {FR: "capteurs", EN: "sensors"},
}

// node is a JSON-LD node object.
type node = map[string]any

func ref(iri string) node { return node{"@id": iri} }

// lit is a text in French and, when it has one, English.
func lit(t registryapi.Text) []node {
	out := []node{{"@value": t.FR, "@language": "fr"}}
	if t.EN != "" {
		out = append(out, node{"@value": t.EN, "@language": "en"})
	}
	return out
}

func dateTime(t time.Time) node {
	return node{"@value": t.UTC().Format(time.RFC3339), "@type": "xsd:dateTime"}
}

func date(t time.Time) node {
	return node{"@value": t.UTC().Format(time.DateOnly), "@type": "xsd:date"}
}

func wkt(s string) node { return node{"@value": s, "@type": "gsp:wktLiteral"} }

// Catalog returns the DCAT-AP catalogue record (JSON-LD) of the register:
// a dcat:Catalog holding a dcat:Dataset for the register itself, with its
// JSON, CSV and GeoJSON distributions, and one dcat:Dataset for the
// readings of each entry with open data (open_data and an open_data_url),
// plus the API as a dcat:DataService. sensors are the published entries.
func Catalog(sensors []registryapi.Sensor, o CatalogOptions) map[string]any {
	base := strings.TrimRight(o.PublicURL, "/")
	if o.Licence == (Licence{}) {
		o.Licence = LicenceOuverte
	}
	if o.EntryURL == nil {
		o.EntryURL = func(id string) string { return base + "/sensors/" + url.PathEscape(id) }
	}
	pub := o.Publisher
	if pub.Name.FR == "" {
		pub = mainPublisher(sensors, base)
	}
	var modified time.Time
	var issued *time.Time
	for _, s := range sensors {
		if s.UpdatedAt.After(modified) {
			modified = s.UpdatedAt
		}
		if s.CommissionedAt != nil && (issued == nil || s.CommissionedAt.Before(*issued)) {
			issued = s.CommissionedAt
		}
	}
	if modified.IsZero() {
		modified = time.Unix(0, 0)
	}
	licence := licenceNode(o.Licence)
	publisher := agent(pub)
	catalogIRI := base + registryapi.PathCatalog
	registerIRI := catalogIRI + "#registre"
	languages := []node{ref(euLanguage + "FRA"), ref(euLanguage + "ENG")}

	// The register itself.
	dist := func(key, path, format, media, standard string, title registryapi.Text) node {
		u := base + path
		return node{
			"@id":                 catalogIRI + "#" + key,
			"@type":               "dcat:Distribution",
			"dct:title":           lit(title),
			"dct:description":     lit(registryapi.Text{FR: "Toutes les fiches publiées du registre des capteurs, une par capteur, avec l'adresse stable de chacune.", EN: "Every published entry of the sensor register, one per sensor, each with its stable address."}),
			"dcat:accessURL":      ref(u),
			"dcat:downloadURL":    ref(u),
			"dct:format":          ref(euFileType + format),
			"dcat:mediaType":      ref(ianaMedia + media),
			"dct:license":         licence,
			"dct:modified":        dateTime(modified),
			"dct:conformsTo":      ref(standard),
			"dcatap:availability": ref(stable),
			"dct:language":        languages,
		}
	}
	distributions := []node{
		dist("json", registryapi.PathSensors, "JSON", "application/json", base+registryapi.PathOpenAPI,
			registryapi.Text{FR: "Registre des capteurs (JSON)", EN: "Sensor register (JSON)"}),
		dist("csv", registryapi.PathSensorsCSV, "CSV", "text/csv", "https://www.rfc-editor.org/rfc/rfc4180",
			registryapi.Text{FR: "Registre des capteurs (CSV)", EN: "Sensor register (CSV)"}),
		dist("geojson", registryapi.PathSensorsGeoJSON, "GEOJSON", "application/geo+json", "https://www.rfc-editor.org/rfc/rfc7946",
			registryapi.Text{FR: "Registre des capteurs (GeoJSON)", EN: "Sensor register (GeoJSON)"}),
	}
	keywords := []registryapi.Text{
		{FR: "capteurs", EN: "sensors"},
		{FR: "registre", EN: "register"},
		{FR: "données personnelles", EN: "personal data"},
		{FR: "ville intelligente", EN: "smart city"},
	}
	for _, c := range registryapi.Categories {
		if slices.ContainsFunc(sensors, func(s registryapi.Sensor) bool { return s.Category == c }) && c != registryapi.CategoryOther {
			keywords = append(keywords, categoryWords[c])
		}
	}
	register := node{
		"@id":            registerIRI,
		"@type":          "dcat:Dataset",
		"dct:identifier": registerIRI,
		"dct:title": lit(registryapi.Text{
			FR: "Registre des capteurs – " + pub.Name.FR,
			EN: "Sensor register – " + pub.Name.In("en"),
		}),
		"dct:description": lit(registryapi.Text{
			FR: "Le registre public des capteurs installés dans l'espace public et les bâtiments publics par " + pub.Name.FR +
				" : pour chaque capteur, ce qu'il mesure, pourquoi, sur quelle base légale, s'il peut identifier des personnes, qui en est responsable, combien de temps les données sont conservées et où trouver ses données ouvertes. " +
				"Les facettes (technologie, finalités, types de données, traitements, stockage, accès) sont des identifiants de la taxonomie Digital Trust for Places & Routines (DTPR), Helpful Places, sous licence CC BY 4.0.",
			EN: "The public register of the sensors that " + pub.Name.In("en") +
				" has installed in public space and public buildings: for each sensor, what it measures, why, on which legal basis, whether it can identify people, who is accountable, how long data is kept and where its open data is. " +
				"The facets (technology, purposes, data types, processing, storage, access) are element ids of the Digital Trust for Places & Routines (DTPR) taxonomy, Helpful Places, licensed CC BY 4.0.",
		}),
		"dct:publisher":          publisher,
		"dcat:contactPoint":      contactPoint(pub.Name, mainContact(sensors)),
		"dcat:landingPage":       ref(base + "/"),
		"dcat:keyword":           keywordNodes(keywords),
		"dcat:theme":             []node{ref(euTheme + "GOVE"), ref(euTheme + "REGI")},
		"dct:modified":           dateTime(modified),
		"dct:accrualPeriodicity": ref(euFrequency + "IRREG"),
		"dct:language":           languages,
		"dcat:distribution":      distributions,
	}
	if issued != nil {
		register["dct:issued"] = date(*issued)
	}
	if sp := extent(sensors); sp != nil {
		register["dct:spatial"] = sp
	}

	datasets := []node{register}
	for _, s := range sensors {
		if s.OpenData && s.OpenDataURL != "" {
			datasets = append(datasets, readingsDataset(s, o.EntryURL(s.ID), o.Licence))
		}
	}

	catalog := node{
		"@context":           Context(),
		"@id":                catalogIRI,
		"@type":              "dcat:Catalog",
		"dct:title":          lit(registryapi.Text{FR: "Catalogue des données des capteurs – " + pub.Name.FR, EN: "Sensor data catalogue – " + pub.Name.In("en")}),
		"dct:description":    lit(registryapi.Text{FR: "Le registre public des capteurs de " + pub.Name.FR + ", et les données ouvertes des mesures de ses capteurs.", EN: "The public sensor register of " + pub.Name.In("en") + ", and the open data of its sensors' readings."}),
		"dct:publisher":      publisher,
		"foaf:homepage":      ref(base + "/"),
		"dct:language":       languages,
		"dct:license":        licence,
		"dct:modified":       dateTime(modified),
		"dcat:themeTaxonomy": ref("http://publications.europa.eu/resource/authority/data-theme"),
		"dcat:dataset":       datasets,
		"dcat:service": []node{{
			"@id":                      base + registryapi.PathSensors + "#api",
			"@type":                    "dcat:DataService",
			"dct:title":                lit(registryapi.Text{FR: "API du registre des capteurs", EN: "Sensor register API"}),
			"dcat:endpointURL":         ref(base + registryapi.PathSensors),
			"dcat:endpointDescription": ref(base + registryapi.PathOpenAPI),
			"dcat:servesDataset":       ref(registerIRI),
			"dct:license":              licence,
			"dct:conformsTo":           ref("https://spec.openapis.org/oas/v3.1.0"),
		}},
	}
	if sp := extent(sensors); sp != nil {
		catalog["dct:spatial"] = sp
	}
	if issued != nil {
		catalog["dct:issued"] = date(*issued)
	}
	return catalog
}

// readingsDataset is the dataset of one entry's readings, whose
// distribution is the entry's open-data link.
func readingsDataset(s registryapi.Sensor, entryURL string, registerLicence Licence) node {
	iri := entryURL + "#donnees"
	desc := registryapi.Text{
		FR: "Mesures du capteur « " + s.Name.FR + " » du registre public des capteurs.",
		EN: "Readings of the sensor “" + s.Name.In("en") + "” of the public sensor register.",
	}
	if s.Description.FR != "" {
		desc.FR += " " + s.Description.FR
		desc.EN += " " + s.Description.In("en")
	}
	var qfr, qen []string
	keywords := []registryapi.Text{categoryWords[s.Category], {FR: "capteurs", EN: "sensors"}}
	for _, q := range s.Quantities {
		qfr = append(qfr, fmt.Sprintf("%s (%s, %s)", q.Label.FR, q.Name, q.Unit))
		qen = append(qen, fmt.Sprintf("%s (%s, %s)", q.Label.In("en"), q.Name, q.Unit))
		if q.Label.FR != "" {
			keywords = append(keywords, q.Label)
		}
	}
	if len(qfr) > 0 {
		desc.FR += " Grandeurs mesurées : " + strings.Join(qfr, " ; ") + "."
		desc.EN += " Quantities: " + strings.Join(qen, "; ") + "."
	}
	if s.Retention != "" {
		desc.FR += " Durée de conservation : " + s.Retention + " (ISO 8601)."
		desc.EN += " Retention: " + s.Retention + " (ISO 8601)."
	}
	licence := licenceNode(licenceOf(s.OpenDataLicence, registerLicence))
	d := node{
		"@id":            iri,
		"@type":          "dcat:Dataset",
		"dct:identifier": iri,
		"dct:title": lit(registryapi.Text{
			FR: "Mesures – " + s.Name.FR,
			EN: "Readings – " + s.Name.In("en"),
		}),
		"dct:description":        lit(desc),
		"dct:publisher":          agent(Publisher{Name: s.Accountable.Name, URL: s.Accountable.URL, PublicAuthority: s.Accountable.PublicAuthority}),
		"dcat:contactPoint":      contactPoint(s.Accountable.Name, s.PublicContact),
		"dcat:landingPage":       ref(entryURL),
		"dcat:keyword":           keywordNodes(keywords),
		"dcat:theme":             []node{ref(euTheme + themeOf(s.Category))},
		"dct:modified":           dateTime(s.UpdatedAt),
		"dct:accrualPeriodicity": ref(euFrequency + "CONT"),
		"dct:language":           []node{ref(euLanguage + "FRA"), ref(euLanguage + "ENG")},
		"dcat:distribution": []node{{
			"@id":   iri + "-distribution",
			"@type": "dcat:Distribution",
			"dct:title": lit(registryapi.Text{
				FR: "Données ouvertes – " + s.Name.FR,
				EN: "Open data – " + s.Name.In("en"),
			}),
			"dct:description": lit(registryapi.Text{
				FR: "Les mesures du capteur " + s.ID + ", à l'adresse que publie son responsable.",
				EN: "The readings of sensor " + s.ID + ", at the address its accountable organisation publishes.",
			}),
			"dcat:accessURL": ref(s.OpenDataURL),
			"dct:license":    licence,
		}},
	}
	if s.CommissionedAt != nil {
		d["dct:issued"] = date(*s.CommissionedAt)
		period := node{"@type": "dct:PeriodOfTime", "dcat:startDate": date(*s.CommissionedAt)}
		if s.DecommissionedAt != nil {
			period["dcat:endDate"] = date(*s.DecommissionedAt)
		}
		d["dct:temporal"] = period
	}
	if sp := extent([]registryapi.Sensor{s}); sp != nil {
		d["dct:spatial"] = sp
	}
	return d
}

func themeOf(category string) string {
	if t, ok := themes[category]; ok {
		return t
	}
	return "REGI"
}

func keywordNodes(words []registryapi.Text) []node {
	var out []node
	seen := map[string]bool{}
	for _, w := range words {
		for _, l := range lit(w) {
			k := l["@language"].(string) + ":" + l["@value"].(string)
			if l["@value"] != "" && !seen[k] {
				seen[k] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func agent(p Publisher) node {
	n := node{
		"@type":     []string{"foaf:Agent", "foaf:Organization"},
		"foaf:name": lit(p.Name),
	}
	if p.URL != "" {
		n["@id"] = p.URL
		n["foaf:homepage"] = ref(p.URL)
	}
	if p.PublicAuthority {
		n["dct:type"] = ref(admsLocal)
	}
	return n
}

// contactPoint is a functional contact as a vCard organisation: the
// organisation's name, its mailbox and its contact form; never a person.
func contactPoint(name registryapi.Text, c registryapi.Contact) node {
	n := node{"@type": "vcard:Organization", "vcard:fn": name.FR}
	if c.Email != "" {
		n["vcard:hasEmail"] = ref("mailto:" + c.Email)
	}
	if c.URL != "" {
		n["vcard:hasURL"] = ref(c.URL)
	}
	return n
}

func licenceNode(l Licence) node {
	n := node{"@type": "dct:LicenseDocument", "rdfs:label": l.Name}
	if l.URL != "" {
		n["@id"] = l.URL
	}
	return n
}

// knownLicences are the open licences whose text an entry's licence name
// can be matched to.
var knownLicences = []struct {
	words []string // all of them, lower case, in the name
	l     Licence
}{
	{[]string{"licence ouverte"}, LicenceOuverte},
	{[]string{"open licence", "2.0"}, LicenceOuverte},
	{[]string{"odbl"}, Licence{Name: "Open Data Commons Open Database License (ODbL)", URL: "https://opendatacommons.org/licenses/odbl/1-0/"}},
	{[]string{"cc by", "4.0"}, Licence{Name: "Creative Commons Attribution 4.0", URL: "https://creativecommons.org/licenses/by/4.0/"}},
	{[]string{"cc-by", "4.0"}, Licence{Name: "Creative Commons Attribution 4.0", URL: "https://creativecommons.org/licenses/by/4.0/"}},
}

// licenceOf returns the licence that an entry names: the register's when
// the name is the register licence's, a known open licence's text when the
// name is one, the URL itself when the name is a URL, or the name alone.
func licenceOf(name string, register Licence) Licence {
	low := strings.ToLower(strings.TrimSpace(name))
	switch {
	case low == "" || low == strings.ToLower(register.Name):
		return register
	case strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "http://"):
		return Licence{Name: name, URL: strings.TrimSpace(name)}
	}
	for _, k := range knownLicences {
		if !slices.ContainsFunc(k.words, func(w string) bool { return !strings.Contains(low, w) }) {
			return Licence{Name: name, URL: k.l.URL}
		}
	}
	return Licence{Name: name}
}

// mainPublisher is the accountable organisation that most entries name
// (the first one on a tie), or the register's host when there is none.
func mainPublisher(sensors []registryapi.Sensor, base string) Publisher {
	count := map[string]int{}
	best, bestN := -1, 0
	for i, s := range sensors {
		k := s.Accountable.Name.FR
		if k == "" {
			continue
		}
		count[k]++
		if count[k] > bestN {
			best, bestN = i, count[k]
		}
	}
	if best < 0 {
		host := base
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			host = u.Host
		}
		return Publisher{Name: registryapi.Text{FR: host}}
	}
	a := sensors[best].Accountable
	return Publisher{Name: a.Name, URL: a.URL, PublicAuthority: a.PublicAuthority}
}

// mainContact is the public contact that most entries give.
func mainContact(sensors []registryapi.Sensor) registryapi.Contact {
	count := map[registryapi.Contact]int{}
	var best registryapi.Contact
	for _, s := range sensors {
		c := s.PublicContact
		if c == (registryapi.Contact{}) {
			continue
		}
		count[c]++
		if count[c] > count[best] {
			best = c
		}
	}
	return best
}

// extent is the spatial coverage of sensors: their bounding box (a
// dct:Location with dcat:bbox and locn:geometry in WKT) and its centre as
// dcat:centroid; nil when none has a location.
func extent(sensors []registryapi.Sensor) node {
	minLon, minLat := math.Inf(1), math.Inf(1)
	maxLon, maxLat := math.Inf(-1), math.Inf(-1)
	add := func(lon, lat float64) {
		minLon, maxLon = math.Min(minLon, lon), math.Max(maxLon, lon)
		minLat, maxLat = math.Min(minLat, lat), math.Max(maxLat, lat)
	}
	for _, s := range sensors {
		l := s.Location
		switch {
		case len(l.Area) > 0:
			for _, p := range l.Area {
				add(p[0], p[1])
			}
		case l.Lat != 0 || l.Lon != 0:
			add(l.Lon, l.Lat)
		}
	}
	if math.IsInf(minLon, 1) {
		return nil
	}
	f := formatFloat
	centroid := wkt(fmt.Sprintf("POINT(%s %s)", f((minLon+maxLon)/2), f((minLat+maxLat)/2)))
	n := node{"@type": "dct:Location", "dcat:centroid": centroid}
	if minLon == maxLon && minLat == maxLat {
		n["locn:geometry"] = wkt(fmt.Sprintf("POINT(%s %s)", f(minLon), f(minLat)))
		return n
	}
	box := wkt(fmt.Sprintf("POLYGON((%[1]s %[2]s,%[3]s %[2]s,%[3]s %[4]s,%[1]s %[4]s,%[1]s %[2]s))",
		f(minLon), f(minLat), f(maxLon), f(maxLat)))
	n["dcat:bbox"] = box
	n["locn:geometry"] = box
	return n
}
