package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/firmware-bridge/internal/mapping"
	"github.com/civisens/civisens/firmware-bridge/senml"
)

// maxDecodeInput bounds what decode reads from its input (a recorded
// serial stream may be long; a payload is small).
const maxDecodeInput = 64 << 20

// decodeOutput is what `firmware-bridge decode` prints.
type decodeOutput struct {
	Format string `json:"format"`
	// Packs are the SenML packs the bridge would publish: with -mapping,
	// those of the mapped sensors; without, one per source, named after
	// it, with every quantity the decoder inferred.
	Packs []decodedPack `json:"packs"`
	// Readings are every reading decoded, before mapping.
	Readings []decodedReading `json:"readings"`
	// Unknown lists the fields left out, and why.
	Unknown []firmware.FieldError `json:"unknown,omitempty"`
	// Unmapped lists, with -mapping, the sources no mapping names; Skipped
	// the fields of mapped sources that their mapping does not publish.
	Unmapped []string `json:"unmapped,omitempty"`
	Skipped  []string `json:"skipped,omitempty"`
}

type decodedPack struct {
	Topic string     `json:"topic"`
	SenML senml.Pack `json:"senml"`
}

type decodedReading struct {
	Source   string     `json:"source"`
	Field    string     `json:"field"`
	Quantity string     `json:"quantity,omitempty"`
	Unit     string     `json:"unit,omitempty"`
	Value    float64    `json:"value"`
	Time     *time.Time `json:"time,omitempty"`
	Health   bool       `json:"health,omitempty"`
}

// runDecode is `firmware-bridge decode`: it decodes one payload (or a
// recorded serial stream) from stdin and prints, as JSON, what the bridge
// would publish.
func runDecode(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("civisens-firmware-bridge decode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "", "the payload's `format`: "+strings.Join(firmware.Names(), ", "))
	topic := fs.String("topic", "", "the MQTT `topic` the payload came on (formats that name the device in the topic)")
	var headers headerFlags
	fs.Var(&headers, "header", "an HTTP `header` of the request, \"Name: value\" (repeatable; Sensor.Community's X-Sensor)")
	mapFile := fs.String("mapping", "", "a bridge configuration `file` whose sources map devices to register sensors")
	at := fs.String("time", "", "when the payload was received, RFC 3339 (default: now)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: civisens-firmware-bridge decode -format NAME [-topic T] [-header 'Name: value'] [-mapping FILE] < payload\n\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the payload is read from stdin)", fs.Arg(0))
	}
	f, ok := firmware.Lookup(*format)
	if !ok {
		return fmt.Errorf("-format %q: want one of %s", *format, strings.Join(firmware.Names(), ", "))
	}
	received := time.Now().UTC()
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return fmt.Errorf("-time: %w", err)
		}
		received = t
	}
	var mapper *mapping.Mapper
	unmapped := mapping.NewUnmapped(1000)
	if *mapFile != "" {
		fh, err := os.Open(*mapFile)
		if err != nil {
			return err
		}
		c, err := parseBridgeFile(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *mapFile, err)
		}
		mapper = mapping.New(c.Mapping(), unmapped)
	}
	in, err := io.ReadAll(io.LimitReader(stdin, maxDecodeInput+1))
	if err != nil {
		return err
	}
	if len(in) > maxDecodeInput {
		return fmt.Errorf("input larger than %d bytes", maxDecodeInput)
	}

	var results []firmware.Result
	if f.Stream != nil {
		err = f.Stream.DecodeStream(bytes.NewReader(in), func(r firmware.Result) error {
			results = append(results, r)
			return nil
		})
	} else {
		var r firmware.Result
		r, err = f.Decoder.Decode(firmware.Message{Topic: *topic, Payload: in, Header: headers.m, Received: received})
		results = append(results, r)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}

	out := decodeOutput{Format: f.Name, Packs: []decodedPack{}, Readings: []decodedReading{}}
	for _, res := range results {
		out.Unknown = append(out.Unknown, res.Unknown...)
		for _, r := range res.Readings {
			dr := decodedReading{Source: r.Source, Field: r.Field, Quantity: r.Quantity, Unit: r.Unit, Value: r.Value, Health: r.Health}
			if !r.Time.IsZero() {
				t := r.Time.UTC()
				dr.Time = &t
			}
			out.Readings = append(out.Readings, dr)
		}
		var packs []mapping.Packed
		if mapper != nil {
			var skipped []firmware.Reading
			packs, skipped = mapper.Map(f.Name, res, received)
			for _, s := range skipped {
				out.Skipped = append(out.Skipped, s.Source+" "+s.Field)
			}
		} else {
			packs = mapping.Infer(res, received)
		}
		for _, p := range packs {
			out.Packs = append(out.Packs, decodedPack{Topic: senml.Topic(p.Sensor), SenML: p.Pack})
		}
	}
	seen, _ := unmapped.Snapshot()
	for _, s := range seen {
		out.Unmapped = append(out.Unmapped, s.Source)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if len(out.Readings) == 0 {
		return fmt.Errorf("%s: no reading in the input", f.Name)
	}
	return nil
}

// headerFlags collects -header values.
type headerFlags struct{ m map[string]string }

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want \"Name: value\"", v)
	}
	if h.m == nil {
		h.m = map[string]string{}
	}
	h.m[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] = strings.TrimSpace(value)
	return nil
}
