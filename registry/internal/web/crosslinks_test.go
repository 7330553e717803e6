package web

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/civisens/civisens/registry/internal/demo"
)

// The list links to the map of the same selection, and the map to the
// list, language kept.
func TestListAndMapLinkEachOther(t *testing.T) {
	p := newPages(t)
	sensors := demo.Sensors()
	v := url.Values{"category": {"parking"}, "q": {"la gare"}, "sort": {"status"}, "page": {"1"}}
	list := render(t, func(b *bytes.Buffer) error {
		return p.List(b, Request{Lang: LangFR, Path: SensorsPath}, NewPublished(sensors), ParseQuery(v))
	})
	mustContain(t, list, `href="/map?lang=fr&amp;category=parking&amp;q=la%20gare"`)
	f := ParseMapFilter(v)
	m := render(t, func(b *bytes.Buffer) error {
		return p.Map(b, Request{Lang: LangEN, Path: MapPath}, Map{Sensors: NewPublished(sensors).Select(f), Filter: f})
	})
	mustContain(t, m, `href="/sensors?lang=en&amp;category=parking&amp;q=la%20gare"`)
}
