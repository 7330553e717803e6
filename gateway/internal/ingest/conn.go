package ingest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"
)

// paho reads every packet straight from the connection: a read system
// call for the first byte, one per byte of the remaining length, one for
// the rest; and it writes every PUBACK with a write of its own. At tens
// of thousands of messages a second those system calls were a third of
// the gateway's CPU. bufferedConn reads through a buffer and gathers the
// packets written while the previous write is on its way into one write.

// connReadBuffer is the size of the read buffer: many PUBLISH packets.
const connReadBuffer = 64 << 10

// connWriteLimit bounds the bytes waiting to be written; a writer beyond it
// waits (the packets paho writes are acknowledgements and control
// packets: a few bytes each).
const connWriteLimit = 256 << 10

// bufferedConn is a net.Conn whose reads are buffered and whose writes are
// handed to a goroutine that writes what gathered meanwhile in one go.
// Writes keep their order. A write error is returned by the next Write
// (the connection is then closed, and paho reconnects).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu        sync.Mutex
	cond      *sync.Cond // signalled when pending is taken or the conn ends
	pending   []byte     // written by paho, not yet by the flusher
	spare     []byte
	err       error // the first write error, or net.ErrClosed after Close
	wake      chan struct{}
	closed    chan struct{} // Close was called: the flusher sends what is queued and ends
	flushed   chan struct{} // the flusher ended
	closeOnce sync.Once
}

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer), wake: make(chan struct{}, 1), closed: make(chan struct{}), flushed: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p; it waits only while connWriteLimit bytes are queued.
func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && len(b.pending) > 0 && len(b.pending)+len(p) > connWriteLimit {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	b.pending = append(b.pending, p...)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// flush writes what was queued, until a write fails or Close: then it
// writes what is left and ends.
func (b *bufferedConn) flush() {
	defer close(b.flushed)
	for {
		closing := false
		select {
		case <-b.wake:
		case <-b.closed:
			closing = true
		}
		for {
			// pending and spare are two buffers, swapped at each write.
			b.mu.Lock()
			out := b.pending
			if len(out) == 0 {
				b.mu.Unlock()
				break
			}
			b.pending, b.spare = b.spare[:0], nil
			b.cond.Broadcast()
			b.mu.Unlock()
			if _, err := b.Conn.Write(out); err != nil {
				b.mu.Lock()
				if b.err == nil {
					b.err = err
				}
				b.cond.Broadcast()
				b.mu.Unlock()
				b.Conn.Close() // paho's reader sees the loss and reconnects
				return
			}
			b.mu.Lock()
			b.spare = out[:0]
			b.mu.Unlock()
		}
		if closing {
			return
		}
	}
}

// Close sends what is queued (paho writes DISCONNECT, and a stopping
// gateway its last PUBACKs, just before it closes), for at most
// closeFlushTimeout, then closes the connection.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	if b.err == nil {
		b.err = net.ErrClosed // no more writes
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	b.closeOnce.Do(func() {
		b.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		close(b.closed)
	})
	<-b.flushed
	return b.Conn.Close()
}

// closeFlushTimeout bounds how long Close tries to send what is queued.
const closeFlushTimeout = time.Second

// openConn is paho's OpenConnectionFunc for tcp:// and TLS brokers (paho
// opens WebSocket ones itself): it dials as paho would (tcp through a
// proxy from the environment; TLS with the options' configuration) and
// wraps the connection into a bufferedConn.
func openConn(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	dialer := o.Dialer
	if dialer == nil {
		dialer = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	var (
		c   net.Conn
		err error
	)
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
		c, err = proxy.FromEnvironmentUsing(dialer).Dial("tcp", u.Host)
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err = tls.DialWithDialer(dialer, "tcp", u.Host, o.TLSConfig)
	default:
		return nil, errors.New("ingest: no connection for scheme " + u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

// buffered reports whether openConn opens connections of u's scheme.
func buffered(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		return true
	}
	return false
}
