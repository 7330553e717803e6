// Package quality reviews the register's quality for its staff: what is
// incomplete, what is silent, what the gateways see that the register does
// not know, what has outlived its planned end of service. [Assess] turns
// the register's entries and what the gateways reported
// (POST /api/v1/gateway/seen) into a [Review], which the administrators'
// page /admin/quality and GET /api/v1/admin/quality show. It has no I/O.
//
// # What it lists
//
//   - Completeness of every entry, drafts included: the publication rules
//     (catalog.CheckPublishable, on the registry's territory) are run, and
//     each problem is listed. The completeness is the share, in percent,
//     of the checked fields ([CheckedFields]: identity, who, why, what,
//     identifiability and legal basis, data, place, lifecycle) that have
//     no problem; 100 means publishable. A published entry below 100 was
//     published under older rules, or imported so.
//   - Silent sensors: active entries (not in maintenance, not retired) that
//     no gateway has reported for longer than their silence threshold —
//     [SilenceFactor] times their longest declared sampling period, at
//     least [MinSilence]; [SilenceWithoutPeriod] when no quantity declares
//     a period — or that no gateway has ever reported.
//   - Unknown ids: sensor ids that published to a gateway without being in
//     its allow-list in the last [UnknownWindow], and that the register
//     still does not feed to the gateway: absent, draft or retired (the
//     status says which). A sensor installed but not yet published shows
//     up here; so does a typo in a device's configuration.
//   - Expired entries: entries in service (active or maintenance) whose
//     active_until has passed.
//   - Stale drafts: drafts nobody has changed for [StaleDraftAge].
//   - The gateways that reported, and when they last did: without any, the
//     silence of sensors says nothing.
package quality

import (
	"slices"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Thresholds of the review.
const (
	SilenceFactor        = 3
	MinSilence           = 10 * time.Minute
	SilenceWithoutPeriod = 24 * time.Hour
	UnknownWindow        = 30 * 24 * time.Hour
	StaleDraftAge        = 30 * 24 * time.Hour
)

// CheckedFields are the top-level fields of an entry (JSON names) that the
// publication rules check; completeness is counted over them.
var CheckedFields = []string{
	"id", "name", "category", "technology", "attached_to", "site", "tags",
	"accountable", "operators", "public_contact", "dpo_contact",
	"purposes", "description",
	"quantities", "data_types", "processing",
	"identifiability", "deidentification_method",
	"legal_basis", "legal_reference", "privacy_notice_url", "art30_record", "dpia_reference",
	"storage", "storage_location", "retention", "access", "open_data_licence", "open_data_url",
	"location",
	"status", "commissioned_at", "decommissioned_at",
}

// Input is what the review is made of.
type Input struct {
	Now       time.Time
	Sensors   []registryapi.Sensor // every entry, drafts included
	Territory catalog.Territory
	// LastSeen is, by sensor id, the latest time a gateway accepted one of
	// its readings.
	LastSeen map[string]time.Time
	// Unknown are the unknown ids the gateways reported (Status is set by
	// Assess).
	Unknown  []UnknownSensor
	Gateways []GatewayReport
}

// Review is the register's quality, as GET /api/v1/admin/quality answers.
type Review struct {
	GeneratedAt time.Time `json:"generated_at"`
	Counts      Counts    `json:"counts"`
	// Entries are every entry, least complete first.
	Entries     []EntryCompleteness `json:"entries"`
	Silent      []SilentSensor      `json:"silent"`
	Unknown     []UnknownSensor     `json:"unknown"`
	Expired     []ExpiredEntry      `json:"expired"`
	StaleDrafts []StaleDraft        `json:"stale_drafts"`
	Gateways    []GatewayReport     `json:"gateways"`
}

// Counts are the numbers at the top of the page.
type Counts struct {
	Entries    int `json:"entries"`
	Complete   int `json:"complete"`   // entries that pass every publication rule
	Incomplete int `json:"incomplete"` // the others
	// PublishedIncomplete are published entries that fail a rule.
	PublishedIncomplete int `json:"published_incomplete"`
	Silent              int `json:"silent"`
	Unknown             int `json:"unknown"`
	Expired             int `json:"expired"`
	StaleDrafts         int `json:"stale_drafts"`
}

// EntryCompleteness is how complete one entry is.
type EntryCompleteness struct {
	ID     string           `json:"id"`
	Name   registryapi.Text `json:"name"`
	Status string           `json:"status"`
	// Completeness is the percentage of CheckedFields without a problem.
	Completeness int                      `json:"completeness"`
	Problems     []registryapi.FieldError `json:"problems"`
}

// SilentSensor is an active sensor that the gateways have not reported for
// longer than its threshold, or ever.
type SilentSensor struct {
	ID     string           `json:"id"`
	Name   registryapi.Text `json:"name"`
	Status string           `json:"status"`
	// LastSeen is the latest reading a gateway accepted; absent: never.
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// ThresholdSeconds is how long the sensor may be silent.
	ThresholdSeconds int64 `json:"threshold_s"`
}

// UnknownSensor is a sensor id that published without being fed to the
// gateways.
type UnknownSensor struct {
	ID string `json:"id"`
	// Status is the entry's status in the register (draft or retired), or
	// empty when the register has no such entry.
	Status   string    `json:"status,omitempty"`
	Count    int64     `json:"count"` // messages refused
	LastSeen time.Time `json:"last_seen"`
	Gateways []string  `json:"gateways"`
}

// ExpiredEntry is an entry in service past its active_until.
type ExpiredEntry struct {
	ID          string           `json:"id"`
	Name        registryapi.Text `json:"name"`
	Status      string           `json:"status"`
	ActiveUntil time.Time        `json:"active_until"`
}

// StaleDraft is a draft nobody has changed for StaleDraftAge.
type StaleDraft struct {
	ID        string           `json:"id"`
	Name      registryapi.Text `json:"name"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// GatewayReport is when a gateway last reported what it saw.
type GatewayReport struct {
	GatewayID  string    `json:"gateway_id"`
	ReportedAt time.Time `json:"reported_at"`
}

// Assess reviews the register.
func Assess(in Input) Review {
	r := Review{
		GeneratedAt: in.Now.UTC(),
		Entries:     []EntryCompleteness{},
		Silent:      []SilentSensor{},
		Unknown:     []UnknownSensor{},
		Expired:     []ExpiredEntry{},
		StaleDrafts: []StaleDraft{},
		Gateways:    []GatewayReport{},
	}
	byID := map[string]registryapi.Sensor{}
	for _, s := range in.Sensors {
		byID[s.ID] = s
		e := Completeness(s, in.Territory)
		r.Entries = append(r.Entries, e)
		if len(e.Problems) == 0 {
			r.Counts.Complete++
		} else {
			r.Counts.Incomplete++
			if catalog.Published(s.Status) {
				r.Counts.PublishedIncomplete++
			}
		}

		if s.Status == registryapi.StatusActive {
			threshold := SilenceThreshold(s)
			seen, ok := in.LastSeen[s.ID]
			if !ok || in.Now.Sub(seen) > threshold {
				x := SilentSensor{ID: s.ID, Name: s.Name, Status: s.Status, ThresholdSeconds: int64(threshold / time.Second)}
				if ok {
					x.LastSeen = &seen
				}
				r.Silent = append(r.Silent, x)
			}
		}
		if catalog.InAllowList(s.Status) && s.ActiveUntil != nil && s.ActiveUntil.Before(in.Now) {
			r.Expired = append(r.Expired, ExpiredEntry{ID: s.ID, Name: s.Name, Status: s.Status, ActiveUntil: *s.ActiveUntil})
		}
		if s.Status == registryapi.StatusDraft && in.Now.Sub(s.UpdatedAt) > StaleDraftAge {
			r.StaleDrafts = append(r.StaleDrafts, StaleDraft{ID: s.ID, Name: s.Name, UpdatedAt: s.UpdatedAt})
		}
	}
	for _, u := range in.Unknown {
		s, known := byID[u.ID]
		if (known && catalog.InAllowList(s.Status)) || in.Now.Sub(u.LastSeen) > UnknownWindow {
			continue
		}
		u.Status = s.Status
		if u.Gateways == nil {
			u.Gateways = []string{}
		}
		r.Unknown = append(r.Unknown, u)
	}
	r.Gateways = append(r.Gateways, in.Gateways...)

	slices.SortStableFunc(r.Entries, func(a, b EntryCompleteness) int {
		if a.Completeness != b.Completeness {
			return a.Completeness - b.Completeness
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(r.Silent, func(a, b SilentSensor) int {
		switch {
		case a.LastSeen == nil && b.LastSeen != nil:
			return -1
		case a.LastSeen != nil && b.LastSeen == nil:
			return 1
		case a.LastSeen != nil && !a.LastSeen.Equal(*b.LastSeen):
			return a.LastSeen.Compare(*b.LastSeen)
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(r.Unknown, func(a, b UnknownSensor) int { return b.LastSeen.Compare(a.LastSeen) })
	slices.SortStableFunc(r.Expired, func(a, b ExpiredEntry) int { return a.ActiveUntil.Compare(b.ActiveUntil) })
	slices.SortStableFunc(r.StaleDrafts, func(a, b StaleDraft) int { return a.UpdatedAt.Compare(b.UpdatedAt) })

	r.Counts.Entries = len(in.Sensors)
	r.Counts.Silent = len(r.Silent)
	r.Counts.Unknown = len(r.Unknown)
	r.Counts.Expired = len(r.Expired)
	r.Counts.StaleDrafts = len(r.StaleDrafts)
	return r
}

// Completeness runs the publication rules on s and counts the checked
// fields without a problem.
func Completeness(s registryapi.Sensor, t catalog.Territory) EntryCompleteness {
	problems := catalog.CheckPublishable(s, t)
	failed := map[string]bool{}
	for _, p := range problems {
		failed[TopField(p.Field)] = true
	}
	total := len(CheckedFields)
	for f := range failed {
		if !slices.Contains(CheckedFields, f) {
			total++ // a rule newer than CheckedFields still counts
		}
	}
	if problems == nil {
		problems = []registryapi.FieldError{}
	}
	return EntryCompleteness{
		ID:           s.ID,
		Name:         s.Name,
		Status:       s.Status,
		Completeness: (100*(total-len(failed)) + total/2) / total,
		Problems:     problems,
	}
}

// TopField returns the top-level field of a problem's field path:
// "quantities[1].unit" → "quantities".
func TopField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// SilenceThreshold is how long s may go without a reading before it counts
// as silent.
func SilenceThreshold(s registryapi.Sensor) time.Duration {
	longest := 0
	for _, q := range s.Quantities {
		longest = max(longest, q.PeriodSeconds)
	}
	if longest == 0 {
		return SilenceWithoutPeriod
	}
	return max(SilenceFactor*time.Duration(longest)*time.Second, MinSilence)
}
