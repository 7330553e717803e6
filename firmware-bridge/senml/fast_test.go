package senml

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeFast checks that decodeFast, when it takes a payload, decodes
// it as encoding/json does (decodeJSON). Its seeds are the payloads of
// testdata/resolve and a few near misses of the fast path.
func FuzzDecodeFast(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "resolve", "*", "payload.json"))
	for _, d := range dirs {
		if b, err := os.ReadFile(d); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`[{"bn":"air-00042:","bt":1740830280.042,"n":"pm10","u":"ug/m3","v":12.5},{"n":"pm2_5","u":"ug/m3","v":7.1},{"n":"temperature","u":"Cel","v":21.5}]`,
		` [ { "n" : "pm10" , "v" : -0 } ] `, `[{"N":"pm10","v":1}]`, `[{"n":"pm10","v":1,"n":"no2"}]`, `[{"n":"pm10","v":null}]`,
		`[{"n":"pm\u0031","v":1}]`, `[{"bver":10,"n":"a","v":1e-3}]`, `[{"bver":1.0,"n":"a","v":1}]`, `[{"n":"a","v":01}]`,
		`[{"n":"a","vb":true},{"n":"b","vb":false},{"n":"c","vs":"x"},{"n":"d","vd":"eA"},{"n":"e","s":2.5E+3}]`,
		`[{}]`, `[]`, `[{"n":"a","v":1}]x`, `[{"n":"a","v":1},]`, `[{"n":"a","v":1e400}]`, `[{"n":"é","v":1}]`,
		`[{"bt":1,"bu":"Cel","bv":2,"bs":3,"t":4,"ut":5,"u":"/","n":"q","v":6}]`, `[{"n":"a","v":.5}]`, `[{"n":"a","v":1.}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeFast(b, DefaultMaxRecords)
		if !ok {
			return
		}
		slow, err := decodeJSON(b, DefaultMaxRecords)
		if err != nil {
			t.Fatalf("decodeFast took %q, encoding/json refuses it: %v", b, err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Fatalf("decodeFast of %q differs (-json +fast):\n%s", b, diff)
		}
	})
}

// FuzzNames checks the hand-written name checks against the profile's
// regular expressions, and splitResolved against SplitName.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"air-hdv-01", "a", "ab", "abc", "-ab", "0ab", "Abc", "pm10", "pm2_5", "_x", "x-y", "a:b", "air-01:pm10", "é", strings.Repeat("a", 63), strings.Repeat("a", 64)} {
		f.Add(s, "pm10")
	}
	sensorRe := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)
	quantityRe := regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	f.Fuzz(func(t *testing.T, a, b string) {
		if ValidSensorID(a) != sensorRe.MatchString(a) {
			t.Fatalf("ValidSensorID(%q) = %v", a, ValidSensorID(a))
		}
		if ValidQuantity(a) != quantityRe.MatchString(a) {
			t.Fatalf("ValidQuantity(%q) = %v", a, ValidQuantity(a))
		}
		s1, q1, err1 := splitResolved(a, b)
		s2, q2, err2 := SplitName(a + b)
		if s1 != s2 || q1 != q2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("splitResolved(%q, %q) = %q, %q, %v; SplitName = %q, %q, %v", a, b, s1, q1, err1, s2, q2, err2)
		}
	})
}
