package testinfra

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which `make test` installs
// (scripts/test-deps.sh). The browser tests drive it and nothing else: no
// tool may download a browser of its own.
const ChromiumPath = "/usr/bin/chromium"

// BrowserOptions tune NewBrowser. The zero value is a phone: 390 × 844 CSS
// pixels, as a common recent phone's viewport.
type BrowserOptions struct {
	// Width and Height are the window's size in CSS pixels; default 390 × 844.
	Width, Height int
	// Scale is the device pixel ratio (screenshots are Scale times the CSS
	// size); default 2.
	Scale float64
	// AcceptLanguage is the languages the browser asks pages in; default
	// French first, "fr-FR,fr;q=0.9,en;q=0.5", as a French phone does.
	AcceptLanguage string
	// Timeout bounds the whole browser session; default 2 minutes.
	Timeout time.Duration
}

// NewBrowser starts Debian's chromium, headless, with a fresh profile in a
// temporary folder, and returns a chromedp context of one tab in it; the
// browser ends (its process group, by PID) when the test ends.
//
// The test is skipped under -short. Otherwise a missing chromium fails it,
// with what to run: a browser test that silently skips proves nothing.
// The browser asks for pages in French first (BrowserOptions.AcceptLanguage).
// The flags suit a container running as root (--no-sandbox) without a GPU,
// and keep the browser off the network but for the pages under test:
// no background networking, component updates or first-run pages.
func NewBrowser(t testing.TB, o BrowserOptions) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("drives Debian's chromium: skipped under -short")
	}
	bin := ChromiumPath
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			t.Fatalf("testinfra: %s is missing: run `make test` (scripts/test-deps.sh installs Debian's chromium)", ChromiumPath)
		}
		bin = p
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 390, 844
	}
	if o.Scale <= 0 {
		o.Scale = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.AcceptLanguage == "" {
		o.AcceptLanguage = "fr-FR,fr;q=0.9,en;q=0.5"
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "fr-FR"),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), o.Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	logf := &testLogf{t: t}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(logf.printf))
	t.Cleanup(func() {
		cancelBrowser() // closes the tab and the browser
		cancelAlloc()   // waits for the browser's process to end
		cancelTimeout()
		logf.stop()
	})
	// Start the browser now, so that a browser that cannot start fails
	// here, with its reason, rather than in the test's first step.
	// The viewport is emulated: a headless window is never narrower than
	// 500 pixels, a phone is. Mobile mode honours the pages' viewport meta
	// element, and touch is on, as on a phone.
	languages := chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": o.AcceptLanguage}})
		return err
	})
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height),
		chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(o.Scale)), languages); err != nil {
		t.Fatalf("testinfra: start %s: %v", bin, err)
	}
	return bctx
}

// testLogf logs the browser's errors in the test's log until the test ends
// (the browser's goroutines may outlive it by a moment).
type testLogf struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (l *testLogf) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("chromium: "+format, args...)
	}
}

func (l *testLogf) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
}
