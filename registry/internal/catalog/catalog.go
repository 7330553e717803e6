// Package catalog holds the domain rules of the register over
// [registryapi.Sensor]: which ids and quantity names are valid, which
// lifecycle states are public and which feed the gateway, and, above all,
// whether an entry may be published ([CheckPublishable]), answered with every
// missing or contradictory field at once.
//
// It also provides the ISO 8601 durations ([ParseDuration]) in which entries
// state their retention, for the rest of the registry to reuse.
//
// The package has no I/O: it is pure functions over values, used by the
// store's callers, the demo seeding and the HTTP layer.
package catalog

import (
	"regexp"
	"slices"

	"github.com/civisens/civisens/registry/registryapi"
)

var (
	sensorIDRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)
	quantityNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// ValidSensorID reports whether id is a valid sensor id:
// ^[a-z0-9][a-z0-9-]{2,62}$.
func ValidSensorID(id string) bool { return sensorIDRE.MatchString(id) }

// ValidQuantityName reports whether name is a valid SenML record name for a
// declared quantity: ^[a-z][a-z0-9_]{0,62}$.
func ValidQuantityName(name string) bool { return quantityNameRE.MatchString(name) }

// ValidCategory reports whether c is one of registryapi.Categories.
func ValidCategory(c string) bool { return slices.Contains(registryapi.Categories, c) }

// Statuses lists the lifecycle states, in lifecycle order.
func Statuses() []string {
	return []string{
		registryapi.StatusDraft,
		registryapi.StatusActive,
		registryapi.StatusMaintenance,
		registryapi.StatusRetired,
	}
}

// ValidStatus reports whether s is a lifecycle state.
func ValidStatus(s string) bool { return slices.Contains(Statuses(), s) }

// Published reports whether an entry in state status is shown to the public:
// active, maintenance or retired (a retired sensor stays on the register,
// with its history).
func Published(status string) bool {
	switch status {
	case registryapi.StatusActive, registryapi.StatusMaintenance, registryapi.StatusRetired:
		return true
	}
	return false
}

// InAllowList reports whether the gateway accepts readings from an entry in
// state status: active or maintenance.
func InAllowList(status string) bool {
	switch status {
	case registryapi.StatusActive, registryapi.StatusMaintenance:
		return true
	}
	return false
}

// Identifiabilities lists the identifiability values, from most to least
// identifying.
func Identifiabilities() []string {
	return []string{
		registryapi.Identifiable,
		registryapi.Pseudonymised,
		registryapi.DeidentifiedAtSource,
		registryapi.AggregateOnly,
		registryapi.NoPersonalData,
	}
}

// LegalBases lists the legal bases of GDPR article 6(1), (a) to (f).
func LegalBases() []string {
	return []string{
		registryapi.BasisConsent,
		registryapi.BasisContract,
		registryapi.BasisLegalObligation,
		registryapi.BasisVitalInterests,
		registryapi.BasisPublicTask,
		registryapi.BasisLegitimateInterest,
	}
}

// Roles of the people and programs that change an entry. The public history
// of an entry shows roles, never names.
const (
	RoleSystem        = "system"        // the registry itself (seeding, migrations)
	RoleTechnician    = "technician"    // installs and provisions sensors
	RoleAdministrator = "administrator" // manages the register
	RoleDPO           = "dpo"           // the data protection officer
)
