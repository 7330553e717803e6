package ingest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// observer records what the ingester tells it.
type observer struct {
	mu       sync.Mutex
	accepted []string
	unknown  []string
}

func (o *observer) Accepted(sensor string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.accepted = append(o.accepted, sensor+"@"+at.Format(time.RFC3339))
}

func (o *observer) Unknown(sensor string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.unknown = append(o.unknown, sensor+"@"+at.Format(time.RFC3339))
}

// The observer hears a known sensor when one of its readings is accepted,
// and an unknown one whatever its payload.
func TestObserverHearsAcceptedAndUnknownSensors(t *testing.T) {
	o := &observer{}
	in, _ := newIngester(t, Config{Seen: o}, &committer{})
	at := now.Add(-time.Second)
	for _, m := range []struct{ topic, payload string }{
		{"sensors/air-hdv-01/senml", `[{"bn":"air-hdv-01:","n":"pm10","u":"ug/m3","v":12}]`},
		{"sensors/air-hdv-01/senml", `[{"bn":"air-hdv-01:","n":"pm10","u":"ug/m3","v":5000}]`}, // out of range: nothing accepted
		{"sensors/air-hdv-01/senml", `not json`},
		{"sensors/capteur-inconnu/senml", `[{"n":"pm10","u":"ug/m3","v":1}]`},
		{"sensors/capteur-casse/senml", `not json`},
		{"sensors/Pas Valide/senml", `[]`}, // not a sensor id: nothing to report
	} {
		in.process(context.Background(), inbound{msg: &fakeMsg{topic: m.topic, payload: m.payload}, at: at}, nil)
	}
	stamp := "@" + at.Format(time.RFC3339)
	if want := []string{"air-hdv-01" + stamp}; !slices.Equal(o.accepted, want) {
		t.Errorf("accepted %v, want %v", o.accepted, want)
	}
	if want := []string{"capteur-inconnu" + stamp, "capteur-casse" + stamp}; !slices.Equal(o.unknown, want) {
		t.Errorf("unknown %v, want %v", o.unknown, want)
	}
}
