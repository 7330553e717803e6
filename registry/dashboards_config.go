package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/httpapi"
)

// The dashboards' settings of the configuration (config.go): their checks
// and what they give httpapi.

// validateDashboards checks the dashboards' settings.
func (c config) validateDashboards(bad func(format string, args ...any)) {
	if c.DashboardsTemperatureSensor != "" && !catalog.ValidSensorID(c.DashboardsTemperatureSensor) {
		bad("dashboards-temperature-sensor %q: not a sensor id", c.DashboardsTemperatureSensor)
	}
	if _, err := parseSettledAfter(c.DashboardsSettledAfter); err != nil {
		bad("dashboards-settled-after: %v", err)
	}
	if c.AASQAURL != "" {
		u, err := url.Parse(c.AASQAURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("aasqa-url %q: want an http(s) URL", c.AASQAURL)
		}
	}
}

// dashboardDeps returns what the HTTP handler needs of the settings.
func (c config) dashboardDeps(d httpapi.Deps) httpapi.Deps {
	d.Dashboards.TemperatureSensor = c.DashboardsTemperatureSensor
	d.Dashboards.AASQAURL = c.AASQAURL
	d.Dashboards.SettledAfter, _ = parseSettledAfter(c.DashboardsSettledAfter) // checked by Validate
	return d
}

// parseSettledAfter reads -dashboards-settled-after as
// httpapi.DashboardDeps.SettledAfter takes it: empty is 0 (the default),
// "off" negative, otherwise a positive Go duration or a number of days
// ("8d").
func parseSettledAfter(s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, nil
	case "off":
		return -1, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q: want a positive duration (36h, 8d) or off", s)
}
