package sign

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// fontFamily is Helvetica, whose metrics lay the sign out, or a font with
// the same metrics.
const fontFamily = "Helvetica, Arial, Liberation Sans, Nimbus Sans, sans-serif"

// svg writes the layout as a standalone SVG 1.1 document: sizes in mm with
// a viewBox in mm, presentation attributes only (no style element, no
// script, no external resource), every text escaped.
func (l layout) svg() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1"`)
	attr(&b, "width", num(l.Page.W)+"mm")
	attr(&b, "height", num(l.Page.H)+"mm")
	attr(&b, "viewBox", "0 0 "+num(l.Page.W)+" "+num(l.Page.H))
	attr(&b, "xml:lang", l.Lang)
	b.WriteString(` role="img" aria-labelledby="sign-title">` + "\n")
	b.WriteString(`<title id="sign-title">`)
	escape(&b, svgText(clean(l.Title)))
	b.WriteString("</title>\n")
	b.WriteString(`<rect x="0" y="0"`)
	attr(&b, "width", num(l.Page.W))
	attr(&b, "height", num(l.Page.H))
	b.WriteString(` fill="#FFFFFF"/>` + "\n")

	for _, r := range l.Rects {
		b.WriteString("<rect")
		attr(&b, "x", num(r.X))
		attr(&b, "y", num(r.Y))
		attr(&b, "width", num(r.W))
		attr(&b, "height", num(r.H))
		if r.Radius > 0 {
			attr(&b, "rx", num(r.Radius))
		}
		fill := "none"
		if r.Fill != nil {
			fill = r.Fill.hex()
		}
		attr(&b, "fill", fill)
		if r.Stroke != nil {
			attr(&b, "stroke", r.Stroke.hex())
			attr(&b, "stroke-width", num(r.Line))
		}
		b.WriteString("/>\n")
	}
	for _, ln := range l.Lines {
		b.WriteString("<line")
		attr(&b, "x1", num(ln.X1))
		attr(&b, "y1", num(ln.Y1))
		attr(&b, "x2", num(ln.X2))
		attr(&b, "y2", num(ln.Y2))
		attr(&b, "stroke", ln.Colour.hex())
		attr(&b, "stroke-width", num(ln.Width))
		b.WriteString("/>\n")
	}

	b.WriteString("<g")
	attr(&b, "font-family", fontFamily)
	b.WriteString(">\n")
	for _, t := range l.Texts {
		b.WriteString("<text")
		attr(&b, "x", num(t.X))
		attr(&b, "y", num(t.Y))
		attr(&b, "font-size", num(t.Size*ptToMM))
		if t.Font == bold {
			attr(&b, "font-weight", "bold")
		}
		attr(&b, "fill", t.Colour.hex())
		// The width the PDF metrics gave: a browser whose font differs a
		// little is held to it, so that no line ever overflows.
		attr(&b, "textLength", num(width(t.Runes, t.Font, t.Size)))
		attr(&b, "lengthAdjust", "spacingAndGlyphs")
		b.WriteString(">")
		escape(&b, svgText(t.Runes))
		b.WriteString("</text>\n")
	}
	b.WriteString("</g>\n")

	// The QR code: one path of module-high runs, in module units.
	b.WriteString("<a")
	attr(&b, "href", l.QR.URL)
	b.WriteString(">\n<rect")
	qb := l.QR.Box()
	attr(&b, "x", num(qb.X))
	attr(&b, "y", num(qb.Y))
	attr(&b, "width", num(qb.W))
	attr(&b, "height", num(qb.H))
	b.WriteString(` fill="#FFFFFF"/>` + "\n<path")
	attr(&b, "transform", "translate("+num(l.QR.X)+" "+num(l.QR.Y)+") scale("+strconv.FormatFloat(l.QR.Module, 'f', 5, 64)+")")
	b.WriteString(` fill="#000000" shape-rendering="crispEdges" d="`)
	for y, row := range l.QR.Bits {
		for _, r := range runs(row) {
			b.WriteString("M" + strconv.Itoa(r[0]) + " " + strconv.Itoa(y) + "h" + strconv.Itoa(r[1]) + "v1h-" + strconv.Itoa(r[1]) + "z")
		}
	}
	b.WriteString(`"/>` + "\n</a>\n</svg>\n")
	return b.Bytes()
}

// runs returns the runs of dark modules of a row: start and length.
func runs(row []bool) [][2]int {
	var out [][2]int
	for x := 0; x < len(row); {
		if !row[x] {
			x++
			continue
		}
		start := x
		for x < len(row) && row[x] {
			x++
		}
		out = append(out, [2]int{start, x - start})
	}
	return out
}

func attr(b *bytes.Buffer, name, value string) {
	b.WriteString(" " + name + `="`)
	escape(b, value)
	b.WriteString(`"`)
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}

// num writes a length in mm with at most 2 decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
