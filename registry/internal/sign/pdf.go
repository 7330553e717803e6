package sign

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-pdf/fpdf"
)

// pdf writes the layout as a one-page PDF with the core font Helvetica
// (Windows-1252 text: no font file is embedded). Its dates are modified,
// the entry's last change, so that the same entry gives the same bytes.
func (l layout) pdf(modified time.Time) ([]byte, error) {
	p := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: l.Page.W, Ht: l.Page.H},
	})
	if modified.IsZero() {
		modified = time.Unix(0, 0)
	}
	p.SetCatalogSort(true) // resources in a stable order: the same bytes
	p.SetCreationDate(modified.UTC())
	p.SetModificationDate(modified.UTC())
	p.SetTitle(svgText(clean(l.Title)), true)
	p.SetSubject(l.QR.URL, true)
	p.SetCreator("civisens registry", false)
	p.SetLang("fr-FR")
	p.SetAutoPageBreak(false, 0)
	p.SetMargins(0, 0, 0)
	p.AddPage()

	for _, r := range l.Rects {
		style := ""
		if r.Fill != nil {
			p.SetFillColor(int(r.Fill.R), int(r.Fill.G), int(r.Fill.B))
			style += "F"
		}
		if r.Stroke != nil {
			p.SetDrawColor(int(r.Stroke.R), int(r.Stroke.G), int(r.Stroke.B))
			p.SetLineWidth(r.Line)
			style += "D"
		}
		if r.Radius > 0 {
			p.RoundedRect(r.X, r.Y, r.W, r.H, r.Radius, "1234", style)
		} else {
			p.Rect(r.X, r.Y, r.W, r.H, style)
		}
	}
	for _, ln := range l.Lines {
		p.SetDrawColor(int(ln.Colour.R), int(ln.Colour.G), int(ln.Colour.B))
		p.SetLineWidth(ln.Width)
		p.Line(ln.X1, ln.Y1, ln.X2, ln.Y2)
	}
	for _, t := range l.Texts {
		style := ""
		if t.Font == bold {
			style = "B"
		}
		p.SetFont("Helvetica", style, t.Size)
		p.SetTextColor(int(t.Colour.R), int(t.Colour.G), int(t.Colour.B))
		p.Text(t.X, t.Y, pdfText(t.Runes))
	}

	// The QR code: one rectangle per run of dark modules, each a hair
	// taller than a module so that no viewer shows seams between rows.
	q := l.QR
	p.SetFillColor(0, 0, 0)
	for y, row := range q.Bits {
		for _, r := range runs(row) {
			p.Rect(q.X+float64(r[0])*q.Module, q.Y+float64(y)*q.Module, float64(r[1])*q.Module, q.Module+0.02, "F")
		}
	}
	for _, lk := range l.Links {
		p.LinkString(lk.X, lk.Y, lk.W, lk.H, lk.URL)
	}

	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("sign: PDF: %w", err)
	}
	return b.Bytes(), nil
}
