package simulate

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/civisens/civisens/registry/registryapi"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/summary.json")

// summary is what a quantity did over the golden week.
type summary struct {
	Min, Max, Mean float64
	// At is the value at checkpoints, Paris time.
	At map[string]float64
}

// goldenWeek starts on Monday 12 January 2026, 0h in Paris: a winter week.
var goldenCheckpoints = []string{"Mon 03:00", "Mon 08:00", "Mon 11:00", "Wed 13:30", "Fri 18:00", "Fri 23:30", "Sat 11:00", "Sun 03:00"}

func summarize(t *testing.T, town *Town, sensors []registryapi.Sensor) map[string]map[string]summary {
	loc := town.loc
	start := time.Date(2026, 1, 12, 0, 0, 0, 0, loc)
	round := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	out := map[string]map[string]summary{}
	for _, s := range sensors {
		sums := make([]summary, len(s.Quantities))
		for i := range sums {
			sums[i] = summary{Min: math.Inf(1), Max: math.Inf(-1), At: map[string]float64{}}
		}
		n := 0
		for at := start; at.Before(start.AddDate(0, 0, 7)); at = at.Add(5 * time.Minute) {
			label := at.In(loc).Format("Mon 15:04")
			for i, v := range town.Values(s, at) {
				sm := &sums[i]
				sm.Min, sm.Max, sm.Mean = math.Min(sm.Min, v.Value), math.Max(sm.Max, v.Value), sm.Mean+v.Value
				for _, c := range goldenCheckpoints {
					if c == label {
						sm.At[c] = v.Value
					}
				}
			}
			n++
		}
		out[s.ID] = map[string]summary{}
		for i, q := range s.Quantities {
			sums[i].Mean = round(sums[i].Mean / float64(n))
			out[s.ID][q.Name+" "+q.Unit] = sums[i]
		}
	}
	return out
}

// TestGoldenSummary pins the town of seed 1 over a winter week, for the
// demo town and for the test sensors: a change of the model shows here.
// Rewrite with go test -run GoldenSummary -update.
func TestGoldenSummary(t *testing.T) {
	town := NewTown(1, paris(t))
	got := map[string]map[string]map[string]summary{
		"demo_town":    summarize(t, town, demoTown(t)),
		"test_sensors": summarize(t, NewTown(1, paris(t)), testSensors),
	}
	const path = "testdata/golden/summary.json"
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run GoldenSummary -update to write it)", err)
	}
	var want map[string]map[string]map[string]summary
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// Values are exact up to the last digit of their resolution; a margin
	// of a millionth absorbs a fused multiply-add on other architectures.
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-6, 1e-9)); diff != "" {
		t.Errorf("the town changed (-want +got); if on purpose, run with -update:\n%s", diff)
	}
}
