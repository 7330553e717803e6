package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Third-party browser files (Leaflet) are not in git: `make`
// (scripts/web-assets.sh) installs them with npm from assets/package.json
// and copies them into static/vendor/, which is embedded here. A plain
// `go build` embeds the folder's README.md alone: the map page then says
// that the map is not available and shows the list (mapview.go).

//go:embed static/vendor
var vendorFS embed.FS

// VendorPrefix is where the vendored files are served:
// VendorPrefix + "{fingerprint}/" + their path under static/vendor, e.g.
// /static/vendor/3f2a…/leaflet/leaflet.js. The fingerprint changes with
// any of the files, so they can be cached for good; leaflet.css finds its
// images by relative URLs under the same fingerprint.
const VendorPrefix = "/static/vendor/"

// Paths of Leaflet's files under static/vendor.
const (
	leafletJS  = "leaflet/leaflet.js"
	leafletCSS = "leaflet/leaflet.css"
)

// Vendor holds the vendored third-party browser files and their
// fingerprint.
type Vendor struct {
	fingerprint string
	files       map[string][]byte // by path under static/vendor
}

// EmbeddedVendor returns the files embedded in the binary.
func EmbeddedVendor() (*Vendor, error) {
	sub, err := fs.Sub(vendorFS, "static/vendor")
	if err != nil {
		return nil, fmt.Errorf("web: vendor: %w", err)
	}
	return NewVendor(sub)
}

// NewVendor reads the vendored files from fsys (laid out as static/vendor
// is: leaflet/leaflet.js…). Only the file types it can serve are kept
// (JavaScript, CSS, PNG, SVG and licences); README.md is not served. Tests
// give an fstest.MapFS, with or without Leaflet.
func NewVendor(fsys fs.FS) (*Vendor, error) {
	v := &Vendor{files: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "README.md" || vendorType(p) == "" {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		v.files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: vendor: %w", err)
	}
	h := sha256.New()
	names := make([]string, 0, len(v.files))
	for p := range v.files {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(v.files[p]))
		h.Write(v.files[p])
	}
	v.fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return v, nil
}

// Leaflet returns the URLs of leaflet.js and leaflet.css, and false when
// the binary was built without them.
func (v *Vendor) Leaflet() (js, css string, ok bool) {
	if v == nil || v.files[leafletJS] == nil || v.files[leafletCSS] == nil {
		return "", "", false
	}
	return v.URL(leafletJS), v.URL(leafletCSS), true
}

// URL is the fingerprinted URL of a vendored file.
func (v *Vendor) URL(p string) string { return VendorPrefix + v.fingerprint + "/" + p }

// Fingerprint is the fingerprint of the vendored files.
func (v *Vendor) Fingerprint() string { return v.fingerprint }

// File returns a vendored file and its content type, by fingerprint and
// path; ok is false for an unknown path or a stale fingerprint.
func (v *Vendor) File(fingerprint, p string) (body []byte, contentType string, ok bool) {
	if v == nil || fingerprint != v.fingerprint {
		return nil, "", false
	}
	b, ok := v.files[strings.TrimPrefix(p, "/")]
	if !ok {
		return nil, "", false
	}
	return b, vendorType(p), true
}

// vendorType is the content type of a vendored file, or "" for a file
// that is not served.
func vendorType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	}
	if strings.HasPrefix(path.Base(p), "LICENSE") {
		return "text/plain; charset=utf-8"
	}
	return ""
}
