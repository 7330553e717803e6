package testinfra

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// InfluxServer is an InfluxDB 1.8.10 that a test may stop and start again
// on the same port and data folder, as an operator's restart does.
type InfluxServer struct {
	*Influx
	dir               string
	httpPort, rpcPort int
	held              []net.Listener // the ports while stopped
}

// StartInfluxDBRestartable starts InfluxDB 1.8.10 like [StartInfluxDB], and
// returns it ready to be stopped and started again.
func StartInfluxDBRestartable(t testing.TB) *InfluxServer {
	t.Helper()
	if testing.Short() {
		t.Skip("needs InfluxDB 1.8.10: skipped under -short")
	}
	s := &InfluxServer{Influx: &Influx{}, dir: t.TempDir(), httpPort: FreePort(t), rpcPort: FreePort(t)}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.httpPort)
	s.Start(t)
	return s
}

// Start starts the server (again) and waits until it answers /ping.
func (s *InfluxServer) Start(t testing.TB) {
	t.Helper()
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "bin", "influxd")); err != nil {
		t.Fatalf("testinfra: %s is missing: run `make test`", filepath.Join(root, "bin", "influxd"))
	}
	for _, l := range s.held {
		l.Close()
	}
	s.held = nil
	s.Proc = Start(t, filepath.Join(root, "scripts", "influxd.sh"), "run", s.dir, strconv.Itoa(s.httpPort), strconv.Itoa(s.rpcPort))
	if err := s.waitReady(30 * time.Second); err != nil {
		t.Fatalf("testinfra: InfluxDB did not start again: %v", err)
	}
}

// Stop stops the server (SIGTERM to its process group) and waits for it.
// Until Start, its ports stay taken — a connection is accepted and closed
// at once, the server being down — so that no other test's server, in a
// package running alongside, picks them up and answers in its place.
func (s *InfluxServer) Stop(t testing.TB) {
	t.Helper()
	s.Proc.Stop(t)
	for _, port := range []int{s.httpPort, s.rpcPort} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("testinfra: cannot hold port %d of the stopped InfluxDB: %v", port, err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		s.held = append(s.held, l)
	}
	t.Cleanup(func() {
		for _, l := range s.held {
			l.Close()
		}
	})
}

// MosquittoOptions are the settings of a Mosquitto started by
// [StartMosquittoWith]; the zero value is Mosquitto's defaults.
type MosquittoOptions struct {
	// Persistence keeps sessions and queued messages in a file in the
	// broker's folder, saved at a clean stop.
	Persistence bool
	// MaxInflight is max_inflight_messages: QoS 1 messages in flight
	// towards one client (Mosquitto's default: 20).
	MaxInflight int
	// MaxQueued is max_queued_messages: messages queued for one client
	// beyond those in flight (Mosquitto's default 1000, beyond which it
	// drops them); -1 means no limit.
	MaxQueued int
	// MaxQueuedBytes is max_queued_bytes, when not 0.
	MaxQueuedBytes int
}

// MosquittoServer is a Mosquitto that a test may stop and start again on
// the same port and folder.
type MosquittoServer struct {
	*Mosquitto
	Dir  string // its config, and its persistence file mosquitto.db
	conf string
}

// StartMosquittoWith starts Debian's mosquitto on a free loopback port with
// opts, and waits until it accepts connections.
func StartMosquittoWith(t testing.TB, opts MosquittoOptions) *MosquittoServer {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Debian's mosquitto: skipped under -short")
	}
	dir := t.TempDir()
	port := FreePort(t)
	cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to the "mosquitto" user, which
		// cannot write into the test's 0700 folder: its persistence file
		// would silently never be saved. Keep the user that started it.
		cfg += "user root\n"
	}
	if opts.Persistence {
		cfg += fmt.Sprintf("persistence true\npersistence_location %s/\n", dir)
	} else {
		cfg += "persistence false\n"
	}
	if opts.MaxInflight > 0 {
		cfg += fmt.Sprintf("max_inflight_messages %d\n", opts.MaxInflight)
	}
	switch {
	case opts.MaxQueued < 0:
		cfg += "max_queued_messages 0\n"
	case opts.MaxQueued > 0:
		cfg += fmt.Sprintf("max_queued_messages %d\n", opts.MaxQueued)
	}
	if opts.MaxQueuedBytes > 0 {
		cfg += fmt.Sprintf("max_queued_bytes %d\n", opts.MaxQueuedBytes)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &MosquittoServer{Mosquitto: &Mosquitto{Addr: fmt.Sprintf("127.0.0.1:%d", port), URL: fmt.Sprintf("tcp://127.0.0.1:%d", port)}, Dir: dir, conf: conf}
	s.Start(t)
	return s
}

// Start starts the broker (again) and waits until it accepts connections.
func (s *MosquittoServer) Start(t testing.TB) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("testinfra: mosquitto is missing: run `make test` (it installs Debian's mosquitto)")
		}
	}
	s.Proc = Start(t, bin, "-c", s.conf)
	if err := waitTCP(s.Addr, s.Proc, 10*time.Second); err != nil {
		t.Fatalf("testinfra: mosquitto did not start: %v", err)
	}
}

// Stop stops the broker (SIGTERM: it saves its persistence file) and waits
// for it.
func (s *MosquittoServer) Stop(t testing.TB) {
	t.Helper()
	s.Proc.Stop(t)
}
