package catalog

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

// Territory is where, and for whom, a register publishes.
type Territory struct {
	// Name is the territory's name, e.g. "Commune de Valmont-sur-Lise".
	Name string
	// BBox is the territory's bounding box; every fixed sensor and every
	// position of a mobile sensor's area must lie inside it. The zero BBox
	// checks nothing.
	BBox BBox
	// FunctionalEmail is the register's functional mailbox. When it is
	// set, a public contact whose address looks like a named person's
	// (firstname.lastname@…) is refused.
	FunctionalEmail string
}

// BBox is a WGS84 bounding box, bounds included.
type BBox struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// label names the territory in problems: its name, or its bounding box.
func (t Territory) label() string {
	if t.Name != "" {
		return t.Name
	}
	b := t.BBox
	return fmt.Sprintf("%g,%g,%g,%g", b.MinLon, b.MinLat, b.MaxLon, b.MaxLat)
}

// IsZero reports whether b is the zero BBox, which checks nothing.
func (b BBox) IsZero() bool { return b == BBox{} }

// Contains reports whether the point lat, lon lies inside b.
func (b BBox) Contains(lat, lon float64) bool {
	return lat >= b.MinLat && lat <= b.MaxLat && lon >= b.MinLon && lon <= b.MaxLon
}

// Limits of an entry.
const (
	MaxPurposes = 3
	// MaxRetentionYears bounds a retention, so that a typo ("P1000Y")
	// does not become an InfluxDB retention policy.
	MaxRetentionYears = 100
	maxTags           = 6
)

var (
	tagKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)
	tagValueRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// A named person's address: "jean.dupont", "marie-claire.martin",
	// "j.dupont".
	personalLocalRE = regexp.MustCompile(`^[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*$`)
)

// functionalWords are words that make a dotted address a service's, not a
// person's ("service.technique@", "mairie.contact@").
func functionalWord(w string) bool {
	switch w {
	case "accueil", "capteur", "capteurs", "commune", "contact", "contacts",
		"data", "donnees", "dpd", "dpo", "dsi", "eclairage", "energie",
		"environnement", "info", "infos", "mairie", "noreply", "no-reply",
		"opendata", "police", "registre", "rgpd", "secretariat", "service",
		"services", "stationnement", "support", "technique", "urbanisme", "ville":
		return true
	}
	return false
}

// LooksPersonal reports whether email looks like the address of a named
// person (firstname.lastname@…) rather than a functional mailbox.
func LooksPersonal(email string) bool {
	local, _, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok || !personalLocalRE.MatchString(local) {
		return false
	}
	first, last, _ := strings.Cut(local, ".")
	return !functionalWord(first) && !functionalWord(last)
}

// problems collects Problems.
type problems Problems

func (p *problems) add(field, code string, args ...any) {
	*p = append(*p, Problem{Field: field, Code: code, Args: args})
}

// text requires a bilingual text: French always, English when both.
func (p *problems) text(field string, t registryapi.Text, both bool) {
	if strings.TrimSpace(t.FR) == "" {
		p.add(field+".fr", "required")
	}
	if both && strings.TrimSpace(t.EN) == "" {
		p.add(field+".en", "required")
	}
}

// ids checks DTPR element ids of one category: at least min of them, each
// known, none repeated, at most max (0: no maximum).
func (p *problems) ids(field, category string, ids []string, min, max int) {
	v := dtpr.Device()
	if len(ids) < min {
		if min == 1 {
			p.add(field, "dtpr.at_least_one", facet(category))
		} else {
			p.add(field, "dtpr.at_least", min, facet(category))
		}
	}
	if max > 0 && len(ids) > max {
		p.add(field, "dtpr.too_many", len(ids), max)
	}
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !v.Has(category, id):
			p.add(f, "dtpr.unknown", id, facet(category))
		case slices.Index(ids, id) < i:
			p.add(f, "duplicate", id)
		}
	}
}

func (p *problems) webURL(field, s string, required bool) {
	if s == "" {
		if required {
			p.add(field, "required")
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(field, "url.invalid", s)
	}
}

func (p *problems) email(field, s string) {
	if s == "" {
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		p.add(field, "email.invalid", s)
	}
}

func (p *problems) contact(field string, c registryapi.Contact) {
	if c.Email == "" && c.URL == "" {
		p.add(field, "contact.required")
	}
	p.email(field+".email", c.Email)
	p.webURL(field+".url", c.URL, false)
}

// CheckPublishable checks that s may be published on territory t, and
// returns every problem found, field by field, in English; none means it
// may be published. Fields are named by their JSON path ("name.en",
// "quantities[1].unit"); each problem has its stable code. [Publishable]
// gives the same problems, to be put in any language.
func CheckPublishable(s registryapi.Sensor, t Territory) []registryapi.FieldError {
	return Publishable(s, t).In(LangEN)
}

// Publishable checks that s may be published on territory t, and returns
// every problem found, field by field, in no language yet; none means it
// may be published.
func Publishable(s registryapi.Sensor, t Territory) Problems {
	var p problems

	// Identity.
	if !ValidSensorID(s.ID) {
		p.add("id", "id.invalid", s.ID)
	}
	p.text("name", s.Name, true)
	if !ValidCategory(s.Category) {
		p.add("category", "category.invalid", s.Category, strings.Join(registryapi.Categories, ", "))
	}
	p.ids("technology", dtpr.Tech, s.Technology, 1, 0)
	p.text("attached_to", s.AttachedTo, true)
	checkTags(&p, s)

	// Who.
	p.text("accountable.name", s.Accountable.Name, false)
	p.webURL("accountable.url", s.Accountable.URL, false)
	for i, o := range s.Operators {
		p.text(fmt.Sprintf("operators[%d].name", i), o.Name, false)
		p.webURL(fmt.Sprintf("operators[%d].url", i), o.URL, false)
	}
	p.contact("public_contact", s.PublicContact)
	if t.FunctionalEmail != "" && s.PublicContact.Email != t.FunctionalEmail && LooksPersonal(s.PublicContact.Email) {
		p.add("public_contact.email", "contact.personal", s.PublicContact.Email, t.FunctionalEmail)
	}
	p.contact("dpo_contact", s.DPOContact)

	// Why.
	p.ids("purposes", dtpr.Purpose, s.Purposes, 1, MaxPurposes)
	p.text("description", s.Description, true)

	// What.
	checkQuantities(&p, s.Quantities)
	p.ids("data_types", dtpr.Data, s.DataTypes, 1, 0)
	p.ids("processing", dtpr.Process, s.Processing, 1, 0)

	// Identifiability and legal basis.
	checkPersonalData(&p, s)

	// Data.
	p.ids("storage", dtpr.Storage, s.Storage, 1, 0)
	p.text("storage_location", s.StorageLocation, true)
	checkRetention(&p, s.Retention)
	p.ids("access", dtpr.Access, s.Access, 1, 0)
	if s.OpenData {
		if s.OpenDataLicence == "" {
			p.add("open_data_licence", "open_data_licence.required")
		}
		p.webURL("open_data_url", s.OpenDataURL, true)
	} else {
		p.webURL("open_data_url", s.OpenDataURL, false)
	}

	// Where.
	checkLocation(&p, s.Location, t)

	// Lifecycle.
	if !ValidStatus(s.Status) {
		p.add("status", "status.invalid", s.Status, strings.Join(Statuses(), ", "))
	}
	if s.CommissionedAt == nil {
		p.add("commissioned_at", "required")
	}
	if s.Status == registryapi.StatusRetired && s.DecommissionedAt == nil {
		p.add("decommissioned_at", "decommissioned_at.retired")
	}
	if s.CommissionedAt != nil && s.DecommissionedAt != nil && s.DecommissionedAt.Before(*s.CommissionedAt) {
		p.add("decommissioned_at", "decommissioned_at.before")
	}
	return Problems(p)
}

func checkTags(p *problems, s registryapi.Sensor) {
	if !tagValueRE.MatchString(s.Site) {
		p.add("site", "site.invalid", s.Site)
	}
	if len(s.Tags) > maxTags {
		p.add("tags", "tags.too_many", len(s.Tags), maxTags)
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := "tags." + k
		switch {
		case !tagKeyRE.MatchString(k):
			p.add(f, "tag.name_invalid", k)
		case k == "sensor" || k == "site":
			p.add(f, "tag.reserved", k)
		case slices.ContainsFunc(s.Quantities, func(q registryapi.Quantity) bool { return q.Name == k }):
			p.add(f, "tag.quantity_name", k)
		}
		if v := s.Tags[k]; !tagValueRE.MatchString(v) {
			p.add(f, "tag.value_invalid", v)
		}
	}
}

func checkQuantities(p *problems, qs []registryapi.Quantity) {
	if len(qs) == 0 {
		p.add("quantities", "quantities.required")
	}
	seen := map[string]bool{}
	for i, q := range qs {
		f := fmt.Sprintf("quantities[%d]", i)
		switch {
		case !ValidQuantityName(q.Name):
			p.add(f+".name", "quantity.name", q.Name)
		case seen[q.Name]:
			p.add(f+".name", "quantity.twice", q.Name)
		}
		seen[q.Name] = true
		if !ValidUnit(q.Unit) {
			p.add(f+".unit", "unit.invalid", q.Unit)
		}
		finite := true
		for _, b := range []struct {
			name string
			v    *float64
		}{{"min", q.Min}, {"max", q.Max}} {
			if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
				p.add(f+"."+b.name, "number.not_finite")
				finite = false
			}
		}
		if finite && q.Min != nil && q.Max != nil && *q.Min >= *q.Max {
			p.add(f+".max", "range.inverted", *q.Max, *q.Min)
		}
		if q.PeriodSeconds < 0 {
			p.add(f+".period_s", "period.negative", q.PeriodSeconds)
		}
		if q.Aggregation != "" && !slices.Contains(registryapi.Aggregations, q.Aggregation) {
			p.add(f+".aggregation", "aggregation.invalid", q.Aggregation, strings.Join(registryapi.Aggregations, ", "))
		}
		p.text(f+".label", q.Label, true)
	}
}

func checkPersonalData(p *problems, s registryapi.Sensor) {
	id := s.Identifiability
	if !slices.Contains(Identifiabilities(), id) {
		p.add("identifiability", "identifiability.invalid", id, strings.Join(Identifiabilities(), ", "))
	}
	switch id {
	case registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly:
		p.text("deidentification_method", s.DeidentificationMethod, true)
	}
	if id == registryapi.Identifiable || id == registryapi.Pseudonymised {
		if s.DPIAReference == "" {
			p.add("dpia_reference", "dpia.required", id)
		}
	}
	personal := id != registryapi.NoPersonalData
	switch {
	case s.LegalBasis == "" && personal:
		p.add("legal_basis", "legal_basis.required")
	case s.LegalBasis != "" && !slices.Contains(LegalBases(), s.LegalBasis):
		p.add("legal_basis", "legal_basis.invalid", s.LegalBasis, strings.Join(LegalBases(), ", "))
	case s.LegalBasis == registryapi.BasisLegitimateInterest && s.Accountable.PublicAuthority:
		p.add("legal_basis", "legal_basis.public_authority")
	case s.LegalBasis == registryapi.BasisLegalObligation || s.LegalBasis == registryapi.BasisPublicTask:
		if strings.TrimSpace(s.LegalReference.FR) == "" {
			p.add("legal_reference.fr", "legal_reference.required", s.LegalBasis)
		}
	}
	if personal {
		p.webURL("privacy_notice_url", s.PrivacyNoticeURL, true)
		if s.Art30Record == "" {
			p.add("art30_record", "art30.required")
		}
	} else {
		p.webURL("privacy_notice_url", s.PrivacyNoticeURL, false)
	}
}

func checkRetention(p *problems, r string) {
	if r == "" {
		p.add("retention", "retention.required")
		return
	}
	d, err := ParseDuration(r)
	switch {
	case err != nil:
		p.add("retention", "retention.invalid", r)
	case d.IsZero():
		p.add("retention", "retention.zero", r)
	case approxDays(d) > MaxRetentionYears*365:
		p.add("retention", "retention.too_long", r, MaxRetentionYears)
	default:
		// The gateway enforces the retention as an InfluxDB retention
		// policy or bucket: whole hours, at least one (registryapi's rule).
		if _, err := registryapi.ParseRetention(r); err != nil {
			p.add("retention", "retention.unenforceable", r)
		}
	}
}

// approxDays is d in days, in floating point so that no component overflows.
func approxDays(d Duration) float64 {
	return 365*float64(d.Years) + 30*float64(d.Months) + 7*float64(d.Weeks) + float64(d.Days) +
		(float64(d.Hours)+(float64(d.Minutes)+float64(d.Seconds)/60)/60)/24
}

func checkLocation(p *problems, l registryapi.Location, t Territory) {
	if len(l.Area) > 0 {
		checkArea(p, l.Area, t)
		return
	}
	if l.Lat == 0 && l.Lon == 0 {
		p.add("location", "location.required")
		return
	}
	if l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 || math.IsNaN(l.Lat) || math.IsNaN(l.Lon) {
		p.add("location", "location.invalid", l.Lat, l.Lon)
		return
	}
	if !t.BBox.IsZero() && !t.BBox.Contains(l.Lat, l.Lon) {
		p.add("location", "location.outside", l.Lat, l.Lon, t.label())
	}
	if strings.TrimSpace(l.Address) == "" {
		p.add("location.address", "address.required")
	}
}

func checkArea(p *problems, ring [][2]float64, t Territory) {
	if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
		p.add("location.area", "area.not_ring")
	}
	for i, pos := range ring {
		lon, lat := pos[0], pos[1]
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			p.add(fmt.Sprintf("location.area[%d]", i), "area.invalid", lon, lat)
		} else if !t.BBox.IsZero() && !t.BBox.Contains(lat, lon) {
			p.add(fmt.Sprintf("location.area[%d]", i), "area.outside", lon, lat, t.label())
		}
	}
}
