package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	defaultMQTTListen       = "127.0.0.1:1883"
	defaultHTTPListen       = "127.0.0.1:9464"
	defaultRegistryURL      = "http://127.0.0.1:8080"
	defaultAllowListRefresh = 30 * time.Second
	defaultLastSeenInterval = time.Minute
	defaultDataDir          = "var/gateway"
	defaultClientID         = "civisens-gateway"
	defaultInfluxURL        = "http://127.0.0.1:8086"
	defaultInfluxBucket     = "civisens"
	defaultBatchSize        = 500
	defaultFlushInterval    = time.Second
	defaultMaxFuture        = 5 * time.Minute
	defaultMaxPast          = 7 * 24 * time.Hour
	defaultLogLevel         = "info"
)

// Config is the gateway's configuration. The zero value of each field means
// its default; flags and environment variables set it (see options).
type Config struct {
	// BrokerURL is an external MQTT broker to subscribe through, e.g.
	// tcp://127.0.0.1:1883 (also ssl://, ws://, wss://); it may carry
	// user:password. Empty starts the embedded broker on MQTTListen.
	BrokerURL string
	// MQTTListen is the TCP address of the embedded broker; unused with
	// BrokerURL. Default 127.0.0.1:1883.
	MQTTListen string
	// HTTPListen is the address of /metrics and /healthz. Default
	// 127.0.0.1:9464.
	HTTPListen string
	// RegistryURL is the registry's base URL, from which the allow-list is
	// pulled. Default http://127.0.0.1:8080.
	RegistryURL string
	// RegistryToken is the gateway's API token on the registry (role
	// gateway), sent with every allow-list request. Default none.
	RegistryToken string
	// AllowListRefresh is how often the allow-list is asked for. Default 30s.
	AllowListRefresh time.Duration
	// LastSeenInterval is how often the gateway tells the registry which
	// sensors it heard and which unknown ids published (package lastseen);
	// only with a RegistryToken. Default 1m.
	LastSeenInterval time.Duration
	// DataDir holds the gateway's state: the last-known-good allow-list
	// (next: the spool). Default var/gateway.
	DataDir string
	// ClientID is the gateway's MQTT client id, fixed so that the broker
	// keeps its session. Default civisens-gateway.
	ClientID string
	// InfluxURL is the InfluxDB server. Default http://127.0.0.1:8086.
	InfluxURL string
	// InfluxToken is, for InfluxDB 2.x, an API token; for 1.x,
	// "user:password" or empty when authentication is off.
	InfluxToken string
	// InfluxOrg is the InfluxDB 2.x organisation; empty means InfluxDB 1.x.
	InfluxOrg string
	// InfluxBucket is the 2.x bucket, or the 1.x database (optionally
	// "database/retention-policy"), created at start. Default civisens.
	InfluxBucket string
	// BatchSize is the number of readings per InfluxDB write. Default 500.
	BatchSize int
	// FlushInterval is the longest a reading waits for its batch. Default 1s.
	FlushInterval time.Duration
	// MaxFuture is how far ahead of the gateway's clock a reading may be.
	// Default 5m.
	MaxFuture time.Duration
	// MaxPast is how old a reading may be. Default 7d.
	MaxPast time.Duration
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	set := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.MQTTListen, defaultMQTTListen)
	set(&c.HTTPListen, defaultHTTPListen)
	set(&c.RegistryURL, defaultRegistryURL)
	setD(&c.AllowListRefresh, defaultAllowListRefresh)
	setD(&c.LastSeenInterval, defaultLastSeenInterval)
	set(&c.DataDir, defaultDataDir)
	set(&c.ClientID, defaultClientID)
	set(&c.InfluxURL, defaultInfluxURL)
	set(&c.InfluxBucket, defaultInfluxBucket)
	if c.BatchSize == 0 {
		c.BatchSize = defaultBatchSize
	}
	setD(&c.FlushInterval, defaultFlushInterval)
	setD(&c.MaxFuture, defaultMaxFuture)
	setD(&c.MaxPast, defaultMaxPast)
	set(&c.LogLevel, defaultLogLevel)
	return c
}

// Validate reports every field of c (with its defaults) that cannot work,
// naming its flag. It has no side effects.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if c.BrokerURL != "" {
		if err := checkURL(c.BrokerURL, "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss"); err != nil {
			bad("broker-url", "%v", err)
		}
	} else if err := checkListen(c.MQTTListen); err != nil {
		bad("mqtt-listen", "%v", err)
	}
	if err := checkListen(c.HTTPListen); err != nil {
		bad("http-listen", "%v", err)
	}
	if err := checkURL(c.RegistryURL, "http", "https"); err != nil {
		bad("registry-url", "%v", err)
	}
	if c.AllowListRefresh < time.Second {
		bad("allowlist-refresh", "%v is below 1s", c.AllowListRefresh)
	}
	if c.LastSeenInterval < time.Second {
		bad("lastseen-interval", "%v is below 1s", c.LastSeenInterval)
	}
	if strings.ContainsAny(c.ClientID, "+#/") || len(c.ClientID) > 65535 {
		bad("client-id", "%q is not an MQTT client id", c.ClientID)
	}
	if err := checkURL(c.InfluxURL, "http", "https"); err != nil {
		bad("influx-url", "%v", err)
	}
	if c.InfluxOrg == "" {
		if c.InfluxToken != "" && !strings.Contains(c.InfluxToken, ":") {
			bad("influx-token", "InfluxDB 1.x (no -influx-org) takes user:password")
		}
		if db, rp, _ := strings.Cut(c.InfluxBucket, "/"); db == "" || strings.Contains(rp, "/") {
			bad("influx-bucket", "%q: InfluxDB 1.x takes database or database/retention-policy", c.InfluxBucket)
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 50000 {
		bad("batch-size", "%d is not in 1..50000", c.BatchSize)
	}
	if c.FlushInterval < 0 || c.FlushInterval > time.Minute {
		bad("flush-interval", "%v is not in 0..1m", c.FlushInterval)
	}
	if c.MaxFuture < 0 {
		bad("max-future", "%v is negative", c.MaxFuture)
	}
	if c.MaxPast < 0 {
		bad("max-past", "%v is negative", c.MaxPast)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// LogValue prints c without secrets.
func (c Config) LogValue() slog.Value {
	tok := redactSecret(c.InfluxToken)
	return slog.GroupValue(
		slog.String("broker_url", redactURL(c.BrokerURL)),
		slog.String("mqtt_listen", c.MQTTListen),
		slog.String("http_listen", c.HTTPListen),
		slog.String("registry_url", c.RegistryURL),
		slog.String("registry_token", redactSecret(c.RegistryToken)),
		slog.Duration("allowlist_refresh", c.AllowListRefresh),
		slog.Duration("lastseen_interval", c.LastSeenInterval),
		slog.String("data_dir", c.DataDir),
		slog.String("client_id", c.ClientID),
		slog.String("influx_url", c.InfluxURL),
		slog.String("influx_token", tok),
		slog.String("influx_org", c.InfluxOrg),
		slog.String("influx_bucket", c.InfluxBucket),
		slog.Int("batch_size", c.BatchSize),
		slog.Duration("flush_interval", c.FlushInterval),
		slog.Duration("max_future", c.MaxFuture),
		slog.Duration("max_past", c.MaxPast),
	)
}

// redactSecret shows whether a secret is set, never the secret.
func redactSecret(s string) string {
	if s == "" {
		return ""
	}
	return "(redacted)"
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			if u.Host == "" {
				return fmt.Errorf("%q has no host", redactURL(s))
			}
			return nil
		}
	}
	return fmt.Errorf("%q: scheme is not one of %s", redactURL(s), strings.Join(schemes, ", "))
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: bad port", addr)
	}
	return nil
}

// option is one setting: a flag, its environment variable, its default as
// shown in -help.
type option struct {
	name, env, arg, def, usage string
	set                        func(c *Config, v string) error
}

func options() []option {
	return []option{
		{"broker-url", "BROKER_URL", "URL", "", "external MQTT broker to subscribe through (tcp://host:1883, ssl://, ws://; may carry user:password); empty starts the embedded broker", setString(func(c *Config) *string { return &c.BrokerURL })},
		{"mqtt-listen", "GATEWAY_MQTT_LISTEN", "ADDR", defaultMQTTListen, "TCP address of the embedded MQTT broker", setString(func(c *Config) *string { return &c.MQTTListen })},
		{"http-listen", "GATEWAY_HTTP_LISTEN", "ADDR", defaultHTTPListen, "address of /metrics and /healthz", setString(func(c *Config) *string { return &c.HTTPListen })},
		{"registry-url", "REGISTRY_URL", "URL", defaultRegistryURL, "registry whose allow-list says which sensors are accepted", setString(func(c *Config) *string { return &c.RegistryURL })},
		{"registry-token", "GATEWAY_REGISTRY_TOKEN", "TOKEN", "", "the gateway's API token on the registry (role gateway), sent as a bearer token", setString(func(c *Config) *string { return &c.RegistryToken })},
		{"allowlist-refresh", "GATEWAY_ALLOWLIST_REFRESH", "DURATION", formatDuration(defaultAllowListRefresh), "how often the allow-list is asked for (with its ETag)", setDuration(func(c *Config) *time.Duration { return &c.AllowListRefresh })},
		{"lastseen-interval", "GATEWAY_LASTSEEN_INTERVAL", "DURATION", formatDuration(defaultLastSeenInterval), "how often the registry is told which sensors were heard and which unknown ids published (needs -registry-token)", setDuration(func(c *Config) *time.Duration { return &c.LastSeenInterval })},
		{"data-dir", "GATEWAY_DATA_DIR", "DIR", defaultDataDir, "folder of the gateway's state (last-known-good allow-list)", setString(func(c *Config) *string { return &c.DataDir })},
		{"client-id", "GATEWAY_CLIENT_ID", "ID", defaultClientID, "MQTT client id of the gateway's persistent session", setString(func(c *Config) *string { return &c.ClientID })},
		{"influx-url", "INFLUX_URL", "URL", defaultInfluxURL, "InfluxDB server", setString(func(c *Config) *string { return &c.InfluxURL })},
		{"influx-token", "INFLUX_TOKEN", "TOKEN", "", "InfluxDB 2.x token, or 1.x user:password (empty: no authentication)", setString(func(c *Config) *string { return &c.InfluxToken })},
		{"influx-org", "INFLUX_ORG", "ORG", "", "InfluxDB 2.x organisation; empty means InfluxDB 1.x", setString(func(c *Config) *string { return &c.InfluxOrg })},
		{"influx-bucket", "INFLUX_BUCKET", "BUCKET", defaultInfluxBucket, "2.x bucket, or 1.x database[/retention-policy] (created at start; written as database/autogen)", setString(func(c *Config) *string { return &c.InfluxBucket })},
		{"batch-size", "GATEWAY_BATCH_SIZE", "N", strconv.Itoa(defaultBatchSize), "readings per InfluxDB write", setInt(func(c *Config) *int { return &c.BatchSize })},
		{"flush-interval", "GATEWAY_FLUSH_INTERVAL", "DURATION", formatDuration(defaultFlushInterval), "longest a reading waits for its batch", setDuration(func(c *Config) *time.Duration { return &c.FlushInterval })},
		{"max-future", "GATEWAY_MAX_FUTURE", "DURATION", formatDuration(defaultMaxFuture), "readings further ahead of the gateway's clock are refused", setDuration(func(c *Config) *time.Duration { return &c.MaxFuture })},
		{"max-past", "GATEWAY_MAX_PAST", "DURATION", formatDuration(defaultMaxPast), "readings older than this are refused", setDuration(func(c *Config) *time.Duration { return &c.MaxPast })},
		{"log-level", "GATEWAY_LOG_LEVEL", "LEVEL", defaultLogLevel, "debug, info, warn or error", setString(func(c *Config) *string { return &c.LogLevel })},
	}
}

func setString(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func setInt(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = n
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

// parseDuration reads a Go duration (90s, 5m, 1h30m) or a number of days
// (7d).
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 500ms, 30s, 5m, 2h, 7d)", s)
	}
	return d, nil
}

// formatDuration writes d the short way: 7d, 5m, 30s, 1.5s.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// optionValue is a flag.Value that sets one option of a Config.
type optionValue struct {
	c *Config
	o option
}

func (v optionValue) String() string     { return "" }
func (v optionValue) Set(s string) error { return v.o.set(v.c, s) }

// errUsage marks a command line that cannot be understood; errExit, a
// command line that was fully answered (-help, -version).
var (
	errUsage = errors.New("configuration")
	errExit  = errors.New("exit")
)

// parseConfig reads the environment, then the flags, which win. It prints
// -help and -version to stdout and returns errExit after them.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	var c Config
	opts := options()
	envErrs := map[string]error{}
	for _, o := range opts {
		if v := getenv(o.env); v != "" {
			if err := o.set(&c, v); err != nil {
				envErrs[o.name] = fmt.Errorf("%w: %s: %v", errUsage, o.env, err)
			}
		}
	}

	fs := flag.NewFlagSet("civisens-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, -help printed below
	for _, o := range opts {
		fs.Var(optionValue{c: &c, o: o}, o.name, o.usage)
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, opts)
			return c, errExit
		}
		return c, fmt.Errorf("%w: %v (see -help)", errUsage, err)
	}
	if *showVersion {
		fmt.Fprintf(stdout, "civisens-gateway %s\n", version)
		return c, errExit
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q (see -help)", errUsage, fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { delete(envErrs, f.Name) }) // the flag wins
	var errs []error
	for _, o := range opts {
		if err := envErrs[o.name]; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	return c, nil
}

func printUsage(w io.Writer, opts []option) {
	fmt.Fprint(w, `Usage: civisens-gateway [flags]

civisens-gateway subscribes to sensors/+/senml (QoS 1, persistent session),
keeps the readings of the sensors that the register publishes, validates them,
writes them to InfluxDB, and acknowledges each message once written.

Each flag may also be set by the environment variable shown; the flag wins.

`)
	for _, o := range opts {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  -%s %s\n        %s\n        env %s, default %s\n", o.name, o.arg, o.usage, o.env, def)
	}
	fmt.Fprint(w, "  -version\n        print the version and exit\n  -help\n        print this help and exit\n")
	fmt.Fprint(w, `
Durations: 500ms, 30s, 5m, 2h, 7d. Metrics: http://<http-listen>/metrics;
health: http://<http-listen>/healthz (200 when ingesting, else 503).
`)
}
