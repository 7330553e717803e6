package spool

import (
	"context"
	"testing"
	"time"
)

// AppendAsync writes without waiting; its Ticket completes with the group
// commit's fsync, which keeps its rate bound (SyncInterval, SyncRecords)
// however fast records are appended, and completes tickets in order.
func TestAppendAsyncGroupCommit(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), SyncInterval: time.Hour, SyncRecords: 3})
	defer s.Close()
	ctx := context.Background()
	append1 := func(i int) Ticket {
		t.Helper()
		tk, err := s.AppendAsync(batchOf(i*10, 10))
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	t1 := append1(0)
	if err := t1.Wait(ctx); err != nil { // idle: fsynced at once
		t.Fatal(err)
	}
	t2, t3 := append1(1), append1(2)
	// Two records wait, under SyncRecords, within SyncInterval of the
	// last fsync: no fsync yet, whatever time the test takes.
	select {
	case <-t2.Done():
		t.Fatal("a record was fsynced before SyncInterval or SyncRecords")
	case <-t3.Done():
		t.Fatal("a record was fsynced before SyncInterval or SyncRecords")
	default:
	}
	if got := readAll(t, s.Spool); len(got) != 10 {
		t.Errorf("the reader sees %d readings, want the 10 durable ones", len(got))
	}
	t4 := append1(3) // the third waiting record: fsync
	for i, tk := range []*Ticket{&t4, &t3, &t2} {
		if err := tk.Wait(ctx); err != nil {
			t.Fatalf("ticket %d: %v", 4-i, err)
		}
	}
	st := s.Stats()
	if st.Fsyncs != 2 || st.Appends != 4 || st.AppendedReadings != 40 {
		t.Errorf("fsyncs %d, appends %d, readings %d; want 2, 4, 40", st.Fsyncs, st.Appends, st.AppendedReadings)
	}
	var zero Ticket // an empty batch's
	if tk, err := s.AppendAsync(nil); err != nil || tk != zero {
		t.Errorf("AppendAsync(nil) = %v, %v", tk, err)
	}
	if err := zero.Wait(ctx); err != nil {
		t.Error(err)
	}
	s.Close()
	if _, err := s.AppendAsync(batchOf(0, 1)); err != ErrClosed {
		t.Errorf("AppendAsync after Close: %v", err)
	}
}
