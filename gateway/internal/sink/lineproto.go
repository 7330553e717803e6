package sink

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// The drainer encodes raw readings into InfluxDB line protocol itself, into
// one reused buffer, instead of building a *write.Point per sensor and
// timestamp for the client to encode: the same lines (a test and a fuzz
// target compare them with the client's encoding), without the maps,
// tag objects and strings each point cost.

// lineBatch is a batch of readings encoded as line protocol: one line per
// sensor and timestamp, in the order of their first reading, fields
// sorted by name (the shape of the client's points, which a test compares).
type lineBatch struct {
	buf []byte
	// ends[i] is the end of line i in buf, its newline included.
	ends []int
	// owner[j] is the line of reading j; readings[i] the readings of line i.
	owner    []int
	readings []int

	index   map[pointKey]int
	members [][]int // per line, its readings
	// prefixes caches the start of the lines of an entry, across batches
	// (the spool hands the same entry to the readings of a sensor while
	// it does not change); shared by the drainer's writers. Nil: a cache
	// of b's own.
	prefixes *prefixCache
	tagKeys  []string
	scratch  []byte
}

// prefixCache is the start of the lines of each entry, bounded by
// maxPrefixes (beyond, it starts afresh). It is safe for concurrent use.
type prefixCache struct {
	mu sync.Mutex
	m  map[*registryapi.GatewaySensor]string
}

// maxPrefixes bounds a prefixCache.
const maxPrefixes = 1 << 16

func (c *prefixCache) get(e *registryapi.GatewaySensor) (string, bool) {
	c.mu.Lock()
	p, ok := c.m[e]
	c.mu.Unlock()
	return p, ok
}

func (c *prefixCache) put(e *registryapi.GatewaySensor, p string) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxPrefixes {
		c.m = map[*registryapi.GatewaySensor]string{}
	}
	c.m[e] = p
	c.mu.Unlock()
}

type pointKey struct {
	sensor string
	t      int64
}

// reset empties b, keeping its memory.
func (b *lineBatch) reset() {
	b.buf, b.ends, b.owner, b.readings = b.buf[:0], b.ends[:0], b.owner[:0], b.readings[:0]
	clear(b.index)
	for i := range b.members {
		b.members[i] = b.members[i][:0]
	}
}

// encode replaces b's content with batch. A reading whose value line
// protocol cannot carry (NaN, ±Inf: validation refuses them before the
// spool) is left out of its line; a line left with no field is dropped.
func (b *lineBatch) encode(batch []validate.Accepted) {
	b.reset()
	if b.index == nil {
		b.index = map[pointKey]int{}
	}
	lines := 0
	for j, r := range batch {
		k := pointKey{r.Sensor, r.Time.UnixNano()}
		i, ok := b.index[k]
		if !ok {
			i = lines
			lines++
			b.index[k] = i
			if i == len(b.members) {
				b.members = append(b.members, nil)
			}
		}
		b.owner = append(b.owner, i)
		b.members[i] = append(b.members[i], j)
	}
	for i := range lines {
		m := b.members[i]
		first := batch[m[0]]
		// Fields sorted by name; a quantity twice keeps its last reading,
		// as a point's AddField does.
		slices.SortStableFunc(m, func(x, y int) int { return strings.Compare(batch[x].Quantity, batch[y].Quantity) })
		start := len(b.buf)
		b.buf = append(b.buf, b.prefix(first)...)
		sep := byte(' ')
		fields := 0
		for n, j := range m {
			r := batch[j]
			if n+1 < len(m) && batch[m[n+1]].Quantity == r.Quantity {
				continue
			}
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				continue
			}
			b.buf = append(b.buf, sep)
			sep = ','
			b.buf = appendEscaped(b.buf, r.Quantity, tagEscapes)
			b.buf = append(b.buf, '=')
			b.buf = strconv.AppendFloat(b.buf, r.Value, 'f', -1, 64)
			fields++
		}
		if fields == 0 {
			b.buf = b.buf[:start]
			b.ends = append(b.ends, start)
			b.readings = append(b.readings, len(m))
			continue
		}
		b.buf = append(b.buf, ' ')
		b.buf = strconv.AppendInt(b.buf, first.Time.UnixNano(), 10)
		b.buf = append(b.buf, '\n')
		b.ends = append(b.ends, len(b.buf))
		b.readings = append(b.readings, len(m))
	}
}

// lines returns the line protocol of lines [lo, hi), and how many readings
// they hold.
func (b *lineBatch) lines(lo, hi int) (string, int) {
	from := 0
	if lo > 0 {
		from = b.ends[lo-1]
	}
	n := 0
	for _, r := range b.readings[lo:hi] {
		n += r
	}
	return string(b.buf[from:b.ends[hi-1]]), n
}

// prefix returns the measurement and tags of r's line, "air,sensor=…,site=…".
func (b *lineBatch) prefix(r validate.Accepted) string {
	e := r.Entry
	if b.prefixes == nil {
		b.prefixes = &prefixCache{}
	}
	if p, ok := b.prefixes.get(e); ok {
		return p
	}
	b.tagKeys = b.tagKeys[:0]
	for k, v := range e.Tags {
		if k != "" && v != "" && k != "sensor" && k != "site" {
			b.tagKeys = append(b.tagKeys, k)
		}
	}
	b.tagKeys = append(b.tagKeys, "sensor")
	if e.Site != "" {
		b.tagKeys = append(b.tagKeys, "site")
	}
	slices.Sort(b.tagKeys)
	sb := appendEscaped(b.scratch[:0], e.Category, nameEscapes)
	for _, k := range b.tagKeys {
		v := e.Tags[k]
		switch k {
		case "sensor":
			v = r.Sensor
		case "site":
			v = e.Site
		}
		sb = append(sb, ',')
		sb = appendEscaped(sb, k, tagEscapes)
		sb = append(sb, '=')
		sb = appendEscaped(sb, v, tagEscapes)
	}
	b.scratch = sb
	p := string(sb)
	b.prefixes.put(e, p)
	return p
}

// The characters escaped with a backslash (and \t \n \f \r written as
// such), as github.com/influxdata/line-protocol escapes them.
const (
	tagEscapes  = "\t\n\f\r ,="
	nameEscapes = "\t\n\f\r ,"
)

func appendEscaped(dst []byte, s, escapes string) []byte {
	if !strings.ContainsAny(s, escapes) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(escapes, c) < 0 {
			dst = append(dst, c)
			continue
		}
		switch c {
		case '\t':
			dst = append(dst, `\t`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\r':
			dst = append(dst, `\r`...)
		default:
			dst = append(dst, '\\', c)
		}
	}
	return dst
}
