package firmware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// scanBinaryFrames reads a stream of fixed-size binary frames that begin
// with header (the SDS011's and the Plantower sensors'), and calls check
// on every candidate: size bytes starting with header. check says whether
// the candidate is a frame to consume whole (consume), and what to emit
// (emit, res). A candidate that is not consumed is skipped by one byte
// only, so that a frame hidden behind noise or a false header is found
// again. Bytes before a header are noise and skipped. Memory stays below
// size plus one read.
func scanBinaryFrames(r io.Reader, name string, header []byte, size int, check func(f []byte) (res Result, emit, consume bool), emit func(Result) error) error {
	rd := make([]byte, 256)
	var buf []byte
	for {
		n, err := r.Read(rd)
		buf = append(buf, rd[:n]...)
		for {
			i := bytes.Index(buf, header)
			if i < 0 {
				// Keep what may be the beginning of a header.
				if k := len(header) - 1; len(buf) > k {
					buf = append(buf[:0], buf[len(buf)-k:]...)
				}
				break
			}
			buf = buf[i:]
			if len(buf) < size {
				break
			}
			res, ok, consume := check(buf[:size])
			if ok {
				if eerr := emit(res); eerr != nil {
					return eerr
				}
			}
			if consume {
				buf = buf[size:]
			} else {
				buf = buf[1:]
			}
		}
		// Compact, so that the buffer does not creep through memory.
		if cap(buf) > 4*size+len(rd) {
			buf = append([]byte(nil), buf...)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}
