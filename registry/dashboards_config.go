package main

import (
	"net/url"

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
	return d
}
