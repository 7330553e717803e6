package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/sign"
	"github.com/civisens/civisens/registry/internal/store"
)

func TestSigns(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for _, c := range []struct {
		path, contentType, filename, starts string
	}{
		{"/sensors/air-mairie-01/sign.pdf", "application/pdf", "panneau-air-mairie-01-a5.pdf", "%PDF-"},
		{"/sensors/air-mairie-01/sign.pdf?size=a6", "application/pdf", "panneau-air-mairie-01-a6.pdf", "%PDF-"},
		{"/sensors/air-mairie-01/sign.svg", "image/svg+xml", "panneau-air-mairie-01-a5.svg", "<?xml"},
		{"/sensors/parking-marche-01/sign.svg?size=a6", "image/svg+xml", "panneau-parking-marche-01-a6.svg", "<?xml"},
		{"/sensors/air-atelier-01/sign.pdf", "application/pdf", "panneau-air-atelier-01-a5.pdf", "%PDF-"}, // in maintenance
	} {
		a := get(t, h, c.path)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d %s", c.path, a.status, a.body)
			continue
		}
		if ct := a.header.Get("Content-Type"); ct != c.contentType {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		if cd := a.header.Get("Content-Disposition"); cd != `inline; filename="`+c.filename+`"` {
			t.Errorf("%s: Content-Disposition %q", c.path, cd)
		}
		if !strings.HasPrefix(a.body, c.starts) {
			t.Errorf("%s: starts with %.10q", c.path, a.body)
		}
		etag := a.header.Get("ETag")
		if !strings.HasPrefix(etag, `"sign-1-`) {
			t.Errorf("%s: ETag %q", c.path, etag)
		}
		if again := get(t, h, c.path, "If-None-Match", etag); again.status != http.StatusNotModified || again.body != "" {
			t.Errorf("%s: If-None-Match %s → %d", c.path, etag, again.status)
		}
	}
	// The QR code and the printed address are the entry's stable URL.
	svg := get(t, h, "/sensors/air-mairie-01/sign.svg").body
	if !strings.Contains(svg, `href="`+publicURL+`/sensors/air-mairie-01"`) {
		t.Error("the sign does not lead to the entry's public URL")
	}

	// Each format and size has its own ETag.
	etags := map[string]bool{}
	for _, p := range []string{"sign.pdf", "sign.pdf?size=a6", "sign.svg", "sign.svg?size=a6"} {
		etags[get(t, h, "/sensors/air-mairie-01/"+p).header.Get("ETag")] = true
	}
	if len(etags) != 4 {
		t.Errorf("ETags %v, want 4 different", etags)
	}
}

func TestSignOfAnUnpublishedOrUnknownEntry(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for _, p := range []string{
		"/sensors/air-brouillon-01/sign.pdf", // draft
		"/sensors/nope-01/sign.svg",
		"/sensors/NOPE/sign.pdf",
		"/sensors/air-mairie-01/sign.png",
	} {
		if a := get(t, h, p); a.status != http.StatusNotFound || !strings.Contains(a.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", p, a.status, a.header.Get("Content-Type"))
		}
		wantProblem(t, get(t, h, p, "Accept", "application/json"), http.StatusNotFound)
	}
	wantProblem(t, get(t, h, "/sensors/air-mairie-01/sign.pdf?size=a4", "Accept", "application/json"), http.StatusBadRequest)
}

// The retired entry keeps its sign, and a new version changes its ETag.
func TestSignETagFollowsTheEntryVersion(t *testing.T) {
	st := testStore(t)
	h := newHandler(t, st, nil)
	before := get(t, h, "/sensors/air-mairie-01/sign.pdf").header.Get("ETag")
	ctx := context.Background()
	s, err := st.Get(ctx, "air-mairie-01")
	if err != nil {
		t.Fatal(err)
	}
	s.Name.FR = "Qualité de l'air – parvis de la mairie"
	if _, err := st.Update(ctx, s, store.Change{ActorRole: catalog.RoleTechnician, Actor: "tech-3", Reason: "nouveau nom"}); err != nil {
		t.Fatal(err)
	}
	a := get(t, h, "/sensors/air-mairie-01/sign.svg", "If-None-Match", before)
	if a.status != http.StatusOK || a.header.Get("ETag") == before || !strings.Contains(a.body, "parvis de la mairie") {
		t.Errorf("after a change: %d, ETag %s (was %s)", a.status, a.header.Get("ETag"), before)
	}
}

// writeSign serves the provisioning pages: it draws a draft's sign.
func TestWriteSignOfADraft(t *testing.T) {
	st := testStore(t)
	h := &handler{sensors: st, publicURL: publicURL}
	s, err := st.Get(context.Background(), "air-brouillon-01")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodGet, "/provisioning/air-brouillon-01/sign.svg", nil)
	h.writeSign(c, s, sign.Options{Format: sign.SVG, Size: sign.A6})
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(publicURL+"/sensors/air-brouillon-01")) {
		t.Fatalf("%d: %.200s", rec.Code, rec.Body.String())
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `inline; filename="panneau-air-brouillon-01-a6.svg"` {
		t.Errorf("Content-Disposition %q", cd)
	}
}

func TestEntryPageLinksToItsSigns(t *testing.T) {
	h := newHandler(t, testStore(t), nil)
	for lang, title := range map[string]string{"fr": "Panneau imprimable", "en": "Printable sign"} {
		body := get(t, h, "/sensors/air-mairie-01?lang="+lang).body
		if !strings.Contains(body, title) {
			t.Errorf("%s: no %q section", lang, title)
		}
		for _, p := range []string{"sign.pdf?size=a5", "sign.svg?size=a5", "sign.pdf?size=a6", "sign.svg?size=a6"} {
			href := `href="/sensors/air-mairie-01/` + p + `"`
			if !strings.Contains(body, href) {
				t.Errorf("%s: no link %s", lang, href)
			}
			if a := get(t, h, "/sensors/air-mairie-01/"+p); a.status != http.StatusOK {
				t.Errorf("%s: %d", p, a.status)
			}
		}
	}
}
