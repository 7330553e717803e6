package main

import (
	"strings"

	"github.com/civisens/civisens/registry/internal/httpapi"
)

// The map's settings of the configuration (config.go): the tile server
// and its credit, their defaults, their checks, and what they give
// httpapi.

const (
	// defaultMapTiles is OpenStreetMap's standard tile layer (see its tile
	// usage policy: fine for a commune's register, not for heavy use).
	defaultMapTiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	// defaultMapAttribution credits the OpenStreetMap contributors, as
	// their licence (ODbL) asks.
	defaultMapAttribution = `&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>`
)

// withMapDefaults sets the defaults of the map's settings: OpenStreetMap's
// tiles and credit; another tile server gets no default credit.
func (c config) withMapDefaults() config {
	if c.MapTiles == "" {
		c.MapTiles = defaultMapTiles
	}
	if c.MapTiles == defaultMapTiles && c.MapAttribution == "" {
		c.MapAttribution = defaultMapAttribution
	}
	return c
}

// validateMap checks the map's settings, with their defaults.
func (c config) validateMap(bad func(format string, args ...any)) {
	c = c.withMapDefaults()
	if _, err := httpapi.TileOrigin(c.MapTiles); err != nil {
		bad("%v", err)
	} else if !strings.Contains(c.MapTiles, "{z}") || !strings.Contains(c.MapTiles, "{x}") || !strings.Contains(c.MapTiles, "{y}") {
		bad("map-tiles %q: want {z}, {x} and {y} in the URL template", c.MapTiles)
	}
	if strings.ContainsAny(c.MapAttribution, "\r\n") || len(c.MapAttribution) > 500 {
		bad("map-attribution: want one line of at most 500 bytes")
	}
}

// mapDeps returns what the HTTP handler needs of the settings.
func (c config) mapDeps(d httpapi.Deps) httpapi.Deps {
	c = c.withMapDefaults()
	d.Map.Tiles = c.MapTiles
	d.Map.Attribution = c.MapAttribution
	return d
}
