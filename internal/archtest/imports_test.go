package archtest

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/civisens/civisens/internal/testinfra"
)

const module = "github.com/civisens/civisens"

// contracts are the only packages one program may import from another, and
// they import only the standard library.
var contracts = map[string]bool{
	module + "/firmware-bridge/senml": true,
	module + "/registry/registryapi":  true,
}

// pkg is a package of the module with its non-test imports (direct), its
// test files' imports, and its non-test dependencies (transitive).
type pkg struct {
	path        string
	imports     []string
	testImports []string
	deps        []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}|{{join .TestImports \" \"}} {{join .XTestImports \" \"}}", "./...")
	cmd.Dir = testinfra.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			t.Fatalf("go list line %q", line)
		}
		pkgs = append(pkgs, pkg{path: f[0], imports: strings.Fields(f[1]), deps: strings.Fields(f[2]), testImports: strings.Fields(f[3])})
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// program returns the top-level folder a package belongs to.
func program(p string) string {
	rest := strings.TrimPrefix(p, module+"/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

func TestContractsImportOnlyTheStandardLibrary(t *testing.T) {
	seen := 0
	for _, p := range listPackages(t) {
		if !contracts[p.path] {
			continue
		}
		seen++
		for _, d := range p.deps {
			if !isStd(d) {
				t.Errorf("contract package %s depends on %s; contracts import only the standard library", p.path, d)
			}
		}
	}
	if seen != len(contracts) {
		t.Errorf("found %d of the %d contract packages", seen, len(contracts))
	}
}

// allowed says which other top-level folders a program's code may import
// beyond the contracts.
var allowed = map[string][]string{
	"firmware-bridge": nil,
	"gateway":         nil,
	"registry":        {"dashboards"}, // the registry serves the dashboards
	"dashboards":      nil,
	"e2e":             nil, // drives the programs as processes, through contracts
	"internal":        nil,
}

func TestProgramsImportOnlyContractsFromEachOther(t *testing.T) {
	for _, p := range listPackages(t) {
		from := program(p.path)
		check := func(imp string, test bool) {
			if !strings.HasPrefix(imp, module+"/") || contracts[imp] {
				return
			}
			to := program(imp)
			if to == from {
				return
			}
			if imp == module+"/internal/sdnotify" || imp == module+"/internal/solar" || imp == module+"/internal/atomicfile" {
				return // standard library only (systemd's protocol, the sun, atomic files): any part may use them
			}
			if imp == module+"/internal/testinfra" {
				if !test {
					t.Errorf("%s imports %s: test infrastructure is for tests only", p.path, imp)
				}
				return
			}
			ok := false
			for _, a := range allowed[from] {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: %s may import only the contract packages of %s", p.path, imp, from, to)
			}
		}
		for _, imp := range p.imports {
			check(imp, false)
		}
		for _, imp := range p.testImports {
			check(imp, true)
		}
	}
}

func TestNoGrabBagPackages(t *testing.T) {
	for _, p := range listPackages(t) {
		switch path.Base(p.path) {
		case "util", "utils", "common", "helpers", "misc", "pkg":
			t.Errorf("package %s: name a package for what it provides", p.path)
		}
	}
}
