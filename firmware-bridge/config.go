package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/publish"
	"github.com/civisens/civisens/firmware-bridge/internal/simulate"
)

// Config is the bridge's configuration. Its zero value means the defaults,
// field by field; flags and environment variables set it (see run.go).
type Config struct {
	// Mode is where readings come from: "simulate" (the default)
	// simulates the register's sensors; "bridge" reads the devices of
	// ConfigFile (MQTT, HTTP push, serial ports), maps them to register
	// sensors and publishes their readings.
	Mode string
	// ConfigFile is the bridge's inputs and mapping (-mode bridge).
	ConfigFile string
	// DataDir holds the bridge's state: the table of unmapped sources.
	// "" means var/firmware-bridge.
	DataDir string
	// BrokerURL is the MQTT broker; "" means tcp://127.0.0.1:1883.
	BrokerURL string
	// MQTTUsername and MQTTPassword are optional broker credentials.
	MQTTUsername string
	MQTTPassword publish.Secret
	// ClientID is the MQTT client id; "" means civisens-bridge-sim.
	ClientID string
	// RegistryURL is the registry whose published sensors are simulated;
	// "" means http://127.0.0.1:8080. Unused when Town is set.
	RegistryURL string
	// Town is a JSON file holding a registryapi.SensorList to simulate
	// instead of asking the registry; "" means ask the registry.
	Town string
	// Seed makes the simulated values; the same seed gives the same town.
	// 0 means 1.
	Seed int64
	// Period is the longest interval between two packs of a sensor; a
	// sensor whose quantities declare a shorter period_s publishes at that
	// period. 0 means 10s.
	Period time.Duration
	// Refresh is how often the sensor list is read again. 0 means 60s.
	Refresh time.Duration
	// TimeZone is the town's, for office hours and lighting schedules;
	// "" means Europe/Paris.
	TimeZone string
	// LogLevel is the least level logged; the zero value is info.
	LogLevel slog.Level
	// Backfill is how much of the town's history the simulator publishes
	// at start, before the live readings (0: none).
	Backfill time.Duration
	// BackfillStep is the interval between two backfilled packs of a
	// sensor; 0 means 5m.
	BackfillStep time.Duration
	// MaxPast is how old a reading the gateway accepts (its -max-past):
	// the backfill stays within it; 0 means 7d.
	MaxPast time.Duration
}

// Defaults.
const (
	ModeSimulate       = "simulate"
	ModeBridge         = "bridge"
	DefaultDataDir     = "var/firmware-bridge"
	DefaultBrokerURL   = "tcp://127.0.0.1:1883"
	DefaultClientID    = "civisens-bridge-sim"
	DefaultRegistryURL = "http://127.0.0.1:8080"
	DefaultSeed        = 1
	DefaultPeriod      = 10 * time.Second
	DefaultRefresh     = 60 * time.Second
	DefaultTimeZone    = "Europe/Paris"
)

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	set := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	set(&c.Mode, ModeSimulate)
	set(&c.DataDir, DefaultDataDir)
	set(&c.BrokerURL, DefaultBrokerURL)
	set(&c.ClientID, DefaultClientID)
	set(&c.RegistryURL, DefaultRegistryURL)
	set(&c.TimeZone, DefaultTimeZone)
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	if c.BackfillStep == 0 {
		c.BackfillStep = simulate.DefaultBackfillStep
	}
	if c.MaxPast == 0 {
		c.MaxPast = simulate.DefaultMaxPast
	}
	return c
}

// Validate reports every problem of c at once. It has no side effect: it
// reads no file and opens no connection.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Mode {
	case ModeSimulate:
	case ModeBridge:
		if c.ConfigFile == "" {
			bad("mode %q needs -config, the file of its inputs and mapping", ModeBridge)
		}
	default:
		bad("mode %q: want %q or %q", c.Mode, ModeSimulate, ModeBridge)
	}
	if u, err := url.Parse(c.BrokerURL); err != nil {
		bad("broker URL: %v", err)
	} else {
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		default:
			bad("broker URL %q: want tcp://host:port (or mqtt, ssl, tls, mqtts, ws, wss)", c.BrokerURL)
		}
		if u.Host == "" {
			bad("broker URL %q has no host", c.BrokerURL)
		}
	}
	if c.MQTTPassword != "" && c.MQTTUsername == "" {
		bad("an MQTT password without a username")
	}
	if len(c.ClientID) > 65535 {
		bad("client id longer than MQTT allows")
	}
	if c.Town == "" && c.Mode != ModeBridge {
		if u, err := url.Parse(c.RegistryURL); err != nil {
			bad("registry URL: %v", err)
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("registry URL %q: want http://host:port", c.RegistryURL)
		}
	}
	if c.Period < 100*time.Millisecond || c.Period > 24*time.Hour {
		bad("period %v: want between 100ms and 24h", c.Period)
	}
	if c.Refresh < 100*time.Millisecond {
		bad("refresh %v: want at least 100ms", c.Refresh)
	}
	if c.Backfill < 0 {
		bad("backfill %v: want 0 or more", c.Backfill)
	}
	if c.BackfillStep < time.Second {
		bad("backfill step %v: want at least 1s", c.BackfillStep)
	}
	if c.MaxPast <= 0 {
		bad("max past %v: want more than 0", c.MaxPast)
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer: the configuration, password
// redacted.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("mode", c.Mode),
		slog.String("config", c.ConfigFile),
		slog.String("data_dir", c.DataDir),
		slog.String("broker_url", c.BrokerURL),
		slog.String("client_id", c.ClientID),
	}
	if c.MQTTUsername != "" {
		attrs = append(attrs, slog.String("mqtt_username", c.MQTTUsername), slog.Any("mqtt_password", c.MQTTPassword))
	}
	if c.Town != "" {
		attrs = append(attrs, slog.String("town", c.Town))
	} else {
		attrs = append(attrs, slog.String("registry_url", c.RegistryURL))
	}
	attrs = append(attrs,
		slog.Int64("seed", c.Seed),
		slog.Duration("period", c.Period),
		slog.Duration("refresh", c.Refresh),
		slog.String("timezone", c.TimeZone),
		slog.Duration("backfill", c.Backfill),
	)
	return slog.GroupValue(attrs...)
}
