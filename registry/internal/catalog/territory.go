package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBBox reads a bounding box written "minLon,minLat,maxLon,maxLat"
// (the order of GeoJSON and of most map tools), in WGS84 degrees, e.g.
// "2.005,46.925,2.085,46.970". Each minimum must be below its maximum.
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return BBox{}, fmt.Errorf("%q: want minLon,minLat,maxLon,maxLat", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return BBox{}, fmt.Errorf("%q: %q is not a number", s, strings.TrimSpace(p))
		}
		v[i] = f
	}
	b := BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	switch {
	case b.MinLon < -180 || b.MaxLon > 180 || b.MinLat < -90 || b.MaxLat > 90:
		return BBox{}, fmt.Errorf("%q: longitudes are within ±180, latitudes within ±90", s)
	case b.MinLon >= b.MaxLon || b.MinLat >= b.MaxLat:
		return BBox{}, fmt.Errorf("%q: each minimum must be below its maximum (minLon,minLat,maxLon,maxLat)", s)
	}
	return b, nil
}

// String writes b as ParseBBox reads it.
func (b BBox) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	return f(b.MinLon) + "," + f(b.MinLat) + "," + f(b.MaxLon) + "," + f(b.MaxLat)
}
