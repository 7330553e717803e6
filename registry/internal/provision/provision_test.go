package provision_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

var tech = auth.Principal{Role: auth.RoleTechnician, Via: auth.ViaSession, AccountID: 3, Username: "theo"}

func service(t *testing.T) (*provision.Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := demo.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	return provision.New(st, provision.Options{Territory: demo.Territory()}), st
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Gare SNCF – Quai 2":       "gare-sncf-quai-2",
		"  Hôtel-de-Ville  ":       "hotel-de-ville",
		"Œuvre d'Ærø":              "oeuvre-d-aero",
		"école_Jules__Ferry!!":     "ecole-jules-ferry",
		"'; DROP TABLE sensors --": "drop-table-sensors",
		"":                         "",
	} {
		if got := provision.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSuggestID(t *testing.T) {
	s, _ := service(t)
	ctx := context.Background()
	for _, tt := range []struct{ category, site, want string }{
		{"air", "gare", "air-gare-02"}, // air-gare-01 is the demo's
		{"air", "Gare routière", "air-gare-routiere-01"},
		{"parking", "parking-gare", "parking-gare-03"}, // the prefix is not repeated
		{"lighting", "Rue de la Lise", "eclairage-rue-de-la-lise-01"},
		{"energy", "", "energie-01"},
		{"other", "x", "capteur-x-01"},
		{"air", strings.Repeat("très long nom ", 10), ""},
	} {
		got, err := s.SuggestID(ctx, tt.category, tt.site)
		if err != nil || !catalog.ValidSensorID(got) || (tt.want != "" && got != tt.want) {
			t.Errorf("SuggestID(%s, %q) = %q, %v; want %q", tt.category, tt.site, got, err, tt.want)
		}
	}
}

// Every template is valid against the rules and the DTPR vocabulary: a
// draft made from it, with what a technician adds, is publishable.
func TestTemplatesMakePublishableEntries(t *testing.T) {
	s, _ := service(t)
	v := dtpr.Device()
	for _, tm := range provision.Templates() {
		if !catalog.ValidCategory(tm.Category) || tm.Label.FR == "" || tm.Label.EN == "" {
			t.Errorf("template %+v", tm)
		}
		for _, q := range tm.Quantities {
			if !catalog.ValidQuantityName(q.Name) || !catalog.ValidUnit(q.Unit) || q.Min == nil || q.Max == nil || *q.Min >= *q.Max ||
				q.PeriodSeconds <= 0 || q.Label.FR == "" || q.Label.EN == "" {
				t.Errorf("%s: quantity %+v", tm.Category, q)
			}
		}
		for cat, ids := range map[string][]string{dtpr.Tech: tm.Technology, dtpr.Purpose: tm.Purposes, dtpr.Data: tm.DataTypes,
			dtpr.Process: tm.Processing, dtpr.Storage: tm.Storage, dtpr.Access: tm.Access} {
			for _, id := range ids {
				if !v.Has(cat, id) {
					t.Errorf("%s: %q is not a %s element", tm.Category, id, cat)
				}
			}
		}
		e, err := s.NewDraft(tm.Category)
		if err != nil {
			t.Fatal(err)
		}
		e.ID, e.Site, e.Status = "x-"+tm.Category+"-01", "mairie", registryapi.StatusActive
		e.Name = registryapi.Text{FR: "Nom", EN: "Name"}
		e.AttachedTo = registryapi.Text{FR: "Mât", EN: "Pole"}
		e.Description = registryapi.Text{FR: "Pourquoi", EN: "Why"}
		e.StorageLocation = registryapi.Text{FR: "Mairie", EN: "Town hall"}
		e.DPOContact = registryapi.Contact{Email: "dpo@" + demo.Domain}
		e.Location = registryapi.Location{Lat: 46.95, Lon: 2.04, Address: "Place de la Mairie"}
		now := e.UpdatedAt
		e.CommissionedAt = &now
		if tm.Category == registryapi.CategoryParking {
			if e.Identifiability != "" {
				t.Error("parking's identifiability must be decided for each sensor")
			}
			e.Identifiability = registryapi.NoPersonalData
		}
		if ps := catalog.Publishable(e, demo.Territory()); len(ps) > 0 {
			t.Errorf("%s: a draft from its template, completed, is not publishable: %v", tm.Category, ps)
		}
	}
	if _, ok := provision.TemplateFor("other"); ok {
		t.Error("other has a template")
	}
	air, _ := provision.TemplateFor("air")
	var optional []string
	for _, q := range air.Quantities {
		if q.Optional {
			optional = append(optional, q.Name)
		}
	}
	if !slices.Equal(optional, []string{"no2", "o3", "pressure"}) {
		t.Errorf("air's optional quantities: %v", optional)
	}
}

func TestFromTemplateKeepsWhatIsGiven(t *testing.T) {
	s, _ := service(t)
	e, err := s.FromTemplate(registryapi.Sensor{Retention: "P2Y", Purposes: []string{"research_development"}}, "lighting")
	if err != nil {
		t.Fatal(err)
	}
	if e.Category != "lighting" || e.Retention != "P2Y" || !slices.Equal(e.Purposes, []string{"research_development"}) || len(e.Quantities) != 4 {
		t.Errorf("FromTemplate %+v", e)
	}
	_, err = s.FromTemplate(registryapi.Sensor{Category: "air"}, "lighting")
	var inv *provision.InvalidError
	if !errors.As(err, &inv) || inv.Problems[0].Code != "template.category" {
		t.Errorf("category mismatch: %v", err)
	}
}

// Only technicians and administrators provision; the service checks it
// whatever the client.
func TestOnlyStaffProvision(t *testing.T) {
	s, _ := service(t)
	ctx := context.Background()
	for _, role := range []auth.Role{auth.RoleGateway, auth.RoleEnergyManager, ""} {
		p := auth.Principal{Role: role}
		if _, err := s.CreateDraft(ctx, p, registryapi.Sensor{Category: "air"}, ""); !errors.Is(err, provision.ErrForbidden) {
			t.Errorf("%q creates: %v", role, err)
		}
		if _, err := s.IssueCredentials(ctx, p, "air-mairie-01"); !errors.Is(err, provision.ErrForbidden) {
			t.Errorf("%q issues credentials: %v", role, err)
		}
	}
	if _, err := s.CreateDraft(ctx, tech, registryapi.Sensor{Category: "air"}, ""); err != nil {
		t.Error(err)
	}
}

// Issued logs without its password.
func TestIssuedLogsNoPassword(t *testing.T) {
	i := provision.Issued{Username: "air-x-01", Password: "s3cret-password"}
	if strings.Contains(i.LogValue().String(), "s3cret") {
		t.Error("the password is logged")
	}
}

// A refusal lists every problem: the request's (reason) and the entry's
// (publication rules) together.
func TestRefusalsListEveryProblem(t *testing.T) {
	s, st := service(t)
	ctx := context.Background()
	d, err := s.CreateDraft(ctx, tech, registryapi.Sensor{Category: "air", Site: "gare"}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Publish(ctx, tech, d.ID, strings.Repeat("x", provision.MaxReason+1), 0)
	var inv *provision.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("publish: %v", err)
	}
	fields := map[string]bool{}
	for _, p := range inv.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"reason", "name.fr", "quantities", "location", "retention"} {
		if !fields[f] {
			t.Errorf("%s is not among the problems: %v", f, inv.Problems)
		}
	}
	if got, _ := st.Get(ctx, d.ID); got.Status != registryapi.StatusDraft || got.Version != 1 {
		t.Errorf("a refused publication wrote: %s v%d", got.Status, got.Version)
	}
	// A published entry's update: the missing reason and the broken rule.
	e, _ := st.Get(ctx, "air-mairie-01")
	e.Retention = ""
	_, err = s.Update(ctx, tech, e.ID, e, " ", e.Version)
	if !errors.As(err, &inv) || len(inv.Problems) != 2 || inv.Problems[0].Code != "reason.required" || inv.Problems[1].Code != "retention.required" {
		t.Errorf("update: %v", err)
	}
}
