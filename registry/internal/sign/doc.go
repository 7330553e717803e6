// Package sign draws the printable sign of a register entry: the panel a
// technician fixes next to a sensor so that passers-by know what it is.
//
// A sign is in French, portrait, A5 (148 × 210 mm) or A6 (105 × 148 mm),
// as a PDF or an SVG ([Render], [Options]). It shows, from top to bottom:
//
//   - "CAPTEUR · {category}" and the sensor's name, white on navy;
//   - whether it can identify people, as the DTPR colour of its level and in
//     words: yellow "Peut vous identifier" (identifiable, pseudonymised),
//     blue "Données désidentifiées à la source" or "Données agrégées
//     uniquement", white with a border "Aucune donnée personnelle";
//   - "Ce qu'il mesure": the declared quantities, by their French labels;
//   - "Responsable" (the accountable organisation) and "Conservation des
//     données" (the retention in words, "5 ans", as the entry's page says
//     it: package web's wording);
//   - "Pourquoi": the first DTPR purpose's French label, and the entry's
//     description in the room that is left;
//   - a QR code (error correction Q, four-module quiet zone) of the entry's
//     stable public URL, the same URL printed as text, the sensor id, the
//     public contact and, when the sensor collects personal data, the DPO
//     contact where people exercise their rights;
//   - the credit of the DTPR taxonomy (CC BY 4.0), whose purpose labels and
//     colours it uses.
//
// # Layout
//
// The sign is laid out once, in millimetres, as a list of shapes (rects,
// lines, lines of text, the QR code's modules); the PDF and SVG writers only
// draw that list, so both formats show the same lines at the same places.
// A6 is A5 scaled down. Text is measured with the metrics of the PDF core
// font Helvetica (read from fpdf), wrapped at spaces (a word longer than a
// line, such as a URL, between characters), and never overflows: the name
// shrinks from 20 to 13 pt then ends with "…" after three lines; each other
// field has a maximum number of lines and ends with "…" beyond it (the
// retention and the organisation shrink first); the middle sections are set
// together at the largest scale, from 130 % down to 85 %, at which the whole
// description fits between the header and the QR code; failing that, down
// to 60 % with the description ending in "…" after what room is left, and
// dropped last of all rather than overflow. The SVG holds each line to the measured
// width (textLength), so a browser font with other metrics cannot push it
// out either.
//
// # Text
//
// Fields are cleaned first: NFC, control and format characters removed,
// white space collapsed. The PDF's core fonts know only Windows-1252, which
// covers French; characters outside it are replaced in the PDF by their
// nearest equivalent ("NO₂" → "NO2", "−40 %" → "–40 %", "ł" → "l"), a
// letter of another script by "?", a symbol (an emoji) by nothing. The SVG
// shows the characters themselves, escaped as XML: a "<script>" in a name is
// text.
//
// # Files
//
// The PDF is one page whose MediaBox is the paper size, with the title,
// language (fr-FR) and the entry's last change as its dates: the same entry
// gives the same bytes. The QR code and the printed URL are links. The SVG
// is a standalone document, width and height in mm with a viewBox in mm,
// presentation attributes only (nothing a Content-Security-Policy blocks),
// no script, no external resource, no font file.
//
// The registry serves signs at /sensors/{id}/sign.pdf and sign.svg
// (?size=a5 or a6); see package httpapi.
package sign
