package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/importer"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/internal/sign"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// Kinds of errors of the handlers themselves.
var (
	errNotPublished     = errors.New("no published entry with this id")
	errNoRoute          = errors.New("no such resource")
	errMethodNotAllowed = errors.New("method not allowed")
)

// problemFor maps an error to the problem body of its answer: the one place
// where errors become HTTP statuses. Details of server errors are not shown.
func problemFor(err error) registryapi.Problem {
	p := func(status int, detail string) registryapi.Problem {
		return registryapi.Problem{Title: http.StatusText(status), Status: status, Detail: detail}
	}
	switch {
	case errors.Is(err, errNotPublished), errors.Is(err, store.ErrNotFound):
		return p(http.StatusNotFound, "No published sensor has this id.")
	case errors.Is(err, errNoRoute):
		return p(http.StatusNotFound, "There is nothing at this address.")
	case errors.Is(err, errMethodNotAllowed):
		return p(http.StatusMethodNotAllowed, "This address does not accept this method.")
	// Accounts, sessions and API tokens (auth.go, accounts.go).
	case errors.Is(err, errUnauthenticated), errors.Is(err, errBadCredentials):
		return p(http.StatusUnauthorized, "This needs an account: log in, or send an API token (Authorization: Bearer).")
	case errors.Is(err, errForbidden):
		return p(http.StatusForbidden, "Your role does not allow this.")
	case errors.Is(err, errCSRF), errors.Is(err, errCrossSite):
		return p(http.StatusForbidden, "The form has expired or did not come from this site (missing or wrong CSRF token). Reload the page and try again.")
	case errors.Is(err, errRateLimited):
		return p(http.StatusTooManyRequests, "Too many failed logins: wait for the time that Retry-After gives.")
	case errors.Is(err, errSelf), errors.Is(err, store.ErrLastAdministrator), errors.Is(err, store.ErrAccountExists):
		return p(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNoAccount), errors.Is(err, store.ErrNoToken):
		return p(http.StatusNotFound, "No such account or API token.")
	// Citizens' reports (reports.go).
	case errors.Is(err, store.ErrNoReport):
		return p(http.StatusNotFound, "No report has this number.")
	case errors.Is(err, errReportLimited):
		return p(http.StatusTooManyRequests, "Too many reports from this address: wait for the time that Retry-After gives.")
	case errors.As(err, new(*http.MaxBytesError)):
		return p(http.StatusRequestEntityTooLarge, "The request body is too large.")
	case errors.Is(err, store.ErrInvalid), errors.Is(err, sign.ErrOptions):
		return p(http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict):
		return p(http.StatusConflict, err.Error())
	// Open data and import (opendata.go).
	case errors.Is(err, opendata.ErrMalformed), errors.Is(err, errBadQuery):
		return p(http.StatusBadRequest, err.Error())
	case errors.Is(err, importer.ErrFormat):
		return p(http.StatusUnsupportedMediaType, err.Error())
	case errors.Is(err, errNoImport):
		return p(http.StatusNotImplemented, "This registry cannot import.")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return p(http.StatusServiceUnavailable, "The register did not answer in time.")
	}
	return p(http.StatusInternalServerError, "The register could not answer. The error is logged.")
}

// fail answers err: a problem body for the API, a page for the rest.
func (h *handler) fail(c *gin.Context, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		h.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	if wantsProblem(c.Request) {
		writeProblem(c, p)
		return
	}
	h.errorPage(c, p.Status)
}

// wantsProblem reports whether the answer to r is JSON: the API and health
// paths, or a client that asks for JSON.
func wantsProblem(r *http.Request) bool {
	path := r.URL.Path
	return strings.HasPrefix(path, "/api/") || path == "/healthz" ||
		strings.Contains(r.Header.Get("Accept"), "json")
}

func writeProblem(c *gin.Context, p registryapi.Problem) {
	p.Instance = c.Request.URL.Path
	body, err := json.Marshal(p)
	if err != nil {
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(p.Status, "application/problem+json", body)
	c.Abort()
}

func (h *handler) notFound(c *gin.Context) { h.fail(c, errNoRoute) }

func (h *handler) methodNotAllowed(c *gin.Context) { h.fail(c, errMethodNotAllowed) }
