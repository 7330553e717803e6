package web

import (
	"io"
	"slices"
	"strings"

	"github.com/civisens/civisens/registry/registryapi"
)

// Paths of the page about the register.
const (
	AboutPath = "/about"
	// AboutPathFR is the same page under a French path.
	AboutPathFR = "/a-propos"
)

// CNILComplaintURL is where a person complains to the French supervisory
// authority.
const CNILComplaintURL = "https://www.cnil.fr/fr/plaintes"

type controllerRow struct {
	Name, URL string
	DPO       contactView
	Sensors   int
}

type aboutView struct {
	Controllers []controllerRow
	ReportURL   string
	FollowURL   string
	CNILURL     string
	Downloads   []opendataLink
	APIURL      string
}

// About renders the page about the register: what it covers and does not,
// how to exercise one's rights with the DPO of each accountable
// organisation of the published entries, and where to complain.
func (p *Pages) About(w io.Writer, r Request, published []registryapi.Sensor) error {
	l := p.localizer(r.Lang)
	v := aboutView{
		Controllers: l.controllers(published),
		ReportURL:   NewReportURL(registryapi.ReportQuestion, "", l.lang),
		FollowURL:   l.link(ReportsPath),
		CNILURL:     CNILComplaintURL,
		APIURL:      registryapi.PathSensors,
		Downloads:   l.opendataLinks("")[:2], // the register as CSV and GeoJSON
	}
	return p.render(w, "about", r, l.T("about.title")+" – "+l.T("site.title"), v)
}

// controllers lists the distinct accountable organisations of the entries
// (by name in the page's language), each with its DPO contacts and its
// number of entries, by name.
func (l localizer) controllers(sensors []registryapi.Sensor) []controllerRow {
	var out []controllerRow
	for _, s := range sensors {
		name := strings.TrimSpace(s.Accountable.Name.In(l.lang))
		if name == "" {
			continue
		}
		i := slices.IndexFunc(out, func(c controllerRow) bool {
			return c.Name == name && c.DPO == contactView(s.DPOContact)
		})
		if i < 0 {
			out = append(out, controllerRow{Name: name, URL: s.Accountable.URL, DPO: contactView(s.DPOContact)})
			i = len(out) - 1
		}
		out[i].Sensors++
	}
	slices.SortFunc(out, func(a, b controllerRow) int { return strings.Compare(a.Name, b.Name) })
	return out
}
