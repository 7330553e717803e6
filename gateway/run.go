package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/civisens/civisens/gateway/internal/allowlist"
	"github.com/civisens/civisens/gateway/internal/broker"
	"github.com/civisens/civisens/gateway/internal/ingest"
	"github.com/civisens/civisens/gateway/internal/lastseen"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/sink"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// shutdownTimeout bounds the stop of the HTTP server; ingest has its own.
const shutdownTimeout = 5 * time.Second

// run is the whole program: it reads its configuration from args and
// getenv, logs to stderr, and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, errExit) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // checked by Validate
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return serve(ctx, cfg, log)
}

// serve starts the parts, in the order their dependencies need, and stops
// them in reverse: ingest (stops taking messages, commits, acknowledges,
// disconnects), the allow-list refresh, the embedded broker, HTTP, the
// InfluxDB client.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	log.Info("civisens-gateway starting", "version", version, "config", cfg)
	reg := metrics.NewRegistry()

	snk := sink.Open(sink.Config{URL: cfg.InfluxURL, Token: cfg.InfluxToken, Org: cfg.InfluxOrg, Bucket: cfg.InfluxBucket},
		log.With("component", "sink"), reg)
	defer snk.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := snk.Prepare(pctx); err != nil {
		log.Warn("InfluxDB is not ready; writes wait and retry", "url", cfg.InfluxURL, "err", err)
	}
	cancel()

	al := allowlist.New(allowlist.Config{RegistryURL: cfg.RegistryURL, Token: cfg.RegistryToken, Dir: cfg.DataDir, Refresh: cfg.AllowListRefresh},
		log.With("component", "allowlist"))
	reg.GaugeFunc("civisens_gateway_allowlist_sensors", "Sensors in the allow-list.", func() float64 { return float64(al.Stats().Sensors) })
	reg.GaugeFunc("civisens_gateway_allowlist_age_seconds", "Seconds since the registry last served or confirmed the allow-list (0 when there is none).",
		func() float64 { return al.Stats().Age.Seconds() })
	reg.CounterFunc("civisens_gateway_allowlist_fetch_errors_total", "Failed requests for the allow-list.", func() float64 { return float64(al.Stats().FetchErrors) })

	// HTTP listens first so that it stops last; it serves once ingest exists.
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
		ln.Close() // in case Serve never ran
		log.Info("stopped")
	}()
	log.Info("http listening", "addr", ln.Addr().String())

	brokerURL, embedded := cfg.BrokerURL, cfg.BrokerURL == ""
	if embedded {
		b, err := broker.Start(broker.Config{Addr: cfg.MQTTListen}, log.With("component", "broker"))
		if err != nil {
			return err
		}
		defer func() {
			b.Close()
			log.Info("mqtt broker closed")
		}()
		log.Info("mqtt broker listening", "addr", b.Addr())
		brokerURL = "tcp://" + dialAddr(b.Addr())
		reg.CounterFunc("civisens_gateway_broker_messages_dropped_total", "Messages the embedded broker dropped for slow subscribers or over its inflight bound.",
			func() float64 { st := b.Stats(); return float64(st.MessagesDropped + st.InflightDropped) })
		reg.GaugeFunc("civisens_gateway_broker_clients", "Clients connected to the embedded broker.", func() float64 { return float64(b.Stats().ClientsConnected) })
	}

	// What the gateway hears goes to the registry's quality page; the
	// registry wants the gateway's token for it.
	var seen ingest.Observer
	var reporter *lastseen.Reporter
	if cfg.RegistryToken != "" {
		reporter = lastseen.New(lastseen.Config{RegistryURL: cfg.RegistryURL, Token: cfg.RegistryToken, GatewayID: cfg.ClientID,
			Interval: cfg.LastSeenInterval}, log.With("component", "lastseen"))
		reg.CounterFunc("civisens_gateway_lastseen_reports_total", "Last-seen reports the registry accepted.", func() float64 { return float64(reporter.Stats().Reports) })
		reg.CounterFunc("civisens_gateway_lastseen_failures_total", "Last-seen reports that failed (their content goes with the next one).", func() float64 { return float64(reporter.Stats().Failures) })
		seen = reporter
	} else {
		log.Info("last-seen reports off: no -registry-token")
	}

	ing := ingest.New(ingest.Config{
		BrokerURL:     brokerURL,
		ClientID:      cfg.ClientID,
		BatchSize:     cfg.BatchSize,
		FlushInterval: cfg.FlushInterval,
		Rules:         validate.Rules{MaxPast: cfg.MaxPast, MaxFuture: cfg.MaxFuture},
		Seen:          seen,
	}, al, snk, log.With("component", "ingest"), reg)

	health := func() metrics.Health {
		st, ss := al.Stats(), snk.Status()
		h := metrics.Health{
			Version: version,
			MQTT:    metrics.MQTTHealth{Broker: redactURL(brokerURL), Embedded: embedded, Connected: ing.Connected(), Pending: ing.Pending()},
			Influx:  metrics.InfluxHealth{URL: cfg.InfluxURL, Reachable: ss.Reachable},
			AllowList: metrics.AllowListHealth{Loaded: st.Loaded, Source: st.Source, Sensors: st.Sensors,
				AgeSeconds: st.Age.Seconds()},
		}
		if !ss.LastWrite.IsZero() {
			h.Influx.LastWrite = &ss.LastWrite
		}
		if ss.LastError != nil {
			h.Influx.LastError = ss.LastError.Error()
		}
		if st.LastError != nil {
			h.AllowList.LastError = st.LastError.Error()
		}
		return h
	}
	srv.Handler = metrics.NewHandler(reg, health)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var wg sync.WaitGroup
	defer wg.Wait()
	al.Start(ctx) // logs what it could not do
	wg.Go(func() { al.Run(ctx) })
	if reporter != nil {
		wg.Go(func() { reporter.Run(ctx) })
	}

	select {
	case <-al.Ready():
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("http: %w", err)
	}
	return ing.Run(ctx)
}

// dialAddr turns a listening address into one to connect to: an unspecified
// host (0.0.0.0, ::, empty) becomes loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
