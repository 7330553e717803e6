package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestSystemdNotifier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	env := map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "40000", "WATCHDOG_PID": strconv.Itoa(42)}
	n := New(func(k string) string { return env[k] }, 42)
	if n.watchdog != 40*time.Millisecond {
		t.Fatalf("watchdog %v, want 40ms", n.watchdog)
	}
	ctx, cancel := context.WithCancel(t.Context())
	n.Ready(ctx)
	read := func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:k])
	}
	for _, want := range []string{"READY=1", "WATCHDOG=1", "WATCHDOG=1"} {
		if got := read(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	cancel()
	for got := read(); got != "STOPPING=1"; got = read() {
		if got != "WATCHDOG=1" {
			t.Fatalf("got %q, want STOPPING=1", got)
		}
	}

	// Another process's watchdog, or no socket: nothing to do.
	if n := New(func(k string) string { return env[k] }, 7); n.watchdog != 0 {
		t.Errorf("watchdog of pid 42 taken by pid 7")
	}
	if err := New(func(string) string { return "" }, 1).Notify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
}

// Once ctx has ended, the function Ready returns waits until STOPPING=1
// is said, so that a program that stops quickly says it before it exits.
func TestReadyWaitsForStopping(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := New(func(k string) string { return map[string]string{"NOTIFY_SOCKET": sock}[k] }, 1)
	ctx, cancel := context.WithCancel(t.Context())
	wait := n.Ready(ctx)
	cancel()
	wait()
	// Both datagrams are queued now: read them without waiting.
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 64)
	for {
		var k int
		var rerr error
		raw.Read(func(fd uintptr) bool {
			k, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		})
		if rerr != nil || k <= 0 {
			break
		}
		got = append(got, string(buf[:k]))
	}
	if len(got) != 2 || got[0] != "READY=1" || got[1] != "STOPPING=1" {
		t.Errorf("systemd was told %q, want READY=1 then STOPPING=1", got)
	}
}
