// Package web renders the public register as HTML: the home page, the list
// of published sensors with its filters, search, sorting and pages
// (browse.go), and the page of each entry, in French (by default) and English,
// from html/template templates and a small stylesheet embedded in the
// binary. Pages need no JavaScript and no CDN; the technicians'
// provisioning pages (provision.go) add one small script of their own,
// static/provision.js, for the phone's position, and work without it.
//
// The registry's HTTP surface is split in two packages: httpapi owns the
// routes, the JSON API, the errors and the reading of the store and of
// InfluxDB; web owns presentation only — the templates, the catalogue of
// visible strings in both languages, and the wording of facts (retention
// "5 ans", legal bases, identifiability in words and colour, French number
// formatting). web does no I/O beyond writing the page it is given, so its
// pages are tested without a server.
//
// Accessibility: landmarks (header, nav, main, footer), a skip link, tables
// with captions and scoped headers, the page language on <html>, a language
// switch that keeps the page, and identifiability shown in words as well as
// in the DTPR colours. The footer credits DTPR under its CC BY 4.0 licence.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

// CSSPath is where the stylesheet is served under a fixed name; pages link
// CSSURL, its fingerprinted path, which may be cached for ever.
const CSSPath = "/static/civisens.css"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/civisens.css
var cssSource []byte

// css is the stylesheet as served, without comments (css.go).
var css = minifyCSS(cssSource)

// CSSURL is the stylesheet's path with a hash of its content,
// /static/civisens.<hash>.css.
var CSSURL = func() string {
	sum := sha256.Sum256(css)
	return "/static/civisens." + hex.EncodeToString(sum[:6]) + ".css"
}()

// Pages renders the register's HTML pages.
type Pages struct {
	pages map[string]*template.Template
	langs map[string]localizer
	loc   *time.Location
}

// New parses the templates. Times are shown in loc (nil means UTC).
func New(loc *time.Location) (*Pages, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := &Pages{pages: map[string]*template.Template{}, langs: map[string]localizer{}, loc: loc}
	for lang, msgs := range catalogue() {
		p.langs[lang] = localizer{lang: lang, msgs: msgs}
	}
	for _, name := range []string{"home", "list", "entry", "notfound", "error", "login", "denied", "accounts", "tokens", "password",
		"report_new", "report_thanks", "report_notfound", "report", "admin_reports", "admin_report", "quality",
		"provision_list", "provision_new", "provision_form", "provision_duplicate", "provision_entry",
		"about", "report_follow", "map", "dash", "dash_index"} {
		t, err := template.New(name).Funcs(template.FuncMap{
			"contactData": func(l localizer, c contactView) contactData { return contactData{l, c} },
		}).ParseFS(templateFS, "templates/layout.html", "templates/provision_fields.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

// CSS returns the stylesheet served at CSSPath.
func (p *Pages) CSS() []byte { return css }

// Request is what a page needs of the request it answers.
type Request struct {
	Lang string // "fr" or "en", from Negotiate
	Path string // the URL path, for the language switch
	// CSRFToken is the signed-in person's session CSRF token, which forms
	// carry ({{template "csrf" $}}); Role is their role. Both are empty for
	// the public.
	CSRFToken string
	Role      string
	// keep are the list page's canonical parameters after lang, which the
	// language switch keeps; canonical is the list page's canonical URL
	// (browse.go).
	keep, canonical string
}

// page is the data of the layout.
type page struct {
	L          localizer
	Lang       string
	Title      string
	CSS        string
	Home       string
	OtherLang  string
	SwitchURL  string
	CreditText string
	DTPRSource string
	LicenceURL string
	APIURL     string
	Body       any
	CSRFToken  string     // for {{template "csrf" $}}
	Staff      *staffView // nil for the public
	LoginURL   string
	ReportURL  string // the report form, for a missing sensor (reports.go)
	AboutURL   string // the page about the register (about.go)
	MapURL     string // the map of the sensors (mapview.go)
	DashURL    string // the dashboards (dash.go)
	ListURL    string // the list of entries (browse.go)
	Canonical  string // <link rel="canonical">, when the page has one
}

func (p *Pages) localizer(lang string) localizer {
	if l, ok := p.langs[lang]; ok {
		return l
	}
	return p.langs[LangFR]
}

func (p *Pages) render(w io.Writer, name string, r Request, title string, body any) error {
	l := p.localizer(r.Lang)
	other := LangEN
	if l.lang == LangEN {
		other = LangFR
	}
	data := page{
		L:          l,
		Lang:       l.lang,
		Title:      title,
		CSS:        CSSURL,
		Home:       l.link("/"),
		OtherLang:  other,
		SwitchURL:  r.Path + "?lang=" + other + r.keep,
		CreditText: l.T("site.credit", dtpr.Attribution, dtpr.Licence),
		DTPRSource: dtpr.SourceURL,
		LicenceURL: dtpr.LicenceURL,
		APIURL:     registryapi.PathSensors,
		Body:       body,
		CSRFToken:  r.CSRFToken,
		Staff:      l.staff(r),
		LoginURL:   l.link(LoginPath),
		ReportURL:  NewReportURL(registryapi.ReportMissingSensor, "", l.lang),
		AboutURL:   l.link(AboutPath),
		MapURL:     l.link(MapPath),
		DashURL:    l.link(DashboardsPath),
		ListURL:    l.link(SensorsPath),
		Canonical:  r.canonical,
	}
	// Render to a buffer: a template error must not leave half a page.
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Entry renders the page of one entry.
func (p *Pages) Entry(w io.Writer, r Request, e Entry) error {
	l := p.localizer(r.Lang)
	return p.render(w, "entry", r, e.Sensor.Name.In(l.lang)+" – "+l.T("site.title"), l.entry(e, p.loc))
}

// NotFound renders the page of an unknown or unpublished entry.
func (p *Pages) NotFound(w io.Writer, r Request) error {
	l := p.localizer(r.Lang)
	return p.render(w, "notfound", r, l.T("notfound.title")+" – "+l.T("site.title"), nil)
}

// Error renders the page of a server error.
func (p *Pages) Error(w io.Writer, r Request) error {
	l := p.localizer(r.Lang)
	return p.render(w, "error", r, l.T("error.title")+" – "+l.T("site.title"), nil)
}
