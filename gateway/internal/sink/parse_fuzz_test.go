package sink

import (
	"testing"
)

// The answer of an InfluxQL query of raw readings, read back for
// repairs, is bytes from the network: never a panic, and every sample
// names a column of its answer.
func FuzzParseSamples(f *testing.F) {
	for _, seed := range []string{
		`{"results":[{"statement_id":0,"series":[{"name":"energy","columns":["time","energy","power"],"values":[[1795796165000000000,1000,null],[1795796166000000000,1200,300.5]]}]}]}`,
		`{"results":[{"statement_id":0}]}`,
		`{"results":[{"statement_id":0,"error":"retention policy not found: civisens_p1y"}]}`,
		`{"error":"error parsing query"}`,
		`{"results":[{"series":[{"columns":["time","x"],"values":[["2026-01-01T00:00:00Z",1]]}]}]}`,
		`{"results":[{"series":[{"columns":["x"],"values":[[1]]}]}]}`,
		`{"results":[{"series":[{"columns":["time","x"],"values":[[1,1,2]]}]}]}`,
		`{"results":[{"series":[{"columns":["time","x"],"values":[[1,"text"]]}]}]}`,
		`not json`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, err := parseSamples(b)
		if err != nil && samples != nil {
			t.Fatalf("an error with samples: %v", err)
		}
		for _, s := range samples {
			if s.Quantity == "" || s.Quantity == "time" {
				t.Fatalf("sample of column %q", s.Quantity)
			}
		}
	})
}
