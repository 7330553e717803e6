package dashboards

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every boundary of the arrêté's grid, from its text: just below and at
// the bound are the lower class, just above the next.
func TestAtmoSubIndexAtEveryBoundary(t *testing.T) {
	levels := []AtmoLevel{AtmoGood, AtmoMedium, AtmoDegraded, AtmoPoor, AtmoVeryPoor, AtmoExtremelyPoor}
	grid := []struct {
		p      Pollutant
		bounds [5]float64
	}{
		{PM25, [5]float64{10, 20, 25, 50, 75}},
		{PM10, [5]float64{20, 40, 50, 100, 150}},
		{NO2, [5]float64{40, 90, 120, 230, 340}},
		{O3, [5]float64{50, 100, 130, 240, 380}},
		{SO2, [5]float64{100, 200, 350, 500, 750}},
	}
	for _, g := range grid {
		if got := AtmoSubIndex(g.p, 0); got != AtmoGood {
			t.Errorf("%s 0 µg/m³ = %v, want bon", g.p, got)
		}
		for i, b := range g.bounds {
			for _, c := range []struct {
				value float64
				want  AtmoLevel
			}{
				{b - 0.1, levels[i]},
				{b, levels[i]},
				{b + 0.1, levels[i+1]},
			} {
				if got := AtmoSubIndex(g.p, c.value); got != c.want {
					t.Errorf("%s %.1f µg/m³ = %v, want %v", g.p, c.value, got, c.want)
				}
			}
		}
		if got := AtmoSubIndex(g.p, 10*g.bounds[4]); got != AtmoExtremelyPoor {
			t.Errorf("%s %g µg/m³ = %v, want extrêmement mauvais", g.p, 10*g.bounds[4], got)
		}
	}
	for _, c := range []struct {
		p Pollutant
		v float64
	}{{NO2, -1}, {NO2, math.NaN()}, {"co", 3}} {
		if got := AtmoSubIndex(c.p, c.v); got != AtmoUnknown {
			t.Errorf("%s %v = %v, want unknown", c.p, c.v, got)
		}
	}
}

func TestAtmoIndexIsTheWorstSubIndex(t *testing.T) {
	for _, tt := range []struct {
		name        string
		day         map[Pollutant]float64
		want        AtmoLevel
		sub         map[Pollutant]AtmoLevel
		responsible []Pollutant
	}{
		{
			name:        "ozone afternoon",
			day:         map[Pollutant]float64{PM25: 8, PM10: 18, NO2: 35, O3: 135, SO2: 3},
			want:        AtmoPoor,
			sub:         map[Pollutant]AtmoLevel{PM25: AtmoGood, PM10: AtmoGood, NO2: AtmoGood, O3: AtmoPoor, SO2: AtmoGood},
			responsible: []Pollutant{O3},
		},
		{
			name:        "tie between particles and NO2",
			day:         map[Pollutant]float64{PM25: 22, PM10: 30, NO2: 100},
			want:        AtmoDegraded,
			sub:         map[Pollutant]AtmoLevel{PM25: AtmoDegraded, PM10: AtmoMedium, NO2: AtmoDegraded},
			responsible: []Pollutant{PM25, NO2},
		},
		{
			name:        "one pollutant measured",
			day:         map[Pollutant]float64{PM10: 151},
			want:        AtmoExtremelyPoor,
			sub:         map[Pollutant]AtmoLevel{PM10: AtmoExtremelyPoor},
			responsible: []Pollutant{PM10},
		},
		{
			name: "nothing measured",
			day:  map[Pollutant]float64{},
			want: AtmoUnknown,
			sub:  map[Pollutant]AtmoLevel{},
		},
		{
			name:        "a pollutant outside the index is ignored",
			day:         map[Pollutant]float64{"co": 9000, SO2: 101},
			want:        AtmoMedium,
			sub:         map[Pollutant]AtmoLevel{SO2: AtmoMedium},
			responsible: []Pollutant{SO2},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, sub, responsible := AtmoIndex(tt.day)
			if got != tt.want {
				t.Errorf("index %v, want %v", got, tt.want)
			}
			if d := cmp.Diff(tt.sub, sub); d != "" {
				t.Errorf("sub-indices (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.responsible, responsible); d != "" {
				t.Errorf("responsible (-want +got):\n%s", d)
			}
		})
	}
}

func TestAtmoLabelsAndNotice(t *testing.T) {
	if AtmoDegraded.String() != "dégradé" || AtmoExtremelyPoor.Label("en") != "extremely poor" || AtmoUnknown.Label("fr") != "inconnu" {
		t.Errorf("labels: %q %q %q", AtmoDegraded, AtmoExtremelyPoor.Label("en"), AtmoUnknown.Label("fr"))
	}
	if AtmoGood.Colour() != "#50F0E6" || AtmoLevel(42).Colour() != AtmoUnknown.Colour() {
		t.Errorf("colours: %s %s", AtmoGood.Colour(), AtmoLevel(42).Colour())
	}
	fr := LocalAtmoNotice("fr", "https://www.airparif.fr/")
	if !strings.HasPrefix(fr, "Indicateur local calculé à partir des capteurs de la commune, distinct de l'indice officiel de l'AASQA") ||
		!strings.Contains(fr, "https://www.airparif.fr/") {
		t.Errorf("French notice: %q", fr)
	}
	if en := LocalAtmoNotice("en", ""); en != LocalAtmoNoticeEN+"." {
		t.Errorf("English notice without a link: %q", en)
	}
}
