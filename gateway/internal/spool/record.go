package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Framing of a record in a segment:
//
//	u32 LE  n, the length of the payload
//	u32 LE  CRC-32C (Castagnoli) of the 4 length bytes followed by the payload
//	n bytes payload
const (
	frameHeader = 8
	// MaxRecordBytes bounds a record's payload: a longer length field is
	// corruption, not a record.
	MaxRecordBytes = 64 << 20
)

// payloadVersion is the first byte of every payload.
const payloadVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of the record reader.
var (
	// ErrShort means the bytes end inside a record: a torn write, or the end
	// of what is durable.
	ErrShort = errors.New("spool: record cut short")
	// ErrCorrupt means a record's length or checksum is wrong, or its
	// payload does not decode.
	ErrCorrupt = errors.New("spool: corrupt record")
)

// frameCRC returns the checksum of a frame whose length field is hdr[0:4].
func frameCRC(length []byte, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, length)
	return crc32.Update(c, castagnoli, payload)
}

// ReadRecord reads the record at the start of b. It returns the payload (a
// sub-slice of b) and the record's size in bytes. It fails with ErrShort
// when b ends inside the record and ErrCorrupt when the record is not valid.
func ReadRecord(b []byte) (payload []byte, size int, err error) {
	if len(b) < frameHeader {
		return nil, 0, ErrShort
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > MaxRecordBytes {
		return nil, 0, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	if uint64(len(b)-frameHeader) < uint64(n) {
		return nil, 0, ErrShort
	}
	payload = b[frameHeader : frameHeader+int(n)]
	if frameCRC(b[0:4], payload) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, frameHeader + int(n), nil
}

// frame fills the header of buf, whose payload starts at buf[frameHeader:].
func frame(buf []byte) {
	binary.LittleEndian.PutUint32(buf, uint32(len(buf)-frameHeader))
	binary.LittleEndian.PutUint32(buf[4:], frameCRC(buf[0:4], buf[frameHeader:]))
}

// Payload, version 1 (integers are unsigned varints unless said otherwise;
// a string is its length then its bytes):
//
//	byte     version (1)
//	varint   appended at, Unix ns (signed)
//	count    entries, then for each:
//	           string id, category, site, retention; count tags, then
//	           (string key, string value) sorted by key
//	count    quantities, then for each: string name, string unit
//	count    readings
//	varint   time of the first reading, Unix ns (signed)
//	then for each reading:
//	           entry index, quantity index, 8 bytes float64 LE,
//	           varint time minus the previous reading's time (signed)
//
// An entry and a quantity are written once per record, however many
// readings use them, so that decoding allocates per record, not per
// reading.

// encoder builds payloads; its maps and buffers are reused.
type encoder struct {
	entries map[*registryapi.GatewaySensor]int
	byID    map[string]int
	quants  map[[2]string]int
	elist   []*registryapi.GatewaySensor
	qlist   [][2]string
	keys    []string
	ei, qi  []int
}

func newEncoder() *encoder {
	return &encoder{entries: make(map[*registryapi.GatewaySensor]int), byID: make(map[string]int), quants: make(map[[2]string]int)}
}

// ErrNoEntry is returned for a reading without its register entry.
var ErrNoEntry = errors.New("spool: reading without its register entry")

// appendPayload appends the payload of batch to buf.
func (e *encoder) appendPayload(buf []byte, batch []validate.Accepted, appended time.Time) ([]byte, error) {
	clear(e.entries)
	clear(e.byID)
	clear(e.quants)
	e.elist, e.qlist = e.elist[:0], e.qlist[:0]
	e.ei, e.qi = e.ei[:0], e.qi[:0]
	for i := range batch {
		r := &batch[i]
		if r.Entry == nil {
			return buf, ErrNoEntry
		}
		ei, ok := e.entries[r.Entry]
		if !ok {
			// The ingest hands each message its own copy of the entry:
			// one per sensor and content is enough.
			if j, found := e.byID[r.Entry.ID]; found && sameEntry(e.elist[j], r.Entry) {
				ei = j
			} else {
				ei = len(e.elist)
				e.byID[r.Entry.ID] = ei
				e.elist = append(e.elist, r.Entry)
			}
			e.entries[r.Entry] = ei
		}
		k := [2]string{r.Quantity, r.Unit}
		qi, ok := e.quants[k]
		if !ok {
			qi = len(e.qlist)
			e.quants[k] = qi
			e.qlist = append(e.qlist, k)
		}
		e.ei, e.qi = append(e.ei, ei), append(e.qi, qi)
	}
	buf = append(buf, payloadVersion)
	buf = binary.AppendVarint(buf, appended.UnixNano())
	buf = binary.AppendUvarint(buf, uint64(len(e.elist)))
	for _, en := range e.elist {
		buf = appendString(buf, en.ID)
		buf = appendString(buf, en.Category)
		buf = appendString(buf, en.Site)
		buf = appendString(buf, en.Retention)
		e.keys = e.keys[:0]
		for k := range en.Tags {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
		buf = binary.AppendUvarint(buf, uint64(len(e.keys)))
		for _, k := range e.keys {
			buf = appendString(buf, k)
			buf = appendString(buf, en.Tags[k])
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.qlist)))
	for _, q := range e.qlist {
		buf = appendString(buf, q[0])
		buf = appendString(buf, q[1])
	}
	buf = binary.AppendUvarint(buf, uint64(len(batch)))
	var prev int64
	if len(batch) > 0 {
		prev = batch[0].Time.UnixNano()
	}
	buf = binary.AppendVarint(buf, prev)
	for i := range batch {
		t := batch[i].Time.UnixNano()
		buf = binary.AppendUvarint(buf, uint64(e.ei[i]))
		buf = binary.AppendUvarint(buf, uint64(e.qi[i]))
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(batch[i].Value))
		buf = binary.AppendVarint(buf, t-prev)
		prev = t
	}
	return buf, nil
}

// sameEntry reports whether a and b encode the same.
func sameEntry(a, b *registryapi.GatewaySensor) bool {
	if a.ID != b.ID || a.Category != b.Category || a.Site != b.Site || a.Retention != b.Retention || len(a.Tags) != len(b.Tags) {
		return false
	}
	for k, v := range a.Tags {
		if bv, ok := b.Tags[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads payloads.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items of at least min bytes each, refusing one
// that the remaining bytes cannot hold (a corrupt count must not allocate).
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.fail(what + " count")
		return 0
	}
	return int(n)
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// skipStr skips a string, returning its bytes (which alias the record).
func (d *decoder) skipStr(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// interner keeps the entries and names decoded from earlier records, so
// that the records of a sensor share one entry and one copy of its
// strings: fewer allocations, and an entry's identity is stable across
// batches (the sink caches what it derives from an entry by pointer). An
// entry is reused only when its encoding is byte for byte the same.
type interner struct {
	entries map[string]internedEntry
	names   map[string]string
}

type internedEntry struct {
	raw []byte
	e   *registryapi.GatewaySensor
}

// internerMax bounds each map of an interner; beyond, it starts afresh.
const internerMax = 1 << 16

func (in *interner) name(b []byte) string {
	if s, ok := in.names[string(b)]; ok {
		return s
	}
	if in.names == nil || len(in.names) >= internerMax {
		in.names = map[string]string{}
	}
	s := string(b)
	in.names[s] = s
	return s
}

// decodePayload appends the readings of payload p to dst. It also returns
// when the record was appended.
func decodePayload(dst []validate.Accepted, p []byte) ([]validate.Accepted, time.Time, error) {
	return decodeInterned(dst, p, &interner{})
}

// decodeEntry decodes one entry of a record.
func decodeEntry(d *decoder, en *registryapi.GatewaySensor) {
	en.ID, en.Category, en.Site, en.Retention = d.str("id"), d.str("category"), d.str("site"), d.str("retention")
	nt := d.count("tags", 2)
	if nt > 0 {
		en.Tags = make(map[string]string, nt)
		for range nt {
			k := d.str("tag")
			en.Tags[k] = d.str("tag value")
		}
	}
}

// decodeInterned is decodePayload, with the entries and names of in.
func decodeInterned(dst []validate.Accepted, p []byte, in *interner) ([]validate.Accepted, time.Time, error) {
	if len(p) == 0 || p[0] != payloadVersion {
		return dst, time.Time{}, fmt.Errorf("%w: unknown payload version", ErrCorrupt)
	}
	d := decoder{b: p[1:]}
	appended := d.varint("append time")
	ne := d.count("entries", 5)
	entries := make([]*registryapi.GatewaySensor, ne)
	for i := range entries {
		start := d.b
		id := d.skipStr("id")
		d.skipStr("category")
		d.skipStr("site")
		d.skipStr("retention")
		nt := d.count("tags", 2)
		for range nt {
			d.skipStr("tag")
			d.skipStr("tag value")
		}
		if d.err != nil {
			return dst, time.Time{}, d.err
		}
		raw := start[:len(start)-len(d.b)]
		if c, ok := in.entries[string(id)]; ok && bytes.Equal(c.raw, raw) {
			entries[i] = c.e
			continue
		}
		en := &registryapi.GatewaySensor{}
		decodeEntry(&decoder{b: raw}, en)
		entries[i] = en
		if in.entries == nil || len(in.entries) >= internerMax {
			in.entries = map[string]internedEntry{}
		}
		in.entries[en.ID] = internedEntry{raw: bytes.Clone(raw), e: en}
	}
	nq := d.count("quantities", 2)
	quants := make([][2]string, nq)
	for i := range quants {
		q := d.skipStr("quantity")
		u := d.skipStr("unit")
		if d.err == nil {
			quants[i] = [2]string{in.name(q), in.name(u)}
		}
	}
	nr := d.count("readings", 11)
	t := d.varint("time")
	if d.err != nil {
		return dst, time.Time{}, d.err
	}
	dst = slices.Grow(dst, nr)
	for range nr {
		ei, qi := d.uvarint("entry index"), d.uvarint("quantity index")
		if d.err == nil && (ei >= uint64(ne) || qi >= uint64(nq)) {
			d.fail("index")
		}
		if d.err == nil && len(d.b) < 8 {
			d.fail("value")
		}
		if d.err != nil {
			return dst, time.Time{}, d.err
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		t += d.varint("time delta")
		if d.err != nil {
			return dst, time.Time{}, d.err
		}
		en := entries[ei]
		dst = append(dst, validate.Accepted{
			Reading: senml.Reading{Sensor: en.ID, Quantity: quants[qi][0], Unit: quants[qi][1], Value: v, Time: time.Unix(0, t).UTC()},
			Entry:   en,
		})
	}
	if len(d.b) != 0 {
		return dst, time.Time{}, fmt.Errorf("%w: %d bytes after the readings", ErrCorrupt, len(d.b))
	}
	return dst, time.Unix(0, appended), nil
}

// EncodeRecord returns batch as a framed record, for tests and tools.
func EncodeRecord(batch []validate.Accepted, appended time.Time) ([]byte, error) {
	buf, err := newEncoder().appendPayload(make([]byte, frameHeader, 256), batch, appended)
	if err != nil {
		return nil, err
	}
	frame(buf)
	return buf, nil
}

// DecodeRecord reads the record at the start of b and returns its readings
// and its size, for tests and tools.
func DecodeRecord(b []byte) ([]validate.Accepted, int, error) {
	p, n, err := ReadRecord(b)
	if err != nil {
		return nil, 0, err
	}
	out, _, err := decodePayload(nil, p)
	return out, n, err
}
