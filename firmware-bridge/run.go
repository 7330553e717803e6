package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/mapping"
	"github.com/civisens/civisens/firmware-bridge/internal/publish"
	"github.com/civisens/civisens/firmware-bridge/internal/register"
	"github.com/civisens/civisens/firmware-bridge/internal/simulate"
	"github.com/civisens/civisens/internal/sdnotify"
)

// envVars maps each configuration flag to its environment variable. A flag
// on the command line wins over its variable.
func envVars() map[string]string {
	return map[string]string{
		"mode":          "BRIDGE_MODE",
		"config":        "BRIDGE_CONFIG",
		"data-dir":      "BRIDGE_DATA_DIR",
		"broker-url":    "BROKER_URL",
		"mqtt-username": "BRIDGE_MQTT_USERNAME",
		"mqtt-password": "BRIDGE_MQTT_PASSWORD",
		"client-id":     "BRIDGE_CLIENT_ID",
		"registry-url":  "REGISTRY_URL",
		"town":          "BRIDGE_TOWN",
		"seed":          "BRIDGE_SEED",
		"period":        "BRIDGE_PERIOD",
		"refresh":       "BRIDGE_REFRESH",
		"timezone":      "BRIDGE_TIMEZONE",
		"log-level":     "BRIDGE_LOG_LEVEL",
		"backfill":      "BRIDGE_BACKFILL",
		"backfill-step": "BRIDGE_BACKFILL_STEP",
		"max-past":      "BRIDGE_MAX_PAST",
	}
}

// run is the bridge: main without the process. It returns when ctx is done
// (nil) or on a configuration error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithInput(ctx, args, getenv, nil, stdout, stderr)
}

// runWithInput is run with the standard input that subcommands read.
func runWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "decode":
			if stdin == nil {
				stdin = strings.NewReader("")
			}
			return runDecode(args[1:], stdin, stdout)
		case "sources":
			return runSources(args[1:], getenv, stdout)
		}
	}
	cfg, done, err := parseConfig(args, getenv, stdout)
	if err != nil || done {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("configuration: time zone: %w", err)
	}
	var bf bridgeFile
	if cfg.Mode == ModeBridge {
		fh, err := os.Open(cfg.ConfigFile)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		bf, err = parseBridgeFile(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("configuration: %s: %w", cfg.ConfigFile, err)
		}
	}
	var src simulate.Source = register.File{Path: cfg.Town}
	if cfg.Town == "" && cfg.Mode == ModeSimulate {
		c, err := register.NewClient(cfg.RegistryURL, nil)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		src = c
	}
	log.Info("civisens firmware bridge starting", "version", version, "config", cfg)
	// Under systemd (Type=notify): ready once the configuration is good —
	// the bridge then waits for the broker and the registry on its own —
	// then the watchdog.
	defer sdnotify.New(getenv, os.Getpid()).Ready(ctx)()

	mq := publish.Start(publish.Config{
		BrokerURL: cfg.BrokerURL,
		ClientID:  cfg.ClientID,
		Username:  cfg.MQTTUsername,
		Password:  cfg.MQTTPassword,
		// Packs handed to the broker and not yet acknowledged survive a
		// restart of the bridge.
		StoreDir: filepath.Join(cfg.DataDir, "mqtt-store", url.PathEscape(cfg.ClientID)),
	}, log.With("component", "mqtt"))
	defer mq.Close()
	if err := mq.WaitConnected(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the broker came up
		}
		return err
	}
	if cfg.Mode == ModeBridge {
		unmapped := mapping.NewUnmapped(1000)
		b := &bridge{file: bf, mapper: mapping.New(bf.Mapping(), unmapped), unmapped: unmapped, pub: mq,
			log: log.With("component", "bridge"), dataDir: cfg.DataDir, getenv: getenv}
		err := b.run(ctx)
		log.Info("civisens firmware bridge stopped")
		return err
	}
	runner := &simulate.Runner{
		Town:         simulate.NewTown(cfg.Seed, loc),
		Period:       cfg.Period,
		Refresh:      cfg.Refresh,
		Log:          log.With("component", "simulate"),
		BackfillSpan: cfg.Backfill,
		BackfillStep: cfg.BackfillStep,
		MaxPast:      cfg.MaxPast,
	}
	err = runner.Run(ctx, src, mq)
	log.Info("civisens firmware bridge stopped")
	return err
}

// parseConfig reads the flags, then the environment for the flags not
// given. done is true when it has answered -help or -version.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (cfg Config, done bool, err error) {
	fs := flag.NewFlagSet("civisens-firmware-bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, -help goes to stdout
	fs.StringVar(&cfg.Mode, "mode", ModeSimulate, "where readings come from: `simulate` the register's sensors, or bridge the devices of -config")
	fs.StringVar(&cfg.ConfigFile, "config", "", "JSON `file` of the bridge's inputs and mapping (-mode bridge)")
	fs.StringVar(&cfg.DataDir, "data-dir", DefaultDataDir, "`folder` of the bridge's state (the table of unmapped sources)")
	fs.StringVar(&cfg.BrokerURL, "broker-url", DefaultBrokerURL, "MQTT broker `URL`: tcp://, mqtt://, ssl://, tls://, mqtts://, ws://, wss://")
	fs.StringVar(&cfg.MQTTUsername, "mqtt-username", "", "MQTT `username` (optional)")
	fs.Var(secretFlag{&cfg.MQTTPassword}, "mqtt-password", "MQTT `password` (optional; prefer the environment variable, which ps does not show)")
	fs.StringVar(&cfg.ClientID, "client-id", DefaultClientID, "MQTT client `id`; unique per bridge")
	fs.StringVar(&cfg.RegistryURL, "registry-url", DefaultRegistryURL, "registry whose published sensors are simulated (GET `URL`/api/v1/sensors)")
	fs.StringVar(&cfg.Town, "town", "", "JSON `file` of a registryapi.SensorList to simulate instead of the registry's")
	fs.Int64Var(&cfg.Seed, "seed", DefaultSeed, "`seed` of the simulated values; the same seed gives the same town")
	fs.DurationVar(&cfg.Period, "period", DefaultPeriod, "longest `interval` between two packs of a sensor (shorter if its period_s is)")
	fs.DurationVar(&cfg.Refresh, "refresh", DefaultRefresh, "`interval` between two reads of the sensor list")
	fs.StringVar(&cfg.TimeZone, "timezone", DefaultTimeZone, "the town's time `zone` (office hours, lighting schedules)")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "least `level` logged: debug, info, warn, error")
	span := func(d *time.Duration) func(string) error {
		return func(v string) error {
			s, err := simulate.ParseSpan(v)
			if err != nil {
				return err
			}
			*d = s
			return nil
		}
	}
	fs.Func("backfill", "how much `history` the simulator publishes at start, e.g. 2d (default none)", span(&cfg.Backfill))
	fs.Func("backfill-step", "`interval` between two backfilled packs of a sensor (default 5m)", span(&cfg.BackfillStep))
	fs.Func("max-past", "how old a reading the gateway accepts, its -max-past: the backfill stays within it (default 7d)", span(&cfg.MaxPast))
	showVersion := fs.Bool("version", false, "print the version and exit")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return cfg, true, nil
		}
		return cfg, false, fmt.Errorf("%w (see -help)", err)
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintf(stdout, "civisens-firmware-bridge %s\n", version)
		return cfg, true, nil
	}
	envOf := envVars()
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) { // in name order: errors in a stable order
		env, ok := envOf[f.Name]
		if !ok || given[f.Name] {
			return
		}
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	return cfg, false, errors.Join(errs...)
}

// usage writes every flag with its environment variable and default.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `Usage: civisens-firmware-bridge [flags]

Publishes the readings of the town's sensors as SenML on MQTT
(sensors/{sensor_id}/senml). This version simulates the sensors that the
registry publishes, or those of a -town file.

Each flag can be set by its environment variable; a flag given on the
command line wins.

`)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s\n", strings.TrimSpace(f.Name+" "+name))
		fmt.Fprintf(w, "        %s\n", help)
		var meta []string
		if env, ok := envVars()[f.Name]; ok {
			meta = append(meta, "env "+env)
		}
		if f.DefValue != "" && f.DefValue != "false" {
			meta = append(meta, "default "+f.DefValue)
		}
		if len(meta) > 0 {
			fmt.Fprintf(w, "        (%s)\n", strings.Join(meta, ", "))
		}
	})
}

// secretFlag is the flag.Value of a password: it never prints it.
type secretFlag struct{ p *publish.Secret }

func (s secretFlag) String() string {
	if s.p == nil {
		return ""
	}
	return s.p.String()
}

func (s secretFlag) Set(v string) error {
	*s.p = publish.Secret(v)
	return nil
}
