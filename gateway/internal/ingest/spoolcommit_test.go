package ingest

import (
	"github.com/civisens/civisens/gateway/internal/spool"
	"github.com/civisens/civisens/gateway/internal/validate"
)

// spoolCommitter is the spool as the gateway wires it (run.go).
type spoolCommitter struct{ s *spool.Spool }

func (c spoolCommitter) AppendAsync(b []validate.Accepted) (Durable, error) {
	t, err := c.s.AppendAsync(b)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func benchCommitter(s *spool.Spool) Committer { return spoolCommitter{s} }
