package sign

import (
	"fmt"
	"strings"

	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// A sign is laid out once, in millimetres from the top left corner of the
// page, as a list of shapes; the SVG and PDF writers only draw that list.
// The tests check the list: every text inside the margins, no two texts
// overlapping, the QR code's modules equal to the encoder's.

type rgb struct{ R, G, B uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

var (
	navy  = rgb{0x1E, 0x32, 0x64} // header, titles, frame
	ink   = rgb{0x16, 0x16, 0x16} // text
	grey  = rgb{0x55, 0x5B, 0x66} // secondary text
	pale  = rgb{0xD5, 0xDD, 0xF0} // text on navy
	white = rgb{0xFF, 0xFF, 0xFF}
	rule  = rgb{0xC4, 0xC9, 0xD4} // separators
)

// box is a rectangle: X, Y of its top left corner, W, H.
type box struct{ X, Y, W, H float64 }

func (b box) right() float64  { return b.X + b.W }
func (b box) bottom() float64 { return b.Y + b.H }

func (b box) contains(o box) bool {
	const eps = 1e-6
	return o.X >= b.X-eps && o.Y >= b.Y-eps && o.right() <= b.right()+eps && o.bottom() <= b.bottom()+eps
}

func (b box) overlaps(o box) bool {
	return b.X < o.right() && o.X < b.right() && b.Y < o.bottom() && o.Y < b.bottom()
}

// rect is a filled and/or stroked rectangle, with rounded corners when
// Radius > 0.
type rect struct {
	box
	Radius float64
	Fill   *rgb
	Stroke *rgb
	Line   float64 // stroke width
}

// line is a straight line.
type line struct {
	X1, Y1, X2, Y2 float64
	Colour         rgb
	Width          float64
}

// text is one line of text; Y is its baseline.
type text struct {
	X, Y   float64
	Runes  []rune
	Font   font
	Size   float64 // points
	Colour rgb
}

// Ascent and descent of a line of text, in ems: generous enough for an
// accented capital ("É") and a descender.
const (
	ascent  = 0.93
	descent = 0.23
)

// Box is the area a line of text covers.
func (t text) Box() box {
	em := t.Size * ptToMM
	return box{X: t.X, Y: t.Y - ascent*em, W: width(t.Runes, t.Font, t.Size), H: (ascent + descent) * em}
}

// qrShape is the QR code: Bits[y][x], quiet zone included, drawn from X, Y
// with square modules of Module mm.
type qrShape struct {
	X, Y, Module float64
	Bits         [][]bool
	URL          string // what it encodes
}

func (q qrShape) Box() box {
	n := float64(len(q.Bits))
	return box{X: q.X, Y: q.Y, W: n * q.Module, H: n * q.Module}
}

// link makes an area of the PDF clickable.
type link struct {
	box
	URL string
}

// layout is a laid-out sign.
type layout struct {
	Page    box // the page: 0, 0, width, height
	Frame   box // the printed border; every shape is inside
	Content box // inside the frame's padding: where every text is
	Rects   []rect
	Lines   []line
	Texts   []text
	QR      qrShape
	Links   []link
	Title   string // document title
	Lang    string
}

// facts are the strings a sign shows, already in French.
type facts struct {
	Kicker      string // "CAPTEUR · QUALITÉ DE L'AIR"
	Name        string
	Ident       identWords
	Measures    string
	Purpose     string
	Description string
	Accountable string
	Retention   string
	URL         string
	ID          string
	Contact     string
	Rights      string // how to exercise GDPR rights, for personal data
	Credit      string
}

type identWords struct {
	Headline, Detail string
	Fill             rgb
}

// identifiability says, with the DTPR colour of its level, whether a
// sensor can identify people: yellow identifiable (and pseudonymised, which
// is still personal data), blue de-identified (at source, or aggregates
// only), white not identifying.
func identifiability(id string) identWords {
	c := dtpr.Device().Colours()
	yellow, blue, none := parseHex(c.Identifiable, rgb{0xFF, 0xDD, 0x00}),
		parseHex(c.DeIdentified, rgb{0x36, 0xB2, 0xE6}), parseHex(c.NotIdentifying, white)
	switch id {
	case registryapi.Identifiable:
		return identWords{"Peut vous identifier", "Ce capteur collecte des données personnelles qui peuvent identifier des personnes.", yellow}
	case registryapi.Pseudonymised:
		return identWords{"Peut vous identifier", "Données pseudonymisées : elles ne vous nomment pas, mais restent des données personnelles.", yellow}
	case registryapi.DeidentifiedAtSource:
		return identWords{"Données désidentifiées à la source", "Le capteur retire ce qui pourrait identifier une personne avant que les données ne le quittent.", blue}
	case registryapi.AggregateOnly:
		return identWords{"Données agrégées uniquement", "Seuls des totaux ou des moyennes, qui ne désignent personne, sont conservés.", blue}
	case registryapi.NoPersonalData:
		return identWords{"Aucune donnée personnelle", "Ce capteur ne collecte aucune donnée sur des personnes.", none}
	}
	return identWords{"Identification non précisée", "Consultez la fiche du capteur.", rgb{0xEE, 0xEE, 0xEE}}
}

func parseHex(s string, def rgb) rgb {
	var c rgb
	if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &c.R, &c.G, &c.B); err != nil {
		return def
	}
	return c
}

// Credit credits the DTPR taxonomy, whose purpose labels and colours the
// sign uses.
const Credit = "Vocabulaire et couleurs : " + dtpr.Attribution + ", " + dtpr.Licence +
	" (creativecommons.org/licenses/by/4.0)"

// factsOf words an entry for its sign.
func factsOf(s registryapi.Sensor) facts {
	fr := web.Words("fr")
	f := facts{
		Kicker:      "Capteur",
		Name:        firstOf(s.Name.FR, s.Name.EN, s.ID),
		Ident:       identifiability(s.Identifiability),
		Description: firstOf(s.Description.FR, s.Description.EN),
		Accountable: firstOf(s.Accountable.Name.FR, s.Accountable.Name.EN, "Non précisé"),
		Retention:   "Non précisée",
		URL:         s.URL,
		ID:          s.ID,
		Credit:      Credit,
	}
	if s.Category != "" {
		f.Kicker += " · " + fr.Category(s.Category)
	}
	f.Kicker = strings.ToUpper(f.Kicker)
	qs := make([]string, 0, len(s.Quantities))
	for _, q := range s.Quantities {
		qs = append(qs, strings.TrimSpace(firstOf(q.Label.FR, q.Label.EN, q.Name)))
	}
	switch len(qs) {
	case 0:
		f.Measures = "Non précisé"
	case 1:
		f.Measures = qs[0]
	default:
		f.Measures = strings.Join(qs[:len(qs)-1], ", ") + " et " + qs[len(qs)-1]
	}
	if len(s.Purposes) > 0 {
		f.Purpose = strings.TrimSpace(dtpr.Device().Name(dtpr.Purpose, s.Purposes[0], "fr", nil))
	}
	if s.Retention != "" {
		f.Retention = fr.Duration(s.Retention)
	}
	if c := firstOf(s.PublicContact.Email, s.PublicContact.Phone, s.PublicContact.URL); c != "" {
		f.Contact = "Contact : " + c
	}
	if s.Identifiability != registryapi.NoPersonalData {
		if c := firstOf(s.DPOContact.Email, s.DPOContact.Phone, s.DPOContact.URL); c != "" {
			f.Rights = "Vos droits sur vos données : " + c
		}
	}
	return f
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// dims are the page sizes, in mm, portrait.
var dims = map[Size][2]float64{A5: {148, 210}, A6: {105, 148}}

// lay lays out the sign of f on a page of size, with the QR code bits.
func lay(f facts, size Size, bits [][]bool) layout {
	wh := dims[size]
	W, H := wh[0], wh[1]
	k := W / 148 // everything is drawn for A5 and scaled
	frame := box{X: 6 * k, Y: 6 * k, W: W - 12*k, H: H - 12*k}
	pad := 5 * k
	content := box{X: frame.X + pad, Y: frame.Y, W: frame.W - 2*pad, H: frame.H}
	L := layout{Page: box{W: W, H: H}, Frame: frame, Content: content, Lang: "fr", Title: "Capteur : " + f.Name}
	radius := 3.5 * k

	// The header: kicker and name, white on navy.
	y := frame.Y + 5*k
	kicker := L.para(content.X, y, content.W, clean(f.Kicker), bold, 8.5*k, 1, pale)
	y += kicker + 1.5*k
	nameSize, nameLines := shrink(clean(f.Name), bold, 20*k, 13*k, content.W, 3)
	y += L.lines(content.X, y, nameLines, bold, nameSize, white)
	header := box{X: frame.X, Y: frame.Y, W: frame.W, H: y + 4.5*k - frame.Y}
	L.Rects = append(L.Rects,
		rect{box: header, Radius: radius, Fill: &navy},
		rect{box: box{X: header.X, Y: header.bottom() - radius, W: header.W, H: radius}, Fill: &navy})
	y = header.bottom() + 5*k

	// The bottom: credit, then the QR code and what it leads to.
	credit := clip(wrap(clean(f.Credit), regular, 6*k, content.W), 2, regular, 6*k, content.W)
	creditTop := frame.bottom() - 3.5*k - lineStep(6*k)*float64(len(credit))
	L.lines(content.X, creditTop, credit, regular, 6*k, grey)
	qrSide := 38 * k
	n := float64(len(bits))
	qr := qrShape{X: content.X - pad/2, Y: creditTop - 3*k - qrSide, Module: qrSide / n, Bits: bits, URL: f.URL}
	// The quiet zone is white already: the QR code may start in the padding.
	L.QR = qr
	qb := qr.Box()
	L.Lines = append(L.Lines, line{X1: content.X, Y1: qb.Y - 2*k, X2: content.right(), Y2: qb.Y - 2*k, Colour: rule, Width: 0.3 * k})
	bottomTop := qb.Y - 2*k
	tx := qb.right() + 2*k
	tw := content.right() - tx
	ty := qb.Y + qr.Module*4 // aligned with the top of the symbol
	ty += L.para(tx, ty, tw, clean("Tout savoir sur ce capteur"), bold, 10.5*k, 1, navy) + 1*k
	ty += L.para(tx, ty, tw, clean("Scannez le code ou rendez-vous sur :"), regular, 8*k, 2, ink) + 0.8*k
	urlTop := ty
	urlH := L.para(tx, ty, tw, clean(f.URL), bold, 8.5*k, 3, navy)
	L.Links = append(L.Links, link{box: qb, URL: f.URL}, link{box: box{X: tx, Y: urlTop, W: tw, H: urlH}, URL: f.URL})
	ty += urlH + 1.5*k
	ty += L.para(tx, ty, tw, clean("Identifiant : "+f.ID), regular, 8*k, 3, ink)
	for _, extra := range []string{f.Contact, f.Rights} {
		if extra == "" {
			continue
		}
		h := paraHeight(clean(extra), regular, 7.5*k, tw, 2)
		if ty+0.8*k+h > qb.bottom()-qr.Module*3 {
			break // no room: the entry's page has it
		}
		ty += 0.8 * k
		ty += L.para(tx, ty, tw, clean(extra), regular, 7.5*k, 2, ink)
	}

	// The middle: identifiability, then the sections, scaled together.
	// First the largest scale at which the whole description fits; else
	// the largest at which at least two lines of it do; else the smallest,
	// without the description rather than overflow (the entry's page has
	// it).
	room := bottomTop - 4*k - y
	type try struct {
		scale   float64
		minDesc int // -1: the whole description
	}
	var tries []try
	for s := 1.3; s > 0.849; s -= 0.05 {
		tries = append(tries, try{s, -1})
	}
	for s := 1.0; s > 0.599; s -= 0.05 {
		tries = append(tries, try{s, 2})
	}
	tries = append(tries, try{0.6, 0})
	for i, t := range tries {
		var m layout
		h := m.middle(f, content.X, y, content.W, pad/2, k*t.scale, room, t.minDesc)
		if h <= room || i == len(tries)-1 {
			L.Rects = append(L.Rects, m.Rects...)
			L.Texts = append(L.Texts, m.Texts...)
			L.Lines = append(L.Lines, m.Lines...)
			break
		}
	}

	L.Rects = append(L.Rects, rect{box: frame, Radius: radius, Stroke: &navy, Line: 0.6 * k})
	return L
}

// middle lays out the identifiability band, bleed mm wider than the text
// on each side, and the sections, from y, at scale k, and returns their
// height. The description takes what room is left, and at least minDesc
// lines; all of it when minDesc is -1.
func (L *layout) middle(f facts, x, y, w, bleed, k, room float64, minDesc int) float64 {
	top := y

	// Identifiability: the DTPR colour, and words.
	band := box{X: x - bleed, Y: y, W: w + 2*bleed}
	by := y + 3*k
	by += L.para(x+1*k, by, w-2*k, clean(f.Ident.Headline), bold, 13*k, 2, ink) + 1*k
	by += L.para(x+1*k, by, w-2*k, clean(f.Ident.Detail), regular, 8.5*k, 3, ink)
	band.H = by + 2.5*k - y
	fill, border := f.Ident.Fill, ink
	L.Rects = append([]rect{{box: band, Radius: 2.5 * k, Fill: &fill, Stroke: &border, Line: 0.5 * k}}, L.Rects...)
	y = band.bottom() + 5*k

	section := func(title string) {
		y += L.para(x, y, w, clean(strings.ToUpper(title)), bold, 7.5*k, 1, navy) + 1.2*k
	}

	// What it measures.
	section("Ce qu'il mesure")
	y += L.para(x, y, w, clean(f.Measures), regular, 10.5*k, 3, ink) + 4.5*k

	// Who is accountable, and how long data is kept, side by side.
	colW := (w - 6*k) / 2
	y0 := y
	section("Responsable")
	size, lines := shrink(clean(f.Accountable), bold, 10.5*k, 8.5*k, colW, 3)
	left := y + L.lines(x, y, lines, bold, size, ink)
	y = y0
	x2 := x + colW + 6*k
	y += L.para(x2, y, colW, clean(strings.ToUpper("Conservation des données")), bold, 7.5*k, 2, navy) + 1.2*k
	size, lines = shrink(clean(f.Retention), bold, 13*k, 8*k, colW, 3)
	right := y + L.lines(x2, y, lines, bold, size, ink)
	y = max(left, right) + 4.5*k
	L.Lines = append(L.Lines, line{X1: x + colW + 3*k, Y1: y0, X2: x + colW + 3*k, Y2: y - 4.5*k, Colour: rule, Width: 0.3 * k})

	// Why: the first DTPR purpose, and the description in what room is left.
	section("Pourquoi")
	if f.Purpose != "" {
		y += L.para(x, y, w, clean(f.Purpose), bold, 10.5*k, 2, ink) + 0.8*k
	}
	if f.Description != "" {
		size := 9.5 * k
		n := max(int((top+room-y)/lineStep(size)), minDesc)
		if minDesc < 0 {
			n = 1 << 20
		}
		if n > 0 {
			y += L.para(x, y, w, clean(f.Description), regular, size, n, ink)
		}
	}
	return y - top
}

// lineStep is the distance between two baselines of text of size points.
func lineStep(size float64) float64 { return 1.24 * size * ptToMM }

// para sets rs in lines of at most w mm, at most maxLines (ellipsized
// beyond), from the top y, and returns the height it takes.
func (L *layout) para(x, y, w float64, rs []rune, f font, size float64, maxLines int, c rgb) float64 {
	return L.lines(x, y, clip(wrap(rs, f, size, w), maxLines, f, size, w), f, size, c)
}

func paraHeight(rs []rune, f font, size, w float64, maxLines int) float64 {
	return float64(len(clip(wrap(rs, f, size, w), maxLines, f, size, w))) * lineStep(size)
}

// lines sets lines from the top y and returns the height they take.
func (L *layout) lines(x, y float64, lines [][]rune, f font, size float64, c rgb) float64 {
	em := size * ptToMM
	for i, l := range lines {
		L.Texts = append(L.Texts, text{X: x, Y: y + ascent*em + float64(i)*lineStep(size), Runes: l, Font: f, Size: size, Colour: c})
	}
	if len(lines) == 0 {
		return 0
	}
	return float64(len(lines)-1)*lineStep(size) + (ascent+descent)*em
}

// shrink finds the largest size, from big down to small, at which rs holds
// in maxLines of w mm, and ellipsizes it at small when none does.
func shrink(rs []rune, f font, big, small, w float64, maxLines int) (float64, [][]rune) {
	for size := big; size > small; size -= 0.5 {
		if l := wrap(rs, f, size, w); len(l) <= maxLines {
			return size, l
		}
	}
	return small, clip(wrap(rs, f, small, w), maxLines, f, small, w)
}
