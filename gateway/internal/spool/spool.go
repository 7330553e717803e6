package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// Defaults of [Config].
const (
	DefaultMaxBytes           = 256 << 20
	DefaultSegmentBytes       = 8 << 20
	DefaultSyncRecords        = 1000
	DefaultSyncInterval       = 50 * time.Millisecond
	DefaultCheckpointInterval = 5 * time.Second
	// MinSegmentBytes is the smallest segment size.
	MinSegmentBytes = 4 << 10
)

// Errors of Append.
var (
	// ErrFull means the spool holds MaxBytes and may not evict: nothing was
	// written, and the caller must not acknowledge.
	ErrFull = errors.New("spool: full")
	// ErrClosed means the spool was closed.
	ErrClosed = errors.New("spool: closed")
)

// Config configures a [Spool]. The zero value of each field means its
// default.
type Config struct {
	// Dir holds the segments and the checkpoint; created if missing.
	Dir string
	// MaxBytes bounds the segment files on disk, in bytes; at least two
	// segments. DefaultMaxBytes if zero.
	MaxBytes int64
	// SegmentBytes is the size past which a new segment is started.
	// DefaultSegmentBytes if zero.
	SegmentBytes int64
	// SyncRecords: an fsync is made as soon as this many records wait for
	// one. DefaultSyncRecords if zero.
	SyncRecords int
	// SyncInterval is the shortest time between two fsyncs (unless
	// SyncRecords records wait). DefaultSyncInterval if zero.
	SyncInterval time.Duration
	// EvictOldest lets a full spool delete its oldest segment, unsent
	// readings included (counted), instead of refusing appends.
	EvictOldest bool
	// CheckpointInterval is the longest the reader's position stays
	// unwritten while it moves. DefaultCheckpointInterval if zero.
	CheckpointInterval time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SyncRecords <= 0 {
		c.SyncRecords = DefaultSyncRecords
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.SegmentBytes < MinSegmentBytes {
		errs = append(errs, fmt.Errorf("segment size %d is below %d", c.SegmentBytes, MinSegmentBytes))
	}
	if c.MaxBytes < 2*c.SegmentBytes {
		errs = append(errs, fmt.Errorf("maximum size %d is below two segments (%d)", c.MaxBytes, 2*c.SegmentBytes))
	}
	return errors.Join(errs...)
}

// position is a place in the spool: a segment (by base), an offset in it,
// and the sequence number of the record there.
type position struct {
	seg uint64
	off int64
	seq uint64
}

func (p position) before(q position) bool {
	return p.seg < q.seg || (p.seg == q.seg && p.off < q.off)
}

type segment struct {
	base uint64
	size int64
}

// syncGen is one fsync that appenders wait for.
type syncGen struct {
	done chan struct{}
	err  error
}

func newGen() *syncGen { return &syncGen{done: make(chan struct{})} }

// Spool is a durable queue of batches of accepted readings on local disk:
// appended by ingest, read in order by the sink. See the package
// documentation.
type Spool struct {
	cfg Config
	log *slog.Logger
	dir string

	interned interner // the reader's (under rmu)

	mu        sync.Mutex
	segs      []segment // oldest first; the last is written to
	f         *os.File  // the last segment, open for appending
	nextSeq   uint64
	diskBytes int64
	synced    position // everything before it is durable
	gen       *syncGen // the next fsync
	pending   int      // records written, not yet synced
	retired   []*os.File
	broken    bool // the last segment must not be written to any more
	closed    bool
	full      bool
	ack       position // everything before it was consumed
	headTime  time.Time
	cpPos     position // what the checkpoint file says
	cpAt      time.Time
	dataCh    chan struct{} // closed when synced moves
	st        counters

	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	rmu   sync.Mutex // the reader
	rpos  position
	rwin  window
	rwSeg uint64

	encoders sync.Pool

	fsyncSeconds *metrics.Histogram // nil without a registry
}

// counters are the spool's monotonic counts.
type counters struct {
	appends, appendedReadings, appendNanos uint64
	fsyncs, fsyncErrors                    uint64
	refusedFull                            uint64
	evictedSegments, evictedRecords        uint64
	tornTails, corruptSkipped              uint64
	checkpoints                            uint64
}

type encBuf struct {
	e   *encoder
	buf []byte
}

// Open opens the spool in cfg.Dir, creating it if needed, and recovers from
// whatever a crash or power cut left: a torn tail is truncated, a corrupt
// segment header set aside, and reading resumes at the checkpoint. Only an
// unusable folder (permissions, I/O errors) makes it fail.
func Open(cfg Config, log *slog.Logger, reg *metrics.Registry) (*Spool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{
		cfg:    cfg,
		log:    log,
		dir:    cfg.Dir,
		gen:    newGen(),
		dataCh: make(chan struct{}),
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.encoders.New = func() any { return &encBuf{e: newEncoder(), buf: make([]byte, 0, 4096)} }
	if err := s.recover(); err != nil {
		return nil, err
	}
	if reg != nil {
		s.register(reg)
	}
	go s.syncLoop()
	return s, nil
}

// recover loads the segments and the checkpoint.
func (s *Spool) recover() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var bases []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.dir, name)) // an unfinished segment or checkpoint
			continue
		}
		if b, ok := parseSegName(name); ok {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)

	cp, cpOK := position{}, false
	if b, err := os.ReadFile(filepath.Join(s.dir, checkpointName)); err == nil {
		if cp, cpOK = decodeCheckpoint(b); !cpOK {
			s.log.Warn("spool checkpoint unreadable: every segment is sent again (InfluxDB keeps one point per series and time)")
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}

	for _, base := range bases {
		path := filepath.Join(s.dir, segName(base))
		if cpOK && base < cp.seg {
			// Consumed: the checkpoint moved past it before it was deleted.
			os.Remove(path)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		h := make([]byte, segHeader)
		_, herr := f.ReadAt(h, 0)
		fi, serr := f.Stat()
		f.Close()
		if serr != nil {
			return fmt.Errorf("spool: %w", serr)
		}
		if herr != nil || !checkSegHeader(h, base) {
			aside := path + ".corrupt"
			s.log.Error("spool segment has no valid header; set aside, not read", "file", path, "moved_to", aside)
			s.st.corruptSkipped++
			if err := os.Rename(path, aside); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, segment{base: base, size: fi.Size()})
	}

	if len(s.segs) > 0 {
		last := &s.segs[len(s.segs)-1]
		path := filepath.Join(s.dir, segName(last.base))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		n, end, err := scanSegment(f, last.size)
		if err == nil && end < last.size {
			s.log.Warn("spool: torn tail truncated (a record cut by a crash or power cut: it was never acknowledged)",
				"file", path, "valid_bytes", end, "cut_bytes", last.size-end)
			s.st.tornTails++
			if err = f.Truncate(end); err == nil {
				last.size = end
			}
		}
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("spool: recover %s: %w", path, err)
		}
		s.nextSeq = last.base + n
		for _, sg := range s.segs {
			s.diskBytes += sg.size
		}
		if s.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if last.size >= s.cfg.SegmentBytes {
			s.broken = true // roll at the next append
		}
	} else {
		if cpOK {
			s.nextSeq = cp.seq
		}
		f, err := createSegment(s.dir, s.nextSeq)
		if err != nil {
			return err
		}
		s.f = f
		s.segs = []segment{{base: s.nextSeq, size: segHeader}}
		s.diskBytes = segHeader
	}
	last := s.segs[len(s.segs)-1]
	s.synced = position{seg: last.base, off: last.size, seq: s.nextSeq}

	first := s.segs[0]
	s.ack = position{seg: first.base, off: segHeader, seq: first.base}
	if cpOK {
		if i, ok := s.find(cp.seg); ok {
			s.ack = cp
			if s.ack.off > s.segs[i].size {
				s.ack.off = s.segs[i].size
			}
		} else if cp.seg > first.base {
			s.log.Warn("spool checkpoint names a missing segment; reading from the oldest one", "segment", cp.seg)
		}
	}
	s.cpPos, s.cpAt = s.ack, s.cfg.Now()
	s.rpos = s.ack
	if depth := s.nextSeq - min(s.ack.seq, s.nextSeq); depth > 0 {
		s.log.Info("spool opened with unsent readings", "dir", s.dir, "records", depth, "segments", len(s.segs), "bytes", s.diskBytes)
	} else {
		s.log.Info("spool opened", "dir", s.dir, "segments", len(s.segs))
	}
	return nil
}

// find returns the index of the segment of base.
func (s *Spool) find(base uint64) (int, bool) {
	return slices.BinarySearchFunc(s.segs, base, func(sg segment, b uint64) int {
		switch {
		case sg.base < b:
			return -1
		case sg.base > b:
			return 1
		}
		return 0
	})
}

// Commit appends batch and waits until it is durable: Append.
func (s *Spool) Commit(ctx context.Context, batch []validate.Accepted) error {
	return s.Append(ctx, batch)
}

// Append writes batch as one record and returns once it is durable (fsync),
// sharing the fsync with concurrent appenders: AppendAsync then Wait. It
// returns ErrFull when the spool holds MaxBytes and may not evict; on any
// error, nothing of batch may be assumed durable.
func (s *Spool) Append(ctx context.Context, batch []validate.Accepted) error {
	t, err := s.AppendAsync(batch)
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// Ticket is a record written to the spool, waiting for the group commit's
// fsync that makes it durable. The zero Ticket is durable.
type Ticket struct {
	s     *Spool
	g     *syncGen
	start time.Time
	n     int
}

// Wait returns once the record is durable, or the error of the fsync that
// should have made it so (nothing of its batch may then be assumed
// durable: append it again), or ctx's error. It may be called again after
// ctx's error; the record's statistics are counted at its first success.
func (t *Ticket) Wait(ctx context.Context) error {
	if t.g == nil {
		return nil
	}
	select {
	case <-t.g.done:
	default:
		select {
		case <-t.g.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if t.g.err != nil {
		return t.g.err
	}
	if t.s != nil {
		s := t.s
		s.mu.Lock()
		s.st.appends++
		s.st.appendedReadings += uint64(t.n)
		s.st.appendNanos += uint64(s.cfg.Now().Sub(t.start))
		s.mu.Unlock()
		t.s = nil
	}
	return nil
}

// Done returns a channel closed once the fsync the record waits for is
// done (successful or not: Wait tells).
func (t *Ticket) Done() <-chan struct{} {
	if t.g == nil {
		return closedCh
	}
	return t.g.done
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// AppendAsync writes batch as one record to the last segment, without
// waiting for the fsync that makes it durable: the returned Ticket's Wait
// does. Records become durable in the order they were written, and the
// group commit's rate bound (SyncInterval, SyncRecords) holds whatever the
// rate of appends. It returns ErrFull when the spool holds MaxBytes and may
// not evict; on an error nothing was written. batch is not kept.
func (s *Spool) AppendAsync(batch []validate.Accepted) (Ticket, error) {
	if len(batch) == 0 {
		return Ticket{}, nil
	}
	start := s.cfg.Now()
	eb := s.encoders.Get().(*encBuf)
	defer s.encoders.Put(eb)
	buf, err := eb.e.appendPayload(eb.buf[:frameHeader], batch, start)
	if err != nil {
		return Ticket{}, err
	}
	frame(buf)
	eb.buf = buf[:0]

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Ticket{}, ErrClosed
	}
	if err := s.makeRoom(int64(len(buf))); err != nil {
		s.mu.Unlock()
		return Ticket{}, err
	}
	last := &s.segs[len(s.segs)-1]
	if s.broken || (last.size > segHeader && last.size+int64(len(buf)) > s.cfg.SegmentBytes) {
		if err := s.roll(); err != nil {
			s.mu.Unlock()
			return Ticket{}, err
		}
		last = &s.segs[len(s.segs)-1]
	}
	if _, err := s.f.Write(buf); err != nil {
		// Take back a partial write; failing that, write no more here.
		if terr := s.f.Truncate(last.size); terr != nil {
			s.broken = true
		}
		s.mu.Unlock()
		return Ticket{}, fmt.Errorf("spool: append: %w", err)
	}
	last.size += int64(len(buf))
	s.diskBytes += int64(len(buf))
	s.nextSeq++
	s.pending++
	s.full = false
	g := s.gen
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return Ticket{s: s, g: g, start: start, n: len(batch)}, nil
}

// makeRoom makes sure n more bytes fit, evicting if allowed. An append
// into a spool with nothing unsent is always accepted.
func (s *Spool) makeRoom(n int64) error {
	for s.diskBytes+n > s.cfg.MaxBytes {
		if !s.ack.before(s.written()) {
			return nil
		}
		if s.cfg.EvictOldest && len(s.segs) > 1 {
			s.evictOldest()
			continue
		}
		s.st.refusedFull++
		if !s.full {
			s.log.Error("spool full: acknowledgements stop until the sink sends readings (the broker keeps the messages)",
				"bytes", s.diskBytes, "max_bytes", s.cfg.MaxBytes)
		}
		s.full = true
		return ErrFull
	}
	return nil
}

// evictOldest deletes the oldest segment, which is not the last.
func (s *Spool) evictOldest() {
	old, next := s.segs[0], s.segs[1]
	lost := next.base - max(old.base, min(s.ack.seq, next.base))
	if s.ack.seg <= old.base {
		s.ack = position{seg: next.base, off: segHeader, seq: next.base}
	}
	path := filepath.Join(s.dir, segName(old.base))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("spool: cannot evict", "file", path, "err", err)
	}
	s.segs = s.segs[1:]
	s.diskBytes -= old.size
	s.st.evictedSegments++
	s.st.evictedRecords += lost
	s.log.Error("spool full: oldest segment evicted, its unsent readings are lost (-spool-evict-oldest)",
		"file", path, "records", lost, "bytes", old.size)
}

// written is the end of what was written.
func (s *Spool) written() position {
	last := s.segs[len(s.segs)-1]
	return position{seg: last.base, off: last.size, seq: s.nextSeq}
}

// roll makes the last segment durable, completes its waiters, and starts a
// new segment.
func (s *Spool) roll() error {
	if s.pending > 0 {
		// The waiters of the records written here since the last fsync.
		err := s.fsync(s.f)
		g := s.gen
		s.gen, s.pending = newGen(), 0
		s.st.fsyncs++
		if err != nil {
			s.st.fsyncErrors++
			g.err = fmt.Errorf("spool: fsync: %w", err)
		}
		close(g.done)
	}
	f, err := createSegment(s.dir, s.nextSeq)
	if err != nil {
		return err
	}
	s.retired = append(s.retired, s.f)
	s.f = f
	s.broken = false
	s.segs = append(s.segs, segment{base: s.nextSeq, size: segHeader})
	s.diskBytes += segHeader
	s.advanceSynced(position{seg: s.nextSeq, off: segHeader, seq: s.nextSeq})
	return nil
}

// advanceSynced moves the durable end and wakes the reader.
func (s *Spool) advanceSynced(p position) {
	if s.synced.before(p) {
		s.synced = p
		close(s.dataCh)
		s.dataCh = make(chan struct{})
	}
}

// syncLoop makes appended records durable: at most one fsync per
// SyncInterval, unless SyncRecords records wait.
func (s *Spool) syncLoop() {
	defer close(s.done)
	var last time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			s.syncNow()
			return
		}
		for {
			s.mu.Lock()
			p := s.pending
			s.mu.Unlock()
			wait := s.cfg.SyncInterval - s.cfg.Now().Sub(last)
			if p == 0 || p >= s.cfg.SyncRecords || wait <= 0 {
				break
			}
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.wake:
				timer.Stop()
			case <-s.quit:
				timer.Stop()
				s.syncNow()
				return
			}
		}
		if s.syncNow() {
			last = s.cfg.Now()
		}
	}
}

// syncNow fsyncs what was written, and reports whether it did.
func (s *Spool) syncNow() bool {
	s.mu.Lock()
	if s.pending == 0 {
		s.mu.Unlock()
		return false
	}
	g, f, end := s.gen, s.f, s.written()
	s.gen, s.pending = newGen(), 0
	s.mu.Unlock()

	err := s.fsync(f)

	s.mu.Lock()
	s.st.fsyncs++
	if err != nil {
		s.st.fsyncErrors++
		s.broken = true // its page cache state is unknown: start a new segment
		s.log.Error("spool fsync failed; the records are not acknowledged and will be written again", "err", err)
		err = fmt.Errorf("spool: fsync: %w", err)
	} else {
		s.advanceSynced(end)
	}
	for _, rf := range s.retired {
		rf.Close()
	}
	s.retired = nil
	s.mu.Unlock()
	g.err = err
	close(g.done)
	return true
}

// fsync fsyncs f, a segment appenders wait for, and observes how long it
// took.
func (s *Spool) fsync(f *os.File) error {
	start := s.cfg.Now()
	err := f.Sync()
	if s.fsyncSeconds != nil {
		s.fsyncSeconds.ObserveDuration(s.cfg.Now().Sub(start))
	}
	return err
}

// Close makes what was appended durable, writes the reader's position, and
// closes the files. Appends after Close fail with ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.dataCh)
	s.dataCh = make(chan struct{})
	s.mu.Unlock()
	close(s.quit)
	<-s.done

	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.ack != s.cpPos {
		if err := writeCheckpoint(s.dir, s.ack); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.f.Close())
	for _, rf := range s.retired {
		rf.Close()
	}
	if s.rwin.f != nil {
		s.rwin.f.Close()
		s.rwin.f = nil
	}
	return errors.Join(errs...)
}

// Stats is the spool's state.
type Stats struct {
	Dir       string
	Records   uint64 // appended, not yet consumed
	Bytes     int64  // bytes of those records
	DiskBytes int64  // size of the segment files
	MaxBytes  int64
	Segments  int
	// OldestUnsent is when the oldest unconsumed record was appended, zero
	// when there is none (or it is not read yet).
	OldestUnsent time.Time
	// Full is true after an append was refused for lack of room, until
	// one is accepted.
	Full bool

	Appends, AppendedReadings uint64
	AppendSeconds             float64
	Fsyncs, FsyncErrors       uint64
	RefusedFull               uint64
	EvictedSegments           uint64
	EvictedRecords            uint64
	TornTails                 uint64
	CorruptSkipped            uint64
	Checkpoints               uint64
}

// Stats returns the spool's state.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Dir: s.dir, DiskBytes: s.diskBytes, MaxBytes: s.cfg.MaxBytes, Segments: len(s.segs), Full: s.full,
		Appends: s.st.appends, AppendedReadings: s.st.appendedReadings, AppendSeconds: float64(s.st.appendNanos) / 1e9,
		Fsyncs: s.st.fsyncs, FsyncErrors: s.st.fsyncErrors, RefusedFull: s.st.refusedFull,
		EvictedSegments: s.st.evictedSegments, EvictedRecords: s.st.evictedRecords,
		TornTails: s.st.tornTails, CorruptSkipped: s.st.corruptSkipped, Checkpoints: s.st.checkpoints,
	}
	w := s.written()
	if s.ack.before(w) {
		st.Records = w.seq - min(s.ack.seq, w.seq)
		for _, sg := range s.segs {
			switch {
			case sg.base == s.ack.seg:
				st.Bytes += sg.size - s.ack.off
			case sg.base > s.ack.seg:
				st.Bytes += sg.size - segHeader
			}
		}
		st.OldestUnsent = s.headTime
	}
	return st
}

func (s *Spool) register(reg *metrics.Registry) {
	g := func(name, help string, fn func(Stats) float64) {
		reg.GaugeFunc(name, help, func() float64 { return fn(s.Stats()) })
	}
	c := func(name, help string, fn func(Stats) float64) {
		reg.CounterFunc(name, help, func() float64 { return fn(s.Stats()) })
	}
	g("civisens_gateway_spool_records", "Records (batches of readings) in the spool not yet sent to InfluxDB.", func(st Stats) float64 { return float64(st.Records) })
	g("civisens_gateway_spool_bytes", "Bytes of the records not yet sent to InfluxDB.", func(st Stats) float64 { return float64(st.Bytes) })
	g("civisens_gateway_spool_disk_bytes", "Size of the spool's segment files.", func(st Stats) float64 { return float64(st.DiskBytes) })
	g("civisens_gateway_spool_max_bytes", "Bound of the spool's segment files (-spool-max-bytes).", func(st Stats) float64 { return float64(st.MaxBytes) })
	g("civisens_gateway_spool_segments", "Segment files of the spool.", func(st Stats) float64 { return float64(st.Segments) })
	g("civisens_gateway_spool_full", "1 while the spool refuses appends for lack of room (acknowledgements stop).", func(st Stats) float64 {
		if st.Full {
			return 1
		}
		return 0
	})
	g("civisens_gateway_spool_oldest_unsent_age_seconds", "Age of the oldest reading not yet sent to InfluxDB (since it was spooled); 0 when none.", func(st Stats) float64 {
		if st.OldestUnsent.IsZero() {
			return 0
		}
		return max(0, s.cfg.Now().Sub(st.OldestUnsent).Seconds())
	})
	c("civisens_gateway_spool_appends_total", "Records appended and made durable.", func(st Stats) float64 { return float64(st.Appends) })
	c("civisens_gateway_spool_appended_readings_total", "Readings appended and made durable.", func(st Stats) float64 { return float64(st.AppendedReadings) })
	c("civisens_gateway_spool_append_seconds_total", "Time appenders waited for their records to be durable; divided by appends_total, the mean append latency.", func(st Stats) float64 { return st.AppendSeconds })
	c("civisens_gateway_spool_fsyncs_total", "fsyncs of spool segments (one serves every record written since the previous).", func(st Stats) float64 { return float64(st.Fsyncs) })
	c("civisens_gateway_spool_fsync_errors_total", "Failed fsyncs (their records were not acknowledged).", func(st Stats) float64 { return float64(st.FsyncErrors) })
	c("civisens_gateway_spool_full_refusals_total", "Appends refused because the spool was full.", func(st Stats) float64 { return float64(st.RefusedFull) })
	c("civisens_gateway_spool_evicted_segments_total", "Segments deleted unsent because the spool was full (-spool-evict-oldest).", func(st Stats) float64 { return float64(st.EvictedSegments) })
	c("civisens_gateway_spool_evicted_records_total", "Unsent records lost with evicted segments.", func(st Stats) float64 { return float64(st.EvictedRecords) })
	c("civisens_gateway_spool_torn_tails_total", "Torn tails truncated at start (a record cut by a crash or power cut, never acknowledged).", func(st Stats) float64 { return float64(st.TornTails) })
	c("civisens_gateway_spool_corrupt_skipped_total", "Corrupt regions or records skipped while reading, and segments set aside.", func(st Stats) float64 { return float64(st.CorruptSkipped) })
	c("civisens_gateway_spool_checkpoints_total", "Writes of the reader's position.", func(st Stats) float64 { return float64(st.Checkpoints) })
	s.fsyncSeconds = reg.Histogram("civisens_gateway_spool_fsync_seconds", "Duration of the fsyncs that make appended records durable.",
		[]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})
}
