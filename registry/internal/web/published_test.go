package web

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// manySensors returns n entries made from the demo town's, with varied
// names (accents, case), statuses, neighbourhoods, access and times.
func manySensors(n int) []registryapi.Sensor {
	models := demo.Sensors()
	words := []string{"École", "ecole", "Hôtel", "Œuvre", "rue", "Zèbre", "abri"}
	areas := []string{"", "Centre", "Gare", "Écluse", "Bords de Lise"}
	statuses := []string{registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired}
	out := make([]registryapi.Sensor, n)
	for i := range out {
		s := models[i%len(models)]
		s.ID = fmt.Sprintf("%s-x%04d", strings.SplitN(s.ID, "-", 2)[0], i)
		s.Name.FR = fmt.Sprintf("%s %s %d", words[i%len(words)], s.Name.FR, i%17)
		s.Name.EN = fmt.Sprintf("%s %d", words[(i/3)%len(words)], i%13)
		s.Status = statuses[(i/5)%len(statuses)]
		s.Location.Neighbourhood = areas[(i/2)%len(areas)]
		s.OpenData = i%3 != 0
		s.UpdatedAt = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%41) * time.Hour)
		out[i] = s
	}
	slices.SortFunc(out, func(a, b registryapi.Sensor) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var (
	hayMu    sync.Mutex
	hayCache = map[string]string{} // entry id and name → haystack, for the reference's speed
)

func hay(s registryapi.Sensor) string {
	hayMu.Lock()
	defer hayMu.Unlock()
	k := s.ID + "\n" + s.Name.FR + "\n" + s.Name.EN
	if h, ok := hayCache[k]; ok {
		return h
	}
	hayCache[k] = haystack(s)
	return hayCache[k]
}

// referenceBrowse is the list as the first version computed it, entry by
// entry, without anything prepared: the rows of the page, the number of
// results and each facet's counts.
func referenceBrowse(l localizer, sensors []registryapi.Sensor, st listState) (rows []string, n int, counts map[string]map[string]int) {
	terms := strings.Fields(fold(st.q))
	var cands []registryapi.Sensor
	for _, s := range sensors {
		h := hay(s)
		if !slices.ContainsFunc(terms, func(t string) bool { return !strings.Contains(h, t) }) {
			cands = append(cands, s)
		}
	}
	counts = map[string]map[string]int{}
	for _, f := range facets {
		counts[f] = map[string]int{}
		for _, s := range cands {
			fv := sensorFacets(s)
			if matches(fv, st.sel, f) {
				for _, x := range fv[f] {
					counts[f][x]++
				}
			}
		}
	}
	var hits []registryapi.Sensor
	for _, s := range cands {
		if matches(sensorFacets(s), st.sel, "") {
			hits = append(hits, s)
		}
	}
	name := func(s registryapi.Sensor) string { return fold(s.Name.In(l.lang)) }
	byName := func(a, b registryapi.Sensor) int {
		return cmp.Or(strings.Compare(name(a), name(b)), strings.Compare(a.ID, b.ID))
	}
	slices.SortStableFunc(hits, func(a, b registryapi.Sensor) int {
		var c int
		switch st.sort {
		case sortCategory:
			c = categoryOrder(a.Category) - categoryOrder(b.Category)
		case sortStatus:
			c = statusOrder(a.Status) - statusOrder(b.Status)
		case sortChanged:
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		}
		if st.order == orderDesc {
			return cmp.Or(-c, -byName(a, b))
		}
		return cmp.Or(c, byName(a, b))
	})
	pages := max(1, (len(hits)+st.per-1)/st.per)
	page := min(st.page, pages)
	from, to := (page-1)*st.per, min(page*st.per, len(hits))
	for _, s := range hits[from:to] {
		rows = append(rows, s.ID)
	}
	return rows, len(hits), counts
}

// The prepared list answers what the entry-by-entry one did, for random
// queries over 300 entries: the same rows in the same order, the same
// number of results, the same counts on every facet option.
func TestPublishedAgreesWithEntryByEntry(t *testing.T) {
	p := newPages(t)
	sensors := manySensors(300)
	pub := NewPublished(sensors)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	for i := range 150 {
		v := url.Values{}
		for range rng.IntN(4) {
			switch rng.IntN(6) {
			case 0:
				v.Add("category", pick(registryapi.Categories...))
			case 1:
				v.Add("status", pick(registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired))
			case 2:
				v.Add("area", pick("Centre", "Gare", "Écluse", "Bords de Lise"))
			case 3:
				v.Add("access", pick("open", "closed"))
			case 4:
				v.Add("purpose", pick("health", "mobility", "energy", "safety"))
			case 5:
				v.Add("ident", pick("no_personal_data", "aggregate_only", "identifiable"))
			}
		}
		if rng.IntN(3) == 0 {
			v.Set("q", pick("ecole", "ÉCOLE", "hotel rue", "oeuvre", "zebre 1", "gare", "nulle part"))
		}
		v.Set("sort", pick(sortKeys[:]...))
		v.Set("order", pick(orderAsc, orderDesc))
		v.Set("per", pick("10", "25", "50"))
		v.Set("page", pick("1", "2", "3", "7", "40"))
		lang := pick(LangFR, LangEN)
		l := p.localizer(lang)
		q := ParseQuery(v)
		view, st := l.browse(pub, q, time.UTC)
		fmt.Sscan(v.Get("page"), &st.page) // the page asked, before it was corrected
		wantRows, wantN, wantCounts := referenceBrowse(l, sensors, st)
		var gotRows []string
		for _, r := range view.Rows {
			gotRows = append(gotRows, strings.TrimPrefix(strings.TrimSuffix(r.URL, "?lang="+lang), "/sensors/"))
		}
		if !slices.Equal(gotRows, wantRows) || view.Count != l.count(wantN) {
			t.Fatalf("query %d %s (%s): rows %v, count %s; want %v, %s", i, v.Encode(), lang, gotRows, view.Count, wantRows, l.count(wantN))
		}
		for _, fv := range view.Facets {
			for _, o := range fv.Options {
				if want := l.Number(float64(wantCounts[fv.Name][o.Value])); o.Count != want {
					t.Fatalf("query %d %s: facet %s=%s counts %s, want %s", i, v.Encode(), fv.Name, o.Value, o.Count, want)
				}
			}
		}
	}
}

// Pages of a large filtered list: the range and count in words, the
// previous and next links and the numbered ones keep the filters, the
// search, the sort and the page size; past the last page, the last.
func TestListPagesKeepTheQuery(t *testing.T) {
	p := newPages(t)
	sensors := manySensors(600)
	st := listState{lang: LangEN, sel: map[string][]string{"status": {registryapi.StatusActive}}, sort: sortName, order: orderAsc, page: 1, per: DefaultPerPage}
	_, n, _ := referenceBrowse(p.localizer(LangEN), sensors, st)
	page := listPage(t, p, LangEN, "status=active&q=ecole&per=10&page=3&sort=changed", sensors)
	_, hits, _ := referenceBrowse(p.localizer(LangEN), sensors, listState{lang: LangEN, sel: st.sel, q: "ecole", sort: sortChanged, order: orderAsc, page: 3, per: 10})
	if hits < 50 || n <= hits {
		t.Fatalf("the set is too small to test pages: %d hits of %d", hits, n)
	}
	last := (hits + 9) / 10
	const keep = "status=active&amp;q=ecole&amp;sort=changed"
	mustContain(t, page,
		fmt.Sprintf("<strong>%d sensors</strong>", hits),
		fmt.Sprintf("sensors 21 to 30, page 3 of %d", last),
		`href="/sensors?lang=en&amp;`+keep+`&amp;page=2&amp;per=10" rel="prev"`,
		`href="/sensors?lang=en&amp;`+keep+`&amp;page=4&amp;per=10" rel="next"`,
		`<a href="/sensors?lang=en&amp;`+keep+`&amp;page=3&amp;per=10" aria-current="page">3</a>`,
		`<a href="/sensors?lang=en&amp;`+keep+`&amp;per=10">1</a>`,
		fmt.Sprintf(`<a href="/sensors?lang=en&amp;%s&amp;page=%d&amp;per=10">%d</a>`, keep, last, last),
		`<link rel="canonical" href="/sensors?lang=en&amp;`+keep+`&amp;page=3&amp;per=10">`,
	)
	if rows := rowNames(page); len(rows) != 10 {
		t.Errorf("page 3 of 10 a page: %d rows", len(rows))
	}
	beyond := listPage(t, p, LangEN, "status=active&q=ecole&per=10&page=999&sort=changed", sensors)
	mustContain(t, beyond, fmt.Sprintf("page %d of %d", last, last), `aria-current="page">`+fmt.Sprint(last)+`</a>`)
	if strings.Contains(beyond, `rel="next"`) {
		t.Error("the last page links a next one")
	}
}

// matches, the entry-by-entry reference, reports whether the entry's facet values meet the selection of
// each facet but skip (every facet when skip is "").
func matches(fv map[string][]string, sel map[string][]string, skip string) bool {
	for f, chosen := range sel {
		if f == skip {
			continue
		}
		if !slices.ContainsFunc(fv[f], func(v string) bool { return slices.Contains(chosen, v) }) {
			return false
		}
	}
	return true
}
