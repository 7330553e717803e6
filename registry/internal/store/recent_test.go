package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// The latest versions come newest first, across entries, only for the
// statuses asked, with the status before each.
func TestRecentVersions(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "registry.db"))
	ctx := context.Background()
	at := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	step := func(d int) Change { c := tech; c.At = at.Add(time.Duration(d) * time.Minute); return c }
	for i, id := range []string{"air-a-01", "air-b-01", "air-draft-01"} {
		if _, err := s.Create(ctx, entry(id), step(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"air-a-01", "air-b-01"} {
		e, _ := s.Get(ctx, id)
		e.Status = registryapi.StatusActive
		if _, err := s.Update(ctx, e, step(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentVersions(ctx, 3, registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range got {
		ids = append(ids, v.SensorID+"@"+v.Sensor.Status+"<"+v.PreviousStatus)
	}
	want := []string{"air-b-01@active<draft", "air-a-01@active<draft", "air-b-01@draft<"}
	if len(ids) != len(want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Errorf("got %v, want %v", ids, want)
			break
		}
	}
	if got[0].Actor != "tech-7" || got[0].Summary != "status" || !got[0].ChangedAt.Equal(at.Add(11*time.Minute)) {
		t.Errorf("first: %+v", got[0].Version)
	}
	if all, _ := s.RecentVersions(ctx, 100); len(all) != 5 {
		t.Errorf("every status: %d versions, want 5", len(all))
	}
	if none, err := s.RecentVersions(ctx, 0); none != nil || err != nil {
		t.Errorf("limit 0: %v, %v", none, err)
	}
}
