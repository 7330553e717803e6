package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// publisher is a lean MQTT 3.1.1 publisher at QoS 1: it writes PUBLISH
// packets through a buffer, up to window unacknowledged, and reads the
// PUBACKs on a goroutine of its own. A paho client spent a token, channel
// operations and a write system call per message — on 2 cores the load
// generator took more CPU than the broker — so the benchmark would have
// measured its own publishers more than the chain.
type publisher struct {
	conn   net.Conn
	w      *bufio.Writer
	window int
	next   uint16 // last packet id used

	unacked  sync.WaitGroup
	mu       sync.Mutex
	cond     *sync.Cond // signalled at every PUBACK and when reading ends
	inflight int
	sentAt   [1 << 16]int64 // by packet id: when it was written (Unix ns); 0: free
	onAck    func(sent time.Time)
	readErr  error
	readEnd  chan struct{}
}

// dialPublisher connects to addr as clientID (with user and pass when user
// is not empty), clean session, no keep-alive.
func dialPublisher(addr, clientID, user, pass string, window int, onAck func(sent time.Time)) (*publisher, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	p := &publisher{conn: conn, w: bufio.NewWriterSize(conn, 64<<10), window: window, onAck: onAck, readEnd: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	var vh []byte
	vh = appendString(vh, "MQTT")
	flags := byte(0x02) // clean session
	if user != "" {
		flags |= 0x80 | 0x40
	}
	vh = append(vh, 4, flags, 0, 0) // level 3.1.1, keep-alive off
	vh = appendString(vh, clientID)
	if user != "" {
		vh = appendString(vh, user)
		vh = appendString(vh, pass)
	}
	p.w.Write(appendHeader(nil, 0x10, len(vh)))
	p.w.Write(vh)
	if err := p.w.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReaderSize(conn, 64<<10)
	var ack [4]byte
	if _, err := io.ReadFull(r, ack[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connack: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 || ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("connection refused: CONNACK % x", ack)
	}
	conn.SetReadDeadline(time.Time{})
	go p.read(r)
	return p, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendHeader appends a fixed header: the packet type and flags, and
// the remaining length.
func appendHeader(b []byte, typ byte, n int) []byte {
	b = append(b, typ)
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

// publish writes a QoS 1 PUBLISH into the buffer. When the window is
// full, it sends what is buffered and waits until a quarter of the window
// is free again, so that packets leave in bursts, not one write each.
// It returns the packet's send time.
func (p *publisher) publish(topic string, payload []byte) (time.Time, error) {
	p.mu.Lock()
	if p.inflight >= p.window {
		p.mu.Unlock()
		if err := p.w.Flush(); err != nil {
			return time.Time{}, err
		}
		p.mu.Lock()
		for p.inflight > p.window*3/4 && p.readErr == nil {
			p.cond.Wait()
		}
	}
	if p.readErr != nil {
		err := p.readErr
		p.mu.Unlock()
		return time.Time{}, err
	}
	for {
		p.next++
		if p.next != 0 && p.sentAt[p.next] == 0 {
			break
		}
	}
	id := p.next
	now := time.Now()
	p.sentAt[id] = now.UnixNano()
	p.inflight++
	p.mu.Unlock()
	p.unacked.Add(1)
	var h [16]byte
	hdr := appendHeader(h[:0], 0x32, 2+len(topic)+2+len(payload))
	hdr = appendString(hdr, topic)
	hdr = binary.BigEndian.AppendUint16(hdr, id)
	p.w.Write(hdr)
	_, err := p.w.Write(payload)
	return now, err
}

// flush sends what is buffered (before a pause, and at the end).
func (p *publisher) flush() error { return p.w.Flush() }

// read takes the PUBACKs until the connection ends.
func (p *publisher) read(r *bufio.Reader) {
	defer close(p.readEnd)
	for {
		typ, err := r.ReadByte()
		if err != nil {
			p.setErr(err)
			return
		}
		n, mult := 0, 1
		for {
			c, err := r.ReadByte()
			if err != nil {
				p.setErr(err)
				return
			}
			n += int(c&0x7f) * mult
			mult *= 128
			if c&0x80 == 0 {
				break
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			p.setErr(err)
			return
		}
		if typ != 0x40 || n != 2 {
			continue // PINGRESP, or what a broker may send
		}
		id := binary.BigEndian.Uint16(body)
		p.mu.Lock()
		sent := p.sentAt[id]
		p.sentAt[id] = 0
		if sent != 0 {
			p.inflight--
			p.cond.Signal()
		}
		p.mu.Unlock()
		if sent == 0 {
			p.setErr(fmt.Errorf("PUBACK for packet %d never sent", id))
			return
		}
		p.onAck(time.Unix(0, sent))
		p.unacked.Done()
	}
}

func (p *publisher) setErr(err error) {
	p.mu.Lock()
	if p.readErr == nil {
		p.readErr = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// drain flushes, waits up to timeout for every PUBACK, and returns how
// many messages stayed unacknowledged.
func (p *publisher) drain(timeout time.Duration) int {
	p.w.Flush()
	acked := make(chan struct{})
	go func() {
		p.unacked.Wait()
		close(acked)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-acked:
		return 0
	case <-p.readEnd:
	case <-t.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// close sends DISCONNECT and closes the connection.
func (p *publisher) close() {
	p.w.Write([]byte{0xe0, 0})
	p.w.Flush()
	p.conn.Close()
	<-p.readEnd
}
