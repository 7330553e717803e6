package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/aggregate"
	"github.com/civisens/civisens/gateway/internal/allowlist"
	"github.com/civisens/civisens/gateway/internal/broker"
	"github.com/civisens/civisens/gateway/internal/ingest"
	"github.com/civisens/civisens/gateway/internal/lastseen"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/sink"
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/internal/sdnotify"
	"github.com/civisens/civisens/registry/registryapi"
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
	return serve(ctx, cfg, log, sdnotify.New(getenv, os.Getpid()))
}

// serve starts the parts, in the order their dependencies need, and stops
// them in reverse: ingest (stops taking messages, spools, acknowledges,
// disconnects), the allow-list refresh, the drainer (sends the spool to
// InfluxDB for at most DrainTimeout), the embedded broker, HTTP, the spool,
// the InfluxDB client. sd tells systemd when it is ready.
func serve(ctx context.Context, cfg Config, log *slog.Logger, sd sdnotify.Notifier) error {
	log.Info("civisens-gateway starting", "version", version, "config", cfg)
	reg := metrics.NewRegistry()

	snk := sink.Open(sink.Config{URL: cfg.InfluxURL, Token: cfg.InfluxToken, Org: cfg.InfluxOrg, Bucket: cfg.InfluxBucket, NoCreateRetention: cfg.InfluxNoCreateRetention},
		log.With("component", "sink"), reg)
	defer snk.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := snk.Prepare(pctx); err != nil {
		log.Warn("InfluxDB is not ready; writes wait and retry", "url", cfg.InfluxURL, "err", err)
	}
	cancel()

	// The spool: ingest acknowledges a message once its readings are in
	// it; the drainer sends it to InfluxDB, refused points to dead letters.
	sp, err := spool.Open(spool.Config{Dir: cfg.SpoolDir, MaxBytes: int64(cfg.SpoolMaxBytes), SegmentBytes: int64(cfg.SpoolSegmentBytes),
		SyncRecords: cfg.SpoolSyncRecords, SyncInterval: cfg.SpoolSyncInterval, EvictOldest: cfg.SpoolEvictOldest},
		log.With("component", "spool"), reg)
	if err != nil {
		return err
	}
	defer func() {
		if err := sp.Close(); err != nil {
			log.Error("spool close", "err", err)
		}
	}()
	dead, err := sink.OpenDeadLetters(filepath.Join(cfg.DataDir, "deadletter"), int64(cfg.DeadLetterMaxBytes), log.With("component", "deadletter"), reg)
	if err != nil {
		return err
	}
	defer dead.Close()
	drainer := sink.NewDrainer(sink.DrainConfig{BatchSize: cfg.InfluxBatchSize, FlushInterval: cfg.InfluxFlushInterval, Writers: cfg.InfluxWriters}, sp, snk, dead,
		log.With("component", "sink"), reg)

	// The embedded broker admits the allow-list's MQTT credentials: they
	// change with the list, and the sessions of revoked ones end.
	embedded := cfg.BrokerURL == ""
	var policy *broker.Policy
	var brk atomic.Pointer[broker.Broker]
	var onChange func(registryapi.AllowList)
	if embedded {
		p, err := broker.NewPolicy(broker.PolicyConfig{ReaderClientID: cfg.ClientID}, log.With("component", "broker"), reg)
		if err != nil {
			return err
		}
		policy = p
		onChange = func(l registryapi.AllowList) {
			policy.SetCredentials(l.Credentials)
			if b := brk.Load(); b != nil {
				b.Revalidate()
			}
		}
	}
	al := allowlist.New(allowlist.Config{RegistryURL: cfg.RegistryURL, Token: cfg.RegistryToken, Dir: cfg.DataDir, Refresh: cfg.AllowListRefresh,
		OnChange: onChange}, log.With("component", "allowlist"))
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

	// The list (copy on disk, then the registry) before the broker listens,
	// so that the first sensors find their credentials.
	al.Start(ctx) // logs what it could not do
	brokerURL := cfg.BrokerURL
	if embedded {
		b, err := broker.Start(broker.Config{
			Addr:    cfg.MQTTListen,
			TLSAddr: cfg.MQTTTLSListen, TLSCert: cfg.MQTTTLSCert, TLSKey: cfg.MQTTTLSKey,
			MaxPacketSize:  uint32(cfg.MQTTMaxPacket),
			MaxInflight:    uint16(cfg.MQTTMaxInflight),
			ReceiveMaximum: uint16(cfg.MQTTReceiveMax),
			MaxConnRate:    float64(cfg.MQTTMaxConnRate),
			Access:         policy,
		}, log.With("component", "broker"), reg)
		if err != nil {
			return err
		}
		defer func() {
			b.Close()
			log.Info("mqtt broker closed")
		}()
		brk.Store(b)
		log.Info("mqtt broker listening", "addr", b.Addr())
		if a := b.TLSAddr(); a != "" {
			log.Info("mqtt TLS listener", "addr", a)
		}
		// The gateway's own subscriber: the internal listener, with a
		// credential drawn at start and held in memory only.
		brokerURL = policy.ReaderURL(dialAddr(b.InternalAddr()))
		reg.CounterFunc("civisens_gateway_broker_messages_dropped_total", "Messages the embedded broker dropped for slow subscribers or over its inflight bound.",
			func() float64 { st := b.Stats(); return float64(st.MessagesDropped + st.InflightDropped) })
		reg.GaugeFunc("civisens_gateway_broker_clients", "Clients connected to the embedded broker.", func() float64 { return float64(b.Stats().ClientsConnected) })
	}

	// Aggregates: the drainer hands the aggregator what it wrote raw.
	if !cfg.AggregateOff {
		agg, err := aggregate.New(aggregate.Config{Windows: cfg.AggregateWindows, Grace: cfg.AggregateGrace, Retention: cfg.AggregateRetention,
			StateFile: filepath.Join(cfg.DataDir, "aggregate.state"), Entries: al.Entry, EntriesVersion: al.Version, MaxFuture: cfg.MaxFuture}, log.With("component", "aggregate"), reg)
		if err != nil {
			return err
		}
		agg.Start(al.Sensors())
		drainer.Aggregate(agg, reg)
	}

	// The drainer runs from the start, so that what a previous run spooled
	// goes out before the allow-list is there. At a stop it runs once ingest
	// has ended, until the spool is empty or DrainTimeout has passed.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	stopDrain, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		drainer.Run(drainCtx, stopDrain)
	}()
	defer func() {
		close(stopDrain)
		t := time.AfterFunc(cfg.DrainTimeout, cancelDrain)
		<-drained
		t.Stop()
		cancelDrain()
		if st := sp.Stats(); st.Records > 0 {
			log.Warn("stopping with readings not yet in InfluxDB; they stay in the spool for the next start", "records", st.Records, "bytes", st.Bytes)
		} else {
			log.Info("spool drained")
		}
	}()

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
		Limits:        senml.Limits{MaxBytes: cfg.MaxPayload, MaxRecords: cfg.MaxRecords},
		Seen:          seen,
		// The spool groups appends into one fsync and the ingest does
		// not wait for it before appending the next batch: append as soon
		// as no message waits and nothing appended awaits its fsync, and
		// retry a full spool within a second of room coming back.
		FlushWhenIdle: true,
		RetryMax:      time.Second,
	}, al, spoolCommitter{sp}, log.With("component", "ingest"), reg)

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
		spst := sp.Stats()
		h.Spool = &metrics.SpoolHealth{Dir: spst.Dir, Records: spst.Records, Bytes: spst.Bytes, DiskBytes: spst.DiskBytes,
			MaxBytes: spst.MaxBytes, Segments: spst.Segments, Full: spst.Full}
		if !spst.OldestUnsent.IsZero() {
			h.Spool.OldestUnsentSeconds = time.Since(spst.OldestUnsent).Seconds()
		}
		return h
	}
	srv.Handler = metrics.NewHandler(reg, health)
	if cfg.Pprof {
		mux := http.NewServeMux()
		mux.Handle("/", srv.Handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv.Handler = mux
		srv.WriteTimeout = 0 // a CPU profile takes its seconds
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	// Under systemd (Type=notify): ready once HTTP and the broker listen —
	// not once the allow-list is loaded, which waits for the registry —
	// then the watchdog.
	defer sd.Ready(ctx)()

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { al.Run(ctx) })
	// SIGHUP asks the registry for the allow-list at once.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			log.Info("SIGHUP: asking the registry for the allow-list")
			if err := al.Refresh(ctx); err != nil && ctx.Err() == nil {
				log.Warn("allow-list reload failed; keeping the list in hand", "err", err)
			}
		}
	})
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

// spoolCommitter is the spool as the ingest's Committer: the record is
// written at once, and its Ticket waits for the group commit's fsync.
type spoolCommitter struct{ sp *spool.Spool }

func (c spoolCommitter) AppendAsync(batch []validate.Accepted) (ingest.Durable, error) {
	t, err := c.sp.AppendAsync(batch)
	if err != nil {
		return nil, err
	}
	return &t, nil
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
