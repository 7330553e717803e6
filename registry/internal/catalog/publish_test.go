package catalog_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// demoEntry returns a deep copy of the demo entry id.
func demoEntry(t *testing.T, id string) registryapi.Sensor {
	t.Helper()
	for _, s := range demo.Sensors() {
		if s.ID == id {
			b, _ := json.Marshal(s)
			var c registryapi.Sensor
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no demo entry %s", id)
	return registryapi.Sensor{}
}

func fields(errs []registryapi.FieldError) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestDemoEntriesArePublishable(t *testing.T) {
	sensors := demo.Sensors()
	if len(sensors) < 12 {
		t.Fatalf("%d demo sensors, want at least 12", len(sensors))
	}
	count := map[string]int{}
	for _, s := range sensors {
		count[s.Category]++
		if errs := catalog.CheckPublishable(s, demo.Territory()); len(errs) > 0 {
			t.Errorf("%s: %v", s.ID, errs)
		}
		if s.Status != registryapi.StatusActive {
			t.Errorf("%s: status %s, want active", s.ID, s.Status)
		}
	}
	want := map[string]int{"air": 3, "parking": 4, "lighting": 3, "energy": 2}
	if d := cmp.Diff(want, count); d != "" {
		t.Errorf("sensors per category (-want +got):\n%s", d)
	}
}

func TestPublicationRules(t *testing.T) {
	personal := "parking-marche-01" // de-identified at source, GDPR 6(1)(e)
	plain := "air-mairie-01"        // no personal data
	tests := []struct {
		name   string
		entry  string
		change func(*registryapi.Sensor)
		want   []string
	}{
		{"complete", plain, func(*registryapi.Sensor) {}, nil},
		{"complete with personal data", personal, func(*registryapi.Sensor) {}, nil},

		// Identity.
		{"bad id", plain, func(s *registryapi.Sensor) { s.ID = "AB" }, []string{"id"}},
		{"id too short", plain, func(s *registryapi.Sensor) { s.ID = "a1" }, []string{"id"}},
		{"no English name", plain, func(s *registryapi.Sensor) { s.Name.EN = " " }, []string{"name.en"}},
		{"unknown category", plain, func(s *registryapi.Sensor) { s.Category = "water" }, []string{"category"}},
		{"no technology", plain, func(s *registryapi.Sensor) { s.Technology = nil }, []string{"technology"}},
		{"purpose used as technology", plain, func(s *registryapi.Sensor) { s.Technology = []string{"health"} }, []string{"technology[0]"}},
		{"technology twice", plain, func(s *registryapi.Sensor) { s.Technology = []string{"air_quality", "air_quality"} }, []string{"technology[1]"}},
		{"no site", plain, func(s *registryapi.Sensor) { s.Site = "" }, []string{"site"}},
		{"high-cardinality tag value", plain, func(s *registryapi.Sensor) { s.Tags["zone"] = "Centre Ville 12:04" }, []string{"tags.zone"}},
		{"reserved tag", plain, func(s *registryapi.Sensor) { s.Tags["sensor"] = "x" }, []string{"tags.sensor"}},
		{"tag named like a quantity", plain, func(s *registryapi.Sensor) { s.Tags["pm10"] = "x" }, []string{"tags.pm10"}},

		// Who.
		{"no accountable organisation", plain, func(s *registryapi.Sensor) { s.Accountable.Name = registryapi.Text{} }, []string{"accountable.name.fr"}},
		{"no public contact", plain, func(s *registryapi.Sensor) { s.PublicContact = registryapi.Contact{} }, []string{"public_contact"}},
		{"form only is a contact", plain, func(s *registryapi.Sensor) { s.PublicContact.Email = "" }, nil},
		{"malformed contact e-mail", plain, func(s *registryapi.Sensor) { s.PublicContact.Email = "capteurs at mairie" }, []string{"public_contact.email"}},
		{"personal public contact", plain, func(s *registryapi.Sensor) { s.PublicContact.Email = "jean.dupont@" + demo.Domain }, []string{"public_contact.email"}},
		{"dotted functional contact", plain, func(s *registryapi.Sensor) { s.PublicContact.Email = "service.technique@" + demo.Domain }, nil},
		{"no DPO contact", plain, func(s *registryapi.Sensor) { s.DPOContact = registryapi.Contact{} }, []string{"dpo_contact"}},

		// Why.
		{"no purpose", plain, func(s *registryapi.Sensor) { s.Purposes = nil }, []string{"purposes"}},
		{"four purposes", plain, func(s *registryapi.Sensor) {
			s.Purposes = []string{"health", "ecology", "inform", "research_development"}
		}, []string{"purposes"}},
		{"technology used as purpose", plain, func(s *registryapi.Sensor) { s.Purposes = []string{"air_quality"} }, []string{"purposes[0]"}},
		{"purpose twice", plain, func(s *registryapi.Sensor) { s.Purposes = []string{"health", "health"} }, []string{"purposes[1]"}},
		{"no French description", plain, func(s *registryapi.Sensor) { s.Description.FR = "" }, []string{"description.fr"}},

		// What.
		{"no quantity", plain, func(s *registryapi.Sensor) { s.Quantities = nil }, []string{"quantities"}},
		{"bad quantity name", plain, func(s *registryapi.Sensor) { s.Quantities[0].Name = "PM10" }, []string{"quantities[0].name"}},
		{"quantity twice", plain, func(s *registryapi.Sensor) { s.Quantities[1].Name = s.Quantities[0].Name }, []string{"quantities[1].name"}},
		{"not a SenML unit", plain, func(s *registryapi.Sensor) { s.Quantities[0].Unit = "µg/m³" }, []string{"quantities[0].unit"}},
		{"no unit", plain, func(s *registryapi.Sensor) { s.Quantities[0].Unit = "" }, []string{"quantities[0].unit"}},
		{"min not below max", plain, func(s *registryapi.Sensor) { v := 1000.0; s.Quantities[0].Min = &v }, []string{"quantities[0].max"}},
		{"only max", plain, func(s *registryapi.Sensor) { s.Quantities[0].Min = nil }, nil},
		{"negative period", plain, func(s *registryapi.Sensor) { s.Quantities[0].PeriodSeconds = -1 }, []string{"quantities[0].period_s"}},
		{"unknown data type", plain, func(s *registryapi.Sensor) { s.DataTypes = []string{"video"} }, []string{"data_types[0]"}},
		{"no processing", plain, func(s *registryapi.Sensor) { s.Processing = nil }, []string{"processing"}},

		// Identifiability and legal basis.
		{"unknown identifiability", plain, func(s *registryapi.Sensor) { s.Identifiability = "anonymous" }, []string{"identifiability", "legal_basis", "privacy_notice_url", "art30_record"}},
		{"identifiable without anything", plain, func(s *registryapi.Sensor) { s.Identifiability = registryapi.Identifiable },
			[]string{"dpia_reference", "legal_basis", "privacy_notice_url", "art30_record"}},
		{"no legal basis", personal, func(s *registryapi.Sensor) { s.LegalBasis = "" }, []string{"legal_basis"}},
		{"unknown legal basis", personal, func(s *registryapi.Sensor) { s.LegalBasis = "6-1-g" }, []string{"legal_basis"}},
		{"legitimate interest of a public authority", personal, func(s *registryapi.Sensor) { s.LegalBasis = registryapi.BasisLegitimateInterest }, []string{"legal_basis"}},
		{"legitimate interest of a company", personal, func(s *registryapi.Sensor) {
			s.LegalBasis = registryapi.BasisLegitimateInterest
			s.Accountable.PublicAuthority = false
		}, nil},
		{"public task without legal text", personal, func(s *registryapi.Sensor) { s.LegalReference = registryapi.Text{} }, []string{"legal_reference.fr"}},
		{"legal obligation without legal text", personal, func(s *registryapi.Sensor) {
			s.LegalBasis = registryapi.BasisLegalObligation
			s.LegalReference = registryapi.Text{}
		}, []string{"legal_reference.fr"}},
		{"consent needs no legal text", personal, func(s *registryapi.Sensor) {
			s.LegalBasis = registryapi.BasisConsent
			s.LegalReference = registryapi.Text{}
		}, nil},
		{"de-identified without method", personal, func(s *registryapi.Sensor) { s.DeidentificationMethod = registryapi.Text{} },
			[]string{"deidentification_method.fr", "deidentification_method.en"}},
		{"pseudonymised without DPIA", personal, func(s *registryapi.Sensor) { s.Identifiability = registryapi.Pseudonymised }, []string{"dpia_reference"}},
		{"pseudonymised with DPIA", personal, func(s *registryapi.Sensor) {
			s.Identifiability = registryapi.Pseudonymised
			s.DPIAReference = "AIPD-2024-03"
		}, nil},
		{"identifiable needs no de-identification method", personal, func(s *registryapi.Sensor) {
			s.Identifiability = registryapi.Identifiable
			s.DeidentificationMethod = registryapi.Text{}
			s.DPIAReference = "AIPD-2024-03"
		}, nil},
		{"personal data without privacy notice", personal, func(s *registryapi.Sensor) { s.PrivacyNoticeURL = "" }, []string{"privacy_notice_url"}},
		{"personal data without art. 30 record", personal, func(s *registryapi.Sensor) { s.Art30Record = "" }, []string{"art30_record"}},

		// Data.
		{"no retention", plain, func(s *registryapi.Sensor) { s.Retention = "" }, []string{"retention"}},
		{"retention in words", plain, func(s *registryapi.Sensor) { s.Retention = "1 an" }, []string{"retention"}},
		{"retention of nothing", plain, func(s *registryapi.Sensor) { s.Retention = "P0D" }, []string{"retention"}},
		{"retention for ever", plain, func(s *registryapi.Sensor) { s.Retention = "P1000Y" }, []string{"retention"}},
		{"retention the readings database cannot enforce", plain, func(s *registryapi.Sensor) { s.Retention = "PT90M" }, []string{"retention"}},
		{"retention with a time", plain, func(s *registryapi.Sensor) { s.Retention = "P1Y6M" }, nil},
		{"no storage", plain, func(s *registryapi.Sensor) { s.Storage = nil }, []string{"storage"}},
		{"no access", plain, func(s *registryapi.Sensor) { s.Access = []string{} }, []string{"access"}},
		{"open data without licence", plain, func(s *registryapi.Sensor) { s.OpenDataLicence = "" }, []string{"open_data_licence"}},
		{"open data without link", plain, func(s *registryapi.Sensor) { s.OpenDataURL = "" }, []string{"open_data_url"}},
		{"open data link not a URL", plain, func(s *registryapi.Sensor) { s.OpenDataURL = "data.gouv.fr" }, []string{"open_data_url"}},
		{"closed data", plain, func(s *registryapi.Sensor) {
			s.OpenData, s.OpenDataLicence, s.OpenDataURL = false, "", ""
		}, nil},

		// Where.
		{"no location", plain, func(s *registryapi.Sensor) { s.Location = registryapi.Location{} }, []string{"location"}},
		{"outside the territory", plain, func(s *registryapi.Sensor) { s.Location.Lat = 48.8566; s.Location.Lon = 2.3522 }, []string{"location"}},
		{"not on Earth", plain, func(s *registryapi.Sensor) { s.Location.Lat = 91 }, []string{"location"}},
		{"no address", plain, func(s *registryapi.Sensor) { s.Location.Address = "" }, []string{"location.address"}},
		{"mobile sensor area", plain, func(s *registryapi.Sensor) {
			s.Location = registryapi.Location{Area: [][2]float64{{2.03, 46.94}, {2.05, 46.94}, {2.05, 46.95}, {2.03, 46.94}}}
		}, nil},
		{"open area", plain, func(s *registryapi.Sensor) {
			s.Location = registryapi.Location{Area: [][2]float64{{2.03, 46.94}, {2.05, 46.94}, {2.05, 46.95}}}
		}, []string{"location.area"}},
		{"area leaving the territory", plain, func(s *registryapi.Sensor) {
			s.Location = registryapi.Location{Area: [][2]float64{{2.03, 46.94}, {2.35, 48.85}, {2.05, 46.95}, {2.03, 46.94}}}
		}, []string{"location.area[1]"}},

		// Lifecycle.
		{"unknown status", plain, func(s *registryapi.Sensor) { s.Status = "published" }, []string{"status"}},
		{"no commissioning date", plain, func(s *registryapi.Sensor) { s.CommissionedAt = nil }, []string{"commissioned_at"}},
		{"retired without a date", plain, func(s *registryapi.Sensor) { s.Status = registryapi.StatusRetired }, []string{"decommissioned_at"}},
		{"retired before commissioned", plain, func(s *registryapi.Sensor) {
			s.Status = registryapi.StatusRetired
			d := s.CommissionedAt.Add(-24 * time.Hour)
			s.DecommissionedAt = &d
		}, []string{"decommissioned_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := demoEntry(t, tt.entry)
			tt.change(&s)
			got := fields(catalog.CheckPublishable(s, demo.Territory()))
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("fields in error (-want +got):\n%s\nall: %v", d, catalog.CheckPublishable(s, demo.Territory()))
			}
		})
	}
}

func TestNoTerritoryChecksNoPlace(t *testing.T) {
	s := demoEntry(t, "air-mairie-01")
	s.Location.Lat, s.Location.Lon = 48.8566, 2.3522
	s.PublicContact.Email = "jean.dupont@example.org"
	if errs := catalog.CheckPublishable(s, catalog.Territory{}); len(errs) > 0 {
		t.Errorf("with no territory configured: %v", errs)
	}
}

// An entry with many fields removed gets every problem in one answer.
func TestEveryProblemAtOnce(t *testing.T) {
	s := demoEntry(t, "parking-marche-01")
	s.Name = registryapi.Text{}
	s.Category = ""
	s.Quantities = nil
	s.Purposes = nil
	s.Retention = "1 year"
	s.PublicContact = registryapi.Contact{}
	s.DPOContact = registryapi.Contact{}
	s.Identifiability = registryapi.Pseudonymised
	s.LegalBasis = registryapi.BasisLegitimateInterest
	s.DeidentificationMethod = registryapi.Text{}
	s.Location.Lat = 0
	s.Location.Lon = 0
	s.OpenDataURL = ""
	s.Accountable.Name = registryapi.Text{}

	got := fields(catalog.CheckPublishable(s, demo.Territory()))
	want := []string{
		"name.fr", "name.en", "category", "accountable.name.fr", "public_contact", "dpo_contact",
		"purposes", "quantities", "deidentification_method.fr", "deidentification_method.en",
		"dpia_reference", "legal_basis", "retention", "open_data_url", "location",
	}
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields in error (-want +got):\n%s", d)
	}
}

func TestLooksPersonal(t *testing.T) {
	for email, want := range map[string]bool{
		"jean.dupont@mairie.fr":         true,
		"marie-claire.martin@mairie.fr": true,
		"j.dupont@mairie.fr":            true,
		"Jean.Dupont@mairie.fr":         true,
		"capteurs@mairie.fr":            false,
		"service.technique@mairie.fr":   false,
		"mairie.contact@mairie.fr":      false,
		"dpo@mairie.fr":                 false,
		"jean.dupont2@mairie.fr":        false, // not the firstname.lastname shape
		"not an address":                false,
		"":                              false,
	} {
		if got := catalog.LooksPersonal(email); got != want {
			t.Errorf("LooksPersonal(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestLifecycleSets(t *testing.T) {
	for _, tt := range []struct {
		status               string
		published, allowList bool
	}{
		{registryapi.StatusDraft, false, false},
		{registryapi.StatusActive, true, true},
		{registryapi.StatusMaintenance, true, true},
		{registryapi.StatusRetired, true, false},
		{"deleted", false, false},
	} {
		if got := catalog.Published(tt.status); got != tt.published {
			t.Errorf("Published(%s) = %v", tt.status, got)
		}
		if got := catalog.InAllowList(tt.status); got != tt.allowList {
			t.Errorf("InAllowList(%s) = %v", tt.status, got)
		}
	}
}

func TestIDsAndNames(t *testing.T) {
	for id, want := range map[string]bool{
		"air-mairie-01": true, "abc": true, "0ab": true, "ab": false, "-ab": false,
		"Air-01": false, "air_01": false, "a" + string(make([]byte, 63)): false,
	} {
		if got := catalog.ValidSensorID(id); got != want {
			t.Errorf("ValidSensorID(%q) = %v", id, got)
		}
	}
	for name, want := range map[string]bool{
		"pm10": true, "pm2_5": true, "p": true, "PM10": false, "2pm": false, "pm-10": false, "": false,
	} {
		if got := catalog.ValidQuantityName(name); got != want {
			t.Errorf("ValidQuantityName(%q) = %v", name, got)
		}
	}
	for _, u := range []string{"Cel", "%RH", "hPa", "ug/m3", "lx", "W", "Wh", "/"} {
		if !catalog.ValidUnit(u) {
			t.Errorf("ValidUnit(%q) = false", u)
		}
	}
	for _, u := range []string{"°C", "µg/m³", "kwh", "", "percent"} {
		if catalog.ValidUnit(u) {
			t.Errorf("ValidUnit(%q) = true", u)
		}
	}
}
