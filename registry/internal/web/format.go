package web

import (
	"html"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
)

// Number formats v for lang, with at most three decimals: "12,5" and
// "1 000" (narrow no-break space) in French, "12.5" and "1,000" in English.
func (l localizer) Number(v float64) string { return l.number(v, 3) }

// Coordinate formats a latitude or longitude, with up to six decimals.
func (l localizer) Coordinate(v float64) string { return l.number(v, 6) }

func (l localizer) number(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	scale := math.Pow10(decimals)
	s := strconv.FormatFloat(math.Round(v*scale)/scale, 'f', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	group, point := ",", "."
	if l.lang == LangFR {
		group, point = "\u202f", ","
	}
	var b strings.Builder
	if neg && s != "0" {
		b.WriteString("-")
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String()
}

// Unit returns how a SenML unit is written for people: "°C", "µg/m³";
// "" for the dimensionless "/".
func (l localizer) Unit(u string) string {
	switch u {
	case "Cel":
		return "°C"
	case "%RH":
		if l.lang == LangFR {
			return "% HR"
		}
		return "% RH"
	case "ug/m3":
		return "µg/m³"
	case "m3":
		return "m³"
	case "m2":
		return "m²"
	case "/":
		return ""
	}
	return u
}

// quantityValue joins a formatted number and its unit.
func (l localizer) quantityValue(v float64, unit string) string {
	n := l.Number(v)
	if u := l.Unit(unit); u != "" {
		return n + "\u00a0" + u
	}
	return n
}

// Range says a plausible range in words.
func (l localizer) Range(min, max *float64, unit string) string {
	switch {
	case min != nil && max != nil:
		return l.T("range.between", l.Number(*min), l.quantityValue(*max, unit))
	case min != nil:
		return l.T("range.min", l.quantityValue(*min, unit))
	case max != nil:
		return l.T("range.max", l.quantityValue(*max, unit))
	}
	return l.T("range.none")
}

// Period says a sampling period in words: "une mesure toutes les 30 s".
func (l localizer) Period(seconds int) string {
	if seconds <= 0 {
		return l.T("period.none")
	}
	var s string
	switch {
	case seconds%3600 == 0:
		s = strconv.Itoa(seconds/3600) + "\u00a0h"
	case seconds%60 == 0:
		s = strconv.Itoa(seconds/60) + "\u00a0min"
	default:
		s = strconv.Itoa(seconds) + "\u00a0s"
	}
	return l.T("period.every", s)
}

// Duration says an ISO 8601 duration in words: "1 an", "5 ans",
// "1 an et 6 mois", "18 months". It returns the text itself when it is not
// a duration.
func (l localizer) Duration(iso string) string {
	d, err := catalog.ParseDuration(iso)
	if err != nil {
		return iso
	}
	var parts []string
	add := func(n int, one, many string) {
		if n == 0 {
			return
		}
		unit := l.T(many)
		if n == 1 {
			unit = l.T(one)
		}
		parts = append(parts, strconv.Itoa(n)+"\u00a0"+unit)
	}
	add(d.Years, "dur.year", "dur.years")
	add(d.Months, "dur.month", "dur.months")
	add(d.Weeks, "dur.week", "dur.weeks")
	add(d.Days, "dur.day", "dur.days")
	add(d.Hours, "dur.hour", "dur.hours")
	add(d.Minutes, "dur.minute", "dur.minutes")
	add(d.Seconds, "dur.second", "dur.seconds")
	switch len(parts) {
	case 0:
		return "0"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + l.T("dur.and") + parts[len(parts)-1]
}

// Date formats the day of t: "18 mars 2024", "18 March 2024".
func (l localizer) Date(t time.Time) string {
	return l.date(t, "date.months", t.Month().String())
}

// date formats the day of t with the month names of the catalogue's
// months key (twelve, comma-separated), or else fallback.
func (l localizer) date(t time.Time, months, fallback string) string {
	if names := strings.Split(l.T(months), ","); len(names) == 12 {
		fallback = names[t.Month()-1]
	}
	return strconv.Itoa(t.Day()) + " " + fallback + " " + strconv.Itoa(t.Year())
}

// DateTime formats t with its time of day: "18 mars 2024 à 14:05".
func (l localizer) DateTime(t time.Time) string {
	return l.T("date.at", l.Date(t), t.Format("15:04"))
}

var (
	mdLinkRE     = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^)\s]+)\)`)
	mdEmphasisRE = regexp.MustCompile(`\*([^*\n]+)\*`)
)

// richText shows a DTPR description, which carries a little Markdown
// (links and emphasis), as HTML: everything is escaped first, then
// [text](http…) becomes a link and *text* emphasis. The words are not
// changed.
func richText(s string) template.HTML {
	e := html.EscapeString(strings.TrimSpace(s))
	e = mdLinkRE.ReplaceAllString(e, `<a href="$2">$1</a>`)
	e = mdEmphasisRE.ReplaceAllString(e, `<em>$1</em>`)
	return template.HTML(e)
}
