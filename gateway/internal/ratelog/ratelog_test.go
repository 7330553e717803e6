package ratelog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }
func lines(b *bytes.Buffer) []string     { return strings.Split(strings.TrimSpace(b.String()), "\n") }
func textLogger(b *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func TestOneLinePerKeyAndInterval(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	l := New(textLogger(&buf), time.Minute, c.now)
	ctx := context.Background()

	logged := func(key string) bool {
		return l.Log(ctx, slog.LevelWarn, key, "reading refused", "key", key)
	}
	var got []bool
	got = append(got, logged("out_of_range/air-01")) // first: written
	got = append(got, logged("out_of_range/air-01")) // held back
	got = append(got, logged("unit_mismatch/air-01"))
	c.advance(30 * time.Second)
	got = append(got, logged("out_of_range/air-01")) // held back
	c.advance(30 * time.Second)
	got = append(got, logged("out_of_range/air-01")) // a minute later: written, suppressed=2
	c.advance(59 * time.Second)
	got = append(got, logged("out_of_range/air-01")) // held back
	c.advance(time.Second)
	got = append(got, logged("out_of_range/air-01")) // written, suppressed=1

	if diff := cmp.Diff([]bool{true, false, true, false, true, false, true}, got); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	want := []string{
		`level=WARN msg="reading refused" key=out_of_range/air-01`,
		`level=WARN msg="reading refused" key=unit_mismatch/air-01`,
		`level=WARN msg="reading refused" key=out_of_range/air-01 suppressed=2`,
		`level=WARN msg="reading refused" key=out_of_range/air-01 suppressed=1`,
	}
	if diff := cmp.Diff(want, lines(&buf)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestKeysAreBounded(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	l := New(textLogger(&buf), time.Minute, c.now)
	l.SetMaxKeys(2)
	ctx := context.Background()

	l.Log(ctx, slog.LevelWarn, "a", "x")
	l.Log(ctx, slog.LevelWarn, "b", "x")
	if !l.Log(ctx, slog.LevelWarn, "c", "x") { // table full: overflow key, first use
		t.Error("first overflow line not written")
	}
	if l.Log(ctx, slog.LevelWarn, "d", "x") { // shares the overflow key
		t.Error("second overflow line written within the interval")
	}
	if len(l.keys) > 3 { // a, b and the overflow key
		t.Errorf("%d keys remembered, want at most 3", len(l.keys))
	}
	c.advance(time.Minute)
	if !l.Log(ctx, slog.LevelWarn, "e", "x") { // expired keys forgotten: e gets its own
		t.Error("line after the interval not written")
	}
	if _, ok := l.keys["e"]; !ok {
		t.Errorf("expired keys were not forgotten: %v", l.keys)
	}
	if !strings.Contains(buf.String(), "overflow=true") {
		t.Errorf("overflow lines are not marked:\n%s", buf.String())
	}
}

func TestDisabledLevelCostsNothing(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	l := New(log, time.Minute, nil)
	if l.Log(context.Background(), slog.LevelWarn, "a", "x") || buf.Len() != 0 || len(l.keys) != 0 {
		t.Errorf("a disabled level was logged or remembered: %q %v", buf.String(), l.keys)
	}
}
