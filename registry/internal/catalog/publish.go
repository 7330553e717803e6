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

// problems collects FieldErrors.
type problems []registryapi.FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, registryapi.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// text requires a bilingual text: French always, English when both.
func (p *problems) text(field string, t registryapi.Text, both bool) {
	if strings.TrimSpace(t.FR) == "" {
		p.add(field+".fr", "is required")
	}
	if both && strings.TrimSpace(t.EN) == "" {
		p.add(field+".en", "is required")
	}
}

// ids checks DTPR element ids of one category: at least min of them, each
// known, none repeated, at most max (0: no maximum).
func (p *problems) ids(field, category string, ids []string, min, max int) {
	v := dtpr.Device()
	if len(ids) < min {
		if min == 1 {
			p.add(field, "needs at least one %s element", category)
		} else {
			p.add(field, "needs at least %d %s elements", min, category)
		}
	}
	if max > 0 && len(ids) > max {
		p.add(field, "has %d elements; at most %d are allowed", len(ids), max)
	}
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !v.Has(category, id):
			p.add(f, "%q is not a DTPR %s element", id, category)
		case slices.Index(ids, id) < i:
			p.add(f, "%q is listed twice", id)
		}
	}
}

func (p *problems) webURL(field, s string, required bool) {
	if s == "" {
		if required {
			p.add(field, "is required")
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(field, "%q is not an http(s) URL", s)
	}
}

func (p *problems) email(field, s string) {
	if s == "" {
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		p.add(field, "%q is not an e-mail address", s)
	}
}

func (p *problems) contact(field string, c registryapi.Contact) {
	if c.Email == "" && c.URL == "" {
		p.add(field, "needs an e-mail address or a contact form URL")
	}
	p.email(field+".email", c.Email)
	p.webURL(field+".url", c.URL, false)
}

// CheckPublishable checks that s may be published on territory t, and
// returns every problem found, field by field; none means it may be
// published. Fields are named by their JSON path ("name.en",
// "quantities[1].unit").
func CheckPublishable(s registryapi.Sensor, t Territory) []registryapi.FieldError {
	var p problems

	// Identity.
	if !ValidSensorID(s.ID) {
		p.add("id", "%q is not a sensor id: ^[a-z0-9][a-z0-9-]{2,62}$", s.ID)
	}
	p.text("name", s.Name, true)
	if !ValidCategory(s.Category) {
		p.add("category", "%q is not one of %s", s.Category, strings.Join(registryapi.Categories, ", "))
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
		p.add("public_contact.email", "%q looks like a named person's address (firstname.lastname@); use a functional mailbox such as %s",
			s.PublicContact.Email, t.FunctionalEmail)
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
			p.add("open_data_licence", "is required for open data")
		}
		p.webURL("open_data_url", s.OpenDataURL, true)
	} else {
		p.webURL("open_data_url", s.OpenDataURL, false)
	}

	// Where.
	checkLocation(&p, s.Location, t.BBox)

	// Lifecycle.
	if !ValidStatus(s.Status) {
		p.add("status", "%q is not one of %s", s.Status, strings.Join(Statuses(), ", "))
	}
	if s.CommissionedAt == nil {
		p.add("commissioned_at", "is required")
	}
	if s.Status == registryapi.StatusRetired && s.DecommissionedAt == nil {
		p.add("decommissioned_at", "is required for a retired sensor")
	}
	if s.CommissionedAt != nil && s.DecommissionedAt != nil && s.DecommissionedAt.Before(*s.CommissionedAt) {
		p.add("decommissioned_at", "is before commissioned_at")
	}
	return p
}

func checkTags(p *problems, s registryapi.Sensor) {
	if !tagValueRE.MatchString(s.Site) {
		p.add("site", "%q is not a site key: ^[a-z0-9][a-z0-9-]{0,62}$ (a building, a car park, a street)", s.Site)
	}
	if len(s.Tags) > maxTags {
		p.add("tags", "has %d tags; at most %d are allowed", len(s.Tags), maxTags)
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
			p.add(f, "%q is not a tag name: ^[a-z][a-z0-9_]{0,30}$", k)
		case k == "sensor" || k == "site":
			p.add(f, "%q is set by the gateway and cannot be a tag of the entry", k)
		case slices.ContainsFunc(s.Quantities, func(q registryapi.Quantity) bool { return q.Name == k }):
			p.add(f, "%q is also a quantity name", k)
		}
		if v := s.Tags[k]; !tagValueRE.MatchString(v) {
			p.add(f, "%q is not a tag value: ^[a-z0-9][a-z0-9-]{0,62}$", v)
		}
	}
}

func checkQuantities(p *problems, qs []registryapi.Quantity) {
	if len(qs) == 0 {
		p.add("quantities", "needs at least one declared quantity")
	}
	seen := map[string]bool{}
	for i, q := range qs {
		f := fmt.Sprintf("quantities[%d]", i)
		switch {
		case !ValidQuantityName(q.Name):
			p.add(f+".name", "%q is not a SenML name: ^[a-z][a-z0-9_]{0,62}$", q.Name)
		case seen[q.Name]:
			p.add(f+".name", "%q is declared twice", q.Name)
		}
		seen[q.Name] = true
		if !ValidUnit(q.Unit) {
			p.add(f+".unit", "%q is not a SenML unit", q.Unit)
		}
		finite := true
		for _, b := range []struct {
			name string
			v    *float64
		}{{"min", q.Min}, {"max", q.Max}} {
			if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
				p.add(f+"."+b.name, "is not a finite number")
				finite = false
			}
		}
		if finite && q.Min != nil && q.Max != nil && *q.Min >= *q.Max {
			p.add(f+".max", "%g is not above min %g", *q.Max, *q.Min)
		}
		if q.PeriodSeconds < 0 {
			p.add(f+".period_s", "%d is negative", q.PeriodSeconds)
		}
		p.text(f+".label", q.Label, true)
	}
}

func checkPersonalData(p *problems, s registryapi.Sensor) {
	id := s.Identifiability
	if !slices.Contains(Identifiabilities(), id) {
		p.add("identifiability", "%q is not one of %s", id, strings.Join(Identifiabilities(), ", "))
	}
	switch id {
	case registryapi.Pseudonymised, registryapi.DeidentifiedAtSource, registryapi.AggregateOnly:
		p.text("deidentification_method", s.DeidentificationMethod, true)
	}
	if id == registryapi.Identifiable || id == registryapi.Pseudonymised {
		if s.DPIAReference == "" {
			p.add("dpia_reference", "is required when the data is %s", id)
		}
	}
	personal := id != registryapi.NoPersonalData
	switch {
	case s.LegalBasis == "" && personal:
		p.add("legal_basis", "is required unless the sensor collects no personal data")
	case s.LegalBasis != "" && !slices.Contains(LegalBases(), s.LegalBasis):
		p.add("legal_basis", "%q is not one of %s", s.LegalBasis, strings.Join(LegalBases(), ", "))
	case s.LegalBasis == registryapi.BasisLegitimateInterest && s.Accountable.PublicAuthority:
		p.add("legal_basis", "6-1-f (legitimate interest) is not available to a public authority in its public tasks (GDPR art. 6(1), last subparagraph); use 6-1-e with its legal text")
	case s.LegalBasis == registryapi.BasisLegalObligation || s.LegalBasis == registryapi.BasisPublicTask:
		if strings.TrimSpace(s.LegalReference.FR) == "" {
			p.add("legal_reference.fr", "is required with legal basis %s: name the legal text", s.LegalBasis)
		}
	}
	if personal {
		p.webURL("privacy_notice_url", s.PrivacyNoticeURL, true)
		if s.Art30Record == "" {
			p.add("art30_record", "is required unless the sensor collects no personal data (GDPR art. 30)")
		}
	} else {
		p.webURL("privacy_notice_url", s.PrivacyNoticeURL, false)
	}
}

func checkRetention(p *problems, r string) {
	if r == "" {
		p.add("retention", "is required: an ISO 8601 duration such as P1Y")
		return
	}
	d, err := ParseDuration(r)
	switch {
	case err != nil:
		p.add("retention", "%v", err)
	case d.IsZero():
		p.add("retention", "%q keeps nothing: state how long data is kept", r)
	case approxDays(d) > MaxRetentionYears*365:
		p.add("retention", "%q is longer than %d years", r, MaxRetentionYears)
	}
}

// approxDays is d in days, in floating point so that no component overflows.
func approxDays(d Duration) float64 {
	return 365*float64(d.Years) + 30*float64(d.Months) + 7*float64(d.Weeks) + float64(d.Days) +
		(float64(d.Hours)+(float64(d.Minutes)+float64(d.Seconds)/60)/60)/24
}

func checkLocation(p *problems, l registryapi.Location, box BBox) {
	if len(l.Area) > 0 {
		checkArea(p, l.Area, box)
		return
	}
	if l.Lat == 0 && l.Lon == 0 {
		p.add("location", "is required: a WGS84 point, or an area for a mobile sensor")
		return
	}
	if l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 || math.IsNaN(l.Lat) || math.IsNaN(l.Lon) {
		p.add("location", "%g, %g is not a WGS84 position", l.Lat, l.Lon)
		return
	}
	if !box.IsZero() && !box.Contains(l.Lat, l.Lon) {
		p.add("location", "%g, %g is outside the territory", l.Lat, l.Lon)
	}
	if strings.TrimSpace(l.Address) == "" {
		p.add("location.address", "is required for a sensor at a fixed place")
	}
}

func checkArea(p *problems, ring [][2]float64, box BBox) {
	if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
		p.add("location.area", "is not a closed ring of at least 4 [lon, lat] positions")
	}
	for i, pos := range ring {
		lon, lat := pos[0], pos[1]
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			p.add(fmt.Sprintf("location.area[%d]", i), "%g, %g is not a WGS84 [lon, lat] position", lon, lat)
		} else if !box.IsZero() && !box.Contains(lat, lon) {
			p.add(fmt.Sprintf("location.area[%d]", i), "%g, %g is outside the territory", lon, lat)
		}
	}
}
