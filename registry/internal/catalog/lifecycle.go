package catalog

import (
	"strings"

	"github.com/civisens/civisens/registry/registryapi"
)

// The lifecycle of an entry:
//
//	draft ──publish──▶ active ◀──▶ maintenance
//	                     │              │
//	                     └──▶ retired ◀─┘   (final; stays public, marked so)
//
// A draft is published once: it becomes active, and only when
// [Publishable] finds no problem. An active entry goes into maintenance and
// back; an active or maintained entry is retired, and a retired entry stays
// retired and public. A published entry never becomes a draft again, and an
// entry is never deleted: its versions are the public history, and its id,
// printed on its sign, is never given to another sensor. A draft that will
// not be installed simply stays a draft (never public), to be reused.
//
// [CheckTransition] is the one rule, used by provisioning (package
// provision) and by imports (package importer).

// Transitions returns the states an entry in state from may move to, in
// lifecycle order: the moves [CheckTransition] allows.
func Transitions(from string) []string {
	switch from {
	case registryapi.StatusDraft:
		return []string{registryapi.StatusActive}
	case registryapi.StatusActive:
		return []string{registryapi.StatusMaintenance, registryapi.StatusRetired}
	case registryapi.StatusMaintenance:
		return []string{registryapi.StatusActive, registryapi.StatusRetired}
	}
	return nil
}

// CheckTransition says why an entry may not move from one lifecycle state
// to another, as a problem of the field "status", or returns nil when it
// may. Staying in the same state is no move, and is allowed (an import
// that keeps the state; provisioning refuses it on its own, with
// "status.unchanged").
func CheckTransition(from, to string) *Problem {
	bad := func(code string, args ...any) *Problem {
		return &Problem{Field: "status", Code: code, Args: args}
	}
	switch {
	case !ValidStatus(to):
		return bad("status.invalid", to, strings.Join(Statuses(), ", "))
	case from == to:
		return nil
	case from == registryapi.StatusRetired:
		return bad("status.retired_final")
	case to == registryapi.StatusDraft:
		return bad("status.unpublish", from)
	case from == registryapi.StatusDraft && to != registryapi.StatusActive:
		return bad("status.publish_first", to)
	}
	return nil
}
