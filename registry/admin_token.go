package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
)

func adminTokenUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: registry admin token -name NAME [-role ROLE] [-db path]

Creates an API token in the register's database (the server may be
running), for a program: a provisioning script (role technician), or a
gateway (role gateway). The token is printed once on standard output;
the database keeps only its SHA-256. Send it as "Authorization: Bearer
<token>"; revoke it at /admin/tokens. For example, to issue a sensor's
MQTT credential from a script:

  TOKEN=$(registry admin token -name "script de pose" -role technician -quiet)
  curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/sensors/air-mairie-01/credentials

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// adminToken is "registry admin token".
func adminToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry admin token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	dbDefault := getenv("REGISTRY_DB")
	if dbDefault == "" {
		dbDefault = defaultDB
	}
	db := fs.String("db", dbDefault, "SQLite file of the register (environment REGISTRY_DB)")
	name := fs.String("name", "", "what the token is for, shown to administrators (required)")
	role := fs.String("role", string(auth.RoleTechnician), fmt.Sprintf("role: one of %v", auth.TokenRoles()))
	quiet := fs.Bool("quiet", false, "print the token alone, for scripts")

	fail := func(err error) error {
		fmt.Fprintf(stderr, "registry admin token: %v\n\n", err)
		adminTokenUsage(stderr, fs)
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	err := fs.Parse(args)
	switch r := auth.Role(*role); {
	case errors.Is(err, flag.ErrHelp):
		adminTokenUsage(stdout, fs)
		return nil
	case err != nil:
		return fail(err)
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case strings.TrimSpace(*name) == "":
		return fail(errors.New("-name is required"))
	case !r.ForToken():
		return fail(fmt.Errorf("-role %q: want one of %v", *role, auth.TokenRoles()))
	case *db == "" || strings.ContainsAny(*db, "?#"):
		return fail(fmt.Errorf("-db %q: want a file path without ? or #", *db))
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("registry admin token: %w (start the registry once, or give -db)", err)
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, err := auth.NewAPIToken()
	if err != nil {
		return err
	}
	t, err := st.CreateAPIToken(ctx, store.APIToken{Name: *name, TokenHash: auth.HashToken(secret), Role: auth.Role(*role)})
	if err != nil {
		return fmt.Errorf("registry admin token: %w", err)
	}
	if *quiet {
		fmt.Fprintln(stdout, secret)
		return nil
	}
	fmt.Fprintf(stdout, "API token %q (%s, id %d) created in %s.\nToken (shown only this once): %s\n", t.Name, t.Role, t.ID, *db, secret)
	return nil
}
