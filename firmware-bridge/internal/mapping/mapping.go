// Package mapping turns decoded device readings (package firmware) into
// SenML packs of register sensors: a mapping file says which device (a
// format's source: a Tasmota topic, a DevEUI, a chip id, a meter address)
// is which register sensor, and which of its fields is which declared
// quantity. Sources that no mapping names are counted and kept in a
// bounded table, so that a technician can see what publishes and register
// it (firmware-bridge sources).
//
// # The mapping file
//
// JSON, decoded strictly (an unknown field is an error, reported with its
// line):
//
//	{"sources": [
//	  {"format": "tasmota", "source": "salle-polyvalente",
//	   "sensor": "air-salle-01",
//	   "fields": {"SDS0X1.PM2.5": "pm2_5", "SDS0X1.PM10": "pm10"}},
//	  {"format": "chirpstack", "source": "a84041000181c5e2",
//	   "sensor": "parking-gare-07"}
//	]}
//
// Without "fields", every reading whose quantity the decoder inferred is
// published under that quantity; with it, only the fields listed, under
// the quantity given. Device-health readings (battery, RSSI, SNR, link
// quality) are published only when "health" is true or a field names
// them: the register must declare them for the gateway to keep them.
package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/firmware-bridge/senml"
)

// Config is the mapping file.
type Config struct {
	Sources []Source `json:"sources"`
}

// Source maps one device of one format to one register sensor.
type Source struct {
	Format string `json:"format"`
	Source string `json:"source"`
	Sensor string `json:"sensor"`
	// Fields maps the device's field names to the sensor's quantities;
	// empty: the decoder's inferred quantities.
	Fields map[string]string `json:"fields,omitempty"`
	// Health publishes the device-health readings too.
	Health bool `json:"health,omitempty"`
}

// Parse reads a mapping file, strictly, and checks it; formats lists the
// format names the bridge knows.
func Parse(r io.Reader, formats []string) (Config, error) {
	var c Config
	if err := DecodeStrict(r, &c, "mapping"); err != nil {
		return Config{}, err
	}
	return c, c.Validate(formats)
}

// DecodeStrict decodes one JSON document of at most 16 MiB from r into v,
// refusing unknown fields and anything after it; an error names its line.
// what names the document in the error about trailing data.
func DecodeStrict(r io.Reader, v any, what string) error {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return err
	}
	line := func(off int64) int { return bytes.Count(data[:min(int(off), len(data))], []byte("\n")) + 1 }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("line %d: %w", line(se.Offset), err)
		case errors.As(err, &te):
			return fmt.Errorf("line %d: %w", line(te.Offset), err)
		}
		// An unknown field: the decoder stopped just after its name.
		return fmt.Errorf("line %d: %w", line(dec.InputOffset()), err)
	}
	if dec.More() {
		return fmt.Errorf("data after the %s", what)
	}
	return nil
}

// Validate reports every problem of c at once.
func (c Config) Validate(formats []string) error {
	var errs []error
	seen := map[[2]string]int{}
	for i, s := range c.Sources {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("sources[%d] (%s %q): %s", i, s.Format, s.Source, fmt.Sprintf(format, args...)))
		}
		if !slices.Contains(formats, s.Format) {
			bad("unknown format %q (known: %s)", s.Format, strings.Join(formats, ", "))
		}
		if s.Source == "" {
			bad("no source")
		}
		if !senml.ValidSensorID(s.Sensor) {
			bad("sensor %q is not a register sensor id", s.Sensor)
		}
		for f, q := range s.Fields {
			if !senml.ValidQuantity(q) {
				bad("field %q: %q is not a quantity name (lower case, digits, _)", f, q)
			}
		}
		k := [2]string{s.Format, s.Source}
		if j, dup := seen[k]; dup {
			bad("also mapped by sources[%d]", j)
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

// Packed is a pack for one sensor.
type Packed struct {
	Sensor string
	Pack   senml.Pack
}

// Mapper maps decoded results; it is safe for concurrent use.
type Mapper struct {
	byKey    map[[2]string]Source
	unmapped *Unmapped
}

// New returns a mapper of c, noting unmapped sources in u (nil: none).
func New(c Config, u *Unmapped) *Mapper {
	m := &Mapper{byKey: map[[2]string]Source{}, unmapped: u}
	for _, s := range c.Sources {
		m.byKey[[2]string{s.Format, s.Source}] = s
	}
	return m
}

// Map turns the readings of res, decoded from format at received, into
// one pack per sensor and time. Readings of sources no mapping names are
// noted as unmapped; fields of a mapped source that it does not publish
// are returned in skipped.
func (m *Mapper) Map(format string, res firmware.Result, received time.Time) (packs []Packed, skipped []firmware.Reading) {
	type key struct {
		sensor string
		t      int64
	}
	groups := map[key]senml.Pack{}
	var order []key
	for _, r := range res.Readings {
		s, ok := m.byKey[[2]string{format, r.Source}]
		if !ok {
			if m.unmapped != nil {
				m.unmapped.Note(format, r, received)
			}
			continue
		}
		q, ok := quantityOf(s, r)
		if !ok || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			skipped = append(skipped, r)
			continue
		}
		at := r.Time
		if at.IsZero() {
			at = received
		}
		k := key{s.Sensor, at.UnixMilli()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		rec := senml.Record{Name: q, Unit: r.Unit, Value: senml.Float(r.Value)}
		groups[k] = append(groups[k], rec)
	}
	for _, k := range order {
		p := groups[k]
		p[0].BaseName = k.sensor + ":"
		p[0].BaseTime = float64(k.t) / 1000
		packs = append(packs, Packed{Sensor: k.sensor, Pack: p})
	}
	return packs, skipped
}

// quantityOf is the quantity r is published under, by s.
func quantityOf(s Source, r firmware.Reading) (string, bool) {
	if len(s.Fields) > 0 {
		q, ok := s.Fields[r.Field]
		return q, ok
	}
	if r.Quantity == "" || (r.Health && !s.Health) {
		return "", false
	}
	return r.Quantity, true
}

// Infer builds, without a mapping, the pack a source's readings would
// give if the register sensor were named after the source: what
// firmware-bridge decode prints.
func Infer(res firmware.Result, received time.Time) []Packed {
	var c Config
	seen := map[string]bool{}
	for _, r := range res.Readings {
		if !seen[r.Source] {
			seen[r.Source] = true
			c.Sources = append(c.Sources, Source{Format: "-", Source: r.Source, Sensor: r.Source, Health: true})
		}
	}
	packs, _ := New(c, nil).Map("-", res, received)
	return packs
}

// Unmapped is a bounded table of the sources no mapping names.
type Unmapped struct {
	max int
	mu  sync.Mutex
	src map[[2]string]*SourceSeen
	// Dropped counts sources not noted because the table was full.
	dropped int
}

// SourceSeen is what the bridge heard from an unmapped source.
type SourceSeen struct {
	Format   string            `json:"format"`
	Source   string            `json:"source"`
	Readings int               `json:"readings"`
	First    time.Time         `json:"first_seen"`
	Last     time.Time         `json:"last_seen"`
	Fields   map[string]string `json:"fields"` // field → "quantity unit" inferred, or ""
}

// NewUnmapped returns a table of at most max sources.
func NewUnmapped(max int) *Unmapped {
	return &Unmapped{max: max, src: map[[2]string]*SourceSeen{}}
}

// maxFields bounds the fields kept per source.
const maxFields = 64

// Note records a reading of an unmapped source.
func (u *Unmapped) Note(format string, r firmware.Reading, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [2]string{format, r.Source}
	s, ok := u.src[k]
	if !ok {
		if len(u.src) >= u.max {
			u.dropped++
			return
		}
		s = &SourceSeen{Format: format, Source: r.Source, First: at, Fields: map[string]string{}}
		u.src[k] = s
	}
	s.Readings++
	s.Last = at
	if _, ok := s.Fields[r.Field]; ok || len(s.Fields) < maxFields {
		s.Fields[r.Field] = strings.TrimSpace(r.Quantity + " " + r.Unit)
	}
}

// Snapshot returns the table, sorted by format and source, and the number
// of sources left out because it was full.
func (u *Unmapped) Snapshot() ([]SourceSeen, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]SourceSeen, 0, len(u.src))
	for _, s := range u.src {
		c := *s
		c.Fields = maps.Clone(s.Fields)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Format != out[j].Format {
			return out[i].Format < out[j].Format
		}
		return out[i].Source < out[j].Source
	})
	return out, u.dropped
}
