package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

func TestImportCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "registry.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Close()

	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("inventaire.csv", "id,source_ref,category,name_fr\nair-cli-01,INV-1,air,Importé en ligne de commande\nair-mairie-01,,air,Qualité de l'air – place de l'Hôtel-de-Ville\n")
	mixed := write("mixte.csv", "id,category\nair-cli-02,air\nair-cli-03,météo\n")
	broken := write("casse.csv", "id,category\nair-cli-04,air\nair-cli-05,air,de trop\n")
	importCmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"import", "-db", db}, args...), noEnv, &out, io.Discard)
		return out.String(), err
	}

	// A dry run writes nothing.
	out, err := importCmd("-dry-run", good)
	if err != nil || !strings.Contains(out, "dry run") || !strings.Contains(out, "line 2\tair-cli-01\tcreate\tsource_ref=INV-1") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	get := func(id string) (registryapi.Sensor, error) {
		st, err := store.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return st.Get(ctx, id)
	}
	if _, err := get("air-cli-01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dry run wrote: %v", err)
	}

	// The import, as administrator "cli"; then again, unchanged.
	if out, err := importCmd("-reason", "Reprise de l'inventaire 2024", good); err != nil || !strings.Contains(out, "1 created, 0 updated, 1 unchanged, 0 refused") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	st, _ = store.Open(ctx, db)
	vs, err := st.Versions(ctx, "air-cli-01")
	st.Close()
	if err != nil || vs[0].ActorRole != "administrator" || vs[0].Actor != "cli" || vs[0].Reason != "Reprise de l'inventaire 2024" {
		t.Errorf("version %+v %v", vs, err)
	}
	out, err = importCmd("-json", good)
	var rep registryapi.ImportReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Unchanged != 2 || rep.File != "inventaire.csv" {
		t.Errorf("again: %v %+v\n%s", err, rep, out)
	}

	// A refused row: the others import, and the exit status says so.
	out, err = importCmd(mixed)
	if !errors.Is(err, errRefusedRows) || !strings.Contains(out, "line 3\tair-cli-03\trefused") || !strings.Contains(out, "\tcategory: ") {
		t.Errorf("refused row: %v\n%s", err, out)
	}
	if _, err := get("air-cli-02"); err != nil {
		t.Errorf("the good row of a file with a refused one: %v", err)
	}

	// A malformed file: refused whole, with its line.
	if _, err := importCmd(broken); !errors.Is(err, opendata.ErrMalformed) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("malformed file: %v", err)
	}
	if _, err := get("air-cli-04"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a malformed file half-imported: %v", err)
	}

	// The command line.
	for _, args := range [][]string{{}, {good, mixed}, {"inventaire.xlsx"}, {"-nope", good}, {"-reason", "a\nb", good}} {
		if _, err := importCmd(args...); !errors.Is(err, errUsage) {
			t.Errorf("import %q: %v, want a usage error", args, err)
		}
	}
	if err := run(ctx, []string{"import", "-db", filepath.Join(dir, "absent.db"), good}, noEnv, io.Discard, io.Discard); err == nil || errors.Is(err, errUsage) {
		t.Errorf("a missing register: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "absent.db")); err == nil {
		t.Error("import created a register")
	}
}

func TestOpenDataConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	deps := func(args []string, getenv func(string) string) (httpapi.Deps, error) {
		c, err := parseConfig(args, getenv, io.Discard, io.Discard)
		if err != nil {
			return httpapi.Deps{}, err
		}
		return c.openDataDeps(httpapi.Deps{}), nil
	}

	d, err := deps(nil, noEnv)
	if err != nil || d.Licence != opendata.LicenceOuverte || d.ImportMaxBytes != 10<<20 || d.Publisher.Name.FR != "" {
		t.Errorf("defaults: %+v %v", d, err)
	}
	// Another licence has no default URL.
	d, err = deps(nil, env("REGISTRY_OPEN_DATA_LICENCE", "ODbL"))
	if err != nil || d.Licence != (opendata.Licence{Name: "ODbL"}) {
		t.Errorf("ODbL: %+v %v", d.Licence, err)
	}
	d, err = deps([]string{"-open-data-licence", "ODbL", "-open-data-licence-url", "https://opendatacommons.org/licenses/odbl/1-0/",
		"-publisher-name", "Métropole", "-publisher-url", "https://metropole.example", "-import-max-size", "512KiB"}, noEnv)
	if err != nil || d.Licence.URL != "https://opendatacommons.org/licenses/odbl/1-0/" || d.Publisher.Name.FR != "Métropole" ||
		d.Publisher.URL != "https://metropole.example" || d.ImportMaxBytes != 512<<10 {
		t.Errorf("flags: %+v %v", d, err)
	}
	for _, args := range [][]string{
		{"-import-max-size", "10 Mo"}, {"-import-max-size", "0"}, {"-import-max-size", "2GiB"},
		{"-open-data-licence-url", "ftp://x"}, {"-publisher-url", "https://x.example"},
	} {
		if _, err := deps(args, noEnv); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	for s, want := range map[string]int64{"1": 1, "100B": 100, "1KiB": 1024, "10MiB": 10 << 20, "1GiB": 1 << 30} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", s, got, err)
		}
	}
}
