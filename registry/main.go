// Command registry is the civisens register of sensors: the system of record
// of every sensor of the commune, the public register that citizens read
// (HTML in French and English, and JSON), and the allow-list that the
// gateway pulls. See README.md and `registry --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // pages show times in Europe/Paris, even where the system has no zoneinfo
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2) // run has printed the problem and the usage
	case err != nil:
		fmt.Fprintln(os.Stderr, "civisens-registry:", err)
		os.Exit(1)
	}
}
