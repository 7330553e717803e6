package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportRules checks the layout's rules for the bridge: the senml
// contract imports only the standard library; the bridge imports nothing
// from the gateway, the dashboards or the registry but its contract.
func TestImportRules(t *testing.T) {
	const module = "github.com/civisens/civisens/"
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		test := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "senml"+string(filepath.Separator)) && !test && strings.Contains(strings.Split(p, "/")[0], ".") {
				t.Errorf("%s imports %s: the senml contract imports only the standard library", path, p)
			}
			for _, banned := range []string{"gateway", "dashboards", "registry"} {
				if rel, ok := strings.CutPrefix(p, module+banned); ok && (rel == "" || strings.HasPrefix(rel, "/")) && p != module+"registry/registryapi" {
					t.Errorf("%s imports %s: the bridge imports no %s code but its contract", path, p, banned)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
