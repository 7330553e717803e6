// Command civisens-firmware-bridge turns hardware signals and device
// firmware payloads into civisens readings on MQTT: SenML packs on
// sensors/{sensor_id}/senml. -mode simulate (the default) simulates the
// sensors the register publishes; -mode bridge reads devices (Tasmota,
// ESPHome, Zigbee2MQTT, LoRaWAN network servers over MQTT, Sensor.Community
// pushes over HTTP, Linky TIC and particulate sensors on serial ports) and
// maps them to register sensors. `decode` shows what a payload gives;
// `sources` lists the devices heard that no mapping names. See README.md.
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
	err := runWithInput(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "civisens-firmware-bridge:", err)
		os.Exit(1)
	}
}
