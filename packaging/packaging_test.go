// Package packaging tests the civisens Debian package (nfpm.yaml, built by
// scripts/deb.sh): its systemd units pass `systemd-analyze verify` and keep
// their hardening; the amd64 package holds every path that README.md's "On
// a Raspberry Pi" names, and nothing it does not; the packaged programs,
// started as their units start them, tell systemd they are ready and feed
// its watchdog; and, as root on a machine without civisens, `dpkg -i`
// installs it where the README says, as the user civisens, without starting
// anything, and `dpkg --purge` takes it away (the test then removes what
// the package keeps on purpose: the data folder and the user).
//
//	go test ./packaging             # builds the amd64 .deb (nfpm through go run)
//	go test -short ./packaging      # the units only
package packaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

var services = []string{"civisens-registry", "civisens-gateway", "civisens-firmware-bridge"}

// program is the data folder's name of a unit: civisens-gateway → gateway.
func program(unit string) string { return strings.TrimPrefix(unit, "civisens-") }

// unitFiles returns the unit files of the repository, by file name.
func unitFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join(testinfra.RepoRoot(t), "packaging", "systemd")
	files := map[string]string{}
	for _, name := range append(slices.Clone(services), "civisens") {
		ext := ".service"
		if name == "civisens" {
			ext = ".target"
		}
		b, err := os.ReadFile(filepath.Join(dir, name+ext))
		if err != nil {
			t.Fatal(err)
		}
		files[name+ext] = string(b)
	}
	return files
}

// directives returns a unit's KEY=value lines, in order, values of a key
// repeated appended.
func directives(unit string) map[string][]string {
	d := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		d[k] = append(d[k], v)
	}
	return d
}

func TestUnitsAreHardened(t *testing.T) {
	units := unitFiles(t)
	for _, s := range services {
		d := directives(units[s+".service"])
		want := map[string]string{
			"Type": "notify", "NotifyAccess": "main", "User": "civisens", "Group": "civisens",
			"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
			"ReadWritePaths": "/var/lib/civisens/" + program(s), "StateDirectory": "civisens/" + program(s),
			"RequiresMountsFor": "/var/lib/civisens",
			"Restart":           "on-failure", "WatchdogSec": "30s", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
			"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute": "yes",
			"LockPersonality": "yes", "ProtectKernelTunables": "yes", "SystemCallArchitectures": "native",
			"WantedBy": "multi-user.target",
		}
		for k, v := range want {
			if got := d[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s.service: %s=%q, want %s=%s", s, k, got, k, v)
			}
		}
		if got := d["SystemCallFilter"]; len(got) == 0 || got[0] != "@system-service" {
			t.Errorf("%s.service: SystemCallFilter=%q, want @system-service first", s, got)
		}
		exec := d["ExecStart"]
		if len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/bin/"+s) {
			t.Errorf("%s.service: ExecStart=%q", s, exec)
		}
	}
	if d := directives(units["civisens.target"]); !slices.Equal(strings.Fields(strings.Join(d["Wants"], " ")),
		[]string{"civisens-registry.service", "civisens-gateway.service"}) {
		t.Errorf("civisens.target: Wants=%q", d["Wants"])
	}
}

// verifyUnits runs `systemd-analyze verify` on the civisens unit files of dir, with
// their /usr/bin/civisens-* commands looked for in bin (which
// systemd-analyze wants to exist); it fails on any output.
func verifyUnits(t *testing.T, dir, bin string) {
	t.Helper()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd)")
	}
	tmp := t.TempDir()
	var args []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "civisens") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bin != "/usr/bin" {
			b = bytes.ReplaceAll(b, []byte("/usr/bin/civisens-"), []byte(bin+"/civisens-"))
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(tmp, e.Name()))
	}
	cmd := exec.Command(tool, append([]string{"verify", "--man=no"}, args...)...)
	out, err := cmd.CombinedOutput()
	t.Logf("systemd-analyze verify %s: %v, output %q", strings.Join(namesOf(args), " "), errOrOK(err), out)
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func namesOf(paths []string) []string {
	var n []string
	for _, p := range paths {
		n = append(n, filepath.Base(p))
	}
	return n
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "exit 0"
}

func TestUnitsVerify(t *testing.T) {
	// Stand-ins for the programs: systemd-analyze only checks that the
	// commands exist and are executable.
	bin := t.TempDir()
	for _, s := range services {
		if err := os.WriteFile(filepath.Join(bin, s), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	verifyUnits(t, filepath.Join(testinfra.RepoRoot(t), "packaging", "systemd"), bin)
}

// The amd64 package, built once by scripts/deb.sh.
var (
	debOnce sync.Once
	debPath string
	debErr  error
)

const testVersion = "0.0.0+packagingtest"

func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package: not with -short")
	}
	for _, tool := range []string{"dpkg-deb", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	debOnce.Do(func() {
		out, err := os.MkdirTemp("", "civisens-deb-")
		if err != nil {
			debErr = err
			return
		}
		cmd := exec.Command(filepath.Join(testinfra.RepoRoot(t), "scripts", "deb.sh"))
		cmd.Env = append(os.Environ(), "DEB_ARCHES=amd64", "DEB_OUT="+out, "DEB_VERSION="+testVersion)
		b, err := cmd.CombinedOutput()
		if err != nil {
			debErr = fmt.Errorf("scripts/deb.sh: %v\n%s", err, b)
			return
		}
		debPath = filepath.Join(out, "civisens_"+testVersion+"_amd64.deb")
	})
	if debErr != nil {
		t.Fatal(debErr)
	}
	return debPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debPath != "" {
		os.RemoveAll(filepath.Dir(debPath))
	}
	os.Exit(code)
}

// documented returns the absolute paths that README.md's "On a Raspberry
// Pi" section names in backquotes under /usr, /etc/civisens and
// /var/lib/civisens; a folder may end with a slash.
func documented(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testinfra.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## On a Raspberry Pi\n")
	if i < 0 {
		t.Fatal("README.md: no section \"On a Raspberry Pi\"")
	}
	s = s[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	re := regexp.MustCompile("`(/(?:usr|etc/civisens|var/lib/civisens)[^` ]*)`")
	var paths []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(paths, m[1]) {
			paths = append(paths, m[1])
		}
	}
	if len(paths) < 15 {
		t.Fatalf("README.md names %d paths of the package: %q", len(paths), paths)
	}
	return paths
}

// generated are the documented paths that the postinst makes.
func generated(p string) bool { return strings.HasPrefix(p, "/etc/civisens/secrets/") }

// entry is a line of dpkg-deb -c.
type entry struct {
	mode string // drwxr-x---
	path string // /var/lib/civisens/ (folders end with a slash)
}

func contents(t *testing.T, deb string) map[string]entry {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v", err)
	}
	m := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		e := entry{mode: f[0], path: strings.TrimPrefix(f[5], ".")}
		if f[1] != "root/root" {
			t.Errorf("%s: owner %s, want root/root (the postinst gives the data folders to civisens)", e.path, f[1])
		}
		m[e.path] = e
	}
	return m
}

func TestDebHoldsWhatTheReadmeSays(t *testing.T) {
	deb := buildDeb(t)
	files := contents(t, deb)
	docs := documented(t)
	for _, p := range docs {
		if generated(p) {
			continue
		}
		_, ok := files[p]
		_, dirOK := files[p+"/"]
		if !ok && !dirOK {
			t.Errorf("README.md names %s; the package does not hold it", p)
		}
	}
	// Every file of the package is documented, itself or its folder.
	for p, e := range files {
		if e.mode[0] == 'd' {
			continue
		}
		ok := false
		for _, d := range docs {
			ok = ok || p == d || strings.HasSuffix(d, "/") && strings.HasPrefix(p, d)
		}
		if !ok {
			t.Errorf("the package holds %s, which README.md does not name", p)
		}
	}
	wantMode := map[string]string{
		"/usr/bin/civisens-registry": "-rwxr-xr-x", "/usr/bin/civisens-gateway": "-rwxr-xr-x",
		"/usr/bin/civisens-firmware-bridge": "-rwxr-xr-x",
		"/var/lib/civisens/":                "drwxr-x---", "/var/lib/civisens/registry/": "drwxr-x---",
		"/var/lib/civisens/gateway/": "drwxr-x---", "/var/lib/civisens/firmware-bridge/": "drwxr-x---",
		"/etc/civisens/registry.env": "-rw-r--r--", "/etc/civisens/gateway.conf": "-rw-r--r--",
	}
	for p, m := range wantMode {
		if files[p].mode != m {
			t.Errorf("%s: mode %s, want %s", p, files[p].mode, m)
		}
	}

	info, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "Package: civisens\nVersion: " + testVersion + "\nArchitecture: amd64\nDepends: adduser\n"
	if string(info) != want {
		t.Errorf("control fields:\n%s\nwant\n%s", info, want)
	}
	control := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, control).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(conffiles))
	slices.Sort(got)
	if w := []string{"/etc/civisens/bridge.json", "/etc/civisens/firmware-bridge.env", "/etc/civisens/gateway.conf", "/etc/civisens/registry.env"}; !slices.Equal(got, w) {
		t.Errorf("conffiles %q, want %q", got, w)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(control, s)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}

// extract unpacks the package into a temporary folder.
func extract(t *testing.T, deb string) string {
	t.Helper()
	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	return root
}

func TestDebUnitsVerify(t *testing.T) {
	root := extract(t, buildDeb(t))
	verifyUnits(t, filepath.Join(root, "usr/lib/systemd/system"), filepath.Join(root, "usr/bin"))
}

// envFile reads a systemd EnvironmentFile of KEY=value lines.
func envFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if !strings.Contains(line, "=") {
			t.Fatalf("%s: line %q is not KEY=value", path, line)
		}
		env = append(env, line)
	}
	return env
}

// TestPackagedProgramsNotifySystemd starts each packaged program the way
// its unit does — its ExecStart, its packaged EnvironmentFile — with a
// notify socket and a watchdog as systemd gives them, its data folder and
// addresses moved into the test's, and the rest of the system away.
func TestPackagedProgramsNotifySystemd(t *testing.T) {
	root := extract(t, buildDeb(t))
	for _, s := range services {
		t.Run(s, func(t *testing.T) {
			unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system", s+".service"))
			if err != nil {
				t.Fatal(err)
			}
			d := directives(string(unit))
			argv := strings.Fields(d["ExecStart"][0])
			for i, a := range argv {
				if strings.HasPrefix(a, "/etc/civisens/") || strings.HasPrefix(a, "/usr/bin/") {
					argv[i] = filepath.Join(root, a)
				}
			}
			env := []string{"PATH=/usr/bin:/bin"}
			for _, f := range d["EnvironmentFile"] {
				if strings.HasPrefix(f, "-") {
					continue // the secrets, generated at installation
				}
				env = append(env, envFile(t, filepath.Join(root, f))...)
			}
			data := t.TempDir()
			switch s {
			case "civisens-registry":
				env = append(env, "REGISTRY_DB="+data+"/registry.db", "REGISTRY_LISTEN=127.0.0.1:0", "INFLUX_URL=http://127.0.0.1:1")
			case "civisens-gateway":
				env = append(env, "GATEWAY_DATA_DIR="+data, "GATEWAY_HTTP_LISTEN=127.0.0.1:0", "GATEWAY_MQTT_LISTEN=127.0.0.1:0",
					"REGISTRY_URL=http://127.0.0.1:1", "INFLUX_URL=http://127.0.0.1:1")
			case "civisens-firmware-bridge":
				env = append(env, "BRIDGE_DATA_DIR="+data, "BRIDGE_CONFIG="+filepath.Join(root, "etc/civisens/bridge.json"),
					"BROKER_URL=tcp://127.0.0.1:1")
			}
			sock := filepath.Join(t.TempDir(), "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			env = append(env, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")

			var logs bytes.Buffer
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
				if t.Failed() {
					t.Logf("logs:\n%s", logs.String())
				}
			}()
			read := func() string {
				conn.SetReadDeadline(time.Now().Add(15 * time.Second))
				buf := make([]byte, 256)
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("notify socket: %v", err)
				}
				return string(buf[:n])
			}
			for _, want := range []string{"READY=1", "WATCHDOG=1", "WATCHDOG=1"} {
				if got := read(); got != want {
					t.Fatalf("systemd was told %q, want %q", got, want)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			for got := read(); got != "STOPPING=1"; got = read() {
				if got != "WATCHDOG=1" {
					t.Fatalf("systemd was told %q, want STOPPING=1", got)
				}
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("still running 30 s after SIGTERM")
			}
		})
	}
}

// TestDpkgInstall installs the package into this machine and purges it. It
// runs as root only, on a machine where civisens was never installed (no
// package, user, /etc/civisens or /var/lib/civisens): what it finds there
// afterwards it made, and removes.
func TestDpkgInstall(t *testing.T) {
	deb := buildDeb(t)
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	if exec.Command("dpkg-query", "-W", "civisens").Run() == nil {
		t.Skip("the package civisens is installed here: not touching it")
	}
	if _, err := user.Lookup("civisens"); err == nil {
		t.Skip("a user civisens exists here: not touching it")
	}
	if _, err := user.LookupGroup("civisens"); err == nil {
		t.Skip("a group civisens exists here: not touching it")
	}
	for _, p := range []string{"/etc/civisens", "/var/lib/civisens"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s exists here: not touching it", p)
		}
	}
	systemdRuns := false
	if b, err := os.ReadFile("/proc/1/comm"); err == nil && strings.TrimSpace(string(b)) == "systemd" {
		systemdRuns = true
	}
	if systemdRuns {
		// Installing must not start anything, but a test should not
		// meddle with a booted system's services either.
		t.Skip("systemd runs this machine: install the package by hand (README.md)")
	}

	dpkg := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		for {
			cmd := exec.CommandContext(ctx, "dpkg", append([]string{"--force-confdef", "--force-confold"}, args...)...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			t.Logf("dpkg %s: %s\n%s", strings.Join(args, " "), errOrOK(err), out)
			if err != nil && bytes.Contains(out, []byte("lock")) && ctx.Err() == nil {
				time.Sleep(2 * time.Second) // apt-get of another test holds the lock
				continue
			}
			if err != nil {
				t.Fatalf("dpkg %s: %v", strings.Join(args, " "), err)
			}
			return string(out)
		}
	}
	t.Cleanup(func() {
		// Whatever happened: the machine as it was.
		cmd := exec.Command("dpkg", "--purge", "civisens")
		out, err := cmd.CombinedOutput()
		t.Logf("cleanup: dpkg --purge civisens: %s %s", errOrOK(err), bytes.TrimSpace(out))
		os.RemoveAll("/var/lib/civisens")
		os.RemoveAll("/etc/civisens")
		if out, err := exec.Command("userdel", "civisens").CombinedOutput(); err != nil {
			t.Logf("cleanup: userdel civisens: %v %s", err, out)
		}
		if _, err := user.LookupGroup("civisens"); err == nil {
			if out, err := exec.Command("groupdel", "civisens").CombinedOutput(); err != nil {
				t.Errorf("cleanup: groupdel civisens: %v %s", err, out)
			}
		}
		for _, p := range []string{"/etc/civisens", "/var/lib/civisens", "/usr/bin/civisens-gateway", "/usr/lib/systemd/system/civisens.target"} {
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("cleanup: %s is still there", p)
			}
		}
	})

	dpkg("-i", deb)

	u, err := user.Lookup("civisens")
	if err != nil {
		t.Fatalf("user civisens: %v", err)
	}
	g, err := user.LookupGroup("civisens")
	if err != nil || g.Gid != u.Gid {
		t.Errorf("group civisens: %v, %+v; user's gid %s", err, g, u.Gid)
	}
	if u.HomeDir != "/var/lib/civisens" {
		t.Errorf("civisens's home %s", u.HomeDir)
	}
	if passwd, err := exec.Command("getent", "passwd", "civisens").Output(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(passwd)), ":/usr/sbin/nologin") {
		t.Errorf("getent passwd civisens: %q %v; want the shell /usr/sbin/nologin", passwd, err)
	}
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	if uid == 0 || uid >= 1000 {
		t.Errorf("uid %d: want a system user", uid)
	}

	// Every documented path is there, as documented.
	for _, p := range documented(t) {
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("README.md names %s: %v", p, err)
			continue
		}
		if strings.HasSuffix(p, "/") && !st.IsDir() {
			t.Errorf("%s: folder %v", p, st.IsDir())
		}
	}
	check := func(p string, mode fs.FileMode, uid, gid int) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Error(err)
			return
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != mode || int(sys.Uid) != uid || int(sys.Gid) != gid {
			t.Errorf("%s: mode %v, owner %d:%d; want %v, %d:%d", p, st.Mode().Perm(), sys.Uid, sys.Gid, mode, uid, gid)
		}
	}
	for _, p := range []string{"/var/lib/civisens", "/var/lib/civisens/registry", "/var/lib/civisens/gateway", "/var/lib/civisens/firmware-bridge"} {
		check(p, 0o750, uid, gid)
	}
	check("/etc/civisens/secrets", 0o700, 0, 0)
	secret := map[string]map[string]string{}
	for _, s := range services {
		p := "/etc/civisens/secrets/" + program(s) + ".env"
		check(p, 0o600, 0, 0)
		b, _ := os.ReadFile(p)
		secret[s] = map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), "="); ok && !strings.Contains(k, " ") {
				secret[s][k] = v
			}
		}
	}
	token := secret["civisens-registry"]["REGISTRY_GATEWAY_TOKEN"]
	if !regexp.MustCompile(`^cvs_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Errorf("REGISTRY_GATEWAY_TOKEN %q: want cvs_ and 43 base64url characters", token)
	}
	if got := secret["civisens-gateway"]["GATEWAY_REGISTRY_TOKEN"]; got != token {
		t.Errorf("the gateway's token differs from the registry's")
	}
	password := secret["civisens-firmware-bridge"]["BRIDGE_MQTT_PASSWORD"]
	if len(password) != 32 || secret["civisens-registry"]["REGISTRY_DEMO_BRIDGE_PASSWORD"] != password {
		t.Errorf("bridge password %d bytes, the registry's demo one the same: %v", len(password),
			secret["civisens-registry"]["REGISTRY_DEMO_BRIDGE_PASSWORD"] == password)
	}

	// Nothing started: no process runs a civisens program.
	if running := civisensProcesses(); len(running) > 0 {
		t.Errorf("installing started %q", running)
	}

	// The installed units, with the installed programs.
	verifyUnits(t, "/usr/lib/systemd/system", "/usr/bin")

	// The user civisens runs the programs, and writes its data folders only.
	out, err := exec.Command("runuser", "-u", "civisens", "--", "/usr/bin/civisens-gateway", "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Errorf("civisens-gateway -version as civisens: %v %s", err, out)
	}
	// The registry and the gateway as their units run them: the user
	// civisens, the installed configuration and secrets (addresses moved to
	// free ports, InfluxDB away). The gateway loads the allow-list with the
	// generated token: the secrets match.
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	regEnvs := append(envFile(t, "/etc/civisens/registry.env"), envFile(t, "/etc/civisens/secrets/registry.env")...)
	stopRegistry, regLog := startAs(t, cred, []string{"/usr/bin/civisens-registry"},
		append(regEnvs, "REGISTRY_LISTEN=127.0.0.1:0", "INFLUX_URL=http://127.0.0.1:1"), `msg=listening .*addr=(\S+)`)
	regAddr := regexp.MustCompile(`msg=listening .*addr=(\S+)`).FindStringSubmatch(regLog)[1]
	stopGateway, _ := startAs(t, cred, []string{"/usr/bin/civisens-gateway", "-config", "/etc/civisens/gateway.conf"},
		append(envFile(t, "/etc/civisens/secrets/gateway.env"), "GATEWAY_HTTP_LISTEN=127.0.0.1:0", "GATEWAY_MQTT_LISTEN=127.0.0.1:0",
			"REGISTRY_URL=http://"+regAddr, "INFLUX_URL=http://127.0.0.1:1"), `msg="allow-list loaded from the registry"`)
	stopGateway()
	stopRegistry()
	for _, p := range []string{"/var/lib/civisens/registry/registry.db", "/var/lib/civisens/gateway/allowlist.json"} {
		if st, err := os.Stat(p); err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s: %v; want it written by civisens", p, err)
		}
	}

	// Again (an upgrade to the same version): the secrets and an edited
	// conffile are kept.
	edited := "# edited by the test\n"
	regEnv, _ := os.ReadFile("/etc/civisens/registry.env")
	if err := os.WriteFile("/etc/civisens/registry.env", append(regEnv, edited...), 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg("-i", deb)
	if b, _ := os.ReadFile("/etc/civisens/secrets/registry.env"); !strings.Contains(string(b), token) {
		t.Errorf("reinstalling changed the secrets")
	}
	if b, _ := os.ReadFile("/etc/civisens/registry.env"); !strings.HasSuffix(string(b), edited) {
		t.Errorf("reinstalling replaced the edited /etc/civisens/registry.env")
	}

	// Removed: the programs go, the configuration and the data stay.
	dpkg("-r", "civisens")
	for _, p := range []string{"/usr/bin/civisens-registry", "/usr/lib/systemd/system/civisens-gateway.service"} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after dpkg -r, %s: %v", p, err)
		}
	}
	for _, p := range []string{"/etc/civisens/registry.env", "/etc/civisens/secrets/gateway.env", "/var/lib/civisens/registry/registry.db"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after dpkg -r: %v", err)
		}
	}
	// Purged: the configuration goes, the data and the user stay.
	dpkg("--purge", "civisens")
	if _, err := os.Stat("/etc/civisens"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after dpkg --purge, /etc/civisens: %v", err)
	}
	if _, err := os.Stat("/var/lib/civisens/registry/registry.db"); err != nil {
		t.Errorf("after dpkg --purge, the register: %v", err)
	}
	if _, err := user.Lookup("civisens"); err != nil {
		t.Errorf("after dpkg --purge, the user civisens: %v", err)
	}
}

// startAs starts argv as cred with env (and PATH) only, and waits until a
// line of its log matches want; it returns the log so far and a function
// that stops it with SIGTERM and checks that it exits 0.
func startAs(t *testing.T, cred *syscall.Credential, argv, env []string, want string) (stop func(), log string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = "/"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var mu sync.Mutex
	var logs strings.Builder
	matched := make(chan struct{})
	go func() {
		re := regexp.MustCompile(want)
		sc := bufio.NewScanner(r)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if re.MatchString(sc.Text()) {
				once.Do(func() { close(matched) })
			}
		}
	}()
	snapshot := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	select {
	case <-matched:
	case err := <-exited:
		t.Fatalf("%s exited (%v) before logging %q:\n%s", argv[0], err, want, snapshot())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("%s did not log %q in 30 s:\n%s", argv[0], want, snapshot())
	}
	return func() {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s: exit %v:\n%s", argv[0], err, snapshot())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("%s still ran 30 s after SIGTERM", argv[0])
		}
	}, snapshot()
}

// civisensProcesses lists the processes running a /usr/bin/civisens-* program.
func civisensProcesses() []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, "/usr/bin/civisens-") {
			found = append(found, e.Name()+" "+exe)
		}
	}
	return found
}
