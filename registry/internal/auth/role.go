package auth

import (
	"fmt"
	"slices"
)

// Role says what a principal may do.
type Role string

// The roles. Their strings are stored in the database and shown in the
// public history of entries (as a role, never as a name).
const (
	RoleAdministrator Role = "administrator"  // manages the register, accounts and tokens
	RoleTechnician    Role = "technician"     // installs and provisions sensors
	RoleEnergyManager Role = "energy_manager" // follows the energy of public buildings
	RoleGateway       Role = "gateway"        // gateways and firmware bridges, by API token only
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleAdministrator, RoleTechnician, RoleEnergyManager, RoleGateway}
}

// AccountRoles lists the roles of people's accounts.
func AccountRoles() []Role {
	return []Role{RoleAdministrator, RoleTechnician, RoleEnergyManager}
}

// TokenRoles lists the roles an API token may have: the gateway's, and the
// technician's for scripts and provisioning tools.
func TokenRoles() []Role {
	return []Role{RoleGateway, RoleTechnician}
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// ForAccount reports whether a person's account may have role r.
func (r Role) ForAccount() bool { return slices.Contains(AccountRoles(), r) }

// ForToken reports whether an API token may have role r.
func (r Role) ForToken() bool { return slices.Contains(TokenRoles(), r) }

// ParseRole returns the role named s, or an error naming the roles.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("%q is not a role (want one of %v)", s, Roles())
	}
	return r, nil
}

// How a principal was authenticated.
const (
	ViaSession = "session" // a person, by the session cookie
	ViaToken   = "token"   // a program, by an API token (Authorization: Bearer)
)

// Principal is who makes a request.
type Principal struct {
	// AccountID is the person's account; 0 for an API token.
	AccountID int64
	// Username is the person's user name; empty for an API token.
	Username string
	Role     Role
	// Via is ViaSession or ViaToken.
	Via string
	// TokenID and TokenName name the API token; zero for a session.
	TokenID   int64
	TokenName string
}

// Actor names the principal in the register's private records (the
// "actor" of a version, never shown publicly): the user name, or
// "token:<name>" for an API token.
func (p Principal) Actor() string {
	if p.Via == ViaToken {
		return "token:" + p.TokenName
	}
	return p.Username
}

// Is reports whether p has one of roles.
func (p Principal) Is(roles ...Role) bool { return slices.Contains(roles, p.Role) }
