// Package provision is how technicians and administrators provision
// sensors: it creates drafts (from scratch, from a category's template, or
// by copying a similar sensor), updates them, publishes them, moves them
// through their lifecycle, issues and rotates their MQTT credentials, and
// registers firmware bridges. The JSON API (package httpapi, provision.go)
// uses it, and so do the technicians' HTML pages: every rule is here, once,
// and each method takes the [auth.Principal] who acts, so that the role,
// the account and the reason of every change are recorded the same way
// whatever the client.
//
// # Who may
//
// Technicians and administrators ([auth.RoleTechnician],
// [auth.RoleAdministrator]); any other principal gets [ErrForbidden]. The
// HTTP layer checks the role first; the service checks it again.
//
// # Errors
//
// A refused request is an [*InvalidError] (errors.Is(err, [ErrInvalid]))
// that lists every problem at once, field by field (JSON paths such as
// "name.en", "quantities[1].unit", or "reason", "version"), each with a
// stable code from package catalog's fr/en catalogue; Problems.In(lang)
// puts them in the request's language. The store's kinds come through
// wrapped: store.ErrNotFound (no such entry), store.ErrConflict (the entry
// moved on since the version the change was made from), store.ErrNoBridge,
// store.ErrNoCredential.
//
// # Drafts
//
// [Service.CreateDraft] stores a draft that needs only a category: the id,
// when not given, is suggested by [Service.SuggestID] from the category and
// the site ("air-gare-02": the category's prefix, the site's [Slug], the
// first free number). [Service.NewDraft] and [Service.FromTemplate] fill an
// entry from its category's [Template] — the quantities with their SenML
// units, plausible ranges, sampling periods and fr/en labels, and the
// usual DTPR technology, purposes, data types, processing, storage and
// access, identifiability (except for parking, where it is decided per
// sensor) and retention — and from the territory (the accountable
// organisation, a public authority, and the functional contact), so that a
// technician only adds the name, the place and what is particular.
// The template also gives a plain-language description to adapt.
// [Service.Prefill] then fills what the sensors of one organisation and
// category share — the accountable organisation, operators, contacts,
// storage location, legal block, open-data settings — from the published
// entry of the same category changed last, and says which entry and
// fields it took, for the technician to review: with both, the
// technicians' short form needs only the sensor's names, site, support and
// place to be publishable.
// [Service.Duplicate] copies an existing entry into a new draft, but for
// its id, lifecycle, location and credentials.
//
// # Lifecycle
//
// The states and moves are catalog's ([catalog.CheckTransition]):
//
//	draft ──publish──▶ active ◀──▶ maintenance
//	                     │              │
//	                     └──▶ retired ◀─┘   (final; stays public, marked so)
//
// [Service.Publish] (or [Service.SetStatus] to active) publishes a draft
// only when [catalog.Publishable] finds nothing wrong, answering every
// problem at once otherwise; it sets the commissioning date to today when
// the entry has none. Retiring sets the decommissioning date. A published
// entry never becomes a draft again, a retired one stays retired, and
// nothing is deleted: versions are append-only (the public history), and an
// id, printed on the sensor's sign, is never reused. A draft that will not
// be installed stays a draft, never public, until it is reused.
//
// Every change is a new version with who (the role, shown publicly; the
// account or API token, kept private), when, why and what changed (the
// changed fields, which the history says in words, in French and English:
// [catalog.DescribeChanges]). The reason is required for every change to a
// published entry (updates, maintenance, retirement); a draft's changes
// may omit it and get a default (ReasonCreated, ReasonDraftEdit,
// ReasonPublished…). [Service.Update] is optimistic: it names the version
// it was made from, and fails with store.ErrConflict when the entry has
// moved on. An update never changes the id, the status or the
// decommissioning date, nor the category of a published entry (it names
// the entry's measurements in InfluxDB); a published entry must stay
// publishable.
//
// # MQTT credentials
//
// [Service.IssueCredentials] gives a sensor its MQTT account: the username
// is the sensor id, the password [PasswordBytes] (24) random bytes from
// crypto/rand as unpadded base64url — 32 characters, 192 bits — returned
// once in [Issued] and never stored nor logged. The store keeps its bcrypt
// hash (cost [DefaultBcryptCost], 10: "$2a$10$…") in mqtt_credentials.
// Issuing again rotates: the hash is replaced in the same write, so the old
// password stops working at the gateway's next allow-list pull (the view's
// ETag changes at once). [Service.RevokeCredentials] revokes. A draft may
// get credentials (the device is configured before publication); the
// gateway's view lists them once the sensor is active or in maintenance,
// and never for a draft or a retired sensor.
//
// Why bcrypt and not argon2id, which the registry uses for people's
// passwords: the gateway verifies these hashes on a Raspberry Pi at every
// MQTT CONNECT, and after a power or network cut every sensor of the town
// reconnects at once. argon2id's strength is its memory cost (19 MiB per
// verification at OWASP's minimum): a hundred simultaneous CONNECTs would
// ask a Pi Zero for 1.9 GB, or queue for seconds. bcrypt needs 4 KiB per
// verification; at cost 10 it takes about 65 ms on a server core (measured),
// and some hundreds of ms on a Pi's — CPU time, which a reconnection storm
// queues for without running out of memory; and the gateway can remember a
// successful verification (username → SHA-256 of the password) until the
// hash changes, so that a sensor's reconnections cost one bcrypt each per
// rotation. Memory hardness protects
// weak, human-chosen passwords against offline guessing; these are 192-bit
// random secrets that no guessing reaches, so bcrypt's work factor is there
// only to make a stolen allow-list copy (kept on the gateway's SD card)
// useless, which it does. bcrypt is also what MQTT brokers' auth plugins
// commonly read, and golang.org/x/crypto/bcrypt is pure Go (CGO_ENABLED=0).
// Passwords stay far below bcrypt's 72-byte limit.
//
// # Firmware bridges
//
// A firmware bridge (one program that publishes for several sensors: a
// LoRaWAN network server's, a Zigbee2MQTT's) is registered apart from the
// sensors ([Service.CreateBridge]: an id of a sensor id's shape, a name),
// is assigned the sensors it may publish for ([Service.SetBridgeSensors]
// replaces the whole list), and gets its own credential
// ([Service.IssueBridgeCredentials]) whose username is
// [BridgeUsername](id) = "bridge.{id}" — never a sensor's. The gateway's
// view lists it with those of its sensors that are active or in
// maintenance.
//
// # The gateway's view
//
// The store answers it (store.GatewayView) from one snapshot: the
// published sensors the gateway accepts (active, maintenance), and the live
// credential hashes — each sensor's own, each bridge's with its sensors —
// with generated_at the time of the latest change of any of them, so that
// its ETag changes the moment an entry is published, put in maintenance,
// retired, or its credentials rotated or revoked, and only then.
package provision
