package web

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// The sensor form: one HTML form for the whole entry, whose fields are
// named by their JSON path in registryapi.Sensor ("name.en",
// "quantities[1].unit", "location.lat"), the same path as the problems of
// package catalog and provision name; each field's id is that path made an
// HTML id ("f-quantities-1-unit"), so that a problem links to its field.
// ParseSensorForm reads it back; the technicians' creation form and edit
// form are two layouts of the same fields.

// SensorForm is what the sensor form holds: the entry, its quantity rows
// (declared or not: the creation form offers a template's optional
// quantities unchecked), and the reason and version of an update.
type SensorForm struct {
	Entry registryapi.Sensor
	// Quantities are the rows of the form; Entry.Quantities are those
	// declared.
	Quantities []QuantityRow
	// Support is the street object chosen in the creation form's short
	// list (SupportKeys), which fills attached_to when its text is empty.
	Support string
	// ExtraOperators is the number of empty operator rows to show after
	// the entry's (the "add an operator" button).
	ExtraOperators int
	Reason         string
	Version        int
	// Action is the button pressed: "" (save), ActionAddQuantity or
	// ActionAddOperator (the server adds an empty row and shows the form
	// again: no JavaScript needed).
	Action string
}

// QuantityRow is a row of the form's quantities.
type QuantityRow struct {
	registryapi.Quantity
	Declared bool
}

// Buttons of the sensor form besides saving.
const (
	ActionAddQuantity = "add_quantity"
	ActionAddOperator = "add_operator"
)

// QuantityRows returns the rows of an entry's declared quantities.
func QuantityRows(qs []registryapi.Quantity) []QuantityRow {
	out := make([]QuantityRow, len(qs))
	for i, q := range qs {
		out[i] = QuantityRow{Quantity: q, Declared: true}
	}
	return out
}

// SupportKeys are the street objects and places a sensor is usually
// attached to, offered as a short list in the creation form (their fr/en
// words are the catalogue's "prov.support.<key>").
var SupportKeys = []string{"lamppost", "luminaire", "facade", "post", "shelter", "roadway", "cabinet", "switchboard", "wall"}

// DefaultSupport is the support a category's sensors usually have.
func DefaultSupport(category string) string {
	switch category {
	case registryapi.CategoryAir:
		return "lamppost"
	case registryapi.CategoryParking:
		return "roadway"
	case registryapi.CategoryLighting:
		return "luminaire"
	case registryapi.CategoryEnergy:
		return "switchboard"
	}
	return ""
}

// SupportText returns the bilingual words of a support key.
func SupportText(key string) (registryapi.Text, bool) {
	if !slices.Contains(SupportKeys, key) {
		return registryapi.Text{}, false
	}
	m := messages()
	return registryapi.Text{FR: m[LangFR]["prov.support."+key], EN: m[LangEN]["prov.support."+key]}, true
}

var nonIDRE = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// FieldID returns the HTML id of the form field of a JSON path:
// "quantities[1].unit" → "f-quantities-1-unit".
func FieldID(path string) string {
	return "f-" + strings.Trim(nonIDRE.ReplaceAllString(path, "-"), "-")
}

// ParseSensorForm reads the sensor form posted as v over base, the entry
// it was made from (the current entry for an update, the new draft for a
// creation): base keeps what the form does not hold (id, status,
// decommissioning date, bookkeeping) and the order of DTPR ids that stay
// checked, and the time of day of dates left unchanged. It returns the
// problems of fields that cannot be read (a number, a date, a tag line),
// in lang; the rules of the entry are provision's.
func ParseSensorForm(lang string, v url.Values, base registryapi.Sensor) (SensorForm, []registryapi.FieldError) {
	l := localizer{lang: lang, msgs: messages()[lang]}
	if l.msgs == nil {
		l = localizer{lang: LangFR, msgs: messages()[LangFR]}
	}
	var errs []registryapi.FieldError
	bad := func(field, key string, args ...any) {
		errs = append(errs, registryapi.FieldError{Field: field, Code: "form." + strings.TrimPrefix(key, "err.prov."), Message: l.T(key, args...)})
	}
	get := func(name string) string { return strings.TrimSpace(strings.ReplaceAll(v.Get(name), "\r\n", "\n")) }
	text := func(name string) registryapi.Text {
		return registryapi.Text{FR: get(name + ".fr"), EN: get(name + ".en")}
	}
	number := func(name string) *float64 {
		s := strings.ReplaceAll(strings.ReplaceAll(get(name), " ", ""), ",", ".")
		if s == "" {
			return nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			bad(name, "err.prov.number", get(name))
			return nil
		}
		return &f
	}
	date := func(name string, cur *time.Time) *time.Time {
		s := get(name)
		if s == "" {
			return nil
		}
		if cur != nil && cur.UTC().Format(time.DateOnly) == s {
			return cur // unchanged: keep its time of day
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			bad(name, "err.prov.date", s)
			return cur
		}
		return &t
	}
	ids := func(name string, cur []string) []string {
		picked := v[name]
		out := []string{}
		for _, id := range cur { // the entry's order first
			if slices.Contains(picked, id) && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		for _, id := range picked {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	on := func(name string) bool { return v.Get(name) != "" }

	f := SensorForm{Entry: base, Action: v.Get("action"), Reason: get("reason"), Support: get("support")}
	if n, err := strconv.Atoi(get("version")); err == nil {
		f.Version = n
	}
	e := &f.Entry
	if v.Has("id") {
		e.ID = get("id")
	}
	if v.Has("category") {
		e.Category = get("category")
	}
	e.Name = text("name")
	e.Site = get("site")
	e.AttachedTo = text("attached_to")
	if e.AttachedTo == (registryapi.Text{}) {
		if t, ok := SupportText(f.Support); ok {
			e.AttachedTo = t
		}
	}
	e.Manufacturer, e.Model = get("manufacturer"), get("model")
	e.Technology = ids("technology", base.Technology)
	e.Tags = nil
	for i, line := range strings.Split(get("tags"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			bad("tags", "err.prov.tag", i+1, line)
			continue
		}
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		e.Tags[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}

	e.Accountable = registryapi.Organisation{Name: text("accountable.name"), SIREN: get("accountable.siren"),
		URL: get("accountable.url"), PublicAuthority: on("accountable.public_authority")}
	e.Operators = nil
	for i := 0; v.Has(fmt.Sprintf("operators[%d].name.fr", i)); i++ {
		p := fmt.Sprintf("operators[%d]", i)
		o := registryapi.Organisation{Name: text(p + ".name"), SIREN: get(p + ".siren"), URL: get(p + ".url"), PublicAuthority: on(p + ".public_authority")}
		if o.Name == (registryapi.Text{}) && o.SIREN == "" && o.URL == "" {
			continue // an empty row: removed, or never filled
		}
		e.Operators = append(e.Operators, o)
	}
	contact := func(p string) registryapi.Contact {
		return registryapi.Contact{Email: get(p + ".email"), URL: get(p + ".url"), Phone: get(p + ".phone")}
	}
	e.PublicContact, e.DPOContact = contact("public_contact"), contact("dpo_contact")

	e.Purposes = []string{}
	for i := 0; v.Has(fmt.Sprintf("purposes[%d]", i)); i++ {
		if id := get(fmt.Sprintf("purposes[%d]", i)); id != "" && !slices.Contains(e.Purposes, id) {
			e.Purposes = append(e.Purposes, id)
		}
	}
	e.Description = text("description")

	f.Quantities = nil
	e.Quantities = []registryapi.Quantity{}
	for i := 0; v.Has(fmt.Sprintf("quantities[%d].name", i)); i++ {
		p := fmt.Sprintf("quantities[%d]", i)
		q := QuantityRow{Declared: on(p + ".on")}
		q.Name, q.Unit, q.Label = get(p+".name"), get(p+".unit"), text(p+".label")
		q.Min, q.Max = number(p+".min"), number(p+".max")
		if s := get(p + ".period_s"); s != "" {
			n, err := strconv.Atoi(strings.ReplaceAll(s, " ", ""))
			if err != nil {
				bad(p+".period_s", "err.prov.integer", s)
			}
			q.PeriodSeconds = n
		}
		q.Aggregation = get(p + ".aggregation")
		if q.Name == "" && q.Unit == "" && q.Label == (registryapi.Text{}) && q.Min == nil && q.Max == nil && q.PeriodSeconds == 0 {
			continue // an empty row
		}
		f.Quantities = append(f.Quantities, q)
		if q.Declared {
			e.Quantities = append(e.Quantities, q.Quantity)
		}
	}
	e.DataTypes = ids("data_types", base.DataTypes)
	e.Processing = ids("processing", base.Processing)

	e.Identifiability = get("identifiability")
	e.DeidentificationMethod = text("deidentification_method")
	e.LegalBasis = get("legal_basis")
	e.LegalReference = text("legal_reference")
	e.PrivacyNoticeURL, e.Art30Record, e.DPIAReference = get("privacy_notice_url"), get("art30_record"), get("dpia_reference")

	e.Storage = ids("storage", base.Storage)
	e.StorageLocation = text("storage_location")
	e.Retention = strings.ToUpper(get("retention"))
	e.Access = ids("access", base.Access)
	e.OpenData = on("open_data")
	e.OpenDataLicence, e.OpenDataURL = get("open_data_licence"), get("open_data_url")

	loc := registryapi.Location{Address: get("location.address"), Indoor: on("location.indoor"), Neighbourhood: get("location.neighbourhood")}
	if lat := number("location.lat"); lat != nil {
		loc.Lat = *lat
	}
	if lon := number("location.lon"); lon != nil {
		loc.Lon = *lon
	}
	for i, line := range strings.Split(get("location.area"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a, b, ok := strings.Cut(line, ";")
		lon, err1 := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(a), ",", "."), 64)
		lat, err2 := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(b), ",", "."), 64)
		if !ok || err1 != nil || err2 != nil {
			bad("location.area", "err.prov.area", i+1, line)
			continue
		}
		loc.Area = append(loc.Area, [2]float64{lon, lat})
	}
	e.Location = loc
	e.CommissionedAt = date("commissioned_at", base.CommissionedAt)
	e.ActiveUntil = date("active_until", base.ActiveUntil)
	return f, errs
}

// formValues writes an entry as the form's values, by field name: what
// the templates show, and what ParseSensorForm reads back unchanged.
func formValues(f SensorForm) map[string]string {
	e := f.Entry
	m := map[string]string{}
	put := func(name, s string) { m[name] = s }
	putText := func(name string, t registryapi.Text) { put(name+".fr", t.FR); put(name+".en", t.EN) }
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	put("id", e.ID)
	put("category", e.Category)
	putText("name", e.Name)
	put("site", e.Site)
	putText("attached_to", e.AttachedTo)
	put("manufacturer", e.Manufacturer)
	put("model", e.Model)
	keys := make([]string, 0, len(e.Tags))
	for k := range e.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var tags []string
	for _, k := range keys {
		tags = append(tags, k+"="+e.Tags[k])
	}
	put("tags", strings.Join(tags, "\n"))
	putText("accountable.name", e.Accountable.Name)
	put("accountable.siren", e.Accountable.SIREN)
	put("accountable.url", e.Accountable.URL)
	for _, c := range []struct {
		p string
		c registryapi.Contact
	}{{"public_contact", e.PublicContact}, {"dpo_contact", e.DPOContact}} {
		put(c.p+".email", c.c.Email)
		put(c.p+".url", c.c.URL)
		put(c.p+".phone", c.c.Phone)
	}
	putText("description", e.Description)
	put("identifiability", e.Identifiability)
	putText("deidentification_method", e.DeidentificationMethod)
	put("legal_basis", e.LegalBasis)
	putText("legal_reference", e.LegalReference)
	put("privacy_notice_url", e.PrivacyNoticeURL)
	put("art30_record", e.Art30Record)
	put("dpia_reference", e.DPIAReference)
	putText("storage_location", e.StorageLocation)
	put("retention", e.Retention)
	put("open_data_licence", e.OpenDataLicence)
	put("open_data_url", e.OpenDataURL)
	if e.Location.Lat != 0 || e.Location.Lon != 0 {
		put("location.lat", strconv.FormatFloat(e.Location.Lat, 'f', -1, 64))
		put("location.lon", strconv.FormatFloat(e.Location.Lon, 'f', -1, 64))
	}
	put("location.address", e.Location.Address)
	put("location.neighbourhood", e.Location.Neighbourhood)
	var area []string
	for _, p := range e.Location.Area {
		area = append(area, strconv.FormatFloat(p[0], 'f', -1, 64)+";"+strconv.FormatFloat(p[1], 'f', -1, 64))
	}
	put("location.area", strings.Join(area, "\n"))
	if e.CommissionedAt != nil {
		put("commissioned_at", e.CommissionedAt.UTC().Format(time.DateOnly))
	}
	if e.ActiveUntil != nil {
		put("active_until", e.ActiveUntil.UTC().Format(time.DateOnly))
	}
	for i, q := range f.Quantities {
		p := fmt.Sprintf("quantities[%d]", i)
		put(p+".name", q.Name)
		put(p+".unit", q.Unit)
		put(p+".min", num(q.Min))
		put(p+".max", num(q.Max))
		if q.PeriodSeconds != 0 {
			put(p+".period_s", strconv.Itoa(q.PeriodSeconds))
		}
		put(p+".aggregation", q.Aggregation)
		putText(p+".label", q.Label)
	}
	for i, o := range e.Operators {
		p := fmt.Sprintf("operators[%d]", i)
		putText(p+".name", o.Name)
		put(p+".siren", o.SIREN)
		put(p+".url", o.URL)
	}
	return m
}
