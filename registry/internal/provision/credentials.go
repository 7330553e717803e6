package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// PasswordBytes is the randomness of an MQTT password: 24 bytes (192
// bits), written as 32 characters of unpadded base64url.
const PasswordBytes = 24

// BridgeUsernamePrefix starts the MQTT username of a firmware bridge: the
// dot cannot appear in a sensor id, so that a bridge's username never
// collides with a sensor's.
const BridgeUsernamePrefix = "bridge."

// BridgeUsername returns the MQTT username of the bridge id.
func BridgeUsername(id string) string { return BridgeUsernamePrefix + id }

// Issued is a credential just issued or rotated: the only time its password
// is known. It is never stored, and logs without the password.
type Issued struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Sensors are the sensors it may publish for: the sensor's own id, or
	// the bridge's assigned sensors.
	Sensors  []string  `json:"sensors"`
	Rotated  bool      `json:"rotated"` // it replaced a previous password, which no longer works
	IssuedAt time.Time `json:"issued_at"`
	// Listed says whether the gateway's view lists it now (a published,
	// not retired, sensor; a bridge not retired); a draft's credential is
	// listed from its publication.
	Listed bool `json:"listed"`
	// HashAlgorithm names the hash the registry keeps and the gateway
	// verifies: "bcrypt".
	HashAlgorithm string `json:"hash_algorithm"`
}

// LogValue logs the credential without its password.
func (i Issued) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", i.Username), slog.Bool("rotated", i.Rotated))
}

// CredentialInfo is what staff see of a credential: never the password,
// never the hash.
type CredentialInfo struct {
	Username  string     `json:"username"`
	CreatedAt time.Time  `json:"created_at"`
	RotatedAt *time.Time `json:"rotated_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// IssuedBy names who issued or last rotated it (an account, or
	// "token:<name>"): staff only, never public.
	IssuedBy string `json:"issued_by,omitempty"`
	// Listed says whether the gateway's view lists it now.
	Listed bool `json:"listed"`
}

func credentialInfo(c store.Credential, ownerListed bool) CredentialInfo {
	return CredentialInfo{Username: c.Username, CreatedAt: c.CreatedAt, RotatedAt: c.RotatedAt, RevokedAt: c.RevokedAt,
		IssuedBy: c.IssuedBy, Listed: ownerListed && !c.Revoked()}
}

// newPassword returns PasswordBytes from crypto/rand as unpadded base64url.
func newPassword() (string, error) {
	b := make([]byte, PasswordBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new MQTT password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// issue makes a password and stores its hash as the credential c.
func (s *Service) issue(ctx context.Context, p auth.Principal, c store.Credential) (Issued, error) {
	password, err := newPassword()
	if err != nil {
		return Issued{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
	if err != nil {
		return Issued{}, fmt.Errorf("hash MQTT password: %w", err)
	}
	c.Hash, c.IssuedBy = string(hash), p.Actor()
	at := s.now().UTC()
	stored, rotated, err := s.st.PutCredential(ctx, c, at)
	if err != nil {
		return Issued{}, err
	}
	out := Issued{Username: stored.Username, Password: password, Rotated: rotated, IssuedAt: at, HashAlgorithm: "bcrypt"}
	s.log.Info("MQTT credential issued", "credential", out, "by", p.Actor())
	return out, nil
}

// IssueCredentials gives the sensor sensorID a new MQTT password: its
// username is the sensor id; the password is returned once, here, and the
// store keeps only its bcrypt hash. When the sensor already has one, it is
// rotated: the old password stops working at once. A draft may get its
// credentials (the technician configures the device before publishing);
// the gateway lists them from publication. A retired sensor gets none.
func (s *Service) IssueCredentials(ctx context.Context, p auth.Principal, sensorID string) (Issued, error) {
	if err := allow(p); err != nil {
		return Issued{}, err
	}
	e, err := s.st.Get(ctx, sensorID)
	if err != nil {
		return Issued{}, err
	}
	if e.Status == registryapi.StatusRetired {
		return Issued{}, invalid(catalog.Problems{problem("status", "credentials.retired")})
	}
	out, err := s.issue(ctx, p, store.Credential{Username: e.ID, SensorID: e.ID})
	if err != nil {
		return Issued{}, err
	}
	out.Sensors, out.Listed = []string{e.ID}, catalog.InAllowList(e.Status)
	return out, nil
}

// RevokeCredentials revokes the MQTT credential of the sensor sensorID: the
// gateway stops listing it at once. IssueCredentials gives a new one.
// store.ErrNoCredential when it has none.
func (s *Service) RevokeCredentials(ctx context.Context, p auth.Principal, sensorID string) error {
	if err := allow(p); err != nil {
		return err
	}
	if _, err := s.st.Get(ctx, sensorID); err != nil {
		return err
	}
	if err := s.st.RevokeCredential(ctx, sensorID, s.now()); err != nil {
		return err
	}
	s.log.Info("MQTT credential revoked", "username", sensorID, "by", p.Actor())
	return nil
}

// Bridge is a firmware bridge, as staff see it.
type Bridge struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Sensors    []string        `json:"sensors"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	RetiredAt  *time.Time      `json:"retired_at,omitempty"`
	Credential *CredentialInfo `json:"credential,omitempty"`
}

func (s *Service) bridgeView(ctx context.Context, b store.Bridge) (Bridge, error) {
	out := Bridge{ID: b.ID, Name: b.Name, Sensors: b.Sensors, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, RetiredAt: b.RetiredAt}
	if out.Sensors == nil {
		out.Sensors = []string{}
	}
	c, err := s.st.CredentialByUsername(ctx, BridgeUsername(b.ID))
	switch {
	case err == nil:
		info := credentialInfo(c, b.RetiredAt == nil)
		out.Credential = &info
	case !errors.Is(err, store.ErrNoCredential):
		return Bridge{}, err
	}
	return out, nil
}

// MaxBridgeName bounds a bridge's name, in characters.
const MaxBridgeName = store.MaxNameLength

// CreateBridge registers the firmware bridge id (a sensor id's shape) named
// name, without sensors nor credentials.
func (s *Service) CreateBridge(ctx context.Context, p auth.Principal, id, name string) (Bridge, error) {
	if err := allow(p); err != nil {
		return Bridge{}, err
	}
	var ps catalog.Problems
	if !catalog.ValidSensorID(id) {
		ps = append(ps, problem("id", "id.invalid", id))
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxBridgeName || strings.ContainsFunc(name, unicode.IsControl) {
		ps = append(ps, problem("name", "bridge.name", MaxBridgeName))
	}
	if err := invalid(ps); err != nil {
		return Bridge{}, err
	}
	b, err := s.st.CreateBridge(ctx, store.Bridge{ID: id, Name: name, CreatedAt: s.now()})
	if errors.Is(err, store.ErrBridgeExists) {
		return Bridge{}, invalid(catalog.Problems{problem("id", "id.taken", id)})
	}
	if err != nil {
		return Bridge{}, err
	}
	s.log.Info("firmware bridge registered", "bridge", id, "by", p.Actor())
	return s.bridgeView(ctx, b)
}

// Bridges returns every firmware bridge, by id.
func (s *Service) Bridges(ctx context.Context, p auth.Principal) ([]Bridge, error) {
	if err := allow(p); err != nil {
		return nil, err
	}
	bs, err := s.st.Bridges(ctx)
	if err != nil {
		return nil, err
	}
	out := []Bridge{}
	for _, b := range bs {
		v, err := s.bridgeView(ctx, b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Bridge returns the firmware bridge id, or store.ErrNoBridge.
func (s *Service) Bridge(ctx context.Context, p auth.Principal, id string) (Bridge, error) {
	if err := allow(p); err != nil {
		return Bridge{}, err
	}
	b, err := s.st.Bridge(ctx, id)
	if err != nil {
		return Bridge{}, err
	}
	return s.bridgeView(ctx, b)
}

// SetBridgeSensors makes sensors the whole list of the sensors that the
// bridge id may publish for (assigning and unassigning at once). Each must
// be an entry of the register, not retired; drafts may be assigned, and
// the gateway accepts them once published.
func (s *Service) SetBridgeSensors(ctx context.Context, p auth.Principal, id string, sensors []string) (Bridge, error) {
	if err := allow(p); err != nil {
		return Bridge{}, err
	}
	if _, err := s.st.Bridge(ctx, id); err != nil {
		return Bridge{}, err
	}
	var ps catalog.Problems
	for i, sensor := range sensors {
		f := fmt.Sprintf("sensors[%d]", i)
		e, err := s.st.Get(ctx, sensor)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ps = append(ps, problem(f, "bridge.sensor_unknown", sensor))
		case err != nil:
			return Bridge{}, err
		case e.Status == registryapi.StatusRetired:
			ps = append(ps, problem(f, "bridge.sensor_retired", sensor))
		}
	}
	if err := invalid(ps); err != nil {
		return Bridge{}, err
	}
	b, err := s.st.SetBridgeSensors(ctx, id, sensors, s.now())
	if err != nil {
		return Bridge{}, err
	}
	s.log.Info("firmware bridge sensors set", "bridge", id, "sensors", len(b.Sensors), "by", p.Actor())
	return s.bridgeView(ctx, b)
}

// IssueBridgeCredentials gives the bridge id a new MQTT password, as
// IssueCredentials does for a sensor; its username is BridgeUsername(id).
func (s *Service) IssueBridgeCredentials(ctx context.Context, p auth.Principal, id string) (Issued, error) {
	if err := allow(p); err != nil {
		return Issued{}, err
	}
	b, err := s.st.Bridge(ctx, id)
	if err != nil {
		return Issued{}, err
	}
	if b.RetiredAt != nil {
		return Issued{}, invalid(catalog.Problems{problem("id", "credentials.bridge_off")})
	}
	out, err := s.issue(ctx, p, store.Credential{Username: BridgeUsername(id), BridgeID: id})
	if err != nil {
		return Issued{}, err
	}
	out.Sensors, out.Listed = b.Sensors, true
	if out.Sensors == nil {
		out.Sensors = []string{}
	}
	return out, nil
}

// RevokeBridgeCredentials revokes the MQTT credential of the bridge id.
func (s *Service) RevokeBridgeCredentials(ctx context.Context, p auth.Principal, id string) error {
	if err := allow(p); err != nil {
		return err
	}
	if _, err := s.st.Bridge(ctx, id); err != nil {
		return err
	}
	if err := s.st.RevokeCredential(ctx, BridgeUsername(id), s.now()); err != nil {
		return err
	}
	s.log.Info("MQTT credential revoked", "username", BridgeUsername(id), "by", p.Actor())
	return nil
}
