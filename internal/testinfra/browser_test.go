package testinfra

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// The browser starts, opens a page of a local server, runs its script and
// has a phone's viewport.
func TestBrowserOpensALocalPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1"><title>probe</title><p id="p">civisens</p>`)
	}))
	defer srv.Close()
	ctx := NewBrowser(t, BrowserOptions{})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#p")))
	if err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if text != "civisens" || width != 390 {
		t.Errorf("text %q, innerWidth %d; want civisens, 390", text, width)
	}
}
