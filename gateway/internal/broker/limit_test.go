package broker

import (
	"fmt"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	r := newRateLimit(2, 4, clk.now)
	n := 0
	for r.allow() {
		n++
	}
	if n != 4 {
		t.Errorf("burst = %d, want 4", n)
	}
	clk.add(500 * time.Millisecond)
	if !r.allow() || r.allow() {
		t.Error("2 a second: one token after 500ms")
	}
}

func TestFailureLimitIsBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	f := newFailureLimit(0.1, 2, 3, clk.now)
	for i := range 3 {
		k := fmt.Sprint("addr", i)
		f.fail(k)
		f.fail(k)
		if !f.blocked(k) {
			t.Errorf("%s not blocked after its burst", k)
		}
	}
	// The table is full of blocked keys: a new key goes to the overflow
	// bucket, shared.
	f.fail("addr9")
	f.fail("addr8")
	if len(f.keys) != 3 || !f.blocked("addr9") || !f.blocked("addr7") {
		t.Errorf("overflow: %d keys, addr9 blocked %v, addr7 blocked %v", len(f.keys), f.blocked("addr9"), f.blocked("addr7"))
	}
	// Once their buckets are full again, old keys are forgotten.
	clk.add(time.Minute)
	f.fail("addr10")
	if _, ok := f.keys["addr10"]; !ok || len(f.keys) != 1 {
		t.Errorf("idle keys were not forgotten: %v", f.keys)
	}
	f.forget("addr10")
	if f.blocked("addr10") {
		t.Error("a forgotten key is blocked")
	}
}
