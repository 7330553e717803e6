package sink

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	lp "github.com/influxdata/line-protocol"

	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// clientLines is the line protocol the InfluxDB client writes for batch
// (its write path encodes points with github.com/influxdata/line-protocol,
// so configured): what the drainer's own encoding must equal. ok is false
// when the client cannot encode the batch at all.
func clientLines(batch []validate.Accepted) (lines string, ok bool) {
	var buf bytes.Buffer
	e := lp.NewEncoder(&buf)
	e.SetFieldTypeSupport(lp.UintSupport)
	e.FailOnFieldErr(true)
	e.SetPrecision(time.Nanosecond)
	for _, p := range Points(batch) {
		if _, err := e.Encode(p); err != nil {
			return "", false
		}
	}
	return buf.String(), true
}

func ownLines(batch []validate.Accepted) string {
	var b lineBatch
	b.encode(batch)
	if len(b.ends) == 0 {
		return ""
	}
	s, n := b.lines(0, len(b.ends))
	if n != len(batch) {
		panic("readings lost by lines")
	}
	return s
}

func TestLinesAreTheClientsLines(t *testing.T) {
	odd := &registryapi.GatewaySensor{ID: "park, 1=2", Category: "parking lot", Site: "place de la mairie",
		Tags: map[string]string{"zone": "nord\test", "a=b": "c,d", "": "x", "empty": "", "sensor": "spoofed", "site": "x"}}
	batch := []validate.Accepted{
		acc(air, "pm10", 12.5, t0),
		acc(air, "temperature", -3.25, t0),
		acc(meter, "energy", 1e21, t0),
		acc(air, "pm2_5", 1.0/3, t0.Add(time.Second)),
		acc(air, "humidity", 50, t0), // back to the first point
		acc(air, "pm10", 13, t0),     // a quantity twice: the last one
		acc(meter, "power", 0.000001, t0),
	}
	o := acc(odd, "occupied ratio", 1, t0)
	o.Sensor = odd.ID
	batch = append(batch, o)
	want, ok := clientLines(batch)
	if got := ownLines(batch); !ok || got != want {
		t.Errorf("own encoding:\n%s\nclient's (%v):\n%s", got, ok, want)
	}
}

func TestLinesOwnerAndSplit(t *testing.T) {
	batch := []validate.Accepted{
		acc(air, "pm10", 1, t0), acc(meter, "energy", 2, t0), acc(air, "temperature", 3, t0),
		acc(air, "pm10", 4, t0.Add(time.Second)),
	}
	var b lineBatch
	b.encode(batch)
	if want := []int{0, 1, 0, 2}; !slices.Equal(b.owner, want) {
		t.Errorf("owner = %v, want %v", b.owner, want)
	}
	first, n1 := b.lines(0, 1)
	rest, n2 := b.lines(1, 3)
	all, n := b.lines(0, 3)
	if first+rest != all || n1 != 2 || n2 != 2 || n != 4 {
		t.Errorf("lines split into %q (%d) + %q (%d), whole %q (%d)", first, n1, rest, n2, all, n)
	}
	b.encode(batch[3:]) // reused
	if s, n := b.lines(0, 1); n != 1 || !strings.HasPrefix(s, "air,") || strings.Count(s, "\n") != 1 {
		t.Errorf("after reuse: %q (%d)", s, n)
	}
}

// FuzzLines checks the drainer's encoding against the client's on names,
// tags and values the register or a message may carry.
func FuzzLines(f *testing.F) {
	f.Add("air", "air-hdv-01", "zone", "centre", "site-1", "pm10", 12.5, int64(0))
	f.Add("parking lot", "p, 1=2", "a=b", "c,d\t", "", "occupied", math.Copysign(0, -1), int64(-1))
	f.Add("e\nx", "s\\", "k\\", "v\\ ", "s i", "q=1", 1e300, int64(1<<62))
	f.Fuzz(func(t *testing.T, category, sensor, tagKey, tagValue, site, quantity string, value float64, ns int64) {
		if category == "" || sensor == "" || quantity == "" || math.IsNaN(value) || math.IsInf(value, 0) {
			return // validation refuses them before the spool
		}
		e := &registryapi.GatewaySensor{ID: sensor, Category: category, Site: site, Tags: map[string]string{tagKey: tagValue}}
		r := validate.Accepted{Entry: e}
		r.Sensor, r.Quantity, r.Value, r.Time = sensor, quantity, value, time.Unix(0, ns)
		r2 := r
		r2.Quantity, r2.Value = quantity+"_b", -value
		batch := []validate.Accepted{r, r2}
		want, ok := clientLines(batch)
		if !ok {
			return // the client refuses it (a field key it cannot encode)
		}
		if got := ownLines(batch); got != want {
			t.Errorf("own encoding:\n%q\nclient's:\n%q", got, want)
		}
	})
}

// Points shapes batch into the client's InfluxDB points, one per sensor and
// timestamp in the order of their first reading: the reference the
// drainer's own line protocol is compared with.
func Points(batch []validate.Accepted) []*write.Point {
	type key struct {
		sensor string
		t      int64
	}
	idx := make(map[key]int, len(batch))
	var pts []*write.Point
	for _, r := range batch {
		k := key{r.Sensor, r.Time.UnixNano()}
		i, ok := idx[k]
		if !ok {
			e := r.Entry
			tags := tagsOf(e)
			tags["sensor"] = r.Sensor
			i = len(pts)
			idx[k] = i
			pts = append(pts, write.NewPoint(e.Category, tags, nil, r.Time))
		}
		pts[i].AddField(r.Quantity, r.Value)
	}
	for _, p := range pts {
		p.SortFields()
	}
	return pts
}
