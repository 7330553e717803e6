package sign

import (
	"bytes"
	"compress/zlib"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/go-pdf/fpdf"

	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

var samples = flag.String("samples", "", "write the signs of the demo town and of a hostile entry into this folder, to look at")

const base = "https://capteurs.valmont-sur-lise.example"

// demoSensor returns the demo entry id, with its public URL.
func demoSensor(t testing.TB, id string) registryapi.Sensor {
	t.Helper()
	for _, s := range demo.Sensors() {
		if s.ID == id {
			s.URL = base + "/sensors/" + s.ID
			return s
		}
	}
	t.Fatalf("no demo sensor %s", id)
	return registryapi.Sensor{}
}

// hostile is an entry whose every field is too long, and full of markup.
func hostile() registryapi.Sensor {
	s := demo.Sensors()[0]
	long := strings.Repeat("Anticonstitutionnellement très longue description ", 40)
	s.ID = "x-" + strings.Repeat("a", 60)
	s.URL = "https://capteurs.metropole-de-tres-longue-denomination.example/sensors/" + s.ID
	s.Name.FR = `<script>alert("x")</script> & ` + strings.Repeat("Capteur au nom interminable ", 12)
	s.Description.FR = long
	s.Accountable.Name.FR = strings.Repeat("Établissement public de coopération intercommunale ", 6)
	s.Identifiability = registryapi.Pseudonymised
	s.DPOContact.Email = "dpo@" + strings.Repeat("d", 50) + ".example"
	s.Retention = "P1Y2M3W4DT5H6M7S"
	for i := range s.Quantities {
		s.Quantities[i].Label.FR = strings.Repeat("Grandeur mesurée au libellé très long ", 3)
	}
	s.Quantities = append(s.Quantities, s.Quantities...)
	return s
}

func TestWriteSamples(t *testing.T) {
	if *samples == "" {
		t.Skip("no -samples folder")
	}
	sensors := map[string]registryapi.Sensor{"hostile": hostile()}
	for _, id := range []string{"air-mairie-01", "parking-marche-01", "eclairage-parc-01"} {
		sensors[id] = demoSensor(t, id)
	}
	for name, s := range sensors {
		for _, size := range []Size{A5, A6} {
			for _, f := range []Format{PDF, SVG} {
				var b bytes.Buffer
				if err := Render(&b, s, Options{Format: f, Size: size}); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(*samples, name+"-"+string(size)+"."+string(f))
				if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// svgDoc is what a test reads of a sign's SVG.
type svgDoc struct {
	root     xml.StartElement
	elements map[string]int
	attrs    []xml.Attr
	texts    []string // the content of each <text>, in order
	title    string
	qrPath   string
	qrScale  string
}

func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	doc := svgDoc{elements: map[string]int{}}
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				doc.root = e
			}
			stack = append(stack, e.Name.Local)
			doc.elements[e.Name.Local]++
			doc.attrs = append(doc.attrs, e.Attr...)
			if e.Name.Local == "text" {
				doc.texts = append(doc.texts, "")
			}
			if e.Name.Local == "path" {
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "d":
						doc.qrPath = a.Value
					case "transform":
						doc.qrScale = a.Value
					}
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			switch stack[len(stack)-1] {
			case "text":
				doc.texts[len(doc.texts)-1] += string(e)
			case "title":
				doc.title += string(e)
			}
		}
	}
	if doc.root.Name.Local != "svg" || doc.root.Name.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v, want svg in the SVG namespace", doc.root.Name)
	}
	return doc
}

func (d svgDoc) attr(name string) string {
	for _, a := range d.root.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

var runRE = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// matrix rebuilds the QR code's modules from the SVG path.
func (d svgDoc) matrix(t *testing.T, n int) [][]bool {
	t.Helper()
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
	}
	rest := runRE.ReplaceAllString(d.qrPath, "")
	if rest != "" || d.qrPath == "" {
		t.Fatalf("QR path has unexpected commands: %.80q", rest)
	}
	for _, g := range runRE.FindAllStringSubmatch(d.qrPath, -1) {
		x, _ := strconv.Atoi(g[1])
		y, _ := strconv.Atoi(g[2])
		w, _ := strconv.Atoi(g[3])
		for i := x; i < x+w; i++ {
			m[y][i] = true
		}
	}
	return m
}

func equalBits(a, b [][]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for y := range a {
		if !slices.Equal(a[y], b[y]) {
			return false
		}
	}
	return true
}

func render(t testing.TB, s registryapi.Sensor, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, s, o); err != nil {
		t.Fatalf("Render %s %+v: %v", s.ID, o, err)
	}
	return b.Bytes()
}

func TestSVGSaysEverythingAndItsQRCodeReadsBack(t *testing.T) {
	for _, c := range []struct {
		id     string
		size   Size
		width  string
		height string
		words  []string
	}{
		{"air-mairie-01", A5, "148mm", "210mm", []string{"Aucune donnée personnelle", "5\u00a0ans", "Santé", "NO₂"}},
		{"air-mairie-01", A6, "105mm", "148mm", []string{"Aucune donnée personnelle", "5\u00a0ans", "Santé"}},
		{"parking-marche-01", A5, "148mm", "210mm", []string{"Données désidentifiées à la source", "1\u00a0an", "Mobilité", "Vos droits sur vos données : dpo@valmont-sur-lise.example"}},
		{"eclairage-parc-01", A6, "105mm", "148mm", []string{"Aucune donnée personnelle", "3\u00a0ans", "Efficacité énergétique"}},
	} {
		t.Run(c.id+"-"+string(c.size), func(t *testing.T) {
			s := demoSensor(t, c.id)
			doc := parseSVG(t, render(t, s, Options{Format: SVG, Size: c.size}))
			if doc.attr("width") != c.width || doc.attr("height") != c.height {
				t.Errorf("width, height = %q, %q; want %q, %q", doc.attr("width"), doc.attr("height"), c.width, c.height)
			}
			if vb := doc.attr("viewBox"); vb != "0 0 "+strings.TrimSuffix(c.width, "mm")+" "+strings.TrimSuffix(c.height, "mm") {
				t.Errorf("viewBox = %q", vb)
			}
			spaced := strings.Join(doc.texts, " ")
			joined := strings.Join(doc.texts, "")
			want := append([]string{"CAPTEUR", s.Name.FR, "Ce qu'il mesure", "Pourquoi", "Responsable", "Conservation des données",
				"Commune de Valmont-sur-Lise", "Identifiant : " + s.ID, "Contact : capteurs@valmont-sur-lise.example",
				"DTPR", "Helpful Places", "CC BY 4.0"}, c.words...)
			for _, w := range want {
				if !strings.Contains(spaced, w) && !strings.Contains(strings.ToUpper(spaced), strings.ToUpper(w)) {
					t.Errorf("the sign does not say %q", w)
				}
			}
			if !strings.Contains(joined, s.URL) {
				t.Errorf("the sign does not print its URL %s", s.URL)
			}
			for _, q := range s.Quantities {
				if !strings.Contains(spaced, q.Label.FR) {
					t.Errorf("the sign does not say that it measures %q", q.Label.FR)
				}
			}
			if strings.Contains(spaced, "…") {
				t.Errorf("a demo entry's sign is cut short: %q", spaced)
			}

			// The QR code: the modules drawn are the encoder's, and they
			// read back as the entry's URL.
			want2, err := qrBits(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			got := doc.matrix(t, len(want2))
			if !equalBits(got, want2) {
				t.Fatal("the QR code drawn is not the encoder's")
			}
			for x := 0; x < 4; x++ { // quiet zone
				if slices.Contains(got[x], true) || slices.Contains(got[len(got)-1-x], true) {
					t.Fatal("the QR code has no quiet zone")
				}
			}
			url, err := decodeQR(got)
			if err != nil || url != s.URL {
				t.Fatalf("the QR code reads %q, %v; want %q", url, err, s.URL)
			}
		})
	}
}

func TestSVGIsSelfContained(t *testing.T) {
	s := demoSensor(t, "parking-marche-01")
	body := render(t, s, Options{Format: SVG})
	doc := parseSVG(t, body)
	for _, el := range []string{"script", "style", "image", "foreignObject", "use", "iframe"} {
		if doc.elements[el] > 0 {
			t.Errorf("the SVG has a <%s>", el)
		}
	}
	for _, a := range doc.attrs {
		n := strings.ToLower(a.Name.Local)
		switch {
		case strings.HasPrefix(n, "on"), n == "style":
			t.Errorf("the SVG has an attribute %s", a.Name.Local)
		case n == "href" && a.Value != s.URL:
			t.Errorf("the SVG links to %q", a.Value)
		case strings.Contains(a.Value, "url("):
			t.Errorf("the SVG refers to %q", a.Value)
		}
	}
	if doc.title == "" {
		t.Error("the SVG has no title")
	}
}

func TestHostileTextIsEscapedAndCleaned(t *testing.T) {
	s := demoSensor(t, "air-mairie-01")
	s.Name.FR = "<script>alert('x')</script> & \"co\" \x00\x1b\u202eevil\u200b ]]>"
	s.Accountable.Name.FR = "<b>Mairie</b>"
	body := render(t, s, Options{Format: SVG})
	doc := parseSVG(t, body)
	if doc.elements["script"] > 0 || doc.elements["b"] > 0 {
		t.Fatal("markup in a field became markup in the SVG")
	}
	spaced := strings.Join(doc.texts, " ")
	for _, w := range []string{"<script>alert('x')</script> & \"co\" evil ]]>", "<b>Mairie</b>"} {
		if !strings.Contains(spaced, w) {
			t.Errorf("the sign does not show %q as text: %q", w, spaced)
		}
	}
	if !bytes.Contains(body, []byte("&lt;script&gt;")) {
		t.Error("<script> is not escaped in the SVG's bytes")
	}
	for _, r := range []string{"\x00", "\x1b", "\u202e", "\u200b"} {
		if bytes.Contains(body, []byte(r)) {
			t.Errorf("the SVG keeps %q", r)
		}
	}
	// The PDF escapes its own way; it must still be made.
	content := pdfContent(t, render(t, s, Options{Format: PDF}))
	for _, w := range []string{`(<script>alert\('x'\)</script> & "co"`, `"co" evil`, `(<b>Mairie</b>) Tj`} {
		if !bytes.Contains(content, []byte(w)) {
			t.Errorf("the PDF does not show %s as text", w)
		}
	}
}

var mediaBoxRE = regexp.MustCompile(`/MediaBox \[([^\]]*)\]`)

// pdfContent returns the PDF's streams, inflated, one after another.
func pdfContent(t *testing.T, pdf []byte) []byte {
	t.Helper()
	var out []byte
	for _, m := range regexp.MustCompile(`(?s)/Filter /FlateDecode /Length \d+>>\nstream\n(.*?)\nendstream`).FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	if len(out) == 0 {
		t.Fatal("the PDF has no stream")
	}
	return out
}

var pdfRectRE = regexp.MustCompile(`([\d.]+) ([\d.]+) ([\d.]+) -([\d.]+) re f`)

func TestPDFIsOnePageOfTheRightSizeWithItsText(t *testing.T) {
	for _, c := range []struct {
		size     Size
		mediaBox string
	}{
		{A5, "0 0 419.53 595.28"},
		{A6, "0 0 297.64 419.53"},
	} {
		t.Run(string(c.size), func(t *testing.T) {
			s := demoSensor(t, "air-mairie-01")
			pdf := render(t, s, Options{Format: PDF, Size: c.size})
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("starts with %q", pdf[:8])
			}
			if n := bytes.Count(pdf, []byte("/Type /Page\n")); n != 1 || !bytes.Contains(pdf, []byte("/Count 1")) {
				t.Errorf("%d pages, want 1", n)
			}
			boxes := mediaBoxRE.FindAllSubmatch(pdf, -1)
			if len(boxes) == 0 {
				t.Fatal("no MediaBox")
			}
			for _, b := range boxes {
				if string(b[1]) != c.mediaBox {
					t.Errorf("MediaBox [%s], want [%s]", b[1], c.mediaBox)
				}
			}
			content := pdfContent(t, pdf)
			// Windows-1252, as the core fonts read it: é is 0xE9, NO₂ NO2,
			// and the no-break space of "5 ans" 0xA0.
			for _, w := range []string{"(Aucune donn\xe9e personnelle) Tj", "(5\xa0ans) Tj", "(Sant\xe9) Tj", `\(NO2\)`, "(Identifiant : air-mairie-01) Tj"} {
				if !bytes.Contains(content, []byte(w)) {
					t.Errorf("the PDF does not have %q", w)
				}
			}
			if !bytes.Contains(pdf, []byte("/URI ("+s.URL+")")) {
				t.Error("the QR code and URL are not links to the entry")
			}
			if !bytes.Contains(pdf, []byte("/Lang (fr-FR)")) {
				t.Error("the PDF does not say it is French")
			}

			// The QR code drawn is the encoder's: rebuild it from the
			// filled rectangles within its area.
			want, _ := qrBits(s.URL)
			l := lay(factsOf(s), c.size, want)
			q := l.QR
			const k = 72 / 25.4
			got := make([][]bool, len(want))
			for i := range got {
				got[i] = make([]bool, len(want))
			}
			for _, m := range pdfRectRE.FindAllSubmatch(content, -1) {
				f := func(i int) float64 { v, _ := strconv.ParseFloat(string(m[i]), 64); return v / k }
				x, top, w := f(1), l.Page.H-f(2), f(3)
				col, row := math.Round((x-q.X)/q.Module), math.Round((top-q.Y)/q.Module)
				if x < q.X-0.1 || top < q.Y-0.1 || col >= float64(len(want)) || row >= float64(len(want)) {
					continue // not in the QR code
				}
				for i := 0; i < int(math.Round(w/q.Module)); i++ {
					got[int(row)][int(col)+i] = true
				}
			}
			if !equalBits(got, want) {
				t.Fatal("the PDF's QR code is not the encoder's")
			}
			if url, err := decodeQR(got); err != nil || url != s.URL {
				t.Fatalf("the PDF's QR code reads %q, %v", url, err)
			}
		})
	}
}

func TestSameEntrySameBytes(t *testing.T) {
	s := demoSensor(t, "energie-ecole-01")
	for _, f := range []Format{PDF, SVG} {
		a, b := render(t, s, Options{Format: f}), render(t, s, Options{Format: f})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renderings of the same entry differ", f)
		}
	}
}

// variants are entries that stress the layout.
func variants() map[string]registryapi.Sensor {
	out := map[string]registryapi.Sensor{"hostile": hostile()}
	for _, s := range demo.Sensors() {
		s.URL = base + "/sensors/" + s.ID
		out[s.ID] = s
	}
	empty := registryapi.Sensor{ID: "vide-01", URL: base + "/sensors/vide-01"}
	out["empty"] = empty
	for _, id := range []string{registryapi.Identifiable, registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly, registryapi.NoPersonalData, "unknown"} {
		s := hostile()
		s.Identifiability = id
		out["hostile-"+id] = s
	}
	words := hostile()
	words.Name.FR = strings.Repeat("W", 300) // one word, wider than the page
	words.Description.FR = strings.Repeat("M", 3000)
	words.Accountable.Name.FR = strings.Repeat("M", 200)
	words.Retention = "P100Y11M4W6DT23H59M59S"
	out["one-long-word"] = words
	wide := hostile()
	wide.ID = "m" + strings.Repeat("w", 62) // the widest id there can be
	wide.URL = "https://capteurs.metropole-de-tres-longue-denomination.example/sensors/" + wide.ID
	out["widest-id"] = wide
	return out
}

func TestLayoutStaysInsideAndNothingOverlaps(t *testing.T) {
	for name, s := range variants() {
		for _, size := range []Size{A5, A6} {
			t.Run(name+"-"+string(size), func(t *testing.T) {
				bits, err := qrBits(s.URL)
				if err != nil {
					t.Fatal(err)
				}
				l := lay(factsOf(s), size, bits)
				if !l.Page.contains(l.Frame) || !l.Frame.contains(l.Content) {
					t.Fatalf("page %v, frame %v, content %v", l.Page, l.Frame, l.Content)
				}
				for _, r := range l.Rects {
					if !l.Frame.contains(r.box) {
						t.Errorf("rect %v is outside the frame %v", r.box, l.Frame)
					}
				}
				qb := l.QR.Box()
				if !l.Frame.contains(qb) {
					t.Errorf("QR code %v is outside the frame %v", qb, l.Frame)
				}
				header := l.Rects[0].box
				for i, a := range l.Texts {
					ab := a.Box()
					if !l.Content.contains(ab) {
						t.Errorf("%q %v is outside the margins %v", string(a.Runes), ab, l.Content)
					}
					if ab.overlaps(qb) {
						t.Errorf("%q %v overlaps the QR code %v", string(a.Runes), ab, qb)
					}
					if onNavy := a.Colour == white || a.Colour == pale; onNavy != header.contains(ab) {
						t.Errorf("%q %v: on the header %v is %v", string(a.Runes), ab, header, onNavy)
					}
					for _, b := range l.Texts[i+1:] {
						if ab.overlaps(b.Box()) {
							t.Errorf("%q %v overlaps %q %v", string(a.Runes), ab, string(b.Runes), b.Box())
						}
					}
				}
				for _, f := range []Format{PDF, SVG} {
					render(t, s, Options{Format: f, Size: size})
				}
			})
		}
	}
}

func TestLongFieldsShrinkThenEndWithAnEllipsis(t *testing.T) {
	s := hostile()
	bits, _ := qrBits(s.URL)
	l := lay(factsOf(s), A5, bits)
	var name []text
	for _, tx := range l.Texts {
		if tx.Colour == white {
			name = append(name, tx)
		}
	}
	if len(name) != 3 {
		t.Fatalf("the name takes %d lines, want 3", len(name))
	}
	last := name[2].Runes
	if name[0].Size >= 20 || last[len(last)-1] != ellipsis {
		t.Errorf("a long name is set at %g pt and ends %q; want smaller than 20 pt, and an ellipsis", name[0].Size, string(last))
	}
	// The retention is a fact: it shrinks, it is never cut.
	var all []string
	for _, tx := range l.Texts {
		all = append(all, string(svgText(tx.Runes)))
	}
	if !strings.Contains(strings.Join(all, " "), "6\u00a0minutes et 7\u00a0secondes") {
		t.Errorf("the retention is cut: %q", all)
	}
}

func TestIdentifiabilityInColourAndWords(t *testing.T) {
	for id, want := range map[string]struct{ fill, words string }{
		registryapi.Identifiable:         {"#FFDD00", "Peut vous identifier"},
		registryapi.Pseudonymised:        {"#FFDD00", "Peut vous identifier"},
		registryapi.DeidentifiedAtSource: {"#36B2E6", "Données désidentifiées à la source"},
		registryapi.AggregateOnly:        {"#36B2E6", "Données agrégées uniquement"},
		registryapi.NoPersonalData:       {"#FFFFFF", "Aucune donnée personnelle"},
	} {
		s := demoSensor(t, "air-mairie-01")
		s.Identifiability = id
		body := render(t, s, Options{Format: SVG})
		// The band: a rect of the DTPR colour, with a border.
		band := regexp.MustCompile(`<rect [^>]*fill="` + want.fill + `" stroke="#161616"`)
		if !band.Match(body) {
			t.Errorf("%s: no band of colour %s", id, want.fill)
		}
		if !strings.Contains(strings.Join(parseSVG(t, body).texts, " "), want.words) {
			t.Errorf("%s: the sign does not say %q", id, want.words)
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	good := demoSensor(t, "air-mairie-01")
	for name, c := range map[string]struct {
		s    func() registryapi.Sensor
		o    Options
		kind error
	}{
		"format":       {func() registryapi.Sensor { return good }, Options{Format: "png"}, ErrOptions},
		"size":         {func() registryapi.Sensor { return good }, Options{Size: "a4"}, ErrOptions},
		"no URL":       {func() registryapi.Sensor { s := good; s.URL = ""; return s }, Options{}, ErrEntry},
		"relative URL": {func() registryapi.Sensor { s := good; s.URL = "/sensors/air-mairie-01"; return s }, Options{}, ErrEntry},
		"other scheme": {func() registryapi.Sensor { s := good; s.URL = "javascript:alert(1)"; return s }, Options{}, ErrEntry},
		"no id":        {func() registryapi.Sensor { s := good; s.ID = ""; return s }, Options{}, ErrEntry},
		"URL too long": {func() registryapi.Sensor { s := good; s.URL = base + "/" + strings.Repeat("x", 4000); return s }, Options{}, ErrEntry},
	} {
		var b bytes.Buffer
		err := Render(&b, c.s(), c.o)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
		if b.Len() > 0 {
			t.Errorf("%s: wrote %d bytes on failure", name, b.Len())
		}
	}
}

func TestOptions(t *testing.T) {
	if got := Filename("air-mairie-01", Options{}); got != "panneau-air-mairie-01-a5.pdf" {
		t.Errorf("Filename = %q", got)
	}
	if got := Filename("air-mairie-01", Options{Format: SVG, Size: A6}); got != "panneau-air-mairie-01-a6.svg" {
		t.Errorf("Filename = %q", got)
	}
	if z, err := ParseSize(""); z != A5 || err != nil {
		t.Errorf(`ParseSize("") = %q, %v`, z, err)
	}
	if SVG.ContentType() != "image/svg+xml" || PDF.ContentType() != "application/pdf" {
		t.Error("content types")
	}
}

// The PDF's Windows-1252 is fpdf's own translation, for every character
// that it translates.
func TestWindows1252MatchesFpdf(t *testing.T) {
	tr := fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor("")
	for r := rune(0x20); r < 0x3000; r++ {
		if unicode.IsControl(r) || r == '.' {
			continue
		}
		want := tr(string(r))
		if want == "." {
			continue // not in Windows-1252: substituted, tested below
		}
		if got, show := pdfBytes(r); got != want || !show {
			t.Errorf("%U: %q, want %q", r, got, want)
		}
	}
	for in, want := range map[string]string{
		"NO₂":            "NO2",
		"−40 %":          "\x9640 %",
		"1\u202f000":     "1\xa0000",
		"Łódź":           "L\xf3dz",
		"Кафе 🚲":         "???? ",
		"e\u0301t\u00e9": "\xe9t\xe9", // decomposed, then composed by clean
		"œuvre … « ok »": "\x9cuvre \x85 \xab ok \xbb",
	} {
		if got := pdfText(clean(in)); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  a \t\n b  ":        "a b",
		"a\x00b\x1bc":         "abc",
		"5\u00a0ans":          "5\u00a0ans",
		"x\u202ey\u200bz\xad": "xyz",
		"":                    "",
	} {
		if got := string(clean(in)); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkRenderPDF(b *testing.B) {
	s := demoSensor(b, "air-mairie-01")
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, s, Options{Format: PDF, Size: A5}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSVG(b *testing.B) {
	s := demoSensor(b, "air-mairie-01")
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, s, Options{Format: SVG, Size: A5}); err != nil {
			b.Fatal(err)
		}
	}
}
