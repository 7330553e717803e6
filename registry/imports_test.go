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

// The registry imports nothing from the other programs, and its contract
// package imports only the standard library.
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
		contract := strings.HasPrefix(filepath.ToSlash(path), "registryapi/")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module+"gateway") || strings.HasPrefix(p, module+"firmware-bridge") {
				t.Errorf("%s imports %s: the registry imports nothing from the other programs", path, p)
			}
			if contract && strings.Contains(strings.Split(p, "/")[0], ".") {
				t.Errorf("%s imports %s: a contract package imports only the standard library", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
