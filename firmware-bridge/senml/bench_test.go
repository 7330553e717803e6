package senml

import (
	"testing"
	"time"
)

// BenchmarkDecodeResolve is the decoding of a pack of three readings, as
// the firmware bridge publishes them, and its resolution.
func BenchmarkDecodeResolve(b *testing.B) {
	p := []byte(`[{"bn":"air-00042:","bt":1740830280.042,"n":"pm10","u":"ug/m3","v":12.5},{"n":"pm2_5","u":"ug/m3","v":7.1},{"n":"temperature","u":"Cel","v":21.5}]`)
	now := time.Unix(1740830400, 0)
	b.ReportAllocs()
	for b.Loop() {
		pack, err := Decode(p)
		if err != nil {
			b.Fatal(err)
		}
		rs, err := pack.Resolve("air-00042", now)
		if err != nil || len(rs) != 3 {
			b.Fatal(rs, err)
		}
	}
}
