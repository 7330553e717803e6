package sign

import (
	"strings"
	"sync"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"
)

// Text on a sign is a slice of runes. Each rune is shown as itself in the
// SVG and as one or more Windows-1252 bytes in the PDF, whose core fonts
// know no other encoding; widths are always those of the PDF bytes, so that
// both renderings wrap the same lines.

// clean makes a field printable: Unicode NFC (so that a decomposed "é"
// stays one letter), control and format characters removed (a NUL, a bidi
// override, a soft hyphen), any run of white space one space, no space at
// either end. A no-break space stays: "5 ans" never breaks.
func clean(s string) []rune {
	s = norm.NFC.String(s)
	out := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\u00a0' || r == '\u202f' || r == '\u2007':
			// No-break spaces: kept (as U+00A0 in the PDF).
		case unicode.IsSpace(r):
			space = len(out) > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
	}
	return out
}

// cp1252High are the characters of Windows-1252 between 0x80 and 0x9F;
// from 0xA0 to 0xFF it is Latin-1, i.e. the code point itself.
var cp1252High = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91,
	'’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98,
	'™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// substitutes stand in, in the PDF, for characters that Windows-1252 lacks
// and that French text about sensors uses: NO₂, −40 %, 1 000.
var substitutes = map[rune]string{
	'\u202f': "\u00a0", '\u2007': "\u00a0", // narrow and figure no-break spaces
	'\u2212': "–", '\u2010': "-", '\u2011': "-", '\u2012': "–", '\u2015': "—", // minus, hyphens, dashes
	'\u2032': "'", '\u2033': "\"", '\u2264': "<=", '\u2265': ">=", '\u2248': "~", '\u2192': "->",
	'\u2070': "0", '\u2074': "4", '\u2075': "5", '\u2076': "6", '\u2077': "7", '\u2078': "8", '\u2079': "9",
	'\ufb00': "ff", '\ufb01': "fi", '\ufb02': "fl", '\ufb03': "ffi", '\ufb04': "ffl",
	'\u2713': "x", 'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'ı': "i",
}

// pdfBytes returns how r is written in the PDF (Windows-1252), and whether
// the SVG may show r itself. A character with no equivalent is "?" when it
// is a letter or a digit (a name in another script still shows that
// something is there), and nothing otherwise (an emoji).
func pdfBytes(r rune) (b string, showRune bool) {
	switch {
	case r < 0x80, r >= 0xA0 && r <= 0xFF:
		return string([]byte{byte(r)}), true
	case r >= '\u2080' && r <= '\u2089': // subscript digits
		return string(rune('0' + r - '\u2080')), true
	}
	if c, ok := cp1252High[r]; ok {
		return string([]byte{c}), true
	}
	if s, ok := substitutes[r]; ok {
		return pdfText([]rune(s)), true
	}
	// A Latin letter with a diacritic Windows-1252 lacks (ł, ő, č): its
	// base letter.
	if d := norm.NFD.String(string(r)); d != string(r) {
		if base := []rune(d)[0]; base < 0x80 || (base >= 0xA0 && base <= 0xFF) {
			return string([]byte{byte(base)}), true
		}
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return "?", false
	}
	return "", false
}

// pdfText is rs in Windows-1252.
func pdfText(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		p, _ := pdfBytes(r)
		b.WriteString(p)
	}
	return b.String()
}

// svgText is rs as the SVG shows it: the characters themselves, except
// those the PDF cannot show either, written as the PDF writes them.
func svgText(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		p, show := pdfBytes(r)
		switch {
		case show:
			b.WriteRune(r)
		case p == "?":
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Fonts: the PDF core font Helvetica, and its metric twins in the SVG
// (Arial, Liberation Sans).
type font int

const (
	regular font = iota
	bold
)

// widths holds the advance widths of Helvetica and Helvetica-Bold, in
// thousandths of an em, for each Windows-1252 byte. They are read once from
// fpdf's own core font metrics, the ones its PDF output uses.
var widths = sync.OnceValue(func() [2][256]int {
	var w [2][256]int
	pdf := fpdf.New("P", "mm", "A4", "")
	for f, style := range []string{"", "B"} {
		pdf.SetFont("Helvetica", style, 10)
		for b := 1; b < 256; b++ {
			w[f][b] = pdf.GetStringSymbolWidth(string([]byte{byte(b)}))
		}
	}
	return w
})

// ptToMM converts points (font sizes) to millimetres (the page's unit).
const ptToMM = 25.4 / 72

// width is the width in mm of rs set in f at size points.
func width(rs []rune, f font, size float64) float64 {
	w := widths()
	units := 0
	for _, r := range rs {
		p, _ := pdfBytes(r)
		for i := 0; i < len(p); i++ {
			units += w[f][p[i]]
		}
	}
	return float64(units) * size / 1000 * ptToMM
}

// wrap breaks rs into lines no wider than max mm, at spaces; a word wider
// than a line (a long id, a URL) is broken between characters, after a
// "/" when it can.
func wrap(rs []rune, f font, size, max float64) [][]rune {
	var lines [][]rune
	var line []rune
	lineW, spaceW := 0.0, width([]rune{' '}, f, size)
	for _, word := range splitWords(rs) {
		wordW := width(word, f, size)
		if len(line) > 0 && lineW+spaceW+wordW <= max {
			line = append(append(line, ' '), word...)
			lineW += spaceW + wordW
			continue
		}
		if len(line) > 0 {
			lines = append(lines, line)
		}
		for wordW > max {
			n := fit(word, f, size, max)
			lines = append(lines, word[:n:n])
			word = word[n:]
			wordW = width(word, f, size)
		}
		line, lineW = append([]rune{}, word...), wordW
	}
	if len(line) > 0 {
		lines = append(lines, line)
	}
	return lines
}

func splitWords(rs []rune) [][]rune {
	var words [][]rune
	start := 0
	for i, r := range rs {
		if r == ' ' {
			if i > start {
				words = append(words, rs[start:i])
			}
			start = i + 1
		}
	}
	if start < len(rs) {
		words = append(words, rs[start:])
	}
	return words
}

// fit returns how many runes of a word, at least one, fit in max mm,
// preferring to break after a "/", else after a "-" or ".", in the second
// half of what fits.
func fit(word []rune, f font, size, max float64) int {
	n := 1
	for n < len(word) && width(word[:n+1], f, size) <= max {
		n++
	}
	if n == len(word) {
		return n
	}
	for _, breaks := range []string{"/", "-."} {
		for i := n; i > n/2; i-- {
			if strings.ContainsRune(breaks, word[i-1]) {
				return i
			}
		}
	}
	return n
}

const ellipsis = '…'

// clip keeps at most maxLines of lines; when it drops some, the last line
// kept ends with an ellipsis, after a whole word when one ends in its last
// third, and without a dangling comma.
func clip(lines [][]rune, maxLines int, f font, size, max float64) [][]rune {
	if len(lines) <= maxLines {
		return lines
	}
	lines = append([][]rune{}, lines[:maxLines]...)
	last := append([]rune{}, lines[maxLines-1]...)
	if i := lastIndex(last, ' '); i > len(last)*2/3 {
		last = last[:i]
	}
	for len(last) > 0 && width(append(last, ' ', ellipsis), f, size) > max {
		last = last[:len(last)-1]
	}
	for len(last) > 0 && strings.ContainsRune(" ,;:–—-(", last[len(last)-1]) {
		last = last[:len(last)-1]
	}
	if len(last) > 0 {
		last = append(last, '\u00a0')
	}
	lines[maxLines-1] = append(last, ellipsis)
	return lines
}

func lastIndex(rs []rune, r rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == r {
			return i
		}
	}
	return -1
}
