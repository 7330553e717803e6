package ingest

import (
	"fmt"
	"testing"
	"time"

	"github.com/civisens/civisens/internal/testinfra"
)

// With FlushWhenIdle, a batch is committed as soon as no message waits,
// however long FlushInterval is.
func TestFlushWhenIdle(t *testing.T) {
	var a acks
	c := &committer{}
	in, _ := newIngester(t, Config{FlushInterval: time.Hour, FlushWhenIdle: true}, c)
	stop := start(in)
	defer stop()
	in.deliver(msg(1, &a, "air-hdv-01", good(1)))
	in.deliver(msg(2, &a, "air-hdv-01", good(2)))
	testinfra.Eventually(t, 5*time.Second, func() error {
		if got := a.got(); len(got) != 2 {
			return fmt.Errorf("acknowledged %v", got)
		}
		return nil
	})
	if got := c.committed(); len(got) != 2 {
		t.Errorf("committed %v", got)
	}
}
