package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/sign"
	"github.com/civisens/civisens/registry/registryapi"
)

// pageSign answers GET /sensors/:id/sign.:format?size=a5|a6, the printable
// sign (package sign) of a published entry, as a PDF or an SVG, A5 by
// default. Unknown and draft entries are 404, like their pages; another
// format than pdf or svg is no resource (404); another size is 400.
func (h *handler) pageSign(c *gin.Context) {
	format, err := sign.ParseFormat(c.Param("format"))
	if err != nil {
		h.fail(c, errNoRoute)
		return
	}
	size, err := sign.ParseSize(c.Query("size"))
	if err != nil {
		h.fail(c, err)
		return
	}
	s, err := h.publishedEntry(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeSign(c, s, sign.Options{Format: format, Size: size})
}

// writeSign answers the sign of the entry s, whatever its status: the
// provisioning pages call it for a draft, whose sign a technician prints
// before publishing (its QR code leads to the entry's stable URL, which
// answers once the entry is published). It sets s.URL, the entry's stable
// public URL, and answers with a strong ETag made of what the sign shows
// (entry id and version, format, size, URL and the look's revision), and
// 304 when If-None-Match has it.
func (h *handler) writeSign(c *gin.Context, s registryapi.Sensor, o sign.Options) {
	if o.Format == "" {
		o.Format = sign.PDF
	}
	if o.Size == "" {
		o.Size = sign.A5
	}
	s.URL = h.entryURL(s.ID)
	etag := signETag(s, o)
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	if etagMatch(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	var buf bytes.Buffer
	if err := sign.Render(&buf, s, o); err != nil {
		h.fail(c, err)
		return
	}
	// The id is a sensor id ([a-z0-9-]): the file name needs no quoting.
	c.Header("Content-Disposition", `inline; filename="`+sign.Filename(s.ID, o)+`"`)
	c.Header("Content-Language", "fr")
	c.Data(http.StatusOK, o.Format.ContentType(), buf.Bytes())
}

// signETag is the ETag of the sign of s: it changes with the entry's
// version, the options, the public URL and the look of signs.
func signETag(s registryapi.Sensor, o sign.Options) string {
	sum := sha256.Sum256([]byte(s.ID + "\x00" + strconv.Itoa(s.Version) + "\x00" + string(o.Format) + "\x00" +
		string(o.Size) + "\x00" + s.URL + "\x00" + sign.Revision))
	return `"sign-` + strconv.Itoa(s.Version) + "-" + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}
