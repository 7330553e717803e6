package web

import (
	"net/url"
	"sync"
)

// Wording says the facts of an entry in words, in one language, exactly as
// the pages do. Other renderings of an entry (the printable signs of
// package sign) use it, so that a sign and a page never word a retention or
// a unit differently.
type Wording struct{ l localizer }

var wordings = sync.OnceValue(catalogue)

// Words returns the wording of lang, "fr" or "en"; any other value gives
// French.
func Words(lang string) Wording {
	if lang != LangEN {
		lang = LangFR
	}
	return Wording{localizer{lang: lang, msgs: wordings()[lang]}}
}

// Duration says an ISO 8601 duration in words: "5 ans", "1 an et 6 mois";
// the text itself when it is not a duration.
func (w Wording) Duration(iso string) string { return w.l.Duration(iso) }

// Unit returns how a SenML unit is written for people: "°C", "µg/m³".
func (w Wording) Unit(u string) string { return w.l.Unit(u) }

// Category names a category of sensors: "Qualité de l'air".
func (w Wording) Category(c string) string { return w.l.category(c) }

// SignPath is the path of an entry's printable sign: ext is "pdf" or "svg",
// size "a5" or "a6" (see package sign).
func SignPath(id, ext, size string) string {
	return SensorPath(id) + "/sign." + ext + "?size=" + url.QueryEscape(size)
}
