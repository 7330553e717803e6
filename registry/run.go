package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/civisens/civisens/dashboards"
	"github.com/civisens/civisens/internal/sdnotify"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/store"
)

// shutdownTimeout bounds the graceful shutdown: requests still running
// after it are cut.
const shutdownTimeout = 10 * time.Second

// run is the registry: it reads its configuration from args and getenv,
// serves until ctx is cancelled, then shuts down cleanly. "registry admin
// …" manages accounts instead (admin.go), reading a password from stdin.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "admin" { // registry admin create …: see admin.go
		return adminCommand(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "import" { // registry import [-dry-run] FILE: see import.go
		return importCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stdout, stderr)
	if errors.Is(err, errDone) {
		return nil
	}
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by Validate
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return serve(ctx, cfg, log, sdnotify.New(getenv, os.Getpid()))
}

func serve(ctx context.Context, cfg config, log *slog.Logger, sd sdnotify.Notifier) error {
	rlog := log.With("component", "registry")
	rlog.Info("starting", "version", version, "config", cfg)

	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return fmt.Errorf("timezone: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(cfg.DB), 0o750); err != nil {
		return fmt.Errorf("database folder: %w", err)
	}
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()

	if err := ensureGatewayToken(ctx, st, cfg, rlog); err != nil { // provision_config.go
		return err
	}
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, st)
		if err != nil {
			return err
		}
		if seeded {
			rlog.Info("demo town seeded", "town", demo.TownFR, "sensors", len(demo.IDs()))
		} else {
			rlog.Info("demo: the register already has entries; nothing seeded")
		}
		if err := ensureDemoBridge(ctx, st, cfg, rlog); err != nil { // provision_config.go
			return err
		}
	}

	influx := influxdb2.NewClientWithOptions(cfg.InfluxURL, string(cfg.InfluxToken),
		influxdb2.DefaultOptions().
			SetHTTPRequestTimeout(5).
			SetApplicationName("civisens-registry/"+version))
	defer influx.Close()
	bucket := dashboards.FluxBucket(cfg.InfluxOrg, cfg.InfluxBucket)
	rlog.Info("reading latest readings from InfluxDB", "url", cfg.InfluxURL, "bucket", bucket)

	// + licence, publisher, import size (opendata_config.go); territory,
	// body size (provision_config.go); map tiles (map_config.go); dashboards
	// (dashboards_config.go).
	h, err := httpapi.NewHandler(cfg.dashboardDeps(cfg.mapDeps(cfg.provisionDeps(cfg.openDataDeps(httpapi.Deps{
		Sensors:   st,
		Accounts:  st, // accounts, sessions, API tokens
		Readings:  dashboards.NewReader(influx.QueryAPI(cfg.InfluxOrg), bucket),
		PublicURL: cfg.PublicURL,
		Log:       log,
		Location:  loc,
	})))))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	rlog.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	// Under systemd (Type=notify): ready now, then the watchdog.
	defer sd.Ready(ctx)()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	rlog.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	rlog.Info("stopped")
	return nil
}
