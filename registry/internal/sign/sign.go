package sign

import (
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/civisens/civisens/registry/registryapi"
)

// Format is the file format of a sign.
type Format string

// The formats of a sign.
const (
	PDF Format = "pdf"
	SVG Format = "svg"
)

// Size is the paper size of a sign, portrait.
type Size string

// The sizes of a sign.
const (
	A5 Size = "a5" // 148 × 210 mm
	A6 Size = "a6" // 105 × 148 mm
)

// Revision changes whenever the look of signs changes, so that caches keyed
// on an entry's version (HTTP ETags) do not keep an older look.
const Revision = "1"

// Options choose a sign's format and size. The zero value is a PDF on A5.
type Options struct {
	Format Format
	Size   Size
}

// Kinds of errors of Render; callers decide with errors.Is.
var (
	// ErrOptions: an unknown format or size.
	ErrOptions = errors.New("sign: unknown format or size")
	// ErrEntry: the entry cannot have a sign (no id, no public URL, or a
	// URL too long for a QR code).
	ErrEntry = errors.New("sign: entry cannot have a sign")
)

// ParseFormat reads "pdf" or "svg".
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case PDF, SVG:
		return f, nil
	}
	return "", fmt.Errorf("format %q (pdf or svg): %w", s, ErrOptions)
}

// ParseSize reads "a5" or "a6"; "" is A5.
func ParseSize(s string) (Size, error) {
	switch z := Size(s); z {
	case "":
		return A5, nil
	case A5, A6:
		return z, nil
	}
	return "", fmt.Errorf("size %q (a5 or a6): %w", s, ErrOptions)
}

// withDefaults fills the zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.Format == "" {
		o.Format = PDF
	}
	if o.Size == "" {
		o.Size = A5
	}
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return o, err
	}
	if _, err := ParseSize(string(o.Size)); err != nil {
		return o, err
	}
	return o, nil
}

// ContentType is the media type of a sign in format f.
func (f Format) ContentType() string {
	if f == SVG {
		return "image/svg+xml"
	}
	return "application/pdf"
}

// Filename is the file name of the sign of the entry id, e.g.
// "panneau-air-mairie-01-a5.pdf". id must be a valid sensor id (letters,
// digits and hyphens), as every entry's is.
func Filename(id string, o Options) string {
	o, _ = o.withDefaults()
	return "panneau-" + id + "-" + string(o.Size) + "." + string(o.Format)
}

// Render writes the sign of the entry s. Its QR code and printed address
// are s.URL, the entry's stable public URL, which must be set (the
// registry's handlers set it from their public URL). Render writes nothing
// when it fails; on success it writes the whole file with one Write.
func Render(w io.Writer, s registryapi.Sensor, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	if s.ID == "" {
		return fmt.Errorf("%w: no id", ErrEntry)
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: %s has no absolute public URL (%q)", ErrEntry, s.ID, s.URL)
	}
	bits, err := qrBits(s.URL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEntry, err)
	}
	l := lay(factsOf(s), o.Size, bits)
	var body []byte
	if o.Format == SVG {
		body = l.svg()
	} else {
		body, err = l.pdf(s.UpdatedAt)
		if err != nil {
			return err
		}
	}
	_, err = w.Write(body)
	return err
}
