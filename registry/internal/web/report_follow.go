package web

import (
	"io"
	"slices"
)

// ReportNumberExample shows the form of a report's number.
const ReportNumberExample = "2026-000042"

// ReportFollowPage is the data of the page where one follows a report by
// its number (GET /reports?number=…).
type ReportFollowPage struct {
	Number string
	// Error is the catalogue key of what is wrong with Number, or "".
	Error string
}

type reportFollowView struct {
	Action, Number, Error, Example, FormURL string
}

// ReportFollow renders the form that finds a report by its number.
func (p *Pages) ReportFollow(w io.Writer, r Request, d ReportFollowPage) error {
	l := p.localizer(r.Lang)
	v := reportFollowView{Action: ReportsPath, Number: d.Number, Example: ReportNumberExample, FormURL: l.link(NewReportPath)}
	if d.Error != "" {
		v.Error = l.T(d.Error, ReportNumberExample)
	}
	return p.render(w, "report_follow", r, l.T("report.follow.title")+" – "+l.T("site.title"), v)
}

// reportSummaryFields are the report form's fields in page order, with the
// id of the control an error links to ("" for the kind: its first radio).
var reportSummaryFields = []struct{ Field, Label, ID string }{
	{"kind", "report.kind", ""},
	{"sensor_id", "report.sensor", "rep-sensor"},
	{"location", "report.location", "rep-location"},
	{"message", "report.message", "rep-message"},
	{"email", "report.email", "rep-email"},
}

// reportSummary lists the form's errors in page order, each linking to
// its field.
func (l localizer) reportSummary(errs map[string]string, firstKind string) []summaryItem {
	var out []summaryItem
	for _, f := range reportSummaryFields {
		msg, ok := errs[f.Field]
		if !ok {
			continue
		}
		id := f.ID
		if id == "" {
			id = "rep-kind-" + firstKind
		}
		out = append(out, summaryItem{Text: l.T(f.Label) + l.T("report.summary.sep") + msg, Href: "#" + id})
	}
	var other []string // fields the form does not show
	for field, msg := range errs {
		if !slices.ContainsFunc(reportSummaryFields, func(f struct{ Field, Label, ID string }) bool { return f.Field == field }) {
			other = append(other, msg)
		}
	}
	slices.Sort(other)
	for _, msg := range other {
		out = append(out, summaryItem{Text: msg})
	}
	return out
}
