package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/civisens/civisens/registry/internal/httpapi"
	"github.com/civisens/civisens/registry/internal/opendata"
	"github.com/civisens/civisens/registry/registryapi"
)

// The open-data and import settings of the configuration (config.go):
// their defaults, their checks, and what they give httpapi.

const defaultImportMaxSize = "10MiB"

// maxImportMaxSize bounds the import-max-size setting: a body is held in
// memory while it is read.
const maxImportMaxSize = 1 << 30

// withOpenDataDefaults sets the defaults of the open-data settings: the
// Licence Ouverte 2.0, unless another licence is named (whose URL then has
// no default), and a 10 MiB import body.
func (c config) withOpenDataDefaults() config {
	if c.OpenDataLicence == "" {
		c.OpenDataLicence = opendata.LicenceOuverte.Name
	}
	if c.OpenDataLicence == opendata.LicenceOuverte.Name && c.OpenDataLicenceURL == "" {
		c.OpenDataLicenceURL = opendata.LicenceOuverte.URL
	}
	if c.ImportMaxSize == "" {
		c.ImportMaxSize = defaultImportMaxSize
	}
	return c
}

// validateOpenData checks the open-data settings, with their defaults.
func (c config) validateOpenData(bad func(format string, args ...any)) {
	checkURL := func(name, s string) {
		if s == "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q: want an absolute http(s) URL", name, s)
		}
	}
	checkURL("open-data-licence-url", c.OpenDataLicenceURL)
	checkURL("publisher-url", c.PublisherURL)
	if c.PublisherURL != "" && c.PublisherName == "" {
		bad("publisher-url: give publisher-name too")
	}
	for name, v := range map[string]string{"open-data-licence": c.OpenDataLicence, "publisher-name": c.PublisherName} {
		if strings.ContainsAny(v, "\r\n") || len(v) > 300 {
			bad("%s: want one line of at most 300 bytes", name)
		}
	}
	if _, err := parseSize(c.ImportMaxSize); err != nil {
		bad("import-max-size %q: %v", c.ImportMaxSize, err)
	}
}

// openDataDeps returns what the HTTP handler needs of the settings.
func (c config) openDataDeps(d httpapi.Deps) httpapi.Deps {
	c = c.withOpenDataDefaults()
	d.Licence = opendata.Licence{Name: c.OpenDataLicence, URL: c.OpenDataLicenceURL}
	if c.PublisherName != "" {
		// A civisens register is published by a commune or a metropole.
		d.Publisher = opendata.Publisher{Name: registryapi.Text{FR: c.PublisherName}, URL: c.PublisherURL, PublicAuthority: true}
	}
	d.ImportMaxBytes, _ = parseSize(c.ImportMaxSize) // checked by Validate
	return d
}

// parseSize reads a size in bytes: a whole number, optionally followed by
// B, KiB, MiB or GiB ("10MiB", "512KiB", "1048576").
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "BKMGbik")
	unit := strings.TrimSpace(s[len(num):])
	mult := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("want a size such as 10MiB, 512KiB or a number of bytes")
	}
	if n <= 0 || n > maxImportMaxSize/mult {
		return 0, fmt.Errorf("want a size above 0 and at most 1GiB")
	}
	return n * mult, nil
}
