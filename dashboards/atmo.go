package dashboards

import "math"

// Pollutant is an air pollutant as the gateway names its quantity (the
// prefix of the aggregate fields: pm2_5_mean, no2_max…), in µg/m³.
type Pollutant string

// The five pollutants of the indice ATMO and of the WHO guidelines.
const (
	PM25 Pollutant = "pm2_5"
	PM10 Pollutant = "pm10"
	NO2  Pollutant = "no2"
	O3   Pollutant = "o3"
	SO2  Pollutant = "so2"
)

// Pollutants lists the five pollutants in the order of the arrêté's
// annex read backwards (particles first): the order of the tables and of
// ties between responsible pollutants.
var Pollutants = []Pollutant{PM25, PM10, NO2, O3, SO2}

// AtmoLevel is a qualifier of the indice ATMO, from [AtmoGood] to
// [AtmoExtremelyPoor]; the zero value is "not computed" (no measurement).
type AtmoLevel int

// The six qualifiers of the arrêté du 10 juillet 2020.
const (
	AtmoUnknown       AtmoLevel = iota
	AtmoGood                    // bon
	AtmoMedium                  // moyen
	AtmoDegraded                // dégradé
	AtmoPoor                    // mauvais
	AtmoVeryPoor                // très mauvais
	AtmoExtremelyPoor           // extrêmement mauvais
)

var atmoLabels = [...][2]string{
	{"inconnu", "unknown"},
	{"bon", "good"},
	{"moyen", "medium"},
	{"dégradé", "degraded"},
	{"mauvais", "poor"},
	{"très mauvais", "very poor"},
	{"extrêmement mauvais", "extremely poor"},
}

// atmoColours are the colours of the qualifiers, those of Atmo France's
// charter (the same as the European Environment Agency's index), from
// blue (bon) to magenta (extrêmement mauvais).
var atmoColours = [...]string{"#DDDDDD", "#50F0E6", "#50CCAA", "#F0E641", "#FF5050", "#960032", "#872181"}

// String returns the French qualifier, as the arrêté writes it.
func (l AtmoLevel) String() string { return l.Label("fr") }

// Label returns the qualifier in French ("fr", as the arrêté writes it)
// or in English (any other language).
func (l AtmoLevel) Label(lang string) string {
	if l < AtmoUnknown || l > AtmoExtremelyPoor {
		l = AtmoUnknown
	}
	if lang == "fr" {
		return atmoLabels[l][0]
	}
	return atmoLabels[l][1]
}

// Colour returns the qualifier's colour as #RRGGBB.
func (l AtmoLevel) Colour() string {
	if l < AtmoUnknown || l > AtmoExtremelyPoor {
		l = AtmoUnknown
	}
	return atmoColours[l]
}

// atmoGrid holds, per pollutant, the upper bounds (included) of the
// qualifiers bon to très mauvais, in µg/m³; above the last is
// extrêmement mauvais. Source: arrêté du 10 juillet 2020 relatif à
// l'indice de la qualité de l'air ambiant (NOR TRER2017892A, JORF du 29
// juillet 2020), annexe I « Méthode de calcul des sous-indices
// journaliers », https://www.legifrance.gouv.fr/loda/id/JORFTEXT000042164835/ —
// e.g. for NO2 "concentration ≤ 40 : Bon ; 40 < concentration ≤ 90 :
// Moyen …; concentration > 340 : Extrêmement mauvais". The bounds are
// those of the European Environment Agency's air quality index the arrêté
// aligned on.
var atmoGrid = map[Pollutant][5]float64{
	PM25: {10, 20, 25, 50, 75},
	PM10: {20, 40, 50, 100, 150},
	NO2:  {40, 90, 120, 230, 340},
	O3:   {50, 100, 130, 240, 380},
	SO2:  {100, 200, 350, 500, 750},
}

// AtmoStatistic says which daily statistic of a pollutant the arrêté
// grades: the daily mean for particles (annexe I, the sub-indices of
// PM10 and PM2.5), the maximum of the hourly means of the day for NO2, O3
// and SO2 (annexe I, 1.1 to 1.3: « maximum des maxima horaires
// journaliers »).
func AtmoStatistic(p Pollutant) string {
	switch p {
	case PM25, PM10:
		return "daily mean"
	case NO2, O3, SO2:
		return "daily maximum of hourly means"
	}
	return ""
}

// AtmoSubIndex returns the qualifier of a concentration c (µg/m³) of
// pollutant p, c being the statistic [AtmoStatistic] names: the bounds are
// included in the lower class (c ≤ 40 is bon for NO2, 40.1 moyen).
// A pollutant outside the grid, a negative or NaN concentration is
// [AtmoUnknown].
func AtmoSubIndex(p Pollutant, c float64) AtmoLevel {
	bounds, ok := atmoGrid[p]
	if !ok || c < 0 || math.IsNaN(c) {
		return AtmoUnknown
	}
	for i, b := range bounds {
		if c <= b {
			return AtmoLevel(i + 1)
		}
	}
	return AtmoExtremelyPoor
}

// AtmoIndex returns the day's index from the day's statistics of the
// pollutants measured (each the statistic [AtmoStatistic] names, in
// µg/m³): the worst of the sub-indices (arrêté du 10 juillet 2020, article
// 3 and annexe I), the sub-index of each pollutant, and the pollutants
// responsible — those whose sub-index is the index, several on a tie, in
// the order of [Pollutants]. Pollutants not measured are left out: a town
// without an ozone sensor gets an index from the others, which is one
// reason why the result is a local indicator (see [LocalAtmoNotice]).
// Without any measurement the index is [AtmoUnknown] and none is
// responsible.
func AtmoIndex(day map[Pollutant]float64) (AtmoLevel, map[Pollutant]AtmoLevel, []Pollutant) {
	sub := map[Pollutant]AtmoLevel{}
	worst := AtmoUnknown
	for _, p := range Pollutants {
		c, ok := day[p]
		if !ok {
			continue
		}
		l := AtmoSubIndex(p, c)
		if l == AtmoUnknown {
			continue
		}
		sub[p] = l
		worst = max(worst, l)
	}
	var responsible []Pollutant
	for _, p := range Pollutants {
		if l, ok := sub[p]; ok && l == worst {
			responsible = append(responsible, p)
		}
	}
	return worst, sub, responsible
}

// The notice that goes with every index this package computes: it is
// computed from the town's own sensors, not by the AASQA (the regional
// association approved for air quality monitoring) whose index is the
// official one (arrêté du 10 juillet 2020, article 2).
const (
	LocalAtmoNoticeFR = "Indicateur local calculé à partir des capteurs de la commune, distinct de l'indice officiel de l'AASQA"
	LocalAtmoNoticeEN = "Local indicator computed from the town's own sensors, distinct from the official index of the AASQA (the approved regional air quality monitoring association)"
)

// LocalAtmoNotice returns the notice in French ("fr") or English (any
// other language), followed by where to read the official index when
// officialURL (the regional AASQA's page) is not empty.
func LocalAtmoNotice(lang, officialURL string) string {
	notice, see, sep := LocalAtmoNoticeEN, "official index", ": "
	if lang == "fr" {
		notice, see, sep = LocalAtmoNoticeFR, "indice officiel", "\u00a0: "
	}
	if officialURL == "" {
		return notice + "."
	}
	return notice + " (" + see + sep + officialURL + ")."
}
