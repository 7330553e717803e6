package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/firmware-bridge/internal/mapping"
	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/internal/atomicfile"
)

// bridgeFile is the configuration of -mode bridge (-config): where device
// data comes from, and which device is which register sensor.
//
//	{"inputs": [
//	   {"format": "tasmota", "mqtt": {"broker": "tcp://127.0.0.1:1884", "topics": ["tele/+/SENSOR"]}},
//	   {"format": "sensor-community", "http": "127.0.0.1:8181"},
//	   {"format": "tic", "serial": {"port": "/dev/ttyAMA0", "mode": "historique"}}],
//	 "sources": [
//	   {"format": "tasmota", "source": "salle", "sensor": "air-salle-01"}]}
type bridgeFile struct {
	Inputs  []inputConfig    `json:"inputs"`
	Sources []mapping.Source `json:"sources"`
}

// inputConfig is one input: a Format with exactly one of MQTT, HTTP,
// Serial; or a local sensor (Local, written inline: "driver", "i2c"…).
type inputConfig struct {
	Format string       `json:"format,omitempty"`
	MQTT   *mqttInput   `json:"mqtt,omitempty"`
	HTTP   string       `json:"http,omitempty"` // listen address of the push endpoint
	Serial *serialInput `json:"serial,omitempty"`
	driverInput
}

type mqttInput struct {
	Broker   string   `json:"broker"`
	Topics   []string `json:"topics"`
	Username string   `json:"username,omitempty"`
	// PasswordEnv names the environment variable holding the password, so
	// that the file holds no secret.
	PasswordEnv string `json:"password_env,omitempty"`
	ClientID    string `json:"client_id,omitempty"`
}

type serialInput struct {
	Port string `json:"port"`
	// Mode is the TIC's: "historique" (1200 baud) or "standard" (9600).
	Mode string `json:"mode,omitempty"`
}

// Mapping returns the file's mapping part.
func (b bridgeFile) Mapping() mapping.Config { return mapping.Config{Sources: b.Sources} }

// parseBridgeFile reads a bridge configuration strictly and checks it.
func parseBridgeFile(r io.Reader) (bridgeFile, error) {
	var b bridgeFile
	if err := mapping.DecodeStrict(r, &b, "configuration"); err != nil {
		return bridgeFile{}, err
	}
	return b, b.validate()
}

func (b bridgeFile) validate() error {
	var errs []error
	for i, in := range b.Inputs {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("inputs[%d] (%s): %s", i, in.Format+in.Driver, fmt.Sprintf(format, args...)))
		}
		if in.Driver != "" {
			if in.Format != "" || in.MQTT != nil || in.HTTP != "" || in.Serial != nil {
				bad("a driver input takes no format, mqtt, http or serial")
			} else if err := in.driverInput.validate(); err != nil {
				bad("%v", err)
			}
			continue
		}
		f, ok := firmware.Lookup(in.Format)
		if !ok {
			bad("unknown format (known: %s)", strings.Join(firmware.Names(), ", "))
			continue
		}
		n := 0
		for _, set := range []bool{in.MQTT != nil, in.HTTP != "", in.Serial != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			bad("give exactly one of mqtt, http, serial")
			continue
		}
		switch {
		case f.Stream != nil && in.Serial == nil:
			bad("a serial format: give serial")
		case f.Stream == nil && in.Serial != nil:
			bad("not a serial format: give mqtt or http")
		case in.MQTT != nil:
			if u, err := url.Parse(in.MQTT.Broker); err != nil || u.Host == "" {
				bad("mqtt broker %q: want tcp://host:port", in.MQTT.Broker)
			}
			if len(in.MQTT.Topics) == 0 {
				bad("mqtt: no topics")
			}
		case in.HTTP != "":
			if _, _, err := net.SplitHostPort(in.HTTP); err != nil {
				bad("http %q: want host:port", in.HTTP)
			}
		case in.Serial != nil:
			if in.Serial.Port == "" {
				bad("serial: no port")
			}
			if f.Name == "tic" {
				if m, err := firmware.ParseTICMode(in.Serial.Mode); err != nil || m == firmware.TICAuto {
					bad("serial mode %q: the TIC's baud rate needs \"historique\" (1200) or \"standard\" (9600)", in.Serial.Mode)
				}
			}
		}
	}
	if err := b.Mapping().Validate(append(firmware.Names(), FormatLocal)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// publisher is what the bridge needs of the MQTT publisher.
type publisher interface {
	Publish(ctx context.Context, sensor string, p senml.Pack) error
}

// bridge runs the inputs of a bridge file, maps what they decode and
// publishes it.
type bridge struct {
	file     bridgeFile
	mapper   *mapping.Mapper
	unmapped *mapping.Unmapped
	pub      publisher
	log      *slog.Logger
	dataDir  string
	getenv   func(string) string
}

// run starts every input and returns when ctx ends, or when an input
// cannot start (a port in use).
func (b *bridge) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, in := range b.file.Inputs {
		f, _ := firmware.Lookup(in.Format)
		if in.Driver != "" {
			f.Name = FormatLocal + ":" + in.Driver
		}
		log := b.log.With("input", i, "format", f.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch {
			case in.Driver != "":
				err = b.runLocal(ctx, in.driverInput, log)
			case in.MQTT != nil:
				err = b.runMQTT(ctx, f, *in.MQTT, log)
			case in.HTTP != "":
				err = b.runHTTP(ctx, f, in.HTTP, log)
			case in.Serial != nil:
				err = b.runSerial(ctx, f, *in.Serial, log)
			}
			if err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("input %d (%s): %w", i, f.Name, err))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.saveSources(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// handle maps and publishes one decoded result.
func (b *bridge) handle(ctx context.Context, f firmware.Format, res firmware.Result, received time.Time, log *slog.Logger) {
	for _, u := range res.Unknown {
		log.Debug("field left out", "field", u.Field, "reason", u.Reason)
	}
	packs, skipped := b.mapper.Map(f.Name, res, received)
	for _, s := range skipped {
		log.Debug("field not mapped", "source", s.Source, "field", s.Field)
	}
	for _, p := range packs {
		if err := b.pub.Publish(ctx, p.Sensor, p.Pack); err != nil && ctx.Err() == nil {
			log.Warn("publish failed", "sensor", p.Sensor, "err", err)
		}
	}
}

// runMQTT subscribes to the input's topics and decodes every message.
func (b *bridge) runMQTT(ctx context.Context, f firmware.Format, in mqttInput, log *slog.Logger) error {
	id := in.ClientID
	if id == "" {
		id = "civisens-bridge-" + f.Name
	}
	opts := paho.NewClientOptions().AddBroker(in.Broker).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(30 * time.Second).SetOrderMatters(false)
	if in.Username != "" {
		opts.SetUsername(in.Username)
		if in.PasswordEnv != "" {
			opts.SetPassword(b.getenv(in.PasswordEnv))
		}
	}
	handler := func(_ paho.Client, m paho.Message) {
		received := time.Now().UTC()
		res, err := f.Decoder.Decode(firmware.Message{Topic: m.Topic(), Payload: m.Payload(), Received: received})
		if err != nil {
			log.Debug("message refused", "topic", m.Topic(), "err", err)
			return
		}
		b.handle(ctx, f, res, received, log)
	}
	opts.SetOnConnectHandler(func(c paho.Client) {
		filters := map[string]byte{}
		for _, t := range in.Topics {
			filters[t] = 0
		}
		tok := c.SubscribeMultiple(filters, handler)
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			log.Error("subscribe failed", "topics", in.Topics, "err", tok.Error())
			return
		}
		log.Info("subscribed", "broker", in.Broker, "topics", in.Topics)
	})
	c := paho.NewClient(opts)
	c.Connect()
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

// maxPushBody bounds a pushed request's body.
const maxPushBody = 64 << 10

// runHTTP serves the push endpoint (Sensor.Community's "custom API"):
// any POST path; 200 with what was decoded, 400 with why not.
func (b *bridge) runHTTP(ctx context.Context, f firmware.Format, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
		if err != nil {
			http.Error(w, "body too large or unreadable: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		headers := map[string]string{}
		for k, v := range r.Header {
			if len(v) > 0 {
				headers[k] = v[0]
			}
		}
		received := time.Now().UTC()
		res, err := f.Decoder.Decode(firmware.Message{Topic: r.URL.Path, Payload: body, Header: headers, Received: received})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.handle(r.Context(), f, res, received, log)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"readings": len(res.Readings), "unknown": res.Unknown})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	log.Info("push endpoint listening", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runSerial reads a serial port, reopening it with a backoff when it
// fails (a USB adapter pulled out and back).
func (b *bridge) runSerial(ctx context.Context, f firmware.Format, in serialInput, log *slog.Logger) error {
	delay := time.Second
	for ctx.Err() == nil {
		port, err := openSerial(f.Name, in)
		if err == nil {
			log.Info("serial port open", "port", in.Port)
			delay = time.Second
			go func() {
				<-ctx.Done()
				port.Close()
			}()
			err = f.Stream.DecodeStream(port, func(res firmware.Result) error {
				b.handle(ctx, f, res, time.Now().UTC(), log)
				return ctx.Err()
			})
			port.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("serial port failed; opening it again", "port", in.Port, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		delay = min(2*delay, time.Minute)
	}
	return nil
}

// saveEvery is how often the table of unmapped sources is written.
const saveEvery = 30 * time.Second

// sourcesFile is where the running bridge keeps its table of unmapped
// sources, for `firmware-bridge sources`.
func sourcesFile(dataDir string) string { return filepath.Join(dataDir, "sources.json") }

// sourcesState is the content of the sources file.
type sourcesState struct {
	UpdatedAt time.Time            `json:"updated_at"`
	Unmapped  []mapping.SourceSeen `json:"unmapped"`
	Dropped   int                  `json:"dropped,omitempty"`
}

// saveSources writes the table of unmapped sources when it changed, at
// most every saveEvery, and at the end.
func (b *bridge) saveSources(ctx context.Context) {
	var last []byte
	save := func() {
		seen, dropped := b.unmapped.Snapshot()
		st := sourcesState{UpdatedAt: time.Now().UTC(), Unmapped: seen, Dropped: dropped}
		cmp, _ := json.Marshal(sourcesState{Unmapped: seen, Dropped: dropped})
		if bytes.Equal(cmp, last) {
			return
		}
		data, _ := json.MarshalIndent(st, "", "  ")
		if err := atomicfile.WriteFile(sourcesFile(b.dataDir), data, 0o600); err != nil {
			b.log.Warn("cannot save the table of unmapped sources", "err", err)
			return
		}
		if len(seen) > 0 {
			b.log.Info("unmapped sources", "count", len(seen), "list", "firmware-bridge sources")
		}
		last = cmp
	}
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			save()
		case <-ctx.Done():
			save()
			return
		}
	}
}

// runSources is `firmware-bridge sources`: the devices a running bridge
// hears that no mapping names, for a technician to register.
func runSources(args []string, getenv func(string) string, stdout io.Writer) error {
	dataDir := getenv("BRIDGE_DATA_DIR")
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	asJSON := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-json" || a == "--json":
			asJSON = true
		case (a == "-data-dir" || a == "--data-dir") && i+1 < len(args):
			dataDir = args[i+1]
			i++
		case strings.HasPrefix(a, "-data-dir=") || strings.HasPrefix(a, "--data-dir="):
			dataDir = a[strings.Index(a, "=")+1:]
		default:
			return fmt.Errorf("sources: unexpected argument %q (usage: firmware-bridge sources [-data-dir DIR] [-json])", a)
		}
	}
	data, err := os.ReadFile(sourcesFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no %s: is a bridge running in -mode bridge with -data-dir %s?", sourcesFile(dataDir), dataDir)
	}
	if err != nil {
		return err
	}
	var st sourcesState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", sourcesFile(dataDir), err)
	}
	if asJSON {
		_, err := stdout.Write(data)
		return err
	}
	fmt.Fprintf(stdout, "Unmapped sources heard by the bridge (as of %s):\n\n", st.UpdatedAt.Format(time.RFC3339))
	if len(st.Unmapped) == 0 {
		fmt.Fprintln(stdout, "none: every source the bridge hears is mapped.")
		return nil
	}
	for _, s := range st.Unmapped {
		fmt.Fprintf(stdout, "%s %s: %d readings, first %s, last %s\n", s.Format, s.Source, s.Readings,
			s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339))
		keys := make([]string, 0, len(s.Fields))
		for k := range s.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			q := s.Fields[k]
			if q == "" {
				q = "(not inferred)"
			}
			fmt.Fprintf(stdout, "    %-32s %s\n", k, q)
		}
	}
	if st.Dropped > 0 {
		fmt.Fprintf(stdout, "\n%d more sources were left out of the table (full).\n", st.Dropped)
	}
	return nil
}

// openSerial opens the port of a serial input with its format's line
// settings: the TIC at 7E1, 1200 baud (historique) or 9600 (standard);
// the particulate sensors at 9600 8N1.
func openSerial(format string, in serialInput) (io.ReadCloser, error) {
	if format == "tic" {
		mode, err := firmware.ParseTICMode(in.Mode)
		if err != nil {
			return nil, err
		}
		return firmware.OpenTIC(in.Port, mode)
	}
	return firmware.OpenUART(in.Port, 9600)
}
