package reports

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

func ptr[T any](v T) *T { return &v }

// fields returns the "field:code" of every problem of err.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not Problems", err)
	}
	var out []string
	for _, x := range p {
		out = append(out, x.Field+":"+x.Code)
	}
	return out
}

func TestClean(t *testing.T) {
	long := strings.Repeat("é", MaxMessage+1)
	for _, tc := range []struct {
		name string
		in   registryapi.NewReport
		want []string
	}{
		{"missing sensor by address", registryapi.NewReport{Kind: "missing_sensor", Location: " 3 rue des Lilas, sur le lampadaire ", Message: "Un boîtier gris"}, nil},
		{"missing sensor by point", registryapi.NewReport{Kind: "missing_sensor", Lat: ptr(46.9), Lon: ptr(2.1), Message: "Un boîtier gris"}, nil},
		{"missing sensor nowhere", registryapi.NewReport{Kind: "missing_sensor", Message: "Un boîtier gris"}, []string{"location:where"}},
		{"missing sensor with an id", registryapi.NewReport{Kind: "missing_sensor", SensorID: "air-mairie-01", Location: "ici", Message: "Un boîtier gris"}, []string{"sensor_id:no_sensor"}},
		{"wrong information without entry", registryapi.NewReport{Kind: "wrong_information", Message: "L'adresse est fausse"}, []string{"sensor_id:sensor_needed"}},
		{"wrong information", registryapi.NewReport{Kind: "wrong_information", SensorID: "air-mairie-01", Message: "L'adresse est fausse", Email: "jean@example.org", Lang: "en"}, nil},
		{"question", registryapi.NewReport{Kind: "question", Message: "Qui lit ces données ?"}, nil},
		{"bad sensor id", registryapi.NewReport{Kind: "question", SensorID: "AIR 01", Message: "Qui lit ces données ?"}, []string{"sensor_id:sensor"}},
		{"everything wrong", registryapi.NewReport{Kind: "complaint", Lat: ptr(95.0), Lon: ptr(2.0), Message: "abc", Email: "Jean <jean@example.org>", Lang: "de"},
			[]string{"kind:kind", "lat:position", "message:too_short", "email:email", "lang:lang"}},
		{"half a point", registryapi.NewReport{Kind: "question", Lat: ptr(46.0), Message: "Qui lit ces données ?"}, []string{"lat:position"}},
		{"NaN", registryapi.NewReport{Kind: "question", Lat: ptr(math.NaN()), Lon: ptr(2.0), Message: "Qui lit ces données ?"}, []string{"lat:position"}},
		{"no message", registryapi.NewReport{Kind: "question", Message: "  \n "}, []string{"message:required"}},
		{"long message", registryapi.NewReport{Kind: "question", Message: long}, []string{"message:too_long"}},
		{"control character", registryapi.NewReport{Kind: "question", Message: "bonjour\x00 madame"}, []string{"message:text"}},
		{"line in location", registryapi.NewReport{Kind: "missing_sensor", Location: "a\nb", Message: "bonjour madame"}, []string{"location:text"}},
		{"not UTF-8", registryapi.NewReport{Kind: "question", Message: "caf\xe9 au lait"}, []string{"message:text"}},
		{"address without domain dot", registryapi.NewReport{Kind: "question", Message: "bonjour madame", Email: "jean@localhost"}, []string{"email:email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Clean(tc.in)
			if f := fields(t, err); !slices.Equal(f, tc.want) {
				t.Errorf("problems %v, want %v", f, tc.want)
			}
			if err == nil && (got.Lang == "" || got.Location != strings.TrimSpace(got.Location)) {
				t.Errorf("not normalized: %+v", got)
			}
		})
	}
	got, err := Clean(registryapi.NewReport{Kind: "question", Message: " Ligne 1\r\nLigne 2\r<script>alert(1)</script> "})
	if err != nil || got.Message != "Ligne 1\nLigne 2\n<script>alert(1)</script>" || got.Lang != "fr" {
		t.Errorf("cleaned %q %q, %v", got.Message, got.Lang, err)
	}
}

func TestNumbers(t *testing.T) {
	if n := Number(2026, 42); n != "2026-000042" {
		t.Errorf("Number = %q", n)
	}
	if y, s, ok := ParseNumber("2026-000042"); !ok || y != 2026 || s != 42 {
		t.Errorf("ParseNumber = %d %d %v", y, s, ok)
	}
	if _, _, ok := ParseNumber("2026-1234567"); !ok {
		t.Error("a seventh digit is allowed")
	}
	for _, bad := range []string{"", "2026-42", "2026-000000", "x026-000001", "2026-000001 ", "air-mairie-01", "2026-0000001111"} {
		if _, _, ok := ParseNumber(bad); ok {
			t.Errorf("ParseNumber(%q) ok", bad)
		}
	}
}

func TestApply(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	r := New(registryapi.NewReport{Kind: "question", Message: "Qui lit ces données ?", Lang: "fr"}, "2026-000001", at)
	if r.Status != registryapi.ReportReceived || len(r.Events) != 1 || r.Events[0].ActorRole != RolePublic {
		t.Fatalf("new report %+v", r)
	}
	later := at.Add(time.Hour)

	r2, ev, err := Apply(r, registryapi.ReportUpdate{Status: "in_progress", Note: "Transmis au service"}, "administrator", "agnes", later)
	if err != nil || r2.Status != "in_progress" || ev.Note != "Transmis au service" || ev.Actor != "agnes" || len(r2.Events) != 2 || !r2.UpdatedAt.Equal(later) {
		t.Fatalf("in progress: %+v %+v %v", r2, ev, err)
	}
	if len(r.Events) != 1 {
		t.Error("Apply changed the report it was given")
	}
	if _, _, err := Apply(r2, registryapi.ReportUpdate{Status: "answered"}, "administrator", "agnes", later); !slices.Equal(fields(t, err), []string{"public_answer:answer_needed"}) {
		t.Errorf("answered without answer: %v", err)
	}
	if _, _, err := Apply(r2, registryapi.ReportUpdate{Status: "received"}, "administrator", "agnes", later); !slices.Equal(fields(t, err), []string{"status:status"}) {
		t.Errorf("back to received: %v", err)
	}
	if _, _, err := Apply(r2, registryapi.ReportUpdate{Status: "done"}, "administrator", "agnes", later); !slices.Equal(fields(t, err), []string{"status:status"}) {
		t.Errorf("unknown status: %v", err)
	}
	if _, _, err := Apply(r2, registryapi.ReportUpdate{PublicAnswer: ptr(strings.Repeat("a", MaxAnswer+1))}, "administrator", "agnes", later); !slices.Equal(fields(t, err), []string{"public_answer:too_long"}) {
		t.Errorf("long answer: %v", err)
	}
	if _, _, err := Apply(r2, registryapi.ReportUpdate{Status: "in_progress"}, "administrator", "agnes", later); !errors.Is(err, ErrUnchanged) {
		t.Errorf("no change: %v", err)
	}
	r3, _, err := Apply(r2, registryapi.ReportUpdate{Status: "answered", PublicAnswer: ptr(" La commune. ")}, "administrator", "agnes", later)
	if err != nil || r3.PublicAnswer != "La commune." || r3.Status != "answered" {
		t.Errorf("answered: %+v %v", r3, err)
	}
	pub := r3.Public("https://x/reports/2026-000001")
	if len(pub.History) != 3 || pub.History[1].Role != "administrator" || pub.PublicAnswer != "La commune." {
		t.Errorf("public %+v", pub)
	}
	staff := r3.Staff("u")
	if staff.Message != r.Message || staff.History[1].Actor != "agnes" {
		t.Errorf("staff %+v", staff)
	}
}
