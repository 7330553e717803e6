// Command civisens-firmware-bridge turns hardware signals and device
// firmware payloads into civisens readings on MQTT. This version simulates
// a whole town's sensors: the ones the register publishes, with plausible
// values, as SenML packs on sensors/{sensor_id}/senml. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the town's time zone, on systems without zoneinfo
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "civisens-firmware-bridge:", err)
		os.Exit(1)
	}
}
