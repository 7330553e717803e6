package web

// The public register's home page and its list of entries, with faceted
// filters, full-text search, sorting and paging — all GET parameters, so
// that every view has a stable URL and works without JavaScript.
//
// The list's URL is canonical: /sensors?lang=fr, then the filters in the
// order of facets (each facet's values in the order of its options), then
// q, sort, order, page and per, each left out at its default. Every link
// the pages make (sort headers, pages, the language switch, the home page's
// counts) is built by the same method, listState.url.
//
// Bad input never fails a page: an unknown filter value, sort or page is
// ignored or corrected and the page says so in a notice.

import (
	"cmp"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

// Paths of the public register.
const (
	HomePath    = "/"
	SensorsPath = "/sensors" // the list of entries
	MapPath     = "/map"
)

// Limits of the list page.
const (
	DefaultPerPage = 50
	MinPerPage     = 10
	MaxPerPage     = 100
	MaxSearchRunes = 200 // a longer q is cut, with a notice
	// RecentChanges is how many versions the home page lists.
	RecentChanges = 10
)

// Facets of the list, in the order of the canonical URL. The parameter
// name is the facet's name.
const (
	facetCategory = "category"
	facetPurpose  = "purpose"
	facetIdent    = "ident"
	facetBasis    = "basis"
	facetAccess   = "access"
	facetStatus   = "status"
	facetArea     = "area" // Location.Neighbourhood
)

var facets = []string{facetCategory, facetPurpose, facetIdent, facetBasis, facetAccess, facetStatus, facetArea}

// Values of facets that are not a field's own.
const (
	basisNone    = "none" // no personal data: no legal basis
	accessOpen   = "open"
	accessClosed = "closed"
)

// Sort keys and orders.
const (
	sortName     = "name"
	sortCategory = "category"
	sortStatus   = "status"
	sortChanged  = "changed"
	orderAsc     = "asc"
	orderDesc    = "desc"
)

var sortKeys = [...]string{sortName, sortCategory, sortStatus, sortChanged}

// Query is what the list page was asked, as given; List checks it.
type Query struct {
	Filters         map[string][]string // facet → values
	Q               string
	Sort, Order     string
	Page, PerPage   string
	hasPage, hasPer bool
	hasSort, hasOrd bool
}

// ParseQuery reads the list page's parameters; others (lang included) are
// ignored.
func ParseQuery(v url.Values) Query {
	q := Query{Filters: map[string][]string{}}
	for _, f := range facets {
		for _, x := range v[f] {
			if x != "" {
				q.Filters[f] = append(q.Filters[f], x)
			}
		}
	}
	q.Q = v.Get("q")
	// An empty parameter is an absent one, as a form may send it.
	q.Sort, q.hasSort = v.Get("sort"), v.Get("sort") != ""
	q.Order, q.hasOrd = v.Get("order"), v.Get("order") != ""
	q.Page, q.hasPage = v.Get("page"), v.Get("page") != ""
	q.PerPage, q.hasPer = v.Get("per"), v.Get("per") != ""
	return q
}

// listState is a checked query: what the page shows, and what its links
// change.
type listState struct {
	lang        string
	sel         map[string][]string // facet → chosen values, in option order
	q           string
	sort, order string
	page, per   int
}

// url is the canonical URL of a list view.
func (s listState) url() string { return SensorsPath + "?lang=" + s.lang + s.params() }

// params are the canonical parameters after lang, each with its leading &.
func (s listState) params() string {
	var b strings.Builder
	// Spaces as %20: html/template would write a + as &#43; in an href.
	add := func(k, v string) { b.WriteString("&" + k + "=" + strings.ReplaceAll(url.QueryEscape(v), "+", "%20")) }
	for _, f := range facets {
		for _, v := range s.sel[f] {
			add(f, v)
		}
	}
	if s.q != "" {
		add("q", s.q)
	}
	if s.sort != sortName {
		add("sort", s.sort)
	}
	if s.order != orderAsc {
		add("order", s.order)
	}
	if s.page > 1 {
		add("page", strconv.Itoa(s.page))
	}
	if s.per != DefaultPerPage {
		add("per", strconv.Itoa(s.per))
	}
	return b.String()
}

// mapURL is the map of the same selection (its filters and search; the
// map has no sort or pages).
func (s listState) mapURL() string {
	m := s
	m.sort, m.order, m.page, m.per = sortName, orderAsc, 1, DefaultPerPage
	return MapPath + "?lang=" + s.lang + m.params()
}

func (s listState) filtered() bool {
	return s.q != "" || len(s.sel) > 0
}

// fold lowers s and removes its accents, for searching: "Écoles" → "ecoles".
func fold(s string) string {
	s = strings.NewReplacer("œ", "oe", "Œ", "oe", "æ", "ae", "Æ", "ae", "ß", "ss", "’", "'", "–", "-", "—", "-").Replace(s)
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sensorFacets are the values an entry has for each facet.
func sensorFacets(s registryapi.Sensor) map[string][]string {
	basis := s.LegalBasis
	if basis == "" {
		basis = basisNone
	}
	access := accessClosed
	if s.OpenData {
		access = accessOpen
	}
	m := map[string][]string{
		facetCategory: {s.Category},
		facetPurpose:  s.Purposes,
		facetIdent:    {s.Identifiability},
		facetBasis:    {basis},
		facetAccess:   {access},
		facetStatus:   {s.Status},
	}
	if s.Location.Neighbourhood != "" {
		m[facetArea] = []string{s.Location.Neighbourhood}
	}
	return m
}

// haystack is what q searches in an entry: its names, purposes (in both
// languages), address, place, neighbourhood and organisations, folded.
func haystack(s registryapi.Sensor) string {
	parts := []string{s.ID, s.Name.FR, s.Name.EN, s.Location.Address, s.Location.Neighbourhood, s.AttachedTo.FR, s.AttachedTo.EN,
		s.Accountable.Name.FR, s.Accountable.Name.EN}
	for _, o := range s.Operators {
		parts = append(parts, o.Name.FR, o.Name.EN)
	}
	v := dtpr.Device()
	for _, p := range s.Purposes {
		parts = append(parts, v.Name(dtpr.Purpose, p, LangFR, nil), v.Name(dtpr.Purpose, p, LangEN, nil))
	}
	return fold(strings.Join(parts, "\n"))
}

// facetOption is one choice of a facet.
type facetOption struct {
	Value, Label, Count string
	ID                  string // the checkbox's id
	Checked             bool
	Zero                bool
}

type facetView struct {
	Name, Legend string
	Options      []facetOption
}

type sortHeader struct {
	Label, URL, AriaSort string
	Sortable             bool
}

type pageLink struct {
	Label, URL string
	Current    bool
}

type browseRow struct {
	listRow
	Changed string
}

type listPageView struct {
	Action, Lang, Q  string
	QMax             int
	Sort, Order, Per string
	PerOptions       []facetOption
	Facets           []facetView
	Notices          []string
	Count            string
	Range            string
	Caption          string
	Headers          []sortHeader
	Rows             []browseRow
	Pages            []pageLink
	Prev, Next       string
	ClearURL         string
	MapURL           string // the same entries on the map
	Filtered         bool
	Empty            bool // nothing is published at all
}

// optionOrder returns the known values of a facet, in display order, and
// whether every one is shown even when no entry has it.
func optionOrder(facet string, sensors []registryapi.Sensor) (values []string, always bool) {
	switch facet {
	case facetCategory:
		return registryapi.Categories, true
	case facetPurpose:
		c, _ := dtpr.Device().Category(dtpr.Purpose)
		for _, e := range c.Elements {
			values = append(values, e.ID)
		}
		return values, false
	case facetIdent:
		return catalog.Identifiabilities(), true
	case facetBasis:
		return append(catalog.LegalBases(), basisNone), false
	case facetAccess:
		return []string{accessOpen, accessClosed}, true
	case facetStatus:
		return []string{registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired}, true
	case facetArea:
		seen := map[string]bool{}
		for _, s := range sensors {
			if n := s.Location.Neighbourhood; n != "" && !seen[n] {
				seen[n] = true
				values = append(values, n)
			}
		}
		slices.SortFunc(values, func(a, b string) int { return cmp.Or(strings.Compare(fold(a), fold(b)), strings.Compare(a, b)) })
		return values, false
	}
	return nil, false
}

func (l localizer) facetLabel(facet, value string) string {
	switch facet {
	case facetCategory:
		return l.category(value)
	case facetPurpose:
		return strings.TrimSpace(dtpr.Device().Name(dtpr.Purpose, value, l.lang, nil))
	case facetIdent:
		return l.ident(value).Words
	case facetBasis, facetAccess:
		return l.T("browse." + facet + "." + value)
	case facetStatus:
		return l.status(value).Words
	}
	return value
}

// shorten cuts s to n runes, with an ellipsis, for quoting bad input.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// check turns a query into a state, with a notice for each thing ignored
// or corrected.
func (l localizer) check(q Query, pub *Published) (listState, []string) {
	st := listState{lang: l.lang, sel: map[string][]string{}, sort: sortName, order: orderAsc, page: 1, per: DefaultPerPage}
	var notices []string
	for i, f := range facetNames {
		known := pub.options[i]
		given := q.Filters[f]
		var chosen []string
		for _, v := range given {
			if slices.Contains(known, v) {
				if !slices.Contains(chosen, v) {
					chosen = append(chosen, v)
				}
				continue
			}
			if len(notices) < 10 { // enough to say it; a flood of junk is not repeated
				notices = append(notices, l.T("browse.unknown", shorten(v, 60)))
			}
		}
		if len(chosen) > 0 {
			slices.SortFunc(chosen, func(a, b string) int { return slices.Index(known, a) - slices.Index(known, b) })
			st.sel[f] = chosen
		}
	}
	st.q = strings.Join(strings.Fields(q.Q), " ")
	if utf8.RuneCountInString(st.q) > MaxSearchRunes {
		st.q = strings.TrimSpace(string([]rune(st.q)[:MaxSearchRunes]))
		notices = append(notices, l.T("browse.qlong", MaxSearchRunes))
	}
	if q.hasSort {
		if slices.Contains(sortKeys[:], q.Sort) {
			st.sort = q.Sort
		} else {
			notices = append(notices, l.T("browse.badsort", shorten(q.Sort, 60)))
		}
	}
	if q.hasOrd {
		if q.Order == orderAsc || q.Order == orderDesc {
			st.order = q.Order
		} else {
			notices = append(notices, l.T("browse.badorder", shorten(q.Order, 60)))
		}
	}
	if q.hasPer {
		n, err := strconv.Atoi(strings.TrimSpace(q.PerPage))
		switch {
		case err != nil:
			notices = append(notices, l.T("browse.badper", shorten(q.PerPage, 60), DefaultPerPage))
		case n < MinPerPage || n > MaxPerPage:
			st.per = min(max(n, MinPerPage), MaxPerPage)
			notices = append(notices, l.T("browse.perrange", MinPerPage, MaxPerPage, st.per))
		default:
			st.per = n
		}
	}
	if q.hasPage {
		n, err := strconv.Atoi(strings.TrimSpace(q.Page))
		if err != nil || n < 1 {
			notices = append(notices, l.T("browse.badpage", shorten(q.Page, 60)))
		} else {
			st.page = n // checked against the number of pages once it is known
		}
	}
	return st, notices
}

func statusOrder(s string) int {
	switch s {
	case registryapi.StatusActive:
		return 0
	case registryapi.StatusMaintenance:
		return 1
	case registryapi.StatusRetired:
		return 2
	}
	return 3
}

func categoryOrder(c string) int {
	if i := slices.Index(registryapi.Categories, c); i >= 0 {
		return i
	}
	return len(registryapi.Categories)
}

// count says a number of sensors in words: "Aucun capteur", "1 capteur",
// "1 234 capteurs".
func (l localizer) count(n int) string {
	switch n {
	case 0:
		return l.T("browse.count0")
	case 1:
		return l.T("browse.count1")
	}
	return l.T("browse.count", l.Number(float64(n)))
}

func (l localizer) browse(pub *Published, q Query, loc *time.Location) (listPageView, listState) {
	st, notices := l.check(q, pub)
	v := listPageView{Action: SensorsPath, Lang: l.lang, Q: st.q, QMax: MaxSearchRunes, Sort: st.sort, Order: st.order,
		Per: strconv.Itoa(st.per), Filtered: st.filtered(), Empty: pub.Len() == 0}

	// Which entries match q and the facets, and each facet's counts over
	// the entries that q and the *other* facets let through.
	hit, nhits, counts := pub.filter(strings.Fields(fold(st.q)), st.sel)
	for f, name := range facetNames {
		_, always := optionOrder(name, nil)
		fvw := facetView{Name: name, Legend: l.T("browse.facet." + name)}
		for i, val := range pub.options[f] {
			checked := slices.Contains(st.sel[name], val)
			if !always && pub.all[f][i] == 0 && !checked {
				continue
			}
			fvw.Options = append(fvw.Options, facetOption{
				Value: val, Label: l.facetLabel(name, val), Count: l.Number(float64(counts[f][i])),
				ID: "f-" + name + "-" + strconv.Itoa(len(fvw.Options)), Checked: checked, Zero: counts[f][i] == 0,
			})
		}
		if len(fvw.Options) > 0 {
			v.Facets = append(v.Facets, fvw)
		}
	}

	// Page.
	pages := max(1, (nhits+st.per-1)/st.per)
	if st.page > pages {
		notices = append(notices, l.T("browse.nopage", l.Number(float64(st.page)), l.Number(float64(pages))))
		st.page = pages
	}
	from := (st.page - 1) * st.per
	to := min(from+st.per, nhits)
	v.Count = l.count(nhits)
	if nhits > 0 {
		v.Range = l.T("browse.range", l.Number(float64(from+1)), l.Number(float64(to)), l.Number(float64(st.page)), l.Number(float64(pages)))
	}
	v.Notices = notices

	sortWords := l.T("browse.sorted."+st.sort) + ", " + l.T("browse.order."+st.order)
	v.Caption = l.T("browse.caption", sortWords)
	for _, h := range []struct{ key, sort string }{
		{"list.name", sortName}, {"list.cat", sortCategory}, {"list.ident", ""},
		{"list.status", sortStatus}, {"list.address", ""}, {"browse.changed", sortChanged},
	} {
		sh := sortHeader{Label: l.T(h.key), Sortable: h.sort != ""}
		if sh.Sortable {
			next := st
			next.sort, next.order, next.page = h.sort, orderAsc, 1
			if st.sort == h.sort {
				sh.AriaSort = "ascending"
				if st.order == orderAsc {
					next.order = orderDesc
				} else {
					sh.AriaSort = "descending"
				}
			}
			sh.URL = next.url()
		}
		v.Headers = append(v.Headers, sh)
	}
	for _, s := range pub.page(l.lang, st.sort, st.order == orderDesc, hit, from, to) {
		v.Rows = append(v.Rows, browseRow{
			listRow: listRow{
				Name:     s.Name.In(l.lang),
				URL:      l.link(SensorPath(s.ID)),
				Category: l.category(s.Category),
				Ident:    l.ident(s.Identifiability),
				Status:   l.status(s.Status),
				Address:  s.Location.Address,
			},
			Changed: l.Date(s.UpdatedAt.In(loc)),
		})
	}
	if pages > 1 {
		at := func(n int) string { p := st; p.page = n; return p.url() }
		if st.page > 1 {
			v.Prev = at(st.page - 1)
		}
		if st.page < pages {
			v.Next = at(st.page + 1)
		}
		for n := 1; n <= pages; n++ {
			if n != 1 && n != pages && (n < st.page-2 || n > st.page+2) {
				if len(v.Pages) > 0 && v.Pages[len(v.Pages)-1].URL != "" {
					v.Pages = append(v.Pages, pageLink{Label: "…"})
				}
				continue
			}
			v.Pages = append(v.Pages, pageLink{Label: l.Number(float64(n)), URL: at(n), Current: n == st.page})
		}
	}
	for _, n := range []int{10, 25, DefaultPerPage, MaxPerPage} {
		v.PerOptions = append(v.PerOptions, facetOption{Value: strconv.Itoa(n), Label: strconv.Itoa(n), Checked: n == st.per})
	}
	if !slices.ContainsFunc(v.PerOptions, func(o facetOption) bool { return o.Checked }) {
		v.PerOptions = append(v.PerOptions, facetOption{Value: strconv.Itoa(st.per), Label: strconv.Itoa(st.per), Checked: true})
	}
	clear := listState{lang: l.lang, sort: st.sort, order: st.order, page: 1, per: st.per}
	v.ClearURL = clear.url()
	v.MapURL = st.mapURL()
	return v, st
}

// List renders the public list of published entries, filtered, searched,
// sorted and paged as q asks.
func (p *Pages) List(w io.Writer, r Request, pub *Published, q Query) error {
	l := p.localizer(r.Lang)
	v, st := l.browse(pub, q, p.loc)
	r.keep = st.params()
	r.canonical = st.url()
	title := l.T("list.title")
	if st.page > 1 {
		title += " – " + l.T("browse.pageof", st.page)
	}
	return p.render(w, "list", r, title+" – "+l.T("site.title"), v)
}

// Change is one version of a published entry, for the home page's latest
// changes.
type Change struct {
	SensorID       string
	Name           registryapi.Text
	Number         int
	ChangedAt      time.Time
	Summary        string // as Version.Summary
	Status         string // after this version
	PreviousStatus string // before it; "" for a first version
}

type countLink struct {
	Label, Count, Text, URL, Class string
}

type changeRow struct {
	Name, URL, Date, DateISO, Changes string
}

type nameGroup struct {
	Category string
	URL      string
	Names    []listRow
}

type homeView struct {
	Total      string
	ListURL    string
	MapURL     string
	Action     string
	QMax       int
	Categories []countLink
	Idents     []countLink
	Changes    []changeRow
	Groups     []nameGroup
}

// Home renders the register's home page: what it is, counts linking to the
// list, a search box, the latest changes and every entry's name.
func (p *Pages) Home(w io.Writer, r Request, pub *Published, changes []Change) error {
	l := p.localizer(r.Lang)
	base := listState{lang: l.lang, sort: sortName, order: orderAsc, page: 1, per: DefaultPerPage}
	v := homeView{Total: l.count(pub.Len()), ListURL: base.url(), MapURL: l.link(MapPath), Action: SensorsPath, QMax: MaxSearchRunes}
	countBy := func(facet string, values []string, class func(string) string) []countLink {
		f := slices.Index(facetNames[:], facet)
		var out []countLink
		for _, x := range values {
			n := 0
			if i, ok := pub.index[f][x]; ok {
				n = pub.all[f][i]
			}
			c := countLink{Label: l.facetLabel(facet, x), Count: l.count(n), Class: class(x)}
			c.Text = l.T("home.count", c.Label, c.Count)
			if n > 0 {
				st := base
				st.sel = map[string][]string{facet: {x}}
				c.URL = st.url()
			}
			out = append(out, c)
		}
		return out
	}
	v.Categories = countBy(facetCategory, registryapi.Categories, func(string) string { return "" })
	v.Categories = slices.DeleteFunc(v.Categories, func(c countLink) bool { return c.URL == "" })
	v.Idents = countBy(facetIdent, catalog.Identifiabilities(), func(x string) string { return l.ident(x).Class })
	for _, c := range changes {
		v.Changes = append(v.Changes, changeRow{
			Name:    c.Name.In(l.lang),
			URL:     l.link(SensorPath(c.SensorID)),
			Date:    l.DateTime(c.ChangedAt.In(p.loc)),
			DateISO: c.ChangedAt.UTC().Format(time.RFC3339),
			Changes: l.changes(c.Summary, c.PreviousStatus, c.Status),
		})
	}
	// By category, then name: the list's order by category.
	for _, s := range pub.page(l.lang, sortCategory, false, nil, 0, pub.Len()) {
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].Category != l.category(s.Category) {
			st := base
			st.sel = map[string][]string{facetCategory: {s.Category}}
			v.Groups = append(v.Groups, nameGroup{Category: l.category(s.Category), URL: st.url()})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Names = append(g.Names, listRow{Name: s.Name.In(l.lang), URL: l.link(SensorPath(s.ID))})
	}
	return p.render(w, "home", r, l.T("site.title"), v)
}
