package web

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/quality"
)

// QualityPath is the register's quality page, for staff (package httpapi
// serves it).
const QualityPath = "/admin/quality"

type qualityCount struct {
	Label  string
	N      int
	Anchor string
	Alert  bool // a count that needs attention when not zero
}

type qualityEntryRow struct {
	ID, Name, URL string
	Status        statusView
	Share         string // "97 %"
	Problems      []string
}

type qualitySilentRow struct {
	ID, Name, URL         string
	LastSeen, LastSeenISO string
	Threshold             string
	Never                 bool
	Status                statusView
}

type qualityUnknownRow struct {
	ID, State             string
	Count                 int64
	LastSeen, LastSeenISO string
	Gateways              string
}

type qualityDateRow struct {
	ID, Name, URL string
	Status        statusView
	Date, DateISO string
}

type qualityGatewayRow struct {
	ID, Date, DateISO string
}

type qualityView struct {
	Generated, GeneratedISO string
	Counts                  []qualityCount
	Gateways                []qualityGatewayRow
	Silent                  []qualitySilentRow
	Unknown                 []qualityUnknownRow
	Expired                 []qualityDateRow
	Drafts                  []qualityDateRow
	Entries                 []qualityEntryRow
	JSONURL                 string
}

// entryLink is the page of an entry: the public page when it is
// published, nothing otherwise (drafts have no public page).
func (l localizer) entryLink(id, status string) string {
	if catalog.Published(status) {
		return l.link(SensorPath(id))
	}
	return ""
}

// Quality renders the register's quality page.
func (p *Pages) Quality(w io.Writer, r Request, q quality.Review, jsonURL string) error {
	l := p.localizer(r.Lang)
	when := func(t time.Time) (string, string) { return l.DateTime(t.In(p.loc)), t.UTC().Format(time.RFC3339) }
	v := qualityView{JSONURL: jsonURL}
	v.Generated, v.GeneratedISO = when(q.GeneratedAt)
	c := q.Counts
	v.Counts = []qualityCount{
		{Label: l.T("quality.count.entries"), N: c.Entries, Anchor: "#completeness"},
		{Label: l.T("quality.count.incomplete"), N: c.Incomplete, Anchor: "#completeness", Alert: true},
		{Label: l.T("quality.count.published_incomplete"), N: c.PublishedIncomplete, Anchor: "#completeness", Alert: true},
		{Label: l.T("quality.count.silent"), N: c.Silent, Anchor: "#silent", Alert: true},
		{Label: l.T("quality.count.unknown"), N: c.Unknown, Anchor: "#unknown", Alert: true},
		{Label: l.T("quality.count.expired"), N: c.Expired, Anchor: "#expired", Alert: true},
		{Label: l.T("quality.count.drafts"), N: c.StaleDrafts, Anchor: "#drafts", Alert: true},
	}
	for _, g := range q.Gateways {
		row := qualityGatewayRow{ID: g.GatewayID}
		row.Date, row.DateISO = when(g.ReportedAt)
		v.Gateways = append(v.Gateways, row)
	}
	for _, s := range q.Silent {
		row := qualitySilentRow{ID: s.ID, Name: s.Name.In(l.lang), URL: l.entryLink(s.ID, s.Status), Status: l.status(s.Status),
			Threshold: span(s.ThresholdSeconds), Never: s.LastSeen == nil}
		if s.LastSeen != nil {
			row.LastSeen, row.LastSeenISO = when(*s.LastSeen)
		}
		v.Silent = append(v.Silent, row)
	}
	for _, u := range q.Unknown {
		row := qualityUnknownRow{ID: u.ID, Count: u.Count, Gateways: strings.Join(u.Gateways, ", "), State: l.T("quality.unknown.absent")}
		if u.Status != "" {
			row.State = l.status(u.Status).Words
		}
		row.LastSeen, row.LastSeenISO = when(u.LastSeen)
		v.Unknown = append(v.Unknown, row)
	}
	for _, e := range q.Expired {
		row := qualityDateRow{ID: e.ID, Name: e.Name.In(l.lang), URL: l.entryLink(e.ID, e.Status), Status: l.status(e.Status)}
		row.Date, row.DateISO = l.Date(e.ActiveUntil.In(p.loc)), e.ActiveUntil.UTC().Format(time.RFC3339)
		v.Expired = append(v.Expired, row)
	}
	for _, d := range q.StaleDrafts {
		row := qualityDateRow{ID: d.ID, Name: d.Name.In(l.lang), Status: l.status("draft")}
		row.Date, row.DateISO = when(d.UpdatedAt)
		v.Drafts = append(v.Drafts, row)
	}
	for _, e := range q.Entries {
		row := qualityEntryRow{ID: e.ID, Name: e.Name.In(l.lang), URL: l.entryLink(e.ID, e.Status), Status: l.status(e.Status), Share: l.T("quality.percent", e.Completeness)}
		for _, pr := range e.Problems {
			f := pr.Field
			if top := quality.TopField(f); l.has("field." + top) {
				f = l.T("field."+top) + strings.TrimPrefix(f, top)
			}
			row.Problems = append(row.Problems, l.T("quality.problem", f, pr.Message))
		}
		v.Entries = append(v.Entries, row)
	}
	return p.render(w, "quality", r, l.T("quality.title")+" – "+l.T("site.title"), v)
}

// span writes a number of seconds the short way: "45 min", "24 h".
func span(seconds int64) string {
	switch {
	case seconds > 0 && seconds%3600 == 0:
		return strconv.FormatInt(seconds/3600, 10) + "\u00a0h"
	case seconds > 0 && seconds%60 == 0:
		return strconv.FormatInt(seconds/60, 10) + "\u00a0min"
	}
	return strconv.FormatInt(seconds, 10) + "\u00a0s"
}
