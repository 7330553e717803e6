package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A segment file starts with a header: the magic "CVSPOOL", the format
// version (1), and the sequence number of its first record (u64 LE). Its
// name is that number, %020d.seg, so that names sort in order.
const (
	segHeader  = 16
	segMagic   = "CVSPOOL"
	segVersion = 1
	segSuffix  = ".seg"
)

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func segHeaderBytes(base uint64) []byte {
	h := make([]byte, segHeader)
	copy(h, segMagic)
	h[7] = segVersion
	binary.LittleEndian.PutUint64(h[8:], base)
	return h
}

// checkSegHeader reports whether h is the header of segment base.
func checkSegHeader(h []byte, base uint64) bool {
	return len(h) >= segHeader && string(h[:7]) == segMagic && h[7] == segVersion && binary.LittleEndian.Uint64(h[8:]) == base
}

// createSegment writes a new segment durably: header into a temporary
// file, fsync, rename, fsync of the folder. It returns the segment opened
// for appending.
func createSegment(dir string, base uint64) (*os.File, error) {
	path := filepath.Join(dir, segName(base))
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, segHeaderBytes(base)); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return f, nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", dir, err)
	}
	return nil
}

// window caches bytes of a file for reading records; every byte it holds
// lies below the limit it was read with, so is durable and never changes.
type window struct {
	f   *os.File
	buf []byte
	off int64 // file offset of buf[0]
}

const windowSize = 64 << 10

// at returns the n bytes at offset o, reading no further than limit.
func (w *window) at(o int64, n int, limit int64) ([]byte, error) {
	if o+int64(n) > limit {
		return nil, io.ErrUnexpectedEOF
	}
	if o >= w.off && o+int64(n) <= w.off+int64(len(w.buf)) {
		return w.buf[o-w.off : o-w.off+int64(n)], nil
	}
	size := int64(max(n, windowSize))
	size = min(size, limit-o)
	if int64(cap(w.buf)) < size {
		w.buf = make([]byte, size)
	}
	w.buf = w.buf[:size]
	m, err := w.f.ReadAt(w.buf, o)
	w.buf, w.off = w.buf[:m], o
	if m < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return w.buf[:n], nil
}

// frameAt reads the record at o, below limit: its payload and its end.
func (w *window) frameAt(o, limit int64) ([]byte, int64, error) {
	h, err := w.at(o, frameHeader, limit)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, ErrShort
		}
		return nil, 0, err
	}
	n := binary.LittleEndian.Uint32(h)
	sum := binary.LittleEndian.Uint32(h[4:])
	if n == 0 || n > MaxRecordBytes {
		return nil, 0, ErrCorrupt
	}
	if o+frameHeader+int64(n) > limit {
		return nil, 0, ErrShort
	}
	var lenb [4]byte
	binary.LittleEndian.PutUint32(lenb[:], n)
	p, err := w.at(o+frameHeader, int(n), limit)
	if err != nil {
		return nil, 0, err
	}
	if p[0] != payloadVersion || crc32.Update(crc32.Update(0, castagnoli, lenb[:]), castagnoli, p) != sum {
		return nil, 0, ErrCorrupt
	}
	return p, o + frameHeader + int64(n), nil
}

// next returns the first valid record at or after o and below limit: its
// payload, its offset and its end. Bytes skipped over to find it are
// corrupt. ok is false when no valid record starts before limit.
func (w *window) next(o, limit int64) (payload []byte, at, end int64, ok bool, err error) {
	for ; o+frameHeader <= limit; o++ {
		p, e, ferr := w.frameAt(o, limit)
		switch {
		case ferr == nil:
			return p, o, e, true, nil
		case errors.Is(ferr, ErrShort), errors.Is(ferr, ErrCorrupt):
			continue
		default:
			return nil, 0, 0, false, ferr
		}
	}
	return nil, 0, 0, false, nil
}

// scanSegment walks a segment from its header to its end, and returns the
// number of valid records and the end of the last one: what lies after it
// is a torn tail.
func scanSegment(f *os.File, size int64) (records uint64, end int64, err error) {
	w := &window{f: f}
	end = segHeader
	for o := int64(segHeader); ; {
		_, _, e, ok, err := w.next(o, size)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return records, end, nil
		}
		records++
		end, o = e, e
	}
}

// Checkpoint file: "CVSCKPT" + version byte, then the reader's position
// (segment base, offset, sequence number: u64 LE each), then the CRC-32C of
// the 32 bytes before it.
const (
	checkpointName  = "checkpoint"
	checkpointMagic = "CVSCKPT\x01"
	checkpointSize  = 36
)

func encodeCheckpoint(p position) []byte {
	b := make([]byte, 0, checkpointSize)
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint64(b, p.seg)
	b = binary.LittleEndian.AppendUint64(b, uint64(p.off))
	b = binary.LittleEndian.AppendUint64(b, p.seq)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCheckpoint(b []byte) (position, bool) {
	if len(b) != checkpointSize || !bytes.Equal(b[:8], []byte(checkpointMagic)) ||
		crc32.Checksum(b[:32], castagnoli) != binary.LittleEndian.Uint32(b[32:]) {
		return position{}, false
	}
	p := position{
		seg: binary.LittleEndian.Uint64(b[8:]),
		off: int64(binary.LittleEndian.Uint64(b[16:])),
		seq: binary.LittleEndian.Uint64(b[24:]),
	}
	return p, p.off >= segHeader
}

// writeCheckpoint replaces the checkpoint atomically and durably.
func writeCheckpoint(dir string, p position) error {
	path := filepath.Join(dir, checkpointName)
	if err := writeFileSync(path+".tmp", encodeCheckpoint(p)); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(dir)
}
