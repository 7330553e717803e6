package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// Store is what the service needs of the register's store; *store.Store
// provides it.
type Store interface {
	Get(ctx context.Context, id string) (registryapi.Sensor, error)
	List(ctx context.Context, statuses ...string) ([]registryapi.Sensor, error)
	Versions(ctx context.Context, id string) ([]store.Version, error)
	Create(ctx context.Context, s registryapi.Sensor, ch store.Change) (registryapi.Sensor, error)
	Update(ctx context.Context, s registryapi.Sensor, ch store.Change) (registryapi.Sensor, error)

	PutCredential(ctx context.Context, c store.Credential, at time.Time) (store.Credential, bool, error)
	CredentialByUsername(ctx context.Context, username string) (store.Credential, error)
	RevokeCredential(ctx context.Context, username string, at time.Time) error

	CreateBridge(ctx context.Context, b store.Bridge) (store.Bridge, error)
	Bridge(ctx context.Context, id string) (store.Bridge, error)
	Bridges(ctx context.Context) ([]store.Bridge, error)
	SetBridgeSensors(ctx context.Context, id string, sensors []string, at time.Time) (store.Bridge, error)
}

// Kinds of errors of the service, besides the store's (store.ErrNotFound,
// store.ErrConflict, store.ErrNoBridge, store.ErrNoCredential), which it
// returns wrapped; callers decide with errors.Is.
var (
	// ErrForbidden: the principal's role may not provision.
	ErrForbidden = errors.New("this role may not provision sensors")
	// ErrInvalid: the request breaks a rule; the error is an *InvalidError
	// that lists every problem.
	ErrInvalid = errors.New("invalid request")
)

// InvalidError lists every problem of a refused request, field by field,
// with stable codes, to be put in the request's language
// (Problems.In(lang)).
type InvalidError struct {
	Problems catalog.Problems
}

func (e *InvalidError) Error() string { return "invalid: " + e.Problems.Error() }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// invalid returns an *InvalidError of problems, or nil when there are none.
func invalid(problems catalog.Problems) error {
	if len(problems) == 0 {
		return nil
	}
	return &InvalidError{Problems: problems}
}

func problem(field, code string, args ...any) catalog.Problem {
	return catalog.Problem{Field: field, Code: code, Args: args}
}

// Limits.
const (
	// MaxReason bounds a reason, in characters.
	MaxReason = 500
	// DefaultBcryptCost is the bcrypt cost of MQTT passwords (see the
	// package comment).
	DefaultBcryptCost = 10
)

// The reasons recorded when a draft's change gives none (they are shown in
// the entry's public history once it is published; French, the register's
// language).
const (
	ReasonCreated    = "Création du brouillon"
	ReasonDuplicated = "Brouillon créé par copie d'une fiche existante"
	ReasonDraftEdit  = "Brouillon complété"
	ReasonPublished  = "Mise en service"
)

// Options configure a Service. Zero fields take the default documented on
// each.
type Options struct {
	// Territory is what publication checks entries against (bounding box,
	// functional contact), and whose name and contact templates fill in.
	Territory catalog.Territory
	// Now is the clock; default time.Now.
	Now func() time.Time
	// BcryptCost is the cost of the MQTT passwords' hashes; default
	// DefaultBcryptCost (10).
	BcryptCost int
	// Log receives a line per credential issued or revoked (never the
	// password); default: discard.
	Log *slog.Logger
}

// Service provisions sensors: drafts, updates, publication, lifecycle,
// MQTT credentials and firmware bridges. It is safe for concurrent use.
type Service struct {
	st         Store
	territory  catalog.Territory
	now        func() time.Time
	bcryptCost int
	log        *slog.Logger
}

// New returns the service over st.
func New(st Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = DefaultBcryptCost
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, territory: o.Territory, now: o.Now, bcryptCost: o.BcryptCost, log: o.Log.With("component", "provision")}
}

// Territory returns the territory entries are checked against.
func (s *Service) Territory() catalog.Territory { return s.territory }

// allow refuses the principals that may not provision: only technicians
// and administrators may.
func allow(p auth.Principal) error {
	if !p.Is(auth.RoleTechnician, auth.RoleAdministrator) {
		return fmt.Errorf("%s: %w", p.Role, ErrForbidden)
	}
	return nil
}

// change is the store.Change of p's write: the role (public), the account
// (private), the reason, now.
func (s *Service) change(p auth.Principal, reason string) store.Change {
	return store.Change{ActorRole: string(p.Role), Actor: p.Actor(), Reason: reason, At: s.now()}
}

// checkReason checks a reason: required when the entry is published.
func checkReason(reason string, published bool) catalog.Problems {
	switch {
	case published && strings.TrimSpace(reason) == "":
		return catalog.Problems{problem("reason", "reason.required")}
	case utf8.RuneCountInString(reason) > MaxReason:
		return catalog.Problems{problem("reason", "reason.too_long", MaxReason)}
	}
	return nil
}

// checkDraft checks what every entry, even a draft, must be: a valid id and
// category, and no decommissioning date before retirement. The rest waits
// for publication.
func checkDraft(e registryapi.Sensor) catalog.Problems {
	var ps catalog.Problems
	if !catalog.ValidSensorID(e.ID) {
		ps = append(ps, problem("id", "id.invalid", e.ID))
	}
	if !catalog.ValidCategory(e.Category) {
		ps = append(ps, problem("category", "category.invalid", e.Category, strings.Join(registryapi.Categories, ", ")))
	}
	if e.DecommissionedAt != nil && e.Status != registryapi.StatusRetired {
		ps = append(ps, problem("decommissioned_at", "decommissioned_at.not_retired"))
	}
	return ps
}

// merge returns ps with the problems of more whose field ps does not
// name yet: one problem per field is enough to fix it.
func merge(ps, more catalog.Problems) catalog.Problems {
	named := map[string]bool{}
	for _, p := range ps {
		named[p.Field] = true
	}
	for _, p := range more {
		if !named[p.Field] {
			ps = append(ps, p)
		}
	}
	return ps
}

// normalize gives an entry's lists one JSON form ([] rather than null),
// and clears what is never taken from a client: the bookkeeping fields.
func normalize(e registryapi.Sensor) registryapi.Sensor {
	for _, l := range []*[]string{&e.Technology, &e.Purposes, &e.DataTypes, &e.Processing, &e.Storage, &e.Access} {
		if *l == nil {
			*l = []string{}
		}
	}
	if e.Quantities == nil {
		e.Quantities = []registryapi.Quantity{}
	}
	if len(e.Tags) == 0 {
		e.Tags = nil
	}
	e.UpdatedAt, e.URL = time.Time{}, ""
	return e
}

// NewDraft returns what a new draft of category starts from, without
// storing it: the category's template (quantities, DTPR facets,
// identifiability, retention) and the territory's accountable organisation
// and functional contact. The provisioning pages show it as the empty
// form; CreateDraft stores it.
func (s *Service) NewDraft(category string) (registryapi.Sensor, error) {
	t, ok := TemplateFor(category)
	if !ok {
		return registryapi.Sensor{}, invalid(catalog.Problems{problem("category", "template.unknown", category, strings.Join(TemplateCategories(), ", "))})
	}
	e := applyTerritory(t.Apply(registryapi.Sensor{Status: registryapi.StatusDraft}), s.territory)
	return normalize(e), nil
}

// FromTemplate returns e with its empty fields filled from the template of
// category and from the territory, as NewDraft does. A category that e
// names differently, or that has no template, is refused.
func (s *Service) FromTemplate(e registryapi.Sensor, category string) (registryapi.Sensor, error) {
	t, ok := TemplateFor(category)
	switch {
	case !ok:
		return registryapi.Sensor{}, invalid(catalog.Problems{problem("template", "template.unknown", category, strings.Join(TemplateCategories(), ", "))})
	case e.Category != "" && e.Category != category:
		return registryapi.Sensor{}, invalid(catalog.Problems{problem("category", "template.category", category, e.Category)})
	}
	return applyTerritory(t.Apply(e), s.territory), nil
}

// CreateDraft stores e as a new draft, and returns it as stored (version
// 1). An empty id is chosen by SuggestID from the category and the site;
// the entry needs only a valid category; everything else may wait for
// publication. The reason is optional (default ReasonCreated).
func (s *Service) CreateDraft(ctx context.Context, p auth.Principal, e registryapi.Sensor, reason string) (registryapi.Sensor, error) {
	if err := allow(p); err != nil {
		return registryapi.Sensor{}, err
	}
	var ps catalog.Problems
	if e.Status != "" && e.Status != registryapi.StatusDraft {
		ps = append(ps, problem("status", "status.use_lifecycle", e.Status, registryapi.StatusDraft))
	}
	if e.ID == "" && catalog.ValidCategory(e.Category) {
		id, err := s.SuggestID(ctx, e.Category, e.Site)
		if err != nil {
			return registryapi.Sensor{}, err
		}
		e.ID = id
	}
	e.Status, e.Version = registryapi.StatusDraft, 0
	ps = append(ps, checkDraft(e)...)
	ps = append(ps, checkReason(reason, false)...)
	if len(ps) == 0 {
		if _, err := s.st.Get(ctx, e.ID); err == nil {
			ps = append(ps, problem("id", "id.taken", e.ID))
		} else if !errors.Is(err, store.ErrNotFound) {
			return registryapi.Sensor{}, err
		}
	}
	if err := invalid(ps); err != nil {
		return registryapi.Sensor{}, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = ReasonCreated
	}
	out, err := s.st.Create(ctx, normalize(e), s.change(p, reason))
	if errors.Is(err, store.ErrExists) { // created by someone else meanwhile
		return registryapi.Sensor{}, invalid(catalog.Problems{problem("id", "id.taken", e.ID)})
	}
	return out, err
}

// Duplicate creates a draft newID from the entry fromID (any status): a
// copy of everything but the id, the lifecycle (status, version, dates of
// commissioning, decommissioning and planned end),
// the location and the credentials, which are the new sensor's own. An
// empty newID is chosen by SuggestID. The reason is optional.
func (s *Service) Duplicate(ctx context.Context, p auth.Principal, fromID, newID, reason string) (registryapi.Sensor, error) {
	if err := allow(p); err != nil {
		return registryapi.Sensor{}, err
	}
	from, err := s.st.Get(ctx, fromID)
	if err != nil {
		return registryapi.Sensor{}, err
	}
	e := from
	e.ID = newID
	e.Status, e.Version, e.CommissionedAt, e.DecommissionedAt, e.ActiveUntil = registryapi.StatusDraft, 0, nil, nil, nil
	e.Location = registryapi.Location{}
	if strings.TrimSpace(reason) == "" {
		reason = ReasonDuplicated
	}
	return s.CreateDraft(ctx, p, e, reason)
}

// Update writes entry as the next version of the entry id, made from
// version expectedVersion: when the entry has moved on since, it fails with
// store.ErrConflict and writes nothing. The id, status and decommissioning
// date are not changed by an update (Publish and SetStatus change the
// lifecycle); an entry sent without them keeps them. A published entry
// needs a reason and must stay publishable (every problem is listed); its
// category does not change. A draft needs only a valid category. An update
// that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, p auth.Principal, id string, entry registryapi.Sensor, reason string, expectedVersion int) (registryapi.Sensor, error) {
	if err := allow(p); err != nil {
		return registryapi.Sensor{}, err
	}
	cur, err := s.st.Get(ctx, id)
	if err != nil {
		return registryapi.Sensor{}, err
	}
	var ps catalog.Problems
	if expectedVersion <= 0 {
		return registryapi.Sensor{}, invalid(catalog.Problems{problem("version", "version.required")})
	}
	if expectedVersion != cur.Version {
		return registryapi.Sensor{}, fmt.Errorf("update %s from version %d: %w (now at version %d)", id, expectedVersion, store.ErrConflict, cur.Version)
	}
	if entry.ID != "" && entry.ID != id {
		ps = append(ps, problem("id", "id.changed", entry.ID, id))
	}
	if entry.Status != "" && entry.Status != cur.Status {
		ps = append(ps, problem("status", "status.use_lifecycle", entry.Status, cur.Status))
	}
	if entry.DecommissionedAt != nil && (cur.DecommissionedAt == nil || !entry.DecommissionedAt.Equal(*cur.DecommissionedAt)) {
		ps = append(ps, problem("decommissioned_at", "decommissioned_at.not_retired"))
	}
	published := catalog.Published(cur.Status)
	if published && entry.Category != cur.Category {
		ps = append(ps, problem("category", "category.published"))
	}
	ps = append(ps, checkReason(reason, published)...)
	entry.ID, entry.Status, entry.Version, entry.DecommissionedAt = id, cur.Status, cur.Version, cur.DecommissionedAt
	entry = normalize(entry)
	ps = merge(ps, checkDraft(entry))
	if published {
		ps = merge(ps, catalog.Publishable(entry, s.territory))
	}
	if err := invalid(ps); err != nil {
		return registryapi.Sensor{}, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = ReasonDraftEdit
	}
	return s.st.Update(ctx, entry, s.change(p, reason))
}

// Publish publishes the draft id: SetStatus(active). The reason is
// optional (default ReasonPublished).
func (s *Service) Publish(ctx context.Context, p auth.Principal, id, reason string, expectedVersion int) (registryapi.Sensor, error) {
	return s.SetStatus(ctx, p, id, registryapi.StatusActive, reason, expectedVersion)
}

// SetStatus moves the entry id to the lifecycle state status, as
// catalog.CheckTransition allows: a draft to active (publication: only when
// catalog.Publishable finds nothing, the commissioning date set to today
// when empty; reason optional), an active entry to maintenance or retired,
// a maintained one back to active or retired (reason required; retiring
// sets the decommissioning date to now when empty). expectedVersion, when
// not 0, is the version the move was decided on (store.ErrConflict when
// the entry has moved on).
func (s *Service) SetStatus(ctx context.Context, p auth.Principal, id, status, reason string, expectedVersion int) (registryapi.Sensor, error) {
	if err := allow(p); err != nil {
		return registryapi.Sensor{}, err
	}
	cur, err := s.st.Get(ctx, id)
	if err != nil {
		return registryapi.Sensor{}, err
	}
	if expectedVersion != 0 && expectedVersion != cur.Version {
		return registryapi.Sensor{}, fmt.Errorf("%s %s from version %d: %w (now at version %d)", status, id, expectedVersion, store.ErrConflict, cur.Version)
	}
	var ps catalog.Problems
	published := catalog.Published(cur.Status)
	move := true
	if status == cur.Status {
		ps, move = append(ps, problem("status", "status.unchanged", status)), false
	} else if pb := catalog.CheckTransition(cur.Status, status); pb != nil {
		ps, move = append(ps, *pb), false
	}
	ps = append(ps, checkReason(reason, published)...)
	next := cur
	next.Status = status
	now := s.now().UTC()
	if move && !published { // the publication of a draft: every rule, with the other problems
		if next.CommissionedAt == nil {
			day := now.Truncate(time.Second)
			next.CommissionedAt = &day
		}
		ps = merge(ps, catalog.Publishable(next, s.territory))
		if strings.TrimSpace(reason) == "" {
			reason = ReasonPublished
		}
	}
	if err := invalid(ps); err != nil {
		return registryapi.Sensor{}, err
	}
	if status == registryapi.StatusRetired && next.DecommissionedAt == nil {
		end := now.Truncate(time.Second)
		next.DecommissionedAt = &end
	}
	return s.st.Update(ctx, next, s.change(p, reason))
}

// Entries returns the entries whose status is one of statuses (every entry
// when none is given), drafts included, ordered by id.
func (s *Service) Entries(ctx context.Context, p auth.Principal, statuses ...string) ([]registryapi.Sensor, error) {
	if err := allow(p); err != nil {
		return nil, err
	}
	var ps catalog.Problems
	for i, st := range statuses {
		if !catalog.ValidStatus(st) {
			ps = append(ps, problem(fmt.Sprintf("status[%d]", i), "status.invalid", st, strings.Join(catalog.Statuses(), ", ")))
		}
	}
	if err := invalid(ps); err != nil {
		return nil, err
	}
	out, err := s.st.List(ctx, statuses...)
	if out == nil {
		out = []registryapi.Sensor{}
	}
	return out, err
}

// Entry is the staff's view of one entry: the entry, whatever its status;
// its history with who changed it (the account too: staff only); what it
// may become; what publication would refuse; its MQTT credential (never the
// password nor the hash); and the bridges that may publish for it.
type Entry struct {
	Sensor registryapi.Sensor `json:"sensor"`
	// History, oldest first.
	History []HistoryItem `json:"history"`
	// Transitions are the states SetStatus may move it to.
	Transitions []string `json:"transitions"`
	// Missing lists what catalog.Publishable finds wrong with the entry
	// as it would be published: empty when it may be published (or stay
	// published), in the language asked.
	Missing    []registryapi.FieldError `json:"missing"`
	Credential *CredentialInfo          `json:"credential,omitempty"`
	Bridges    []string                 `json:"bridges"`
}

// HistoryItem is one version of an entry, for staff.
type HistoryItem struct {
	Version   int       `json:"version"`
	ChangedAt time.Time `json:"changed_at"`
	Role      string    `json:"role"`
	Actor     string    `json:"actor"` // the account or API token; staff only, never public
	Reason    string    `json:"reason"`
	Status    string    `json:"status"` // the entry's status after this version
	// Changes are the JSON names of the changed fields; empty for the
	// creation.
	Changes []string `json:"changes"`
	// Summary says what changed, in words, in the language asked.
	Summary string `json:"summary"`
}

// Entry returns the staff's view of the entry id, in lang ("fr", "en").
func (s *Service) Entry(ctx context.Context, p auth.Principal, id, lang string) (Entry, error) {
	if err := allow(p); err != nil {
		return Entry{}, err
	}
	e, err := s.st.Get(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	versions, err := s.st.Versions(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	out := Entry{Sensor: e, Transitions: catalog.Transitions(e.Status), Bridges: []string{}}
	if out.Transitions == nil {
		out.Transitions = []string{}
	}
	for _, v := range versions {
		item := HistoryItem{Version: v.Version, ChangedAt: v.ChangedAt, Role: v.ActorRole, Actor: v.Actor,
			Reason: v.Reason, Status: v.Sensor.Status, Changes: []string{}}
		if v.Summary == store.SummaryCreated {
			item.Summary = catalog.Message(lang, "history.created")
		} else {
			for _, f := range strings.Split(v.Summary, ", ") {
				if f != "" {
					item.Changes = append(item.Changes, f)
				}
			}
			item.Summary = catalog.DescribeChanges(lang, v.Summary)
		}
		out.History = append(out.History, item)
	}
	check := e
	if !catalog.Published(e.Status) {
		check.Status = registryapi.StatusActive
		if check.CommissionedAt == nil { // publication sets it
			now := s.now().UTC()
			check.CommissionedAt = &now
		}
	}
	out.Missing = catalog.Publishable(check, s.territory).In(lang)
	c, err := s.st.CredentialByUsername(ctx, e.ID)
	switch {
	case err == nil:
		info := credentialInfo(c, catalog.InAllowList(e.Status))
		out.Credential = &info
	case !errors.Is(err, store.ErrNoCredential):
		return Entry{}, err
	}
	bridges, err := s.st.Bridges(ctx)
	if err != nil {
		return Entry{}, err
	}
	for _, b := range bridges {
		if b.RetiredAt == nil && slices.Contains(b.Sensors, e.ID) {
			out.Bridges = append(out.Bridges, b.ID)
		}
	}
	return out, nil
}
