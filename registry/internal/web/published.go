package web

// The published entries prepared once for the list and home pages: each
// entry's facet values as option numbers, its folded search text, the
// counts over every entry, and the entries in the order of each sort key
// and language. Building it costs what one request used to (decoding
// aside); a page then costs a pass over small arrays at most, and the
// unfiltered list only the rows of its page.

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/registryapi"
)

// Published is the register's published entries as the public pages read
// them. It is read-only once built, and safe for concurrent use; build a
// new one when the register changes.
type Published struct {
	sensors []registryapi.Sensor
	keys    []entryKeys
	// options are each facet's known values in display order (areas: the
	// neighbourhoods of the entries), and index their positions.
	options [len(facetNames)][]string
	index   [len(facetNames)]map[string]uint16
	all     [len(facetNames)][]int // per option, over every entry

	orders sync.Map // language → *sortOrders, made at first use
}

// facetNames are the facets by their position in entryKeys; the same as
// facets.
var facetNames = [...]string{facetCategory, facetPurpose, facetIdent, facetBasis, facetAccess, facetStatus, facetArea}

// entryKeys are what the list needs of one entry but its row.
type entryKeys struct {
	codes [len(facetNames)][]uint16 // per facet, the entry's values as option positions; unknown values left out
	hay   string                    // haystack: the folded text that q searches
}

// sortOrders are the entries' positions in ascending order of each sort
// key (sortKeys' order), ties by folded name then id; descending is the
// reverse, the order being total.
type sortOrders [len(sortKeys)][]int32

// NewPublished prepares the published entries, ordered by id, for the
// public pages. It keeps sensors, which must not change afterwards.
func NewPublished(sensors []registryapi.Sensor) *Published {
	p := &Published{sensors: sensors, keys: make([]entryKeys, len(sensors))}
	for f, name := range facetNames {
		p.options[f], _ = optionOrder(name, sensors)
		p.index[f] = make(map[string]uint16, len(p.options[f]))
		for i, v := range p.options[f] {
			p.index[f][v] = uint16(i)
		}
		p.all[f] = make([]int, len(p.options[f]))
	}
	// One-value slices shared by every entry, so that most facets cost an
	// entry no allocation.
	var one [len(facetNames)][][]uint16
	for f := range facetNames {
		one[f] = make([][]uint16, len(p.options[f]))
		for i := range one[f] {
			one[f][i] = []uint16{uint16(i)}
		}
	}
	for i, s := range sensors {
		k := &p.keys[i]
		fv := sensorFacets(s)
		for f, name := range facetNames {
			vals := fv[name]
			if len(vals) == 1 {
				if c, ok := p.index[f][vals[0]]; ok {
					k.codes[f] = one[f][c]
				}
			} else {
				for _, v := range vals {
					if c, ok := p.index[f][v]; ok && !slices.Contains(k.codes[f], c) {
						k.codes[f] = append(k.codes[f], c)
					}
				}
			}
			for _, c := range k.codes[f] {
				p.all[f][c]++
			}
		}
		k.hay = haystack(s)
	}
	return p
}

// Len is the number of published entries.
func (p *Published) Len() int { return len(p.sensors) }

// Select returns the entries the map shows for f, selected as the list
// selects them: the facets by their values (one the register does not
// know is ignored), each word of q searched in the folded text (q cut at
// MaxSearchRunes); in id order.
func (p *Published) Select(f MapFilter) []registryapi.Sensor {
	q := f.Q
	if utf8.RuneCountInString(q) > MaxSearchRunes {
		q = string([]rune(q)[:MaxSearchRunes])
	}
	sel := map[string][]string{}
	for _, fc := range f.facets() {
		if len(fc.vals) > 0 {
			sel[fc.key] = fc.vals
		}
	}
	hit, _, _ := p.filter(strings.Fields(fold(q)), sel)
	if hit == nil {
		return p.sensors
	}
	var out []registryapi.Sensor
	for i, ok := range hit {
		if ok {
			out = append(out, p.sensors[i])
		}
	}
	return out
}

// Prepare makes the orders of the entries for a language now rather than
// at the first page in that language.
func (p *Published) Prepare(lang string) { p.sorted(lang) }

// sorted returns the entries' orders for a language, made at first use.
func (p *Published) sorted(lang string) *sortOrders {
	if o, ok := p.orders.Load(lang); ok {
		return o.(*sortOrders)
	}
	names := make([]string, len(p.sensors))
	for i, s := range p.sensors {
		names[i] = fold(s.Name.In(lang))
	}
	byName := func(a, b int32) int {
		return cmp.Or(strings.Compare(names[a], names[b]), strings.Compare(p.sensors[a].ID, p.sensors[b].ID))
	}
	o := new(sortOrders)
	for k, key := range sortKeys {
		perm := make([]int32, len(p.sensors))
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortFunc(perm, func(a, b int32) int {
			sa, sb := &p.sensors[a], &p.sensors[b]
			var c int
			switch key {
			case sortCategory:
				c = categoryOrder(sa.Category) - categoryOrder(sb.Category)
			case sortStatus:
				c = statusOrder(sa.Status) - statusOrder(sb.Status)
			case sortChanged:
				c = sa.UpdatedAt.Compare(sb.UpdatedAt)
			}
			return cmp.Or(c, byName(a, b))
		})
		o[k] = perm
	}
	actual, _ := p.orders.LoadOrStore(lang, o)
	return actual.(*sortOrders)
}

// selection is a checked query's chosen values per facet, as flags over
// the facet's options; nil for a facet without a choice.
type selection [len(facetNames)][]bool

func (p *Published) selection(sel map[string][]string) (s selection, any bool) {
	for f, name := range facetNames {
		for _, v := range sel[name] {
			if c, ok := p.index[f][v]; ok {
				if s[f] == nil {
					s[f] = make([]bool, len(p.options[f]))
				}
				s[f][c], any = true, true
			}
		}
	}
	return s, any
}

// failing returns how many facets of the selection the entry misses, and
// the last one.
func (k *entryKeys) failing(s *selection) (n, last int) {
	for f, chosen := range s {
		if chosen == nil {
			continue
		}
		if !slices.ContainsFunc(k.codes[f], func(c uint16) bool { return chosen[c] }) {
			n, last = n+1, f
		}
	}
	return n, last
}

// filter returns which entries match the terms and the selection (nil:
// every entry), how many, and each facet's counts over the entries that
// the terms and the other facets let through.
func (p *Published) filter(terms []string, sel map[string][]string) (hit []bool, n int, counts [len(facetNames)][]int) {
	s, selected := p.selection(sel)
	if len(terms) == 0 && !selected {
		return nil, len(p.sensors), p.all
	}
	for f := range facetNames {
		counts[f] = make([]int, len(p.options[f]))
	}
	hit = make([]bool, len(p.sensors))
	for i := range p.keys {
		k := &p.keys[i]
		if slices.ContainsFunc(terms, func(t string) bool { return !strings.Contains(k.hay, t) }) {
			continue
		}
		switch miss, last := k.failing(&s); miss {
		case 0:
			hit[i] = true
			n++
			for f, codes := range k.codes {
				for _, c := range codes {
					counts[f][c]++
				}
			}
		case 1: // counts in the facet it misses: the others let it through
			for _, c := range k.codes[last] {
				counts[last][c]++
			}
		}
	}
	return hit, n, counts
}

// page returns the entries at positions [from, to) of the hits (nil hit:
// every entry) in the order of a sort key, descending when desc.
func (p *Published) page(lang, sort string, desc bool, hit []bool, from, to int) []*registryapi.Sensor {
	perm := p.sorted(lang)[slices.Index(sortKeys[:], sort)]
	at := func(i int) int32 {
		if desc {
			return perm[len(perm)-1-i]
		}
		return perm[i]
	}
	out := make([]*registryapi.Sensor, 0, max(0, to-from))
	if hit == nil {
		for i := from; i < to; i++ {
			out = append(out, &p.sensors[at(i)])
		}
		return out
	}
	pos := 0
	for i := 0; i < len(perm) && pos < to; i++ {
		j := at(i)
		if !hit[j] {
			continue
		}
		if pos >= from {
			out = append(out, &p.sensors[j])
		}
		pos++
	}
	return out
}
