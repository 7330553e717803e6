package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// loopbackPair returns both ends of a TCP connection on loopback.
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestBufferedConnKeepsEveryWriteInOrder(t *testing.T) {
	c, s := loopbackPair(t)
	b := newBufferedConn(c)
	defer b.Close()
	const n = 100000 // PUBACK-sized writes: 4 bytes each
	got := make(chan []byte, 1)
	go func() {
		all, _ := io.ReadAll(io.LimitReader(s, 4*n))
		got <- all
	}()
	var p [4]byte
	for i := range n {
		binary.BigEndian.PutUint32(p[:], uint32(i))
		if k, err := b.Write(p[:]); err != nil || k != 4 {
			t.Fatalf("write %d: %d, %v", i, k, err)
		}
	}
	all := <-got
	if len(all) != 4*n {
		t.Fatalf("read %d bytes, want %d", len(all), 4*n)
	}
	for i := range n {
		if v := binary.BigEndian.Uint32(all[4*i:]); v != uint32(i) {
			t.Fatalf("write %d arrived as %d", i, v)
		}
	}
}

func TestBufferedConnReadsWhatThePeerSent(t *testing.T) {
	c, s := loopbackPair(t)
	b := newBufferedConn(c)
	defer b.Close()
	want := bytes.Repeat([]byte("publish "), 50000) // more than the read buffer
	go func() {
		s.Write(want)
		s.Close()
	}()
	all, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("read %d bytes (%v), want %d", len(all), err, len(want))
	}
}

func TestBufferedConnReportsAFailedWrite(t *testing.T) {
	c, s := loopbackPair(t)
	b := newBufferedConn(c)
	defer b.Close()
	s.(*net.TCPConn).SetLinger(0)
	s.Close() // the peer resets the connection
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.Write(make([]byte, 1024))
		if err != nil {
			break // the write after the failed one tells
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a reset connection kept succeeding")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Write([]byte{1}); err == nil {
		t.Error("a write after the failure succeeded")
	}
}

func TestBufferedConnClose(t *testing.T) {
	c, _ := loopbackPair(t)
	b := newBufferedConn(c)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}

// What was written before Close reaches the peer: paho writes DISCONNECT,
// and a stopping gateway its last PUBACKs, just before it closes.
func TestBufferedConnCloseSendsWhatIsQueued(t *testing.T) {
	c, s := loopbackPair(t)
	b := newBufferedConn(c)
	want := bytes.Repeat([]byte{0x40, 2, 0, 1}, 1000)
	want = append(want, 0xe0, 0) // DISCONNECT
	if _, err := b.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the peer read %d bytes (%v), want %d", len(got), err, len(want))
	}
}
