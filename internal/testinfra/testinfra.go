// Package testinfra starts the real parts that civisens' integration tests
// need — InfluxDB 1.8.10 and Debian's Mosquitto — on free loopback ports, one
// instance per test, and ends them (by PID) when the test ends.
//
// The parts are installed by `make test` (scripts/influxd.sh install, and
// apt-get for mosquitto). Under `go test -short` the tests that need them are
// skipped; otherwise a missing part fails the test with what to run.
package testinfra

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot returns the root folder of the civisens module.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testinfra: cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testinfra: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Eventually calls cond every 50 ms until it returns nil, and fails the test
// with cond's last error if that has not happened within timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not true after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Process is a server started for a test.
type Process struct {
	Cmd *exec.Cmd
	Log *bytes.Buffer // what it printed, for failure messages

	mu   sync.Mutex
	done chan struct{}
	err  error // set before done is closed
}

// Start starts name with args, ending it by its PID when the test ends.
func Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return StartCmd(t, exec.Command(name, args...))
}

// StartCmd starts cmd (with its own Env and Dir, if set) in a process group of
// its own, capturing its output, and ends that group when the test ends.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Log: new(bytes.Buffer), done: make(chan struct{})}
	w := &lockedWriter{mu: &p.mu, w: p.Log}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testinfra: start %s: %v", cmd.Path, err)
	}
	p.Cmd = cmd
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Wait waits up to timeout for the process to end and returns its exit
// error (nil for a clean exit with status 0).
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %v", p.Cmd.Path, timeout)
	}
}

// SignalGroup sends sig to the process group, as a terminal's Ctrl-C does.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	return syscall.Kill(-p.Cmd.Process.Pid, sig)
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns what the process has printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Log.String()
}

// Stop ends the process group started for it: SIGTERM, then SIGKILL after
// ten seconds.
func (p *Process) Stop(t testing.TB) {
	if p.Exited() {
		return
	}
	pgid := p.Cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Logf("testinfra: %s did not stop on SIGTERM; killing it", p.Cmd.Path)
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Influx is an InfluxDB 1.8.10 started for one test.
type Influx struct {
	URL  string // http://127.0.0.1:port
	Proc *Process
}

// StartInfluxDB starts a fresh InfluxDB 1.8.10 with its data in a temporary
// folder, and waits until it answers /ping.
func StartInfluxDB(t testing.TB) *Influx {
	t.Helper()
	if testing.Short() {
		t.Skip("needs InfluxDB 1.8.10: skipped under -short")
	}
	root := RepoRoot(t)
	bin := filepath.Join(root, "bin", "influxd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testinfra: %s is missing: run `make test` (or scripts/influxd.sh install)", bin)
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		http, rpc := FreePort(t), FreePort(t)
		p := Start(t, filepath.Join(root, "scripts", "influxd.sh"), "run", dir, strconv.Itoa(http), strconv.Itoa(rpc))
		in := &Influx{URL: fmt.Sprintf("http://127.0.0.1:%d", http), Proc: p}
		if last = in.waitReady(30 * time.Second); last == nil {
			return in
		}
		p.Stop(t)
	}
	t.Fatalf("testinfra: InfluxDB did not start: %v", last)
	return nil
}

func (in *Influx) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if in.Proc.Exited() {
			return fmt.Errorf("influxd exited: %s", in.Proc.Output())
		}
		resp, err := http.Get(in.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer on %s/ping after %v: %s", in.URL, timeout, in.Proc.Output())
}

// Exec runs an InfluxQL statement (CREATE DATABASE…) and fails the test on
// error.
func (in *Influx) Exec(t testing.TB, q string) {
	t.Helper()
	if _, err := in.query("", q); err != nil {
		t.Fatalf("influxql %q: %v", q, err)
	}
}

// Row is one row of an InfluxQL answer, by column name.
type Row map[string]any

// Query runs an InfluxQL query against db and returns its rows (every
// series' rows, in order); tags of grouped series are added as columns.
func (in *Influx) Query(db, q string) ([]Row, error) {
	return in.query(db, q)
}

func (in *Influx) query(db, q string) ([]Row, error) {
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	resp, err := http.PostForm(in.URL+"/query", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode %s: %v", body, err)
	}
	if r.Error != "" {
		return nil, errors.New(r.Error)
	}
	var rows []Row
	for _, res := range r.Results {
		if res.Error != "" {
			return nil, errors.New(res.Error)
		}
		for _, s := range res.Series {
			for _, v := range s.Values {
				row := Row{}
				for k, tv := range s.Tags {
					row[k] = tv
				}
				for i, c := range s.Columns {
					if i < len(v) {
						row[c] = v[i]
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// Mosquitto is a Debian mosquitto broker started for one test.
type Mosquitto struct {
	Addr string // 127.0.0.1:port
	URL  string // tcp://127.0.0.1:port
	Proc *Process
}

// StartMosquitto starts Debian's mosquitto on a free loopback port, with
// anonymous access, and waits until it accepts connections.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Debian's mosquitto: skipped under -short")
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Fatal("testinfra: mosquitto is missing: run `make test` (it installs Debian's mosquitto)")
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		port := FreePort(t)
		conf := filepath.Join(dir, "mosquitto.conf")
		cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		p := Start(t, bin, "-c", conf)
		m := &Mosquitto{Addr: fmt.Sprintf("127.0.0.1:%d", port), URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Proc: p}
		if last = waitTCP(m.Addr, p, 10*time.Second); last == nil {
			return m
		}
		p.Stop(t)
	}
	t.Fatalf("testinfra: mosquitto did not start: %v", last)
	return nil
}

func waitTCP(addr string, p *Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("exited: %s", p.Output())
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v: %s", addr, timeout, p.Output())
}

// Lines returns the non-empty lines of s, for reading logs in failures.
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
