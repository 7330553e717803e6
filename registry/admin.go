package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/store"
)

// maxPasswordLine bounds the line read from stdin.
const maxPasswordLine = 4096

func adminUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: registry admin create -username NAME [-role ROLE] [-display-name TEXT] [-generate] [-db path]
       registry admin token -name NAME [-role ROLE] [-db path]

Manages the register's accounts directly in its database, without the
server (which may be running).

Subcommands:
  create   create an account, e.g. the first administrator of a fresh register
  token    create an API token (role technician or gateway) for a program

Run "registry admin create --help" or "registry admin token --help" for
their flags.
`)
}

func adminCreateUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `Usage: registry admin create -username NAME [-role ROLE] [-display-name TEXT] [-generate] [-db path]

Creates an account in the register's database (created with its folders
when missing), so that the first administrator of a fresh machine can log
in at /login.

The password is read from standard input, one line (at least %d
characters); or, with -generate, a random one is generated and printed once
on standard output. The database keeps only its argon2id hash. For example:

  read -rs PW && printf '%%s\n' "$PW" | registry admin create -username admin
  registry admin create -username alice -role technician -generate

Flags:
`, auth.MinPasswordLength)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// adminCommand runs "registry admin …". The password of "create" is read
// from stdin.
func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "registry admin: which subcommand?\n\n")
		adminUsage(stderr)
		return fmt.Errorf("%w: registry admin without a subcommand", errUsage)
	}
	switch args[0] {
	case "create":
		return adminCreate(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "token":
		return adminToken(ctx, args[1:], getenv, stdout, stderr) // admin_token.go
	case "-h", "-help", "--help", "help":
		adminUsage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "registry admin: unknown subcommand %q\n\n", args[0])
	adminUsage(stderr)
	return fmt.Errorf("%w: unknown subcommand admin %q", errUsage, args[0])
}

// adminCreate is "registry admin create".
func adminCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry admin create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	dbDefault := getenv("REGISTRY_DB")
	if dbDefault == "" {
		dbDefault = defaultDB
	}
	db := fs.String("db", dbDefault, "SQLite file of the register (environment REGISTRY_DB)")
	username := fs.String("username", "", "user name to log in with: 2 to 64 of a-z 0-9 . _ - (required)")
	role := fs.String("role", string(auth.RoleAdministrator), "role: administrator, technician or energy_manager")
	display := fs.String("display-name", "", "name shown to staff (never publicly); default: the user name")
	generate := fs.Bool("generate", false, "generate the password and print it once, instead of reading it from stdin")

	fail := func(err error) error {
		fmt.Fprintf(stderr, "registry admin create: %v\n\n", err)
		adminCreateUsage(stderr, fs)
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		adminCreateUsage(stdout, fs)
		return nil
	case err != nil:
		return fail(err)
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	name := auth.NormalizeUsername(*username)
	switch r := auth.Role(*role); {
	case *username == "":
		return fail(errors.New("-username is required"))
	case !auth.ValidUsername(name):
		return fail(fmt.Errorf("-username %q: 2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", *username))
	case !r.ForAccount():
		return fail(fmt.Errorf("-role %q: want one of %v", *role, auth.AccountRoles()))
	case *db == "" || strings.ContainsAny(*db, "?#"):
		return fail(fmt.Errorf("-db %q: want a file path without ? or #", *db))
	}

	var password string
	if *generate {
		if password, err = auth.GeneratePassword(); err != nil {
			return err
		}
	} else {
		if f, ok := stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(stderr, "Password for %s (at least %d characters; it is shown as you type): ", name, auth.MinPasswordLength)
			}
		}
		if password, err = readPasswordLine(stdin); err != nil {
			return fail(err)
		}
		if err := auth.CheckPassword(password, name); err != nil {
			return fail(fmt.Errorf("password: %w", err))
		}
	}

	if err := os.MkdirAll(filepath.Dir(*db), 0o750); err != nil {
		return fmt.Errorf("database folder: %w", err)
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	hash, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		return err
	}
	acc, err := st.CreateAccount(ctx, store.Account{Username: name, DisplayName: *display, Role: auth.Role(*role), PasswordHash: hash})
	if errors.Is(err, store.ErrAccountExists) {
		return fmt.Errorf("account %q already exists in %s", name, *db)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Account %q (%s) created in %s.\n", acc.Username, acc.Role, *db)
	if *generate {
		fmt.Fprintf(stdout, "Password (shown only this once): %s\n", password)
	}
	return nil
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine+1), maxPasswordLine+1).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", errors.New("the password line on stdin is too long")
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on stdin (give one line, or use -generate)")
	}
	return line, nil
}
