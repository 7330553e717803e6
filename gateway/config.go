package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/registry/registryapi"
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
	defaultInfluxBatchSize  = 5000
	defaultInfluxFlush      = 100 * time.Millisecond
	defaultInfluxWriters    = 4
	defaultMaxFuture        = 5 * time.Minute
	defaultMaxPast          = 7 * 24 * time.Hour
	defaultLogLevel         = "info"
	defaultMQTTMaxPacket    = 64 << 10
	defaultMQTTMaxInflight  = 4096
	defaultMQTTReceiveMax   = 256
	defaultMQTTMaxConnRate  = 20
	defaultMaxPayload       = 64 << 10
	defaultMaxRecords       = 500
	defaultSpoolMaxBytes    = 256 << 20
	defaultSpoolSegment     = 8 << 20
	defaultSpoolSyncRecords = 1000
	defaultSpoolSyncEvery   = 50 * time.Millisecond
	defaultDeadLetterMax    = 16 << 20
	defaultDrainTimeout     = 10 * time.Second
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
	// MQTTTLSListen is the address of the embedded broker's TLS listener;
	// empty: none. MQTTTLSCert and MQTTTLSKey are its certificate (chain)
	// and private key, PEM files, read at start.
	MQTTTLSListen, MQTTTLSCert, MQTTTLSKey string
	// MQTTMaxPacket bounds one MQTT packet on the embedded broker, in
	// bytes; a client sending more is disconnected. Default 64 KiB.
	MQTTMaxPacket int
	// MQTTMaxInflight bounds the QoS 1 messages the embedded broker holds
	// unacknowledged towards one client (the gateway's reader, mostly).
	// Default 4096.
	MQTTMaxInflight int
	// MQTTReceiveMax bounds the QoS 1/2 messages one client may have
	// unacknowledged towards the embedded broker (announced to MQTT 5
	// clients). Default 256.
	MQTTReceiveMax int
	// MQTTMaxConnRate bounds the connections the embedded broker accepts
	// per second, with a burst of twice as many. Default 20.
	MQTTMaxConnRate int
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
	// DataDir holds the gateway's state: the last-known-good allow-list,
	// the spool (unless SpoolDir) and the dead letters. Default
	// var/gateway.
	DataDir string
	// SpoolDir holds the spool's segments and checkpoint. Default
	// <DataDir>/spool.
	SpoolDir string
	// SpoolMaxBytes bounds the spool's files; when full, acknowledgements
	// stop (or, with SpoolEvictOldest, the oldest segment is deleted).
	// Default 256 MiB.
	SpoolMaxBytes int
	// SpoolSegmentBytes is the size of a spool segment file. Default 8 MiB.
	SpoolSegmentBytes int
	// SpoolSyncRecords: the spool fsyncs as soon as this many appended
	// records wait. Default 1000.
	SpoolSyncRecords int
	// SpoolSyncInterval is the shortest time between two spool fsyncs
	// (unless SpoolSyncRecords wait). Default 50ms.
	SpoolSyncInterval time.Duration
	// SpoolEvictOldest lets a full spool delete its oldest segment, unsent
	// readings included (counted), rather than stop acknowledging.
	// Default false.
	SpoolEvictOldest bool
	// DeadLetterMaxBytes bounds the files of readings InfluxDB refused for
	// good (<DataDir>/deadletter). Default 16 MiB.
	DeadLetterMaxBytes int
	// DrainTimeout bounds how long, at a stop, the spool is still sent to
	// InfluxDB after ingest stopped. Default 10s.
	DrainTimeout time.Duration
	// AggregateWindows are the sizes of the aggregate windows (package
	// aggregate); empty after defaults only with AggregateOff. Default 1m,
	// 15m, 1h.
	AggregateWindows []time.Duration
	// AggregateOff turns aggregation off (-aggregate-windows none).
	AggregateOff bool
	// AggregateGrace is how long after its end a window waits for late
	// readings before the clock closes it. Default 1m.
	AggregateGrace time.Duration
	// AggregateRetention is how long InfluxDB keeps the aggregates of
	// sensors whose data is not identifiable or pseudonymised, an ISO 8601
	// duration. Default P10Y.
	AggregateRetention string
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
	// InfluxNoCreateRetention (-influx-create-retention=false) forbids
	// creating the retention policies (1.x) or buckets (2.x) that the
	// entries' retentions need; their readings are then refused
	// (retention_missing).
	InfluxNoCreateRetention bool
	// BatchSize is the most readings per spool record (one append, acked
	// together after one fsync). Default 500.
	BatchSize int
	// FlushInterval is the longest a reading waits to be appended to the
	// spool. Default 1s (in practice it is appended as soon as the ingest
	// is idle).
	FlushInterval time.Duration
	// InfluxBatchSize is the most readings per InfluxDB write. Default 5000.
	InfluxBatchSize int
	// InfluxFlushInterval is the longest a spooled reading waits for its
	// InfluxDB batch to fill. Default 100ms.
	InfluxFlushInterval time.Duration
	// InfluxWriters is the most InfluxDB writes in flight. Default 4.
	InfluxWriters int
	// MaxFuture is how far ahead of the gateway's clock a reading may be.
	// Default 5m.
	MaxFuture time.Duration
	// MaxPast is how old a reading may be. Default 7d.
	MaxPast time.Duration
	// MaxPayload bounds a SenML payload, in bytes. Default 64 KiB.
	MaxPayload int
	// MaxRecords bounds the records of one SenML pack. Default 500.
	MaxRecords int
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// Pprof serves Go's profiles at /debug/pprof/ on HTTPListen.
	Pprof bool
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
	if c.InfluxBatchSize == 0 {
		c.InfluxBatchSize = defaultInfluxBatchSize
	}
	setD(&c.InfluxFlushInterval, defaultInfluxFlush)
	if c.InfluxWriters == 0 {
		c.InfluxWriters = defaultInfluxWriters
	}
	setD(&c.MaxFuture, defaultMaxFuture)
	setD(&c.MaxPast, defaultMaxPast)
	set(&c.LogLevel, defaultLogLevel)
	setN := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setN(&c.MQTTMaxPacket, defaultMQTTMaxPacket)
	setN(&c.MQTTMaxInflight, defaultMQTTMaxInflight)
	setN(&c.MQTTReceiveMax, defaultMQTTReceiveMax)
	setN(&c.MQTTMaxConnRate, defaultMQTTMaxConnRate)
	setN(&c.MaxPayload, defaultMaxPayload)
	setN(&c.MaxRecords, defaultMaxRecords)
	set(&c.SpoolDir, filepath.Join(c.DataDir, "spool"))
	setN(&c.SpoolMaxBytes, defaultSpoolMaxBytes)
	setN(&c.SpoolSegmentBytes, defaultSpoolSegment)
	setN(&c.SpoolSyncRecords, defaultSpoolSyncRecords)
	setD(&c.SpoolSyncInterval, defaultSpoolSyncEvery)
	setN(&c.DeadLetterMaxBytes, defaultDeadLetterMax)
	setD(&c.DrainTimeout, defaultDrainTimeout)
	if len(c.AggregateWindows) == 0 && !c.AggregateOff {
		c.AggregateWindows = slices.Clone(aggregate.DefaultWindows)
	}
	setD(&c.AggregateGrace, aggregate.DefaultGrace)
	set(&c.AggregateRetention, aggregate.DefaultRetention)
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
	switch {
	case c.MQTTTLSListen != "":
		if err := checkListen(c.MQTTTLSListen); err != nil {
			bad("mqtt-tls-listen", "%v", err)
		}
		if c.MQTTTLSCert == "" || c.MQTTTLSKey == "" {
			bad("mqtt-tls-listen", "needs -mqtt-tls-cert and -mqtt-tls-key")
		}
	case c.MQTTTLSCert != "" || c.MQTTTLSKey != "":
		bad("mqtt-tls-cert", "a certificate without -mqtt-tls-listen")
	}
	if c.MQTTMaxPacket < 1<<10 || c.MQTTMaxPacket > 256<<20 {
		bad("mqtt-max-packet", "%s is not in 1KiB..256MiB", formatSize(c.MQTTMaxPacket))
	}
	if c.MQTTMaxInflight < 1 || c.MQTTMaxInflight > 65535 {
		bad("mqtt-max-inflight", "%d is not in 1..65535", c.MQTTMaxInflight)
	}
	if c.MQTTReceiveMax < 1 || c.MQTTReceiveMax > 65535 {
		bad("mqtt-receive-max", "%d is not in 1..65535", c.MQTTReceiveMax)
	}
	if c.MQTTMaxConnRate < 1 || c.MQTTMaxConnRate > 100000 {
		bad("mqtt-max-conn-rate", "%d is not in 1..100000", c.MQTTMaxConnRate)
	}
	if c.MaxPayload < 64 || c.MaxPayload > 16<<20 {
		bad("max-payload", "%s is not in 64B..16MiB", formatSize(c.MaxPayload))
	}
	if c.MaxRecords < 1 || c.MaxRecords > 100000 {
		bad("max-records", "%d is not in 1..100000", c.MaxRecords)
	}
	if c.SpoolSegmentBytes < 64<<10 {
		bad("spool-segment-bytes", "%s is below 64KiB", formatSize(c.SpoolSegmentBytes))
	}
	if c.SpoolMaxBytes < 2*c.SpoolSegmentBytes {
		bad("spool-max-bytes", "%s is below two segments (-spool-segment-bytes %s)", formatSize(c.SpoolMaxBytes), formatSize(c.SpoolSegmentBytes))
	}
	if c.SpoolSyncRecords < 1 || c.SpoolSyncRecords > 1000000 {
		bad("spool-sync-records", "%d is not in 1..1000000", c.SpoolSyncRecords)
	}
	if c.SpoolSyncInterval < time.Millisecond || c.SpoolSyncInterval > 10*time.Second {
		bad("spool-sync-interval", "%v is not in 1ms..10s", c.SpoolSyncInterval)
	}
	if c.DeadLetterMaxBytes < 4<<10 {
		bad("deadletter-max-bytes", "%s is below 4KiB", formatSize(c.DeadLetterMaxBytes))
	}
	if c.DrainTimeout < 0 || c.DrainTimeout > 10*time.Minute {
		bad("drain-timeout", "%v is not in 0..10m", c.DrainTimeout)
	}
	if err := checkListen(c.HTTPListen); err != nil {
		bad("http-listen", "%v", err)
	}
	if !c.AggregateOff {
		if err := (aggregate.Config{Windows: c.AggregateWindows}).Validate(); err != nil {
			bad("aggregate-windows", "%v", err)
		}
		if _, err := registryapi.ParseRetention(c.AggregateRetention); err != nil {
			bad("aggregate-retention", "%v", err)
		}
		if c.AggregateGrace < 0 || c.AggregateGrace > 24*time.Hour {
			bad("aggregate-grace", "%v is not in 0..24h", c.AggregateGrace)
		}
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
	if c.InfluxBatchSize < 1 || c.InfluxBatchSize > 50000 {
		bad("influx-batch-size", "%d is not in 1..50000", c.InfluxBatchSize)
	}
	if c.InfluxFlushInterval < 0 || c.InfluxFlushInterval > time.Minute {
		bad("influx-flush-interval", "%v is not in 0..1m", c.InfluxFlushInterval)
	}
	if c.InfluxWriters < 1 || c.InfluxWriters > 64 {
		bad("influx-writers", "%d is not in 1..64", c.InfluxWriters)
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
		slog.String("mqtt_tls_listen", c.MQTTTLSListen),
		slog.String("mqtt_tls_cert", c.MQTTTLSCert),
		slog.String("mqtt_tls_key", c.MQTTTLSKey),
		slog.Int("mqtt_max_packet", c.MQTTMaxPacket),
		slog.Int("mqtt_max_inflight", c.MQTTMaxInflight),
		slog.Int("mqtt_receive_max", c.MQTTReceiveMax),
		slog.Int("mqtt_max_conn_rate", c.MQTTMaxConnRate),
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
		slog.Int("influx_batch_size", c.InfluxBatchSize),
		slog.Duration("influx_flush_interval", c.InfluxFlushInterval),
		slog.Int("influx_writers", c.InfluxWriters),
		slog.Duration("max_future", c.MaxFuture),
		slog.Duration("max_past", c.MaxPast),
		slog.Int("max_payload", c.MaxPayload),
		slog.Int("max_records", c.MaxRecords),
		slog.String("spool_dir", c.SpoolDir),
		slog.Int("spool_max_bytes", c.SpoolMaxBytes),
		slog.Int("spool_segment_bytes", c.SpoolSegmentBytes),
		slog.Int("spool_sync_records", c.SpoolSyncRecords),
		slog.Duration("spool_sync_interval", c.SpoolSyncInterval),
		slog.Bool("spool_evict_oldest", c.SpoolEvictOldest),
		slog.Int("deadletter_max_bytes", c.DeadLetterMaxBytes),
		slog.Duration("drain_timeout", c.DrainTimeout),
		slog.String("aggregate_windows", formatWindows(c)),
		slog.Duration("aggregate_grace", c.AggregateGrace),
		slog.String("aggregate_retention", c.AggregateRetention),
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
		{"mqtt-tls-listen", "GATEWAY_MQTT_TLS_LISTEN", "ADDR", "", "address of the embedded broker's TLS listener (needs -mqtt-tls-cert and -mqtt-tls-key); empty: none", setString(func(c *Config) *string { return &c.MQTTTLSListen })},
		{"mqtt-tls-cert", "GATEWAY_MQTT_TLS_CERT", "FILE", "", "certificate (chain) of the TLS listener, PEM", setString(func(c *Config) *string { return &c.MQTTTLSCert })},
		{"mqtt-tls-key", "GATEWAY_MQTT_TLS_KEY", "FILE", "", "private key of the TLS listener, PEM", setString(func(c *Config) *string { return &c.MQTTTLSKey })},
		{"mqtt-max-packet", "GATEWAY_MQTT_MAX_PACKET", "SIZE", formatSize(defaultMQTTMaxPacket), "largest MQTT packet the embedded broker takes; a client sending more is disconnected", setSize(func(c *Config) *int { return &c.MQTTMaxPacket })},
		{"mqtt-max-inflight", "GATEWAY_MQTT_MAX_INFLIGHT", "N", strconv.Itoa(defaultMQTTMaxInflight), "QoS 1 messages the embedded broker holds unacknowledged towards one client; beyond, it drops them (counted)", setInt(func(c *Config) *int { return &c.MQTTMaxInflight })},
		{"mqtt-receive-max", "GATEWAY_MQTT_RECEIVE_MAX", "N", strconv.Itoa(defaultMQTTReceiveMax), "QoS 1/2 messages one client may have unacknowledged towards the embedded broker", setInt(func(c *Config) *int { return &c.MQTTReceiveMax })},
		{"mqtt-max-conn-rate", "GATEWAY_MQTT_MAX_CONN_RATE", "N", strconv.Itoa(defaultMQTTMaxConnRate), "connections the embedded broker accepts per second (burst: twice as many)", setInt(func(c *Config) *int { return &c.MQTTMaxConnRate })},
		{"http-listen", "GATEWAY_HTTP_LISTEN", "ADDR", defaultHTTPListen, "address of /metrics and /healthz", setString(func(c *Config) *string { return &c.HTTPListen })},
		{"registry-url", "REGISTRY_URL", "URL", defaultRegistryURL, "registry whose allow-list says which sensors are accepted", setString(func(c *Config) *string { return &c.RegistryURL })},
		{"registry-token", "GATEWAY_REGISTRY_TOKEN", "TOKEN", "", "the gateway's API token on the registry (role gateway), sent as a bearer token", setString(func(c *Config) *string { return &c.RegistryToken })},
		{"allowlist-refresh", "GATEWAY_ALLOWLIST_REFRESH", "DURATION", formatDuration(defaultAllowListRefresh), "how often the allow-list is asked for (with its ETag)", setDuration(func(c *Config) *time.Duration { return &c.AllowListRefresh })},
		{"lastseen-interval", "GATEWAY_LASTSEEN_INTERVAL", "DURATION", formatDuration(defaultLastSeenInterval), "how often the registry is told which sensors were heard and which unknown ids published (needs -registry-token)", setDuration(func(c *Config) *time.Duration { return &c.LastSeenInterval })},
		{"data-dir", "GATEWAY_DATA_DIR", "DIR", defaultDataDir, "folder of the gateway's state (last-known-good allow-list, spool, dead letters)", setString(func(c *Config) *string { return &c.DataDir })},
		{"client-id", "GATEWAY_CLIENT_ID", "ID", defaultClientID, "MQTT client id of the gateway's persistent session", setString(func(c *Config) *string { return &c.ClientID })},
		{"influx-url", "INFLUX_URL", "URL", defaultInfluxURL, "InfluxDB server", setString(func(c *Config) *string { return &c.InfluxURL })},
		{"influx-token", "INFLUX_TOKEN", "TOKEN", "", "InfluxDB 2.x token, or 1.x user:password (empty: no authentication)", setString(func(c *Config) *string { return &c.InfluxToken })},
		{"influx-org", "INFLUX_ORG", "ORG", "", "InfluxDB 2.x organisation; empty means InfluxDB 1.x", setString(func(c *Config) *string { return &c.InfluxOrg })},
		{"influx-bucket", "INFLUX_BUCKET", "BUCKET", defaultInfluxBucket, "2.x bucket, or 1.x database[/retention-policy] (created at start; written as database/autogen)", setString(func(c *Config) *string { return &c.InfluxBucket })},
		{"influx-create-retention", "INFLUX_CREATE_RETENTION", "", "true", "create the missing retention policies (1.x) or buckets (2.x) that entries' retentions need (civisens_p1y…); false: refuse their readings (retention_missing)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.InfluxNoCreateRetention = !b
			return nil
		}},
		{"influx-batch-size", "INFLUX_BATCH_SIZE", "N", strconv.Itoa(defaultInfluxBatchSize), "most readings per InfluxDB write", setInt(func(c *Config) *int { return &c.InfluxBatchSize })},
		{"influx-flush-interval", "INFLUX_FLUSH_INTERVAL", "DURATION", formatDuration(defaultInfluxFlush), "longest a spooled reading waits for its InfluxDB batch to fill", setDuration(func(c *Config) *time.Duration { return &c.InfluxFlushInterval })},
		{"influx-writers", "INFLUX_WRITERS", "N", strconv.Itoa(defaultInfluxWriters), "most InfluxDB writes in flight", setInt(func(c *Config) *int { return &c.InfluxWriters })},
		{"batch-size", "GATEWAY_BATCH_SIZE", "N", strconv.Itoa(defaultBatchSize), "most readings per spool record (appended and acknowledged together)", setInt(func(c *Config) *int { return &c.BatchSize })},
		{"flush-interval", "GATEWAY_FLUSH_INTERVAL", "DURATION", formatDuration(defaultFlushInterval), "longest a reading waits to be appended to the spool", setDuration(func(c *Config) *time.Duration { return &c.FlushInterval })},
		{"max-future", "GATEWAY_MAX_FUTURE", "DURATION", formatDuration(defaultMaxFuture), "readings further ahead of the gateway's clock are refused", setDuration(func(c *Config) *time.Duration { return &c.MaxFuture })},
		{"max-past", "GATEWAY_MAX_PAST", "DURATION", formatDuration(defaultMaxPast), "readings older than this are refused", setDuration(func(c *Config) *time.Duration { return &c.MaxPast })},
		{"max-payload", "GATEWAY_MAX_PAYLOAD", "SIZE", formatSize(defaultMaxPayload), "largest SenML payload; larger ones are refused (too_large)", setSize(func(c *Config) *int { return &c.MaxPayload })},
		{"max-records", "GATEWAY_MAX_RECORDS", "N", strconv.Itoa(defaultMaxRecords), "most records in one SenML pack; more are refused (too_many_records)", setInt(func(c *Config) *int { return &c.MaxRecords })},
		{"spool-dir", "GATEWAY_SPOOL_DIR", "DIR", "<data-dir>/spool", "folder of the spool: the readings acknowledged and not yet in InfluxDB", setString(func(c *Config) *string { return &c.SpoolDir })},
		{"spool-max-bytes", "GATEWAY_SPOOL_MAX_BYTES", "SIZE", formatSize(defaultSpoolMaxBytes), "bound of the spool's files; when full, acknowledgements stop and the broker keeps the messages", setSize(func(c *Config) *int { return &c.SpoolMaxBytes })},
		{"spool-segment-bytes", "GATEWAY_SPOOL_SEGMENT_BYTES", "SIZE", formatSize(defaultSpoolSegment), "size of a spool segment file", setSize(func(c *Config) *int { return &c.SpoolSegmentBytes })},
		{"spool-sync-records", "GATEWAY_SPOOL_SYNC_RECORDS", "N", strconv.Itoa(defaultSpoolSyncRecords), "fsync the spool as soon as this many appended records wait", setInt(func(c *Config) *int { return &c.SpoolSyncRecords })},
		{"spool-sync-interval", "GATEWAY_SPOOL_SYNC_INTERVAL", "DURATION", formatDuration(defaultSpoolSyncEvery), "shortest time between two spool fsyncs (unless -spool-sync-records wait)", setDuration(func(c *Config) *time.Duration { return &c.SpoolSyncInterval })},
		{"pprof", "GATEWAY_PPROF", "", "false", "serve Go's CPU and memory profiles at /debug/pprof/ on -http-listen (for diagnosis; keep -http-listen on loopback)", setBool(func(c *Config) *bool { return &c.Pprof })},
		{"spool-evict-oldest", "GATEWAY_SPOOL_EVICT_OLDEST", "", "false", "when the spool is full, delete its oldest segment (unsent readings lost, counted) instead of stopping acknowledgements", setBool(func(c *Config) *bool { return &c.SpoolEvictOldest })},
		{"deadletter-max-bytes", "GATEWAY_DEADLETTER_MAX_BYTES", "SIZE", formatSize(defaultDeadLetterMax), "bound of the files of readings InfluxDB refused for good (<data-dir>/deadletter)", setSize(func(c *Config) *int { return &c.DeadLetterMaxBytes })},
		{"drain-timeout", "GATEWAY_DRAIN_TIMEOUT", "DURATION", formatDuration(defaultDrainTimeout), "at a stop, how long the spool is still sent to InfluxDB", setDuration(func(c *Config) *time.Duration { return &c.DrainTimeout })},
		{"aggregate-windows", "GATEWAY_AGGREGATE_WINDOWS", "DURATIONS", "1m,15m,1h", "sizes of the aggregate windows, comma-separated, increasing, each dividing a day; none: no aggregates", func(c *Config, v string) error {
			c.AggregateWindows, c.AggregateOff = nil, false
			if v == "none" {
				c.AggregateOff = true
				return nil
			}
			for _, f := range strings.Split(v, ",") {
				d, err := parseDuration(strings.TrimSpace(f))
				if err != nil {
					return err
				}
				c.AggregateWindows = append(c.AggregateWindows, d)
			}
			return nil
		}},
		{"aggregate-grace", "GATEWAY_AGGREGATE_GRACE", "DURATION", formatDuration(aggregate.DefaultGrace), "how long after its end a window waits for late readings before the clock closes it", setDuration(func(c *Config) *time.Duration { return &c.AggregateGrace })},
		{"aggregate-retention", "GATEWAY_AGGREGATE_RETENTION", "ISO8601", aggregate.DefaultRetention, "how long InfluxDB keeps the aggregates of sensors whose data is not identifiable or pseudonymised (theirs end with their raw retention)", setString(func(c *Config) *string { return &c.AggregateRetention })},
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

func setBool(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func setSize(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

// parseSize reads a size in bytes: 65536, 64KiB, 1MiB.
func parseSize(s string) (int, error) {
	num, mult := s, 1
	switch {
	case strings.HasSuffix(s, "KiB"):
		num, mult = strings.TrimSuffix(s, "KiB"), 1<<10
	case strings.HasSuffix(s, "MiB"):
		num, mult = strings.TrimSuffix(s, "MiB"), 1<<20
	case strings.HasSuffix(s, "B"):
		num = strings.TrimSuffix(s, "B")
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > (1<<30)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 65536, 64KiB, 1MiB)", s)
	}
	return n * mult, nil
}

// formatSize writes n bytes the short way: 64KiB, 1MiB, 1000B.
func formatSize(n int) string {
	switch {
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
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

// formatWindows writes c's aggregate windows as the flag takes them.
func formatWindows(c Config) string {
	if c.AggregateOff {
		return "none"
	}
	var parts []string
	for _, w := range c.AggregateWindows {
		parts = append(parts, formatDuration(w))
	}
	return strings.Join(parts, ",")
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

// errUsage marks a command line that cannot be understood; errExit, a
// command line that was fully answered (-help, -version).
var (
	errUsage = errors.New("configuration")
	errExit  = errors.New("exit")
)

// parseConfig reads the configuration file (-config or GATEWAY_CONFIG),
// then the environment, then the flags: each wins over the one before, and
// all over the defaults. It prints -help, -version and -print-config-sample
// to stdout and returns errExit after them.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	var c Config
	opts := options()

	// The flags first, recorded (checked on a scratch Config), so that
	// they can be applied last.
	type flagSetting struct {
		o option
		v string
	}
	var flagged []flagSetting
	var scratch Config
	fs := flag.NewFlagSet("civisens-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, -help printed below
	for _, o := range opts {
		rec := recordValue{set: func(v string) error {
			if err := o.set(&scratch, v); err != nil {
				return err
			}
			flagged = append(flagged, flagSetting{o, v})
			return nil
		}}
		if o.arg == "" {
			fs.Var(boolRecordValue{rec}, o.name, o.usage)
			continue
		}
		fs.Var(rec, o.name, o.usage)
	}
	configFile := fs.String("config", "", "configuration file")
	showVersion := fs.Bool("version", false, "print the version and exit")
	printSample := fs.Bool("print-config-sample", false, "print a sample configuration file and exit")
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
	if *printSample {
		fmt.Fprint(stdout, configSample)
		return c, errExit
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q (see -help)", errUsage, fs.Arg(0))
	}

	// The file.
	path := *configFile
	if path == "" {
		path = getenv(configEnv)
	}
	if path != "" {
		if err := readConfigFile(path, &c); err != nil {
			return c, err
		}
	}

	// The environment; a bad variable is forgiven when its flag is set.
	envErrs := map[string]error{}
	for _, o := range opts {
		if v := getenv(o.env); v != "" {
			if err := o.set(&c, v); err != nil {
				envErrs[o.name] = fmt.Errorf("%w: %s: %v", errUsage, o.env, err)
			}
		}
	}
	// The flags.
	for _, f := range flagged {
		f.o.set(&c, f.v) // checked when parsed
		delete(envErrs, f.o.name)
	}
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
		if path != "" {
			return c, fmt.Errorf("%w: %w (configuration from %s, the environment and the flags)", errUsage, err, path)
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	return c, nil
}

// configEnv names the configuration file when -config does not.
const configEnv = "GATEWAY_CONFIG"

// recordValue is a flag.Value that hands what it is set to to set.
type recordValue struct{ set func(string) error }

func (v recordValue) String() string     { return "" }
func (v recordValue) Set(s string) error { return v.set(s) }

// boolRecordValue is the recordValue of a true/false option: -flag alone
// means -flag=true.
type boolRecordValue struct{ recordValue }

func (boolRecordValue) IsBoolFlag() bool { return true }

func printUsage(w io.Writer, opts []option) {
	fmt.Fprint(w, `Usage: civisens-gateway [flags]

civisens-gateway subscribes to sensors/+/senml (QoS 1, persistent session),
keeps the readings of the sensors that the register publishes, validates them,
acknowledges each message once its readings are on disk (the spool), and sends
the spool to InfluxDB.

Each flag may also be set by the environment variable shown, or by a line of
the configuration file (-config); the flag wins over the environment, which
wins over the file. SIGHUP asks the registry for the allow-list at once.

`)
	for _, o := range opts {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  -%s %s\n        %s\n        env %s, default %s\n", o.name, o.arg, o.usage, o.env, def)
	}
	fmt.Fprint(w, "  -config FILE\n        configuration file: `key = value` lines whose keys are the flags' names\n        env GATEWAY_CONFIG, default none\n")
	fmt.Fprint(w, "  -print-config-sample\n        print a sample configuration file and exit\n")
	fmt.Fprint(w, "  -version\n        print the version and exit\n  -help\n        print this help and exit\n")
	fmt.Fprint(w, `
Durations: 500ms, 30s, 5m, 2h, 7d. Sizes: 65536, 64KiB, 1MiB.
Metrics: http://<http-listen>/metrics; health: http://<http-listen>/healthz
(200 when every part is well, else 503); readiness: /readyz (200 when
readings are accepted end to end: allow-list loaded, subscribed, spool not
full).
`)
}
