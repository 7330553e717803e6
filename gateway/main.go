// Command civisens-gateway subscribes to the sensors' MQTT topics, keeps the
// readings of the sensors that the register publishes, validates them, and
// writes them to InfluxDB. See README.md, and `civisens-gateway -help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "civisens-gateway:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "civisens-gateway:", err)
		os.Exit(1)
	}
}
