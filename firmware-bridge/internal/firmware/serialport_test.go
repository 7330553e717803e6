package firmware

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The -update flag rewrites the golden files (want.json) and the
// generated streams (stream.bin). Another test file of the package may
// declare it too: register it only when nobody did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenReading is a Reading as the golden files write it.
type goldenReading struct {
	Source   string  `json:"source,omitempty"`
	Field    string  `json:"field"`
	Quantity string  `json:"quantity"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Time     string  `json:"time,omitempty"`
}

type goldenUnknown struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

type goldenResult struct {
	Readings []goldenReading `json:"readings,omitempty"`
	Unknown  []goldenUnknown `json:"unknown,omitempty"`
}

// marshalGolden writes results one reading or unknown field a line, for
// diffs that read well.
func marshalGolden(rs []goldenResult) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range rs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for j, part := range []struct {
			name  string
			items []any
		}{{"readings", anys(r.Readings)}, {"unknown", anys(r.Unknown)}} {
			if len(part.items) == 0 {
				continue
			}
			if j > 0 && len(r.Readings) > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n    %q: [", part.name)
			for k, it := range part.items {
				line, err := json.Marshal(it)
				if err != nil {
					return nil, err
				}
				if k > 0 {
					b.WriteString(",")
				}
				b.WriteString("\n      ")
				b.Write(line)
			}
			b.WriteString("\n    ]")
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n]\n")
	return b.Bytes(), nil
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func toGolden(rs []Result) []goldenResult {
	out := []goldenResult{}
	for _, r := range rs {
		var g goldenResult
		for _, u := range r.Unknown {
			g.Unknown = append(g.Unknown, goldenUnknown(u))
		}
		for _, x := range r.Readings {
			gr := goldenReading{Source: x.Source, Field: x.Field, Quantity: x.Quantity, Unit: x.Unit, Value: x.Value}
			if !x.Time.IsZero() {
				gr.Time = x.Time.Format(time.RFC3339)
			}
			g.Readings = append(g.Readings, gr)
		}
		out = append(out, g)
	}
	return out
}

// decodeAll decodes a whole stream.
func decodeAll(t testing.TB, d StreamDecoder, stream []byte, oneByte bool) []Result {
	t.Helper()
	var r = bytes.NewReader(stream)
	var rd interface{ Read([]byte) (int, error) } = r
	if oneByte {
		rd = iotest.OneByteReader(r)
	}
	var got []Result
	if err := d.DecodeStream(rd, func(res Result) error { got = append(got, res); return nil }); err != nil {
		t.Fatalf("DecodeStream: %v", err)
	}
	return got
}

// runGolden decodes testdata/<family>/<case>/stream.bin with the decoder
// dec(case folder) and compares with want.json. With -update, it first
// writes stream.bin of the generated cases, then want.json of every case.
func runGolden(t *testing.T, family string, generated map[string][]byte, dec func(dir string) StreamDecoder) {
	root := filepath.Join("testdata", family)
	if updating() {
		for name, stream := range generated {
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "stream.bin"), stream, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join(dir, "stream.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if g, ok := generated[e.Name()]; ok && !bytes.Equal(g, stream) {
				t.Errorf("stream.bin differs from its generator: run go test -run %s -update", t.Name())
			}
			d := dec(dir)
			got := toGolden(decodeAll(t, d, stream, false))
			if diff := cmp.Diff(got, toGolden(decodeAll(t, d, stream, true))); diff != "" {
				t.Errorf("decoding byte by byte differs (-whole +one byte):\n%s", diff)
			}
			checkResults(t, decodeAll(t, d, stream, false))
			wantPath := filepath.Join(dir, "want.json")
			if updating() {
				b, err := marshalGolden(got)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, new([]goldenResult)); err != nil {
					t.Fatalf("golden file is not JSON: %v\n%s", err, b)
				}
				if err := os.WriteFile(wantPath, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			var want []goldenResult
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = []goldenResult{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", dir, diff)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no case under %s", root)
	}
}

var quantityName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// serialUnits are the units these decoders may give, all known to the
// gateway.
var serialUnits = map[string]bool{"Wh": true, "varh": true, "VA": true, "W": true, "A": true, "V": true, "min": true, "ug/m3": true, "count": true}

// checkResults checks what every result of these decoders must be.
func checkResults(t testing.TB, rs []Result) {
	t.Helper()
	for _, r := range rs {
		if len(r.Readings) == 0 && len(r.Unknown) == 0 {
			t.Errorf("empty Result emitted")
		}
		for _, x := range r.Readings {
			if !quantityName.MatchString(x.Quantity) {
				t.Errorf("%s: quantity %q", x.Field, x.Quantity)
			}
			if !serialUnits[x.Unit] {
				t.Errorf("%s: unit %q", x.Field, x.Unit)
			}
			if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) || x.Value < 0 {
				t.Errorf("%s: value %v", x.Field, x.Value)
			}
		}
		for _, u := range r.Unknown {
			if u.Reason == "" {
				t.Errorf("%s: no reason", u.Field)
			}
		}
	}
}

// An error of emit stops the decoding and comes back as is.
func TestStreamEmitError(t *testing.T) {
	stop := errors.New("stop")
	for name, c := range map[string]struct {
		d      StreamDecoder
		stream []byte
	}{
		"tic":     {TIC(), ticHistBase()},
		"sds011":  {SDS011(), sds011Frame1(123.6, 261.8, 0xA160)},
		"pms5003": {PMS5003(), pmsFrame([13]uint16{4: 12})},
	} {
		calls := 0
		err := c.d.DecodeStream(bytes.NewReader(append(c.stream, c.stream...)), func(Result) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("%s: err %v after %d calls, want stop after 1", name, err, calls)
		}
	}
}

// A read error other than EOF is returned, wrapped.
func TestStreamReadError(t *testing.T) {
	boom := errors.New("boom")
	for name, d := range map[string]StreamDecoder{"tic": TIC(), "sds011": SDS011(), "pms5003": PMS5003()} {
		err := d.DecodeStream(iotest.ErrReader(boom), func(Result) error { return nil })
		if !errors.Is(err, boom) {
			t.Errorf("%s: err %v, want boom", name, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := OpenTIC("/dev/null", TICAuto); !errors.Is(err, ErrTICMode) {
		t.Errorf("OpenTIC auto: %v, want ErrTICMode", err)
	}
	if _, err := OpenUART("/dev/null", 0); err == nil {
		t.Errorf("OpenUART baud 0: no error")
	}
	if _, err := OpenUART(filepath.Join(t.TempDir(), "nope"), 9600); err == nil {
		t.Errorf("OpenUART of a missing port: no error")
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
