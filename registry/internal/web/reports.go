package web

import (
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/internal/reports"
	"github.com/civisens/civisens/registry/registryapi"
)

// Paths of citizens' reports (package httpapi serves them).
const (
	// ReportsPath takes the report form's POST; /reports/{number} is a
	// report's public page.
	ReportsPath = "/reports"
	// NewReportPath is the report form; ?sensor=<id> preselects an entry,
	// ?kind=<kind> a kind.
	NewReportPath = "/reports/new"
	// AdminReportsPath lists the reports for administrators;
	// /admin/reports/{number} is one report, and its answer form.
	AdminReportsPath = "/admin/reports"
)

// HoneypotField is the report form's field that people leave empty: it is
// visually hidden, labelled "leave this field empty", and out of the tab
// order. A filing that fills it is answered as usual and dropped.
const HoneypotField = "website"

// ReportPath is the public page of the report number.
func ReportPath(number string) string { return ReportsPath + "/" + url.PathEscape(number) }

// AdminReportPath is the administrators' page of the report number.
func AdminReportPath(number string) string { return AdminReportsPath + "/" + url.PathEscape(number) }

// NewReportURL is the report form with a kind and an entry preselected
// (either may be empty), in lang.
func NewReportURL(kind, sensorID, lang string) string {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", kind)
	}
	if sensorID != "" {
		q.Set("sensor", sensorID)
	}
	q.Set("lang", lang)
	return NewReportPath + "?" + q.Encode()
}

// SensorChoice is a published entry that a report may name.
type SensorChoice struct {
	ID   string
	Name registryapi.Text
}

// ReportForm is what the report form holds.
type ReportForm struct {
	Kind, SensorID, Location, Message, Email string
}

// ReportFormPage is the data of the report form.
type ReportFormPage struct {
	Sensors []SensorChoice // the published entries, in any order
	Form    ReportForm
	Errors  []FieldError
	Notice  Notice
}

type kindOption struct {
	Value, Label, Help string
	Checked            bool
}

type reportFormView struct {
	Action      string
	Kinds       []kindOption
	Sensors     []option
	Form        ReportForm
	Errs        map[string]string
	Summary     []summaryItem // the errors, linking to their fields (report_follow.go)
	FollowURL   string        // the form that finds a report by its number
	Notice      *noticeView
	Honeypot    string
	MaxMessage  int
	MaxLocation int
}

// ReportFormPage renders the public report form.
func (p *Pages) ReportForm(w io.Writer, r Request, d ReportFormPage) error {
	l := p.localizer(r.Lang)
	v := reportFormView{
		Action:      l.link(ReportsPath),
		Form:        d.Form,
		Errs:        l.fieldErrors(d.Errors),
		Notice:      l.notice(d.Notice),
		Honeypot:    HoneypotField,
		MaxMessage:  reports.MaxMessage,
		MaxLocation: reports.MaxLocation,
	}
	for _, k := range registryapi.ReportKinds {
		v.Kinds = append(v.Kinds, kindOption{Value: k, Label: l.T("report.kind." + k), Help: l.T("report.kindx." + k), Checked: k == d.Form.Kind})
	}
	v.Summary = l.reportSummary(v.Errs, registryapi.ReportKinds[0])
	v.FollowURL = l.link(ReportsPath)
	sensors := slices.Clone(d.Sensors)
	slices.SortFunc(sensors, func(a, b SensorChoice) int { return strings.Compare(a.Name.In(l.lang), b.Name.In(l.lang)) })
	for _, s := range sensors {
		v.Sensors = append(v.Sensors, option{Value: s.ID, Label: s.Name.In(l.lang) + " (" + s.ID + ")", Selected: s.ID == d.Form.SensorID})
	}
	return p.render(w, "report_new", r, l.T("report.new.title")+" – "+l.T("site.title"), v)
}

type thanksView struct {
	Number, URL string
	Email       bool
}

// ReportThanks renders the answer to a filed report: its number, and where
// to follow it. email says whether the sender gave an address.
func (p *Pages) ReportThanks(w io.Writer, r Request, number string, email bool) error {
	l := p.localizer(r.Lang)
	return p.render(w, "report_thanks", r, l.T("report.thanks.title")+" – "+l.T("site.title"),
		thanksView{Number: number, URL: l.link(ReportPath(number)), Email: email})
}

// ReportNotFound renders the page of a report number that no report has.
func (p *Pages) ReportNotFound(w io.Writer, r Request) error {
	l := p.localizer(r.Lang)
	return p.render(w, "report_notfound", r, l.T("report.notfound.title")+" – "+l.T("site.title"), l.link(NewReportPath))
}

// ReportPage is the data of a report's public page.
type ReportPage struct {
	Report registryapi.Report
	// SensorName is the name of the entry concerned, when it is published.
	SensorName *registryapi.Text
}

type eventRow struct {
	Date, DateISO, Status, Role, Actor, Note string
}

type reportView struct {
	Number            string
	Kind              string
	Status            statusView
	SensorID          string
	SensorName        string
	SensorURL         string
	Filed, FiledISO   string
	Updated, UpdISO   string
	Answer            string
	History           []eventRow
	JSONURL, FormURL  string
	AdminURL, PageURL string
}

func (l localizer) reportStatus(s string) statusView {
	return statusView{Class: "report-" + s, Words: l.T("report.status." + s)}
}

func (l localizer) reportRole(role string) string {
	if l.has("role." + role) {
		return l.T("role." + role)
	}
	return role
}

func (l localizer) report(rep registryapi.Report, name *registryapi.Text, loc *time.Location) reportView {
	v := reportView{
		Number:   rep.Number,
		Kind:     l.T("report.kind." + rep.Kind),
		Status:   l.reportStatus(rep.Status),
		SensorID: rep.SensorID,
		Filed:    l.DateTime(rep.CreatedAt.In(loc)),
		FiledISO: rep.CreatedAt.UTC().Format(time.RFC3339),
		Updated:  l.DateTime(rep.UpdatedAt.In(loc)),
		UpdISO:   rep.UpdatedAt.UTC().Format(time.RFC3339),
		Answer:   rep.PublicAnswer,
		JSONURL:  registryapi.PathReports + "/" + url.PathEscape(rep.Number),
		FormURL:  l.link(NewReportPath),
		AdminURL: l.link(AdminReportPath(rep.Number)),
		PageURL:  l.link(ReportPath(rep.Number)),
	}
	if name != nil {
		v.SensorName = name.In(l.lang)
		v.SensorURL = l.link(SensorPath(rep.SensorID))
	}
	for _, e := range rep.History {
		v.History = append(v.History, eventRow{
			Date:    l.DateTime(e.At.In(loc)),
			DateISO: e.At.UTC().Format(time.RFC3339),
			Status:  l.T("report.status." + e.Status),
			Role:    l.reportRole(e.Role),
			Note:    e.Note,
		})
	}
	return v
}

// Report renders a report's public page: its status, the public answer and
// the history, by role.
func (p *Pages) Report(w io.Writer, r Request, d ReportPage) error {
	l := p.localizer(r.Lang)
	return p.render(w, "report", r, l.T("report.title", d.Report.Number)+" – "+l.T("site.title"), l.report(d.Report, d.SensorName, p.loc))
}

// ReportFilter is the filter of the administrators' list of reports.
type ReportFilter struct{ Status, Kind string }

// AdminReportsPage is the data of the administrators' list of reports.
type AdminReportsPage struct {
	Reports []registryapi.StaffReport
	Filter  ReportFilter
	Counts  map[string]int // reports by status, over all of them
}

type adminReportRow struct {
	Number, URL       string
	Filed, FiledISO   string
	Kind              string
	Status            statusView
	SensorID, Excerpt string
	Email             bool
}

type countItem struct {
	Label string
	N     int
	URL   string
}

type adminReportsView struct {
	Action   string
	Statuses []option
	Kinds    []option
	Lang     string
	Counts   []countItem
	Rows     []adminReportRow
	Filtered bool
}

// excerpt returns the first n characters of s, on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// AdminReports renders the administrators' list of reports.
func (p *Pages) AdminReports(w io.Writer, r Request, d AdminReportsPage) error {
	l := p.localizer(r.Lang)
	v := adminReportsView{Action: AdminReportsPath, Lang: l.lang, Filtered: d.Filter != ReportFilter{}}
	v.Statuses = append(v.Statuses, option{Value: "", Label: l.T("reports.all"), Selected: d.Filter.Status == ""})
	for _, s := range registryapi.ReportStatuses {
		v.Statuses = append(v.Statuses, option{Value: s, Label: l.T("report.status." + s), Selected: s == d.Filter.Status})
		v.Counts = append(v.Counts, countItem{Label: l.T("report.status." + s), N: d.Counts[s],
			URL: AdminReportsPath + "?status=" + s + "&lang=" + l.lang})
	}
	v.Kinds = append(v.Kinds, option{Value: "", Label: l.T("reports.all"), Selected: d.Filter.Kind == ""})
	for _, k := range registryapi.ReportKinds {
		v.Kinds = append(v.Kinds, option{Value: k, Label: l.T("report.kind." + k), Selected: k == d.Filter.Kind})
	}
	for _, rep := range d.Reports {
		v.Rows = append(v.Rows, adminReportRow{
			Number:   rep.Number,
			URL:      l.link(AdminReportPath(rep.Number)),
			Filed:    l.DateTime(rep.CreatedAt.In(p.loc)),
			FiledISO: rep.CreatedAt.UTC().Format(time.RFC3339),
			Kind:     l.T("report.kind." + rep.Kind),
			Status:   l.reportStatus(rep.Status),
			SensorID: rep.SensorID,
			Excerpt:  excerpt(rep.Message, 80),
			Email:    rep.SenderEmail != "",
		})
	}
	return p.render(w, "admin_reports", r, l.T("reports.title")+" – "+l.T("site.title"), v)
}

// ReportAnswer is what the answer form holds.
type ReportAnswer struct{ Status, Answer, Note string }

// AdminReportPage is the data of the administrators' page of one report.
type AdminReportPage struct {
	Report     registryapi.StaffReport
	SensorName *registryapi.Text
	Form       ReportAnswer
	Errors     []FieldError
	Notice     Notice
}

type adminReportView struct {
	reportView
	Location  string
	Position  string
	MapURL    string
	Message   string
	Email     string
	Lang      string
	Action    string
	Statuses  []option
	Form      ReportAnswer
	Errs      map[string]string
	Notice    *noticeView
	MaxAnswer int
	MaxNote   int
	ListURL   string
}

// AdminReport renders the administrators' page of one report: everything
// the sender wrote, the private e-mail address, and the answer form.
func (p *Pages) AdminReport(w io.Writer, r Request, d AdminReportPage) error {
	l := p.localizer(r.Lang)
	s := d.Report
	pub := registryapi.Report{Number: s.Number, Kind: s.Kind, SensorID: s.SensorID, Status: s.Status,
		PublicAnswer: s.PublicAnswer, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	v := adminReportView{
		reportView: l.report(pub, d.SensorName, p.loc),
		Location:   s.Location,
		Message:    s.Message,
		Email:      s.SenderEmail,
		Lang:       s.Lang,
		Action:     l.link(AdminReportPath(s.Number)),
		Form:       d.Form,
		Errs:       l.fieldErrors(d.Errors),
		Notice:     l.notice(d.Notice),
		MaxAnswer:  reports.MaxAnswer,
		MaxNote:    reports.MaxNote,
		ListURL:    l.link(AdminReportsPath),
	}
	if d.SensorName == nil && s.SensorID != "" {
		v.SensorName = s.SensorID
	}
	if s.Lat != nil && s.Lon != nil {
		v.Position = l.Coordinate(*s.Lat) + " ; " + l.Coordinate(*s.Lon)
		if l.lang == LangEN {
			v.Position = l.Coordinate(*s.Lat) + ", " + l.Coordinate(*s.Lon)
		}
		lat, lon := strconv.FormatFloat(*s.Lat, 'f', -1, 64), strconv.FormatFloat(*s.Lon, 'f', -1, 64)
		v.MapURL = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=18/" + lat + "/" + lon
	}
	v.History = nil
	for _, e := range s.History {
		v.History = append(v.History, eventRow{
			Date:    l.DateTime(e.At.In(p.loc)),
			DateISO: e.At.UTC().Format(time.RFC3339),
			Status:  l.T("report.status." + e.Status),
			Role:    l.reportRole(e.Role),
			Actor:   e.Actor,
			Note:    e.Note,
		})
	}
	for _, st := range registryapi.ReportStatuses[1:] { // received is only the first status
		sel := st == d.Form.Status
		v.Statuses = append(v.Statuses, option{Value: st, Label: l.T("report.status." + st), Selected: sel})
	}
	return p.render(w, "admin_report", r, l.T("report.title", s.Number)+" – "+l.T("site.title"), v)
}
