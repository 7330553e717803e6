package spool

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/civisens/civisens/gateway/internal/validate"
)

// Batch is what [Spool.Read] returns: the readings of one or more
// consecutive records, and where they end.
type Batch struct {
	Readings []validate.Accepted
	// Records is the number of records read.
	Records int
	// First is when the first record was appended.
	First time.Time
	end   position
	last  time.Time
}

// Reset empties b, keeping its memory.
func (b *Batch) Reset() {
	clear(b.Readings) // drop references to entries
	b.Readings, b.Records, b.First, b.last = b.Readings[:0], 0, time.Time{}, time.Time{}
}

// Read appends to b the durable records that follow what b (or the
// previous Read) ended with, in the order they were appended, until b holds
// at least max readings or no durable record is left. With wait, it waits
// for a first record until ctx ends (then it returns ctx's error);
// without, it returns at once, b possibly empty. Read is for one reader
// (the sink): calls must not overlap.
func (s *Spool) Read(ctx context.Context, b *Batch, max int, wait bool) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		s.mu.Lock()
		ch, closed := s.dataCh, s.closed
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if err := s.readSome(b, max); err != nil {
			return err
		}
		if b.Records > 0 || !wait {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readSome reads durable records into b while it holds fewer than max
// readings.
func (s *Spool) readSome(b *Batch, max int) error {
	for len(b.Readings) < max {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.rpos.before(s.ack) {
			s.rpos = s.ack // evicted under the reader
		}
		i, ok := s.find(s.rpos.seg)
		if !ok {
			// The segment went away (evicted): go on with the next one.
			s.rpos = s.ack
			if i, ok = s.find(s.rpos.seg); !ok {
				s.mu.Unlock()
				return nil
			}
		}
		sealed := i < len(s.segs)-1
		var limit int64
		switch {
		case s.segs[i].base < s.synced.seg:
			limit = s.segs[i].size
		case s.segs[i].base == s.synced.seg:
			limit = s.synced.off
		}
		var nextBase uint64
		if sealed {
			nextBase = s.segs[i+1].base
		}
		s.mu.Unlock()

		if s.rpos.off >= limit {
			if !sealed {
				return nil
			}
			s.rpos = position{seg: nextBase, off: segHeader, seq: nextBase}
			continue
		}
		if s.rwin.f == nil || s.rwSeg != s.rpos.seg {
			if s.rwin.f != nil {
				s.rwin.f.Close()
			}
			f, err := os.Open(filepath.Join(s.dir, segName(s.rpos.seg)))
			if err != nil {
				s.rwin = window{}
				if os.IsNotExist(err) {
					continue // evicted meanwhile
				}
				return err
			}
			s.rwin, s.rwSeg = window{f: f}, s.rpos.seg
		}
		p, at, end, ok, err := s.rwin.next(s.rpos.off, limit)
		if err != nil {
			return err
		}
		if !ok {
			if !sealed {
				return nil // the durable part ends in damage: wait for more
			}
			s.skipped("corrupt bytes at the end of a segment skipped", s.rpos, limit-s.rpos.off)
			s.rpos = position{seg: nextBase, off: segHeader, seq: nextBase}
			continue
		}
		if at > s.rpos.off {
			s.skipped("corrupt bytes skipped to the next valid record", s.rpos, at-s.rpos.off)
		}
		n := len(b.Readings)
		var appended time.Time
		b.Readings, appended, err = decodeInterned(b.Readings, p, &s.interned)
		s.rpos = position{seg: s.rpos.seg, off: end, seq: s.rpos.seq + 1}
		if err != nil {
			clear(b.Readings[n:])
			b.Readings = b.Readings[:n]
			s.skipped("undecodable record skipped", position{seg: s.rpos.seg, off: at}, end-at)
			continue
		}
		if b.Records == 0 {
			b.First = appended
			s.mu.Lock()
			if !s.ack.before(position{seg: s.rpos.seg, off: at}) {
				s.headTime = appended
			}
			s.mu.Unlock()
		}
		b.Records++
		b.end, b.last = s.rpos, appended
	}
	return nil
}

func (s *Spool) skipped(msg string, at position, n int64) {
	s.mu.Lock()
	s.st.corruptSkipped++
	s.mu.Unlock()
	s.log.Error("spool: "+msg, "segment", segName(at.seg), "offset", at.off, "bytes", n)
}

// Done marks everything up to the end of b as consumed: it will not be read
// again, even after a restart, once the checkpoint is written (at the
// latest CheckpointInterval later, and at Close). Segments wholly consumed
// are deleted.
func (s *Spool) Done(b *Batch) error {
	if b.Records == 0 {
		return nil
	}
	s.mu.Lock()
	if !s.ack.before(b.end) {
		s.mu.Unlock()
		return nil
	}
	s.ack = b.end
	s.headTime = b.last // an upper bound until the next record is read
	if !s.ack.before(s.written()) {
		s.headTime = time.Time{}
	}
	now := s.cfg.Now()
	if s.ack.seg == s.segs[0].base && now.Sub(s.cpAt) < s.cfg.CheckpointInterval {
		s.mu.Unlock()
		return nil
	}
	pos := s.ack
	s.mu.Unlock()
	return s.checkpoint(pos, now)
}

// checkpoint writes pos, then deletes the segments before it.
func (s *Spool) checkpoint(pos position, now time.Time) error {
	if err := writeCheckpoint(s.dir, pos); err != nil {
		s.log.Error("spool: cannot write the checkpoint", "err", err)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cpPos, s.cpAt = pos, now
	s.st.checkpoints++
	for len(s.segs) > 1 && s.segs[0].base < pos.seg {
		old := s.segs[0]
		path := filepath.Join(s.dir, segName(old.base))
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			s.log.Error("spool: cannot delete a sent segment", "file", path, "err", err)
			break
		}
		s.segs = s.segs[1:]
		s.diskBytes -= old.size
	}
	return nil
}
