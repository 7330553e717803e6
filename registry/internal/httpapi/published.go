package httpapi

// The published entries in memory. They change rarely (staff edits,
// imports, changes of status) and are read by every public page, so the
// handler keeps one snapshot of them, decoded once, with what the pages
// derive from them made at first use: package web's prepared entries
// (fold keys, facet counts, sort orders) and the body of
// GET /api/v1/sensors with its ETag.
//
// The snapshot is current as long as the store's change counter
// (store.Generation, kept by triggers on the entries' table) has not
// moved: every request reads the counter (one row) and rebuilds the
// snapshot when it changed, whoever wrote — this server, or "registry
// import" on the same file. A write is therefore seen by the next
// request. A store without the counter (a test's fake) gets no snapshot:
// every request reads the entries, as before.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// generations tells whether the register changed; *store.Store provides
// it.
type generations interface {
	Generation(ctx context.Context) (store.Generation, error)
}

// snapshot is the published entries at one generation of the register.
// Everything in it is read-only.
type snapshot struct {
	gen     store.Generation
	cached  bool                 // gen is known: the snapshot is kept
	sensors []registryapi.Sensor // published, by id, with their URL
	byID    map[string]int

	pagesOnce sync.Once
	pages     *web.Published

	apiOnce sync.Once
	api     taggedBody

	// rendered are public pages rendered from this snapshot alone (the
	// list, the home page), by language and URL, with their ETags.
	renderedMu    sync.Mutex
	rendered      map[string]taggedBody
	renderedBytes int
}

// maxRenderedBytes bounds the rendered pages a snapshot keeps (about 200
// list pages); beyond, it forgets them all and starts again, so that a
// crawler's every combination of filters costs memory only up to this.
const maxRenderedBytes = 4 << 20

// taggedBody is an answer's body and its strong ETag.
type taggedBody struct {
	body []byte
	etag string
	err  error
}

func newTaggedBody(body []byte, err error) taggedBody {
	if err != nil {
		return taggedBody{err: err}
	}
	return taggedBody{body: body, etag: bodyETag(body)}
}

// bodyETag is the strong ETag of a body: a hash of it.
func bodyETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// snapshots holds the current snapshot.
type snapshots struct {
	cur   atomic.Pointer[snapshot]
	build sync.Mutex // one build at a time; the others wait for it
}

// published returns the published entries, with their public URL, ordered
// by id. The slice is shared: callers must not change it.
func (h *handler) published(ctx context.Context) ([]registryapi.Sensor, error) {
	s, err := h.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.sensors, nil
}

// snapshot returns the current snapshot, rebuilt when the register
// changed since the last one.
func (h *handler) snapshot(ctx context.Context) (*snapshot, error) {
	g, ok := h.sensors.(generations)
	if !ok {
		return loadSnapshot(ctx, h.sensors, h.publicURL, store.Generation{}, false)
	}
	gen, err := g.Generation(ctx)
	if err != nil {
		return nil, err
	}
	if cur := h.snaps.cur.Load(); cur != nil && cur.gen.N == gen.N {
		return cur, nil
	}
	h.snaps.build.Lock()
	defer h.snaps.build.Unlock()
	if cur := h.snaps.cur.Load(); cur != nil && cur.gen.N == gen.N { // built while this one waited
		return cur, nil
	}
	// The counter was read before the entries: were they written in
	// between, the next request sees a newer counter and builds again.
	s, err := loadSnapshot(ctx, h.sensors, h.publicURL, gen, true)
	if err != nil {
		return nil, err
	}
	h.snaps.cur.Store(s)
	return s, nil
}

// loadSnapshot reads the published entries of src at generation gen;
// cached says whether gen is known.
func loadSnapshot(ctx context.Context, src Sensors, publicURL string, gen store.Generation, cached bool) (*snapshot, error) {
	sensors, err := src.List(ctx, registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired)
	if err != nil {
		return nil, err
	}
	s := &snapshot{gen: gen, cached: cached, sensors: sensors, byID: make(map[string]int, len(sensors))}
	for i := range sensors {
		sensors[i].URL = publicURL + web.SensorPath(sensors[i].ID)
		s.byID[sensors[i].ID] = i
	}
	return s, nil
}

// entry returns the published entry id.
func (s *snapshot) entry(id string) (registryapi.Sensor, bool) {
	i, ok := s.byID[id]
	if !ok {
		return registryapi.Sensor{}, false
	}
	return s.sensors[i], true
}

// pagesView returns the entries prepared for the list, home and map pages.
func (s *snapshot) pagesView() *web.Published {
	s.pagesOnce.Do(func() { s.pages = web.NewPublished(s.sensors) })
	return s.pages
}

// page returns the public page of key, rendered once per snapshot:
// render must depend on nothing but the snapshot and key.
func (s *snapshot) page(key string, render func() ([]byte, error)) (taggedBody, error) {
	if !s.cached {
		t := newTaggedBody(render())
		return t, t.err
	}
	s.renderedMu.Lock()
	t, ok := s.rendered[key]
	s.renderedMu.Unlock()
	if ok {
		return t, nil
	}
	t = newTaggedBody(render())
	if t.err != nil {
		return taggedBody{}, t.err
	}
	s.renderedMu.Lock()
	defer s.renderedMu.Unlock()
	if s.rendered == nil || s.renderedBytes+len(t.body) > maxRenderedBytes {
		s.rendered, s.renderedBytes = map[string]taggedBody{}, 0
	}
	s.rendered[key] = t
	s.renderedBytes += len(key) + len(t.body)
	return t, nil
}

// apiList returns the body of GET /api/v1/sensors and its ETag.
func (s *snapshot) apiList() taggedBody {
	s.apiOnce.Do(func() {
		sensors := s.sensors
		if sensors == nil {
			sensors = []registryapi.Sensor{}
		}
		body, err := json.Marshal(registryapi.SensorList{Sensors: sensors, Attribution: dtpr.Notice})
		if err != nil {
			err = fmt.Errorf("encode answer: %w", err)
		}
		s.api = newTaggedBody(body, err)
	})
	return s.api
}
