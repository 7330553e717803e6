package web

import (
	_ "embed"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/registryapi"
)

// The technicians' provisioning pages (package httpapi serves them, over
// package provision): their work list, the creation of a draft (from a
// category's template, or by copying a similar sensor), the entry's staff
// page (what is missing to publish, MQTT credentials, sign, publication,
// lifecycle, history with accounts) and the full edit form. Mobile first:
// one column, large touch targets, numeric keyboards for numbers; they
// work without JavaScript, and provision.js only adds the phone's position.

// Paths of the provisioning pages.
const (
	StaffSensorsPath = "/staff/sensors"
	NewSensorPath    = StaffSensorsPath + "/new" // ?category=air, or ?from=<id> to copy one
	// ProvisionJSPath serves provision.js: the "use my position" button.
	ProvisionJSPath = "/static/provision.js"
)

//go:embed static/provision.js
var provisionJS []byte

// ProvisionJS returns the script served at ProvisionJSPath.
func (p *Pages) ProvisionJS() []byte { return provisionJS }

// StaffSensorPath is the staff page of an entry, or one of its actions
// ("edit", "publish", "status", "credentials", "duplicate", "sign.pdf").
func StaffSensorPath(id string, action ...string) string {
	p := StaffSensorsPath + "/" + url.PathEscape(id)
	for _, a := range action {
		p += "/" + a
	}
	return p
}

// linkQ adds a query and the page's language to a path.
func (l localizer) linkQ(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("lang", l.lang)
	return path + "?" + q.Encode()
}

// fieldView is one field of a provisioning form.
type fieldView struct {
	// Kind: text, textarea, select, checkbox, checks (a group of DTPR
	// checkboxes), hidden, geo (the position's buttons).
	Kind                     string
	Name, ID, Label, Help    string
	Value                    string
	Type, InputMode, AutoCmp string
	Lang                     string // of a French or English text
	Publish                  bool   // required to publish: said in the label
	Must                     bool   // required to submit
	Errors                   []string
	Checked                  bool
	Options                  []option
	Checks                   []checkView
	Summary                  string // a checks group's current choice
	Rows                     int
	Max                      int
	// Req says "required to publish", when Publish.
	Req string
	// Geo: the words of the position's buttons, and the map link's URL
	// when the position is known.
	Geo    *geoWords
	MapURL string
}

// HelpID and ErrID are the ids of the field's help and error, for
// aria-describedby.
func (f fieldView) HelpID() string { return f.ID + "-help" }
func (f fieldView) ErrID() string  { return f.ID + "-err" }

// Described returns the field's aria-describedby.
func (f fieldView) Described() string {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.HelpID())
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ErrID())
	}
	return strings.Join(ids, " ")
}

type checkView struct {
	ID, Value, Label string
	Checked          bool
}

// sectionView is a fieldset of a provisioning form.
type sectionView struct {
	ID, Legend, Help string
	Fields           []fieldView
	Quantities       *quantitiesView
	Operators        *rowsView
}

type rowView struct {
	Legend string
	Fields []fieldView
	On     *fieldView // a quantity's "declared" checkbox
	Title  string     // a quantity's label and unit, for the short list
}

type quantitiesView struct {
	ID, Legend, Help, Add string
	Compact               bool // the creation form: checkboxes here, the rows in a disclosure
	Open                  bool // a row has a problem: its disclosure is open
	Rows                  []rowView
}

type rowsView struct {
	ID, Legend, Help, Add string
	Rows                  []rowView
}

type summaryItem struct{ Href, Text string }

// form builds the views of the sensor form's fields, and knows their
// names, labels and problems.
type form struct {
	l      localizer
	values map[string]string
	errs   map[string][]string // by field name
	labels map[string]string
	known  map[string]bool
}

func (fm *form) field(kind, name, labelKey string, opts ...func(*fieldView)) fieldView {
	f := fieldView{Kind: kind, Name: name, ID: FieldID(name), Value: fm.values[name], Type: "text"}
	f.Label = fm.l.T(labelKey)
	for _, o := range opts {
		o(&f)
	}
	fm.known[name] = true
	fm.labels[name] = f.Label
	f.Errors = fm.errs[name]
	return f
}

// text is a French or English text field of a bilingual text: "name.fr".
func (fm *form) text(kind, name, labelKey, lang string, opts ...func(*fieldView)) fieldView {
	opts = append([]func(*fieldView){func(f *fieldView) {
		f.Label += " (" + fm.l.T("prov.in."+lang) + ")"
		f.Lang = lang
	}}, opts...)
	return fm.field(kind, name+"."+lang, labelKey, opts...)
}

func help(key string) func(*fieldView) { return func(f *fieldView) { f.Help = "\x00" + key } }

func publish(f *fieldView) { f.Publish = true }
func decimal(f *fieldView) { f.InputMode = "decimal" }
func numeric(f *fieldView) { f.InputMode = "numeric" }
func typ(t string) func(*fieldView) {
	return func(f *fieldView) { f.Type = t }
}
func rows(n int) func(*fieldView) { return func(f *fieldView) { f.Rows = n } }
func autocmp(a string) func(*fieldView) {
	return func(f *fieldView) { f.AutoCmp = a }
}

// finish puts the help keys in words (help is a key until then, so that
// options stay simple).
func (fm *form) finish(fs []fieldView) []fieldView {
	for i := range fs {
		if k, ok := strings.CutPrefix(fs[i].Help, "\x00"); ok {
			fs[i].Help = fm.l.T(k)
		}
		if fs[i].Publish {
			fs[i].Req = fm.l.T("prov.req")
		}
	}
	return fs
}

// checks is a group of DTPR checkboxes.
func (fm *form) checks(name, labelKey, category string, selected []string, publishNeeded bool) fieldView {
	f := fm.field("checks", name, labelKey)
	f.Publish = publishNeeded
	cat, _ := dtpr.Device().Category(category)
	var chosen []string
	for _, el := range cat.Elements {
		on := slices.Contains(selected, el.ID)
		f.Checks = append(f.Checks, checkView{ID: FieldID(name + "-" + el.ID), Value: el.ID,
			Label: strings.TrimSpace(el.Name.In(fm.l.lang)), Checked: on})
	}
	for _, id := range selected { // in the entry's order; unknown ids stay visible
		chosen = append(chosen, strings.TrimSpace(dtpr.Device().Name(category, id, fm.l.lang, nil)))
		if !dtpr.Device().Has(category, id) {
			f.Checks = append(f.Checks, checkView{ID: FieldID(name + "-" + id), Value: id, Label: id, Checked: true})
		}
	}
	if len(chosen) == 0 {
		f.Summary = fm.l.T("prov.none")
	} else {
		f.Summary = strings.Join(chosen, ", ")
	}
	return f
}

func (fm *form) selectField(name, labelKey string, opts []option, extra ...func(*fieldView)) fieldView {
	f := fm.field("select", name, labelKey, extra...)
	for i := range opts {
		opts[i].Selected = opts[i].Value == f.Value
	}
	f.Options = opts
	return f
}

// resolve returns the form field a problem's JSON path points to: the
// path itself, an alias (the first input of a group), or its nearest
// parent that the form has; "" when none.
func (fm *form) resolve(path string) string {
	for p := path; p != ""; p = parentPath(p) {
		for _, c := range []string{p, p + ".fr", p + ".email", p + ".lat", p + "[0]", p + "[0].name"} {
			if fm.known[c] {
				return c
			}
		}
	}
	return ""
}

// parentPath drops the last element of a JSON path: "quantities[1].unit" →
// "quantities[1]" → "quantities".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

func newForm(l localizer, f SensorForm) *form {
	return &form{l: l, values: formValues(f), errs: map[string][]string{}, labels: map[string]string{}, known: map[string]bool{}}
}

// attach puts each problem on its field (after the fields are known), and
// returns the error summary: every problem, linking to its field.
func (fm *form) attach(sections []sectionView, problems []registryapi.FieldError, base string) ([]sectionView, []summaryItem) {
	var summary []summaryItem
	for _, p := range problems {
		name := fm.resolve(p.Field)
		item := summaryItem{Text: p.Message}
		if name != "" {
			fm.errs[name] = append(fm.errs[name], p.Message)
			item.Href = base + "#" + FieldID(name)
			item.Text = fm.labels[name] + fieldDetail(fm.l, p.Field, name) + sep(fm.l) + p.Message
		} else if label, ok := catalog.FieldLabel(fm.l.lang, p.Field); ok {
			item.Text = label + sep(fm.l) + p.Message
		}
		summary = append(summary, item)
	}
	set := func(fs []fieldView) {
		for i := range fs {
			fs[i].Errors = fm.errs[fs[i].Name]
		}
	}
	for i := range sections {
		set(sections[i].Fields)
		if q := sections[i].Quantities; q != nil {
			for j := range q.Rows {
				set(q.Rows[j].Fields)
				if q.Rows[j].On != nil {
					q.Rows[j].On.Errors = fm.errs[q.Rows[j].On.Name]
				}
			}
		}
		if o := sections[i].Operators; o != nil {
			for j := range o.Rows {
				set(o.Rows[j].Fields)
			}
		}
	}
	return sections, summary
}

// fieldDetail names the part of a field that a problem is about when the
// form has no field of its own for it ("technology[3]" on the technology
// group: " – 4").
func fieldDetail(l localizer, path, name string) string {
	rest := strings.TrimPrefix(path, name)
	if rest == "" || rest == path {
		return ""
	}
	if strings.HasPrefix(rest, "[") {
		if n, err := strconv.Atoi(strings.Trim(rest, "[]")); err == nil {
			return fmt.Sprintf(" (%d)", n+1)
		}
	}
	return " (" + strings.TrimLeft(rest, ".") + ")"
}

// sensorSections builds the fieldsets of the whole entry. created is the
// creation form's layout (the short path's fields are left to quick).
func (fm *form) sensorSections(f SensorForm, status string, creating bool) []sectionView {
	l := fm.l
	e := f.Entry
	published := catalog.Published(status)
	var out []sectionView

	// Identity.
	var id []fieldView
	if creating {
		id = append(id, fm.field("text", "id", "prov.f.id", help("prov.h.id"), autocmp("off"), func(f *fieldView) { f.Type = "text" }))
	}
	if !creating {
		id = append(id,
			fm.text("text", "name", "prov.f.name", LangFR, publish),
			fm.text("text", "name", "prov.f.name", LangEN, publish, help("prov.h.name.en")))
		if published {
			id = append(id, fm.field("hidden", "category", "prov.f.category"))
		} else {
			var cats []option
			for _, c := range registryapi.Categories {
				cats = append(cats, option{Value: c, Label: l.category(c)})
			}
			id = append(id, fm.selectField("category", "prov.f.category", cats))
		}
		id = append(id, fm.field("text", "site", "prov.f.site", publish, help("prov.h.site"), autocmp("off")))
	}
	id = append(id,
		fm.text("text", "attached_to", "prov.f.attached", LangFR, publish, help("prov.h.attached")),
		fm.text("text", "attached_to", "prov.f.attached", LangEN, publish),
		fm.field("text", "manufacturer", "prov.f.manufacturer"),
		fm.field("text", "model", "prov.f.model"),
		fm.checks("technology", "prov.f.technology", dtpr.Tech, e.Technology, true),
		fm.field("textarea", "tags", "prov.f.tags", help("prov.h.tags"), rows(3)),
	)
	out = append(out, sectionView{ID: "sec-identity", Legend: l.T("prov.s.identity"), Fields: fm.finish(id)})

	// Where.
	var where []fieldView
	if !creating {
		where = append(where, fm.positionFields(e)...)
	}
	where = append(where,
		fm.field("text", "location.neighbourhood", "prov.f.neighbourhood"),
		fm.field("checkbox", "location.indoor", "prov.f.indoor", func(f *fieldView) { f.Checked = e.Location.Indoor }),
		fm.field("textarea", "location.area", "prov.f.area", help("prov.h.area"), rows(3)),
	)
	out = append(out, sectionView{ID: "sec-where", Legend: l.T("prov.s.where"), Fields: fm.finish(where)})

	// What.
	what := sectionView{ID: "sec-what", Legend: l.T("prov.s.what")}
	if !creating {
		what.Quantities = fm.quantities(f.Quantities, false)
	}
	what.Fields = fm.finish([]fieldView{
		fm.checks("data_types", "prov.f.data_types", dtpr.Data, e.DataTypes, true),
		fm.checks("processing", "prov.f.processing", dtpr.Process, e.Processing, true),
	})
	out = append(out, what)

	// Why.
	var purposes []option
	purposes = append(purposes, option{Value: "", Label: l.T("prov.none")})
	cat, _ := dtpr.Device().Category(dtpr.Purpose)
	for _, el := range cat.Elements {
		purposes = append(purposes, option{Value: el.ID, Label: strings.TrimSpace(el.Name.In(l.lang))})
	}
	var why []fieldView
	n := max(catalog.MaxPurposes, len(e.Purposes))
	for i := range n {
		name := fmt.Sprintf("purposes[%d]", i)
		if i < len(e.Purposes) {
			fm.values[name] = e.Purposes[i]
		}
		pf := fm.selectField(name, "prov.f.purpose", slices.Clone(purposes), func(f *fieldView) {
			f.Label = l.T("prov.f.purpose", i+1)
			f.Publish = i == 0
		})
		pf.Label = l.T("prov.f.purpose", i+1)
		fm.labels[name] = pf.Label
		why = append(why, pf)
	}
	why = append(why,
		fm.text("textarea", "description", "prov.f.description", LangFR, publish, rows(4)),
		fm.text("textarea", "description", "prov.f.description", LangEN, publish, rows(4)))
	out = append(out, sectionView{ID: "sec-why", Legend: l.T("prov.s.why"), Help: l.T("prov.s.why.help"), Fields: fm.finish(why)})

	// Who.
	who := []fieldView{
		fm.text("text", "accountable.name", "prov.f.accountable", LangFR, publish),
		fm.text("text", "accountable.name", "prov.f.accountable", LangEN),
		fm.field("text", "accountable.siren", "prov.f.siren", numeric, help("prov.h.siren")),
		fm.field("text", "accountable.url", "prov.f.accountable.url", typ("url"), autocmp("url")),
		fm.field("checkbox", "accountable.public_authority", "prov.f.public_authority", help("prov.h.public_authority"),
			func(f *fieldView) { f.Checked = e.Accountable.PublicAuthority }),
		fm.field("text", "public_contact.email", "prov.f.public_contact.email", typ("email"), publish, help("prov.h.public_contact")),
		fm.field("text", "public_contact.url", "prov.f.public_contact.url", typ("url")),
		fm.field("text", "public_contact.phone", "prov.f.public_contact.phone", typ("tel")),
		fm.field("text", "dpo_contact.email", "prov.f.dpo_contact.email", typ("email"), publish, help("prov.h.dpo_contact")),
		fm.field("text", "dpo_contact.url", "prov.f.dpo_contact.url", typ("url")),
		fm.field("text", "dpo_contact.phone", "prov.f.dpo_contact.phone", typ("tel")),
	}
	out = append(out, sectionView{ID: "sec-who", Legend: l.T("prov.s.who"), Fields: fm.finish(who), Operators: fm.operators(e.Operators, f.ExtraOperators)})

	// Personal data and legal basis.
	var idents []option
	for _, v := range catalog.Identifiabilities() {
		idents = append(idents, option{Value: v, Label: l.T("ident." + v)})
	}
	bases := []option{{Value: "", Label: l.T("prov.basis.none")}}
	for _, b := range catalog.LegalBases() {
		bases = append(bases, option{Value: b, Label: l.T("basis." + b)})
	}
	if !slices.Contains(catalog.Identifiabilities(), e.Identifiability) {
		idents = append([]option{{Value: e.Identifiability, Label: l.T("prov.choose")}}, idents...)
	}
	legal := []fieldView{
		fm.selectField("identifiability", "prov.f.identifiability", idents, publish, help("prov.h.identifiability")),
		fm.text("textarea", "deidentification_method", "prov.f.deid", LangFR, help("prov.h.deid"), rows(2)),
		fm.text("textarea", "deidentification_method", "prov.f.deid", LangEN, rows(2)),
		fm.selectField("legal_basis", "prov.f.legal_basis", bases, help("prov.h.legal_basis")),
		fm.text("textarea", "legal_reference", "prov.f.legal_reference", LangFR, help("prov.h.legal_reference"), rows(2)),
		fm.text("textarea", "legal_reference", "prov.f.legal_reference", LangEN, rows(2)),
		fm.field("text", "privacy_notice_url", "prov.f.privacy_notice", typ("url")),
		fm.field("text", "art30_record", "prov.f.art30"),
		fm.field("text", "dpia_reference", "prov.f.dpia", help("prov.h.dpia")),
	}
	out = append(out, sectionView{ID: "sec-legal", Legend: l.T("prov.s.legal"), Fields: fm.finish(legal)})

	// Data.
	data := []fieldView{
		fm.checks("storage", "prov.f.storage", dtpr.Storage, e.Storage, true),
		fm.text("text", "storage_location", "prov.f.storage_location", LangFR, publish, help("prov.h.storage_location")),
		fm.text("text", "storage_location", "prov.f.storage_location", LangEN, publish),
		fm.field("text", "retention", "prov.f.retention", publish, help("prov.h.retention"), autocmp("off"), func(f *fieldView) {
			if w := l.Duration(f.Value); f.Value != "" && w != f.Value {
				f.Label += " – " + w
			}
		}),
		fm.checks("access", "prov.f.access", dtpr.Access, e.Access, true),
		fm.field("checkbox", "open_data", "prov.f.open_data", func(f *fieldView) { f.Checked = e.OpenData }),
		fm.field("text", "open_data_licence", "prov.f.open_data_licence"),
		fm.field("text", "open_data_url", "prov.f.open_data_url", typ("url")),
	}
	out = append(out, sectionView{ID: "sec-data", Legend: l.T("prov.s.data"), Fields: fm.finish(data)})

	// Lifecycle.
	life := []fieldView{
		fm.field("text", "commissioned_at", "prov.f.commissioned", typ("date"), help("prov.h.commissioned")),
		fm.field("text", "active_until", "prov.f.active_until", typ("date"), help("prov.h.active_until")),
	}
	out = append(out, sectionView{ID: "sec-life", Legend: l.T("prov.s.life"), Fields: fm.finish(life)})
	return out
}

// positionFields are the position's fields: latitude, longitude, the
// "use my position" and map buttons, the address.
func (fm *form) positionFields(e registryapi.Sensor) []fieldView {
	words := fm.l.geoWords()
	geo := fieldView{Kind: "geo", ID: "geo", Geo: &words}
	if e.Location.Lat != 0 || e.Location.Lon != 0 {
		geo.MapURL = MapURL(e.Location.Lat, e.Location.Lon)
	}
	return fm.finish([]fieldView{
		geo,
		fm.field("text", "location.lat", "prov.f.lat", decimal, publish, autocmp("off")),
		fm.field("text", "location.lon", "prov.f.lon", decimal, publish, autocmp("off")),
		fm.field("text", "location.address", "prov.f.address", publish, help("prov.h.address"), autocmp("street-address")),
	})
}

// MapURL is the OpenStreetMap page of a point, to check a position (no
// map library is served yet).
func MapURL(lat, lon float64) string {
	la, lo := strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lon, 'f', -1, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=19/" + la + "/" + lo
}

func (fm *form) quantities(qs []QuantityRow, compact bool) *quantitiesView {
	l := fm.l
	v := &quantitiesView{ID: FieldID("quantities"), Compact: compact, Legend: l.T("prov.s.quantities"),
		Help: l.T("prov.h.quantities"), Add: l.T("prov.q.add")}
	fm.known["quantities"] = true
	fm.labels["quantities"] = l.T("prov.s.quantities")
	for i, q := range qs {
		p := fmt.Sprintf("quantities[%d]", i)
		title := q.Label.In(l.lang)
		if title == "" {
			title = q.Name
		}
		if u := l.Unit(q.Unit); u != "" {
			title += " (" + u + ")"
		}
		legend := l.T("prov.q.row", i+1)
		if title != "" {
			legend += " : " + title
			if l.lang == LangEN {
				legend = l.T("prov.q.row", i+1) + ": " + title
			}
		}
		row := rowView{Legend: legend, Title: title}
		on := fm.field("checkbox", p+".on", "prov.f.q.on", func(f *fieldView) {
			f.Checked = q.Declared
			if compact {
				f.Label = title
			}
		})
		row.On = &on
		sub := func(kind, field, key string, opts ...func(*fieldView)) fieldView {
			f := fm.field(kind, p+"."+field, key, opts...)
			fm.labels[f.Name] = legend + " – " + f.Label
			return f
		}
		row.Fields = fm.finish([]fieldView{
			sub("text", "name", "prov.f.q.name", help("prov.h.q.name"), autocmp("off")),
			sub("text", "unit", "prov.f.q.unit", help("prov.h.q.unit"), autocmp("off")),
			sub("text", "min", "prov.f.q.min", decimal),
			sub("text", "max", "prov.f.q.max", decimal),
			sub("text", "period_s", "prov.f.q.period", numeric, help("prov.h.q.period")),
			sub("select", "aggregation", "prov.f.q.aggregation", help("prov.h.q.aggregation"), func(f *fieldView) {
				f.Options = []option{{Value: "", Label: l.T("prov.q.agg.auto")}}
				for _, a := range registryapi.Aggregations {
					f.Options = append(f.Options, option{Value: a, Label: l.T("prov.q.agg." + a)})
				}
				for i := range f.Options {
					f.Options[i].Selected = f.Options[i].Value == f.Value
				}
			}),
			sub("text", "label.fr", "prov.f.q.label.fr", func(f *fieldView) { f.Lang = LangFR }),
			sub("text", "label.en", "prov.f.q.label.en", func(f *fieldView) { f.Lang = LangEN }),
		})
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (fm *form) operators(ops []registryapi.Organisation, extra int) *rowsView {
	l := fm.l
	v := &rowsView{ID: FieldID("operators"), Legend: l.T("prov.s.operators"), Help: l.T("prov.h.operators"), Add: l.T("prov.o.add")}
	fm.known["operators"] = true
	fm.labels["operators"] = l.T("prov.s.operators")
	for i := range len(ops) + extra {
		p := fmt.Sprintf("operators[%d]", i)
		legend := l.T("prov.o.row", i+1)
		sub := func(kind, field, key string, opts ...func(*fieldView)) fieldView {
			f := fm.field(kind, p+"."+field, key, opts...)
			fm.labels[f.Name] = legend + " – " + f.Label
			return f
		}
		pa := i < len(ops) && ops[i].PublicAuthority
		v.Rows = append(v.Rows, rowView{Legend: legend, Fields: fm.finish([]fieldView{
			sub("text", "name.fr", "prov.f.o.name.fr", func(f *fieldView) { f.Lang = LangFR }),
			sub("text", "name.en", "prov.f.o.name.en", func(f *fieldView) { f.Lang = LangEN }),
			sub("text", "siren", "prov.f.siren", numeric),
			sub("text", "url", "prov.f.accountable.url", typ("url")),
			sub("checkbox", "public_authority", "prov.f.public_authority", func(f *fieldView) { f.Checked = pa }),
		})})
	}
	return v
}

// SensorFormPage is the data of the creation and edit forms.
type SensorFormPage struct {
	// New is the creation form of a draft of Form.Entry.Category; false
	// is the edit form of the entry Form.Entry.ID.
	New  bool
	Form SensorForm
	// Status is the entry's status (edit form): a published entry needs a
	// reason, and keeps its category.
	Status string
	// Prefilled says what was taken from another entry (creation form).
	Prefilled provision.Prefilled
	// Problems are the refusal's problems, in the page's language.
	Problems []registryapi.FieldError
	// Conflict: the entry changed since the form was read (409).
	Conflict bool
}

type sensorFormView struct {
	New              bool
	Action           string
	Title            string
	Intro            string
	Category         string
	Quick            []fieldView
	Quantities       *quantitiesView
	Sections         []sectionView
	Summary          []summaryItem
	Conflict         bool
	ReloadURL        string
	Prefilled        string
	PrefilledFrom    string
	PrefilledFromURL string
	Version          int
	Reason           fieldView
	NeedsReason      bool
	BackURL          string
	ScriptURL        string
	RestOpen         bool // a field of the creation form's disclosure has a problem
}

// geoWords are the messages of provision.js, in the page's language.
type geoWords struct{ Button, Busy, Done, Denied, Unavailable, Timeout, NoSupport, Map string }

func (l localizer) geoWords() geoWords {
	return geoWords{Button: l.T("prov.geo.button"), Busy: l.T("prov.geo.busy"), Done: l.T("prov.geo.done"),
		Denied: l.T("prov.geo.denied"), Unavailable: l.T("prov.geo.unavailable"), Timeout: l.T("prov.geo.timeout"),
		NoSupport: l.T("prov.geo.nosupport"), Map: l.T("prov.geo.map")}
}

// SensorForm renders the creation form of a draft or the edit form of an
// entry.
func (p *Pages) SensorForm(w io.Writer, r Request, d SensorFormPage) error {
	l := p.localizer(r.Lang)
	fm := newForm(l, d.Form)
	e := d.Form.Entry
	v := sensorFormView{New: d.New, Conflict: d.Conflict, Version: d.Form.Version, ScriptURL: ProvisionJSPath,
		Category: l.category(e.Category)}
	base := ""
	if d.New {
		v.Action = l.link(StaffSensorsPath)
		v.Title = l.T("prov.new.title", l.category(e.Category))
		v.Intro = l.T("prov.new.intro")
		v.BackURL = l.link(NewSensorPath)
		fm.values["category"] = e.Category
		var supports []option
		supports = append(supports, option{Value: "", Label: l.T("prov.support.other")})
		for _, k := range SupportKeys {
			supports = append(supports, option{Value: k, Label: l.T("prov.support." + k)})
		}
		fm.values["support"] = d.Form.Support
		quick := []fieldView{
			fm.field("hidden", "category", "prov.f.category"),
			fm.text("text", "name", "prov.f.name", LangFR, publish, help("prov.h.name.fr")),
			fm.text("text", "name", "prov.f.name", LangEN, publish, help("prov.h.name.en")),
			fm.field("text", "site", "prov.f.site", publish, help("prov.h.site"), autocmp("off"), func(f *fieldView) { f.Type = "text" }),
			fm.selectField("support", "prov.f.support", supports, help("prov.h.support")),
		}
		quick = append(quick, fm.positionFields(e)...)
		v.Quick = fm.finish(quick)
		v.Quantities = fm.quantities(d.Form.Quantities, true)
		v.Sections = fm.sensorSections(d.Form, registryapi.StatusDraft, true)
		if d.Prefilled.From != "" {
			var words []string
			for _, f := range d.Prefilled.Fields {
				w, _ := catalog.FieldLabel(l.lang, f)
				words = append(words, w)
			}
			v.Prefilled = strings.Join(words, ", ")
			v.PrefilledFrom = d.Prefilled.From
		}
	} else {
		v.Action = l.link(StaffSensorPath(e.ID))
		base = ""
		name := e.Name.In(l.lang)
		if name == "" {
			name = e.ID
		}
		v.Title = l.T("prov.edit.title", name)
		v.BackURL = l.link(StaffSensorPath(e.ID))
		v.ReloadURL = l.link(StaffSensorPath(e.ID, "edit"))
		v.Sections = fm.sensorSections(d.Form, d.Status, false)
		v.NeedsReason = catalog.Published(d.Status)
	}
	fm.values["reason"] = d.Form.Reason
	v.Reason = fm.field("textarea", "reason", "prov.f.reason", rows(2), func(f *fieldView) {
		f.Must = v.NeedsReason
		f.Max = provision.MaxReason
		if v.NeedsReason {
			f.Help = "\x00prov.h.reason.required"
		} else {
			f.Help = "\x00prov.h.reason.draft"
		}
	})
	v.Reason = fm.finish([]fieldView{v.Reason})[0]

	// Problems, on their fields and in the summary.
	all := append([]sectionView{{Fields: v.Quick, Quantities: v.Quantities}, {Fields: []fieldView{v.Reason}}}, v.Sections...)
	all, v.Summary = fm.attach(all, d.Problems, base)
	v.Quick, v.Quantities, v.Reason, v.Sections = all[0].Fields, all[0].Quantities, all[1].Fields[0], all[2:]
	if v.Quantities != nil {
		for _, r := range v.Quantities.Rows {
			for _, f := range r.Fields {
				v.Quantities.Open = v.Quantities.Open || len(f.Errors) > 0
			}
		}
	}
	for _, s := range v.Sections {
		for _, f := range s.Fields {
			v.RestOpen = v.RestOpen || len(f.Errors) > 0
		}
		if s.Operators != nil {
			for _, r := range s.Operators.Rows {
				for _, f := range r.Fields {
					v.RestOpen = v.RestOpen || len(f.Errors) > 0
				}
			}
		}
	}
	title := v.Title + " – " + l.T("site.title")
	return p.render(w, "provision_form", r, title, v)
}

// StaffSensorsPage is the data of the technicians' work list.
type StaffSensorsPage struct {
	Entries []registryapi.Sensor // every entry, drafts included
	Query   string               // search in ids and names
	Status  string               // "" or a status to keep
}

type staffRow struct {
	ID, Name, URL, Category string
	Status                  statusView
	Updated, UpdatedISO     string
	Place                   string
}

type staffListView struct {
	NewURL, SearchAction string
	Query                string
	Statuses             []option
	Drafts, Others       []staffRow
	Count                string
	Duplicate            []option
	DuplicateAction      string
	Filtered             bool
}

// StaffSensors renders the technicians' work list.
func (p *Pages) StaffSensors(w io.Writer, r Request, d StaffSensorsPage) error {
	l := p.localizer(r.Lang)
	v := staffListView{NewURL: l.link(NewSensorPath), SearchAction: StaffSensorsPath, Query: d.Query,
		DuplicateAction: NewSensorPath, Filtered: d.Query != "" || d.Status != ""}
	v.Statuses = append(v.Statuses, option{Value: "", Label: l.T("prov.list.all"), Selected: d.Status == ""})
	for _, s := range catalog.Statuses() {
		v.Statuses = append(v.Statuses, option{Value: s, Label: l.status(s).Words, Selected: d.Status == s})
	}
	q := strings.ToLower(strings.TrimSpace(d.Query))
	sorted := slices.Clone(d.Entries)
	slices.SortStableFunc(sorted, func(a, b registryapi.Sensor) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	n := 0
	for _, s := range sorted {
		name := s.Name.In(l.lang)
		v.Duplicate = append(v.Duplicate, option{Value: s.ID, Label: s.ID + " – " + name})
		if d.Status != "" && s.Status != d.Status {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(s.ID), q) && !strings.Contains(strings.ToLower(s.Name.FR), q) &&
			!strings.Contains(strings.ToLower(s.Name.EN), q) {
			continue
		}
		if name == "" {
			name = l.T("prov.unnamed")
		}
		row := staffRow{ID: s.ID, Name: name, URL: l.link(StaffSensorPath(s.ID)), Category: l.category(s.Category),
			Status: l.status(s.Status), Updated: l.DateTime(s.UpdatedAt.In(p.loc)), UpdatedISO: s.UpdatedAt.UTC().Format(time.RFC3339),
			Place: s.Location.Address}
		n++
		if s.Status == registryapi.StatusDraft {
			v.Drafts = append(v.Drafts, row)
		} else {
			v.Others = append(v.Others, row)
		}
	}
	slices.SortFunc(v.Duplicate, func(a, b option) int { return strings.Compare(a.Value, b.Value) })
	v.Count = l.T("prov.list.count", n)
	return p.render(w, "provision_list", r, l.T("prov.list.title")+" – "+l.T("site.title"), v)
}

// NewSensorPage is the data of the first step of a new sensor: its
// category, or a similar sensor to copy.
type NewSensorPage struct {
	Entries []registryapi.Sensor // to copy one
}

type categoryChoice struct{ Label, Help, URL, Class string }

type newChooserView struct {
	Categories      []categoryChoice
	Duplicate       []option
	DuplicateAction string
	BackURL         string
}

// NewSensor renders the choice of a new sensor's category.
func (p *Pages) NewSensor(w io.Writer, r Request, d NewSensorPage) error {
	l := p.localizer(r.Lang)
	v := newChooserView{DuplicateAction: NewSensorPath, BackURL: l.link(StaffSensorsPath)}
	for _, c := range registryapi.Categories {
		v.Categories = append(v.Categories, categoryChoice{Label: l.category(c), Help: l.T("prov.cat.help." + c),
			URL: l.linkQ(NewSensorPath, url.Values{"category": {c}}), Class: "cat-" + c})
	}
	for _, s := range d.Entries {
		v.Duplicate = append(v.Duplicate, option{Value: s.ID, Label: s.ID + " – " + s.Name.In(l.lang)})
	}
	return p.render(w, "provision_new", r, l.T("prov.new.choose")+" – "+l.T("site.title"), v)
}

// DuplicatePage is the data of the copy of an entry into a new draft.
type DuplicatePage struct {
	From     registryapi.Sensor
	NewID    string // suggested, or as typed
	Reason   string
	Problems []registryapi.FieldError
}

type duplicateView struct {
	Title, Intro, Action, BackURL string
	ID, Reason                    fieldView
	Summary                       []summaryItem
}

// Duplicate renders the copy of an entry.
func (p *Pages) Duplicate(w io.Writer, r Request, d DuplicatePage) error {
	l := p.localizer(r.Lang)
	fm := &form{l: l, values: map[string]string{"id": d.NewID, "reason": d.Reason}, errs: map[string][]string{}, labels: map[string]string{}, known: map[string]bool{}}
	name := d.From.Name.In(l.lang)
	if name == "" {
		name = d.From.ID
	}
	v := duplicateView{Title: l.T("prov.dup.title", name), Intro: l.T("prov.dup.intro"),
		Action: l.link(StaffSensorPath(d.From.ID, "duplicate")), BackURL: l.link(StaffSensorPath(d.From.ID))}
	fs := fm.finish([]fieldView{
		fm.field("text", "id", "prov.f.newid", help("prov.h.newid"), autocmp("off"), func(f *fieldView) { f.Must = true }),
		fm.field("textarea", "reason", "prov.f.reason", rows(2), help("prov.h.reason.draft")),
	})
	all, summary := fm.attach([]sectionView{{Fields: fs}}, d.Problems, "")
	v.ID, v.Reason, v.Summary = all[0].Fields[0], all[0].Fields[1], summary
	return p.render(w, "provision_duplicate", r, v.Title+" – "+l.T("site.title"), v)
}

// StaffEntryPage is the data of an entry's staff page.
type StaffEntryPage struct {
	Entry provision.Entry
	// Issued is a credential just issued: its password is shown this once.
	Issued *provision.Issued
	// Problems of a refused publication or lifecycle move, in the page's
	// language; Action is the move refused ("publish", or a status).
	Problems []registryapi.FieldError
	Action   string
	Reason   string
	Notice   Notice
	// PublicURL is the entry's stable public URL.
	PublicURL string
}

type missingItem struct{ Text, URL string }

type transitionView struct {
	Status, Label, Help, Button, ReasonID string
	Danger                                bool
	Reason                                fieldView
}

type signLink struct{ Label, URL string }

type historyRow struct {
	Number                       int
	Date, DateISO, Role, Account string
	Reason, Changes              string
}

type staffEntryView struct {
	ID, Name, Category, Site, Attached string
	Status                             statusView
	Version                            int
	Draft, Retired                     bool
	Notice                             *noticeView
	Summary                            []summaryItem
	ProblemTitle                       string
	Missing                            []missingItem
	Ready                              bool
	EditURL, DuplicateURL, ListURL     string
	Address, Position, MapURL          string
	Quantities                         []string
	Ident                              identView
	Retention                          string
	PublicURL                          string
	Published                          bool

	Issued           *provision.Issued
	IssuedAt         string
	CredentialState  string
	CredentialListed string
	HasCredential    bool
	CredentialAction string

	Signs []signLink

	PublishAction string
	PublishReason fieldView
	StatusAction  string
	Transitions   []transitionView
	History       []historyRow
	Bridges       string
}

// StaffEntry renders an entry's staff page.
func (p *Pages) StaffEntry(w io.Writer, r Request, d StaffEntryPage) error {
	l := p.localizer(r.Lang)
	e := d.Entry.Sensor
	name := e.Name.In(l.lang)
	if name == "" {
		name = e.ID
	}
	v := staffEntryView{
		ID: e.ID, Name: name, Category: l.category(e.Category), Site: e.Site, Attached: e.AttachedTo.In(l.lang),
		Status: l.status(e.Status), Version: e.Version, Draft: e.Status == registryapi.StatusDraft,
		Retired: e.Status == registryapi.StatusRetired, Notice: l.notice(d.Notice),
		EditURL: l.link(StaffSensorPath(e.ID, "edit")), DuplicateURL: l.linkQ(NewSensorPath, url.Values{"from": {e.ID}}),
		ListURL: l.link(StaffSensorsPath), Address: e.Location.Address, Ident: l.ident(e.Identifiability),
		Retention: l.Duration(e.Retention), Published: catalog.Published(e.Status),
		Issued: d.Issued, CredentialAction: l.link(StaffSensorPath(e.ID, "credentials")),
		PublishAction: l.link(StaffSensorPath(e.ID, "publish")), StatusAction: l.link(StaffSensorPath(e.ID, "status")),
		Bridges: strings.Join(d.Entry.Bridges, ", "),
	}
	if v.Published {
		v.PublicURL = d.PublicURL
	}
	if e.Location.Lat != 0 || e.Location.Lon != 0 {
		v.Position = l.Coordinate(e.Location.Lat) + " ; " + l.Coordinate(e.Location.Lon)
		if l.lang == LangEN {
			v.Position = l.Coordinate(e.Location.Lat) + ", " + l.Coordinate(e.Location.Lon)
		}
		v.MapURL = MapURL(e.Location.Lat, e.Location.Lon)
	}
	for _, q := range e.Quantities {
		s := q.Label.In(l.lang)
		if u := l.Unit(q.Unit); u != "" {
			s += " (" + u + ")"
		}
		v.Quantities = append(v.Quantities, s)
	}

	// What publication would refuse, each linking to its field of the
	// edit form.
	edit := newForm(l, SensorForm{Entry: e, Quantities: QuantityRows(e.Quantities)})
	edit.sensorSections(SensorForm{Entry: e, Quantities: QuantityRows(e.Quantities)}, e.Status, false)
	edit.field("textarea", "reason", "prov.f.reason")
	for _, m := range d.Entry.Missing {
		item := missingItem{Text: m.Message}
		if name := edit.resolve(m.Field); name != "" {
			item.URL = l.link(StaffSensorPath(e.ID, "edit")) + "#" + FieldID(name)
			item.Text = edit.labels[name] + fieldDetail(l, m.Field, name) + sep(l) + m.Message
		} else if label, ok := catalog.FieldLabel(l.lang, m.Field); ok {
			item.Text = label + sep(l) + m.Message
		}
		v.Missing = append(v.Missing, item)
	}
	v.Ready = len(d.Entry.Missing) == 0

	// A refused action: every problem, linking to its field.
	for _, pr := range d.Problems {
		item := summaryItem{Text: pr.Message}
		if pr.Field == "reason" {
			item.Href = "#" + FieldID("reason-"+d.Action)
			item.Text = l.T("prov.f.reason") + sep(l) + pr.Message
		} else if name := edit.resolve(pr.Field); name != "" {
			item.Href = l.link(StaffSensorPath(e.ID, "edit")) + "#" + FieldID(name)
			item.Text = edit.labels[name] + fieldDetail(l, pr.Field, name) + sep(l) + pr.Message
		} else if label, ok := catalog.FieldLabel(l.lang, pr.Field); ok {
			item.Text = label + sep(l) + pr.Message
		}
		v.Summary = append(v.Summary, item)
	}
	if len(d.Problems) > 0 {
		v.ProblemTitle = l.T("prov.refused." + actionKey(d.Action))
	}

	// Credentials.
	if c := d.Entry.Credential; c != nil && c.RevokedAt == nil {
		v.HasCredential = true
		at := c.CreatedAt
		if c.RotatedAt != nil {
			at = *c.RotatedAt
		}
		v.IssuedAt = l.DateTime(at.In(p.loc))
		v.CredentialState = l.T("prov.cred.issued", v.IssuedAt, c.IssuedBy)
		if c.Listed {
			v.CredentialListed = l.T("prov.cred.listed")
		} else {
			v.CredentialListed = l.T("prov.cred.notlisted")
		}
	}
	for _, size := range []string{"a5", "a6"} {
		for _, ext := range []string{"pdf", "svg"} {
			v.Signs = append(v.Signs, signLink{Label: l.T("prov.sign."+ext, strings.ToUpper(size)),
				URL: StaffSensorPath(e.ID, "sign."+ext) + "?size=" + size})
		}
	}

	// Publication and lifecycle.
	reasonFor := func(action string, must bool) fieldView {
		f := fieldView{Kind: "textarea", Name: "reason", ID: FieldID("reason-" + action), Label: l.T("prov.f.reason"), Rows: 2,
			Must: must, Max: provision.MaxReason}
		if d.Action == action {
			f.Value = d.Reason
			for _, pr := range d.Problems {
				if pr.Field == "reason" {
					f.Errors = append(f.Errors, pr.Message)
				}
			}
		}
		if must {
			f.Help = l.T("prov.h.reason.required")
		} else {
			f.Help = l.T("prov.h.reason.publish")
		}
		return f
	}
	if v.Draft {
		v.PublishReason = reasonFor("publish", false)
	}
	for _, to := range d.Entry.Transitions {
		if v.Draft && to == registryapi.StatusActive {
			continue // the publish form
		}
		v.Transitions = append(v.Transitions, transitionView{Status: to, Label: l.T("prov.move." + to), Help: l.T("prov.move.help." + to),
			Button: l.T("prov.move.button." + to), Danger: to == registryapi.StatusRetired, Reason: reasonFor(to, true)})
	}

	// History, newest first, with the accounts (staff only).
	for i := len(d.Entry.History) - 1; i >= 0; i-- {
		h := d.Entry.History[i]
		role := h.Role
		if l.has("rolename." + role) {
			role = l.T("rolename." + role)
		}
		prev := ""
		if i > 0 {
			prev = d.Entry.History[i-1].Status
		}
		changes := l.T("entry.history.created")
		if len(h.Changes) > 0 {
			changes = l.changes(strings.Join(h.Changes, ", "), prev, h.Status)
		}
		v.History = append(v.History, historyRow{Number: h.Version, Date: l.DateTime(h.ChangedAt.In(p.loc)),
			DateISO: h.ChangedAt.UTC().Format(time.RFC3339), Role: role, Account: h.Actor, Reason: h.Reason, Changes: changes})
	}
	title := name + " – " + l.T("prov.list.title")
	if d.Issued != nil {
		title = l.T("prov.cred.title") + " – " + name
	}
	return p.render(w, "provision_entry", r, title, v)
}

// actionKey names a refused action for its message: publish, or a move.
func actionKey(a string) string {
	switch a {
	case "publish", registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired:
		return a
	}
	return "update"
}

func sep(l localizer) string {
	if l.lang == LangEN {
		return ": "
	}
	return " : "
}
