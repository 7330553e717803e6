package web

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

// The views below hold the strings a template shows, already in the page's
// language, so that the templates only lay them out.

type labelled struct {
	Label       string
	Description template.HTML
}

// dtprLabels returns the labels (and descriptions) of DTPR element ids.
func (l localizer) dtprLabels(category string, ids []string) []labelled {
	v := dtpr.Device()
	out := make([]labelled, 0, len(ids))
	for _, id := range ids {
		out = append(out, labelled{
			Label:       strings.TrimSpace(v.Name(category, id, l.lang, nil)),
			Description: richText(v.Description(category, id, l.lang, nil)),
		})
	}
	return out
}

type identView struct {
	Class       string // CSS class, one per identifiability value
	Words       string
	Explanation string
}

func (l localizer) ident(id string) identView {
	if !l.has("ident." + id) {
		return identView{Class: "ident-unknown", Words: id}
	}
	return identView{Class: "ident-" + id, Words: l.T("ident." + id), Explanation: l.T("identx." + id)}
}

type statusView struct{ Class, Words string }

func (l localizer) status(s string) statusView {
	if !l.has("status." + s) {
		return statusView{Class: "status-unknown", Words: s}
	}
	return statusView{Class: "status-" + s, Words: l.T("status." + s)}
}

func (l localizer) category(c string) string {
	if !l.has("category." + c) {
		return c
	}
	return l.T("category." + c)
}

// link adds the page's language to an internal path, so that a chosen
// language sticks while browsing.
func (l localizer) link(path string) string {
	return path + "?lang=" + l.lang
}

// SensorPath is the path of an entry's public page.
func SensorPath(id string) string { return "/sensors/" + url.PathEscape(id) }

type quantityRow struct {
	Label, Name, Unit, Range, Period string
}

type orgView struct{ Name, URL string }

type contactView struct {
	Email, URL, Phone string
}

type readingRow struct {
	Label, Value, Unit, Time, TimeISO string
}

type versionRow struct {
	Number              int
	Date, DateISO, Role string
	Reason, Changes     string
}

type entryView struct {
	ID, Name, Category, Description string
	Status                          statusView
	Commissioned, Decommissioned    string
	ActiveUntil                     string // "en service jusqu'au", when planned
	Version                         int
	Updated                         string

	Quantities []quantityRow
	DataTypes  []labelled
	Processing []labelled

	Purposes []labelled

	Accountable orgView
	Operators   []orgView
	Contact     contactView
	DPO         contactView

	Ident      identView
	DeidMethod string

	Personal     bool
	Basis        string
	BasisExplain string
	Reference    string
	PrivacyURL   string
	Art30        string
	DPIA         string

	Storage         []labelled
	StorageLocation string
	Retention       string   // "5 ans"
	RetentionDTPR   labelled // "Retenu 5 ans"
	RetentionISO    string
	Access          []labelled
	OpenData        bool
	OpenDataText    string
	OpenDataURL     string

	Address, AttachedTo, Neighbourhood string
	Position, MapURL, Indoor           string
	AreaPoints                         int

	Technology   []labelled
	Manufacturer string
	Model        string

	Readings    ReadingsState
	ReadingRows []readingRow
	Recent      *recentView    // chart and table (entryview.go); nil: none
	Downloads   []opendataLink // open-data files (entryview.go)
	History     []versionRow
	JSONURL     string
	Signs       []signLinks
	// ReportURL and QuestionURL open the report form about this entry.
	ReportURL, QuestionURL string
}

// signLinks are the links to an entry's printable sign in one size.
type signLinks struct{ Label, PDF, SVG string }

// ReadingsState says what the latest-readings section shows.
type ReadingsState int

const (
	// ReadingsClosed: the sensor is not open data; no readings are shown.
	ReadingsClosed ReadingsState = iota
	// ReadingsShown: the latest readings are in Entry.Readings.
	ReadingsShown
	// ReadingsNone: InfluxDB answered, with nothing in the last seven days.
	ReadingsNone
	// ReadingsUnavailable: InfluxDB could not be read.
	ReadingsUnavailable
)

// Reading is the latest value of one quantity.
type Reading struct {
	Quantity string
	Value    float64
	Time     time.Time
}

// Version is one version of an entry, as the public sees it: a role, never
// a name.
type Version struct {
	Number    int
	ChangedAt time.Time
	ActorRole string
	Reason    string
	Summary   string // "created" or the changed JSON fields, ", "-separated
	Status    string // the entry's status after this version
}

// Entry is what an entry page shows.
type Entry struct {
	Sensor   registryapi.Sensor
	Versions []Version
	Readings []Reading
	State    ReadingsState
	Recent   *Recent // the last hours' averages, for the chart (entryview.go)
}

func (l localizer) entry(e Entry, loc *time.Location) entryView {
	s := e.Sensor
	v := entryView{
		ID:          s.ID,
		Name:        s.Name.In(l.lang),
		Category:    l.category(s.Category),
		Description: s.Description.In(l.lang),
		Status:      l.status(s.Status),
		Version:     s.Version,
		Updated:     l.Date(s.UpdatedAt.In(loc)),
		DataTypes:   l.dtprLabels(dtpr.Data, s.DataTypes),
		Processing:  l.dtprLabels(dtpr.Process, s.Processing),
		Purposes:    l.dtprLabels(dtpr.Purpose, s.Purposes),
		Accountable: orgView{Name: s.Accountable.Name.In(l.lang), URL: s.Accountable.URL},
		Contact:     contactView(s.PublicContact),
		DPO:         contactView(s.DPOContact),
		Ident:       l.ident(s.Identifiability),
		DeidMethod:  s.DeidentificationMethod.In(l.lang),
		Personal:    s.Identifiability != registryapi.NoPersonalData,
		Reference:   s.LegalReference.In(l.lang),
		PrivacyURL:  s.PrivacyNoticeURL,
		Art30:       s.Art30Record,
		DPIA:        s.DPIAReference,

		Storage:         l.dtprLabels(dtpr.Storage, s.Storage),
		StorageLocation: s.StorageLocation.In(l.lang),
		Retention:       l.Duration(s.Retention),
		RetentionISO:    s.Retention,
		Access:          l.dtprLabels(dtpr.Access, s.Access),
		OpenData:        s.OpenData,
		OpenDataURL:     s.OpenDataURL,

		Address:       s.Location.Address,
		AttachedTo:    s.AttachedTo.In(l.lang),
		Neighbourhood: s.Location.Neighbourhood,
		AreaPoints:    len(s.Location.Area),

		Technology:   l.dtprLabels(dtpr.Tech, s.Technology),
		Manufacturer: s.Manufacturer,
		Model:        s.Model,

		Readings: e.State,
		JSONURL:  registryapi.PathSensors + "/" + url.PathEscape(s.ID),
	}
	for _, size := range []string{"a5", "a6"} {
		v.Signs = append(v.Signs, signLinks{Label: l.T("entry.sign." + size), PDF: SignPath(s.ID, "pdf", size), SVG: SignPath(s.ID, "svg", size)})
	}
	if s.CommissionedAt != nil {
		v.Commissioned = l.Date(s.CommissionedAt.In(loc))
	}
	if s.DecommissionedAt != nil {
		v.Decommissioned = l.Date(s.DecommissionedAt.In(loc))
	}
	if s.ActiveUntil != nil {
		v.ActiveUntil = l.Date(s.ActiveUntil.In(loc))
	}
	v.ReportURL = NewReportURL(registryapi.ReportWrongInformation, s.ID, l.lang)
	v.QuestionURL = NewReportURL(registryapi.ReportQuestion, s.ID, l.lang)
	for _, q := range s.Quantities {
		unit := l.Unit(q.Unit)
		if unit == "" {
			unit = l.T("unit.none")
		}
		v.Quantities = append(v.Quantities, quantityRow{
			Label:  q.Label.In(l.lang),
			Name:   q.Name,
			Unit:   unit,
			Range:  l.Range(q.Min, q.Max, q.Unit),
			Period: l.Period(q.PeriodSeconds),
		})
	}
	for _, o := range s.Operators {
		v.Operators = append(v.Operators, orgView{Name: o.Name.In(l.lang), URL: o.URL})
	}
	if s.LegalBasis != "" && l.has("basis."+s.LegalBasis) {
		v.Basis = l.T("basis." + s.LegalBasis)
		v.BasisExplain = l.T("basisx." + s.LegalBasis)
	} else {
		v.Basis = s.LegalBasis
	}
	if s.Retention != "" {
		vars := map[string]string{"duration": v.Retention}
		v.RetentionDTPR = labelled{
			Label:       strings.TrimSpace(dtpr.Device().Name(dtpr.Retention, dtpr.DataRetained, l.lang, vars)),
			Description: richText(dtpr.Device().Description(dtpr.Retention, dtpr.DataRetained, l.lang, vars)),
		}
	}
	if s.OpenData {
		v.OpenDataText = l.T("entry.opendata.yes", s.OpenDataLicence)
	}
	if s.Location.Lat != 0 || s.Location.Lon != 0 {
		v.Position = l.Coordinate(s.Location.Lat) + " ; " + l.Coordinate(s.Location.Lon)
		if l.lang == LangEN {
			v.Position = l.Coordinate(s.Location.Lat) + ", " + l.Coordinate(s.Location.Lon)
		}
		lat := strconv.FormatFloat(s.Location.Lat, 'f', -1, 64)
		lon := strconv.FormatFloat(s.Location.Lon, 'f', -1, 64)
		v.MapURL = fmt.Sprintf("https://www.openstreetmap.org/?mlat=%s&mlon=%s#map=18/%s/%s", lat, lon, lat, lon)
	}
	if s.Location.Indoor {
		v.Indoor = l.T("entry.indoor.yes")
	} else {
		v.Indoor = l.T("entry.indoor.no")
	}

	// Readings, in the order the entry declares its quantities.
	if e.State == ReadingsShown {
		for _, q := range s.Quantities {
			i := slices.IndexFunc(e.Readings, func(r Reading) bool { return r.Quantity == q.Name })
			if i < 0 {
				continue
			}
			r := e.Readings[i]
			unit := l.Unit(q.Unit)
			if unit == "" {
				unit = l.T("unit.none")
			}
			v.ReadingRows = append(v.ReadingRows, readingRow{
				Label:   q.Label.In(l.lang),
				Value:   l.Number(r.Value),
				Unit:    unit,
				Time:    l.DateTime(r.Time.In(loc)),
				TimeISO: r.Time.UTC().Format(time.RFC3339),
			})
		}
		if len(v.ReadingRows) == 0 {
			v.Readings = ReadingsNone
		}
	}

	v.Recent = l.recent(e, loc) // entryview.go
	v.Downloads = l.opendataLinks(s.ID)

	// History, newest first.
	for i := len(e.Versions) - 1; i >= 0; i-- {
		ver := e.Versions[i]
		role := ver.ActorRole
		if l.has("role." + role) {
			role = l.T("role." + role)
		}
		v.History = append(v.History, versionRow{
			Number:  ver.Number,
			Date:    l.DateTime(ver.ChangedAt.In(loc)),
			DateISO: ver.ChangedAt.UTC().Format(time.RFC3339),
			Role:    role,
			Reason:  ver.Reason,
			Changes: l.changes(ver.Summary, previousStatus(e.Versions, i), ver.Status),
		})
	}
	return v
}

// ReadingsShown, ReadingsNone and ReadingsDown tell the template which
// latest-readings message to show.
func (v entryView) ReadingsShown() bool { return v.Readings == ReadingsShown }
func (v entryView) ReadingsNone() bool  { return v.Readings == ReadingsNone }
func (v entryView) ReadingsDown() bool  { return v.Readings == ReadingsUnavailable }

// contactData is the data of the "contact" template.
type contactData struct {
	L localizer
	C contactView
}

// changes says a version's summary in words: the changed fields, by
// catalog's fr/en names, and a change of status from → to as such
// ("statut (Brouillon → En service)").
func (l localizer) changes(summary, from, to string) string {
	if summary == "created" {
		return l.T("entry.history.created")
	}
	var words []string
	for _, f := range strings.Split(summary, ", ") {
		if f == "" {
			continue
		}
		w, _ := catalog.FieldLabel(l.lang, f)
		if f == "status" && from != "" && to != "" && from != to {
			w = fmt.Sprintf("%s (%s → %s)", w, l.status(from).Words, l.status(to).Words)
		}
		words = append(words, w)
	}
	return l.T("entry.history.changed", strings.Join(words, ", "))
}

// previousStatus is the status of the version before versions[i], or "".
func previousStatus(versions []Version, i int) string {
	if i == 0 {
		return ""
	}
	return versions[i-1].Status
}
