package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/importer"
	"github.com/civisens/civisens/registry/internal/store"
)

// maxImportFile bounds the file that "registry import" reads.
const maxImportFile = 256 << 20

// errRefusedRows makes "registry import" exit non-zero when a row was
// refused.
var errRefusedRows = errors.New("rows refused")

func importUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: registry import [-dry-run] [-reason TEXT] [-json] [-db path] FILE.csv|FILE.geojson

Imports an inventory of sensors into the register's database, directly
(the server may be running), as the administrator "cli": each row is
created, updated (a new version, with the reason "import FILE" unless
-reason says otherwise), left unchanged, or refused with its reasons. Rows
are matched by their source_ref column (or property), else by id, so that
importing the same file twice changes nothing the second time. Each row is
written in its own transaction: a refused row writes nothing, and the
others import.

The file is CSV (RFC 4180, UTF-8) in the columns of the register's CSV
export, plus an optional source_ref column, or a GeoJSON FeatureCollection
whose properties are entries; see the registry's README, "Import".

Rows that claim a published state are checked against the publication
rules, the territory included: REGISTRY_TERRITORY_NAME,
REGISTRY_TERRITORY_BBOX and REGISTRY_FUNCTIONAL_CONTACT, as the server
reads them (unset: no bounding box, no contact check).

The report is printed on standard output. Exit status: 0 when every row
imported (or would, with -dry-run), 1 when a row was refused or the file
cannot be read (its line is given), 2 on a bad command line.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// importCommand is "registry import".
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	dbDefault := getenv("REGISTRY_DB")
	if dbDefault == "" {
		dbDefault = defaultDB
	}
	db := fs.String("db", dbDefault, "SQLite file of the register (environment REGISTRY_DB); it must exist")
	dryRun := fs.Bool("dry-run", false, "report what the import would do, and write nothing")
	reason := fs.String("reason", "", "reason of the versions written; default \"import FILE\"")
	asJSON := fs.Bool("json", false, "print the report as JSON (registryapi.ImportReport)")

	fail := func(err error) error {
		fmt.Fprintf(stderr, "registry import: %v\n\n", err)
		importUsage(stderr, fs)
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		importUsage(stdout, fs)
		return nil
	case err != nil:
		return fail(err)
	case fs.NArg() != 1:
		return fail(errors.New("want one file to import"))
	case strings.TrimSpace(*reason) != *reason || strings.ContainsAny(*reason, "\r\n"):
		return fail(fmt.Errorf("-reason %q: want one line without surrounding spaces", *reason))
	}
	file := fs.Arg(0)
	format, err := importer.FormatOfName(file)
	if err != nil {
		return fail(err)
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("import: no register at %s (-db): %w", *db, err)
	}

	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportFile+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("import: %s: %w", file, err)
	}
	if len(data) > maxImportFile {
		return fmt.Errorf("import: %s is larger than %d MiB", file, maxImportFile>>20)
	}
	records, err := importer.Read(format, data)
	if err != nil {
		return fmt.Errorf("import: %s: %w", file, err)
	}

	territory, err := territoryFromEnv(getenv) // the server's REGISTRY_TERRITORY_* (provision_config.go)
	if err != nil {
		return fail(err)
	}

	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	report, err := importer.Run(ctx, st, records, importer.Options{
		File:      filepath.Base(file),
		DryRun:    *dryRun,
		Change:    store.Change{ActorRole: catalog.RoleAdministrator, Actor: "cli", Reason: *reason},
		Territory: territory,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = importer.WriteText(stdout, report)
	}
	if err != nil {
		return err
	}
	if report.Refused > 0 {
		return fmt.Errorf("import: %s: %d of %d %w", file, report.Refused, len(report.Rows), errRefusedRows)
	}
	return nil
}
