package drivers

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func TestPIR(t *testing.T) {
	clk := newFakeClock()
	pin := newPin("GPIO27")
	p, err := NewPIR(pin, PIRConfig{Hold: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if pin.P != gpio.PullDown {
		t.Fatalf("pull %s, want pull-down", pin.P)
	}
	edge := func(at time.Duration, l gpio.Level) {
		t.Helper()
		clk.Set(t0.Add(at))
		pin.EdgesChan <- l
		if !p.Step(time.Second) {
			t.Fatalf("edge at %s not seen", at)
		}
	}
	presence := func(at time.Duration, v float64) {
		t.Helper()
		now := t0.Add(at)
		rs, err := p.Read(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		checkReadings(t, rs, "pir-GPIO27", now, want{"presence", "/", v, 0})
	}

	presence(0, 0)
	// Motion from 10 s to 15 s; Hold counts from its end.
	edge(10*time.Second, gpio.High)
	presence(12*time.Second, 1)
	edge(15*time.Second, gpio.Low)
	presence(40*time.Second, 1)
	presence(74*time.Second, 1)
	presence(75*time.Second, 0)
	// A half-second blip between two reads is caught by its edges.
	edge(100*time.Second, gpio.High)
	edge(100*time.Second+500*time.Millisecond, gpio.Low)
	presence(130*time.Second, 1)
	presence(161*time.Second, 0)
	// Without Run, Read still sees the level.
	if err := pin.Out(gpio.High); err != nil {
		t.Fatal(err)
	}
	presence(200*time.Second, 1)
	if err := pin.Out(gpio.Low); err != nil {
		t.Fatal(err)
	}
	presence(259*time.Second, 1)
	presence(260*time.Second, 0)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
