package provision_test

import (
	"context"
	"slices"
	"testing"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/demo"
	"github.com/civisens/civisens/registry/registryapi"
)

// A new draft from the template, prefilled from the register's similar
// entry, needs only its own name, site, support and place to be
// publishable: the technicians' two-minute path.
func TestPrefillMakesTheQuickPathPublishable(t *testing.T) {
	svc, _ := service(t)
	ctx := context.Background()
	for _, category := range []string{registryapi.CategoryAir, registryapi.CategoryLighting, registryapi.CategoryEnergy} {
		e, err := svc.NewDraft(category)
		if err != nil {
			t.Fatal(err)
		}
		e, pre, err := svc.Prefill(ctx, tech, e)
		if err != nil {
			t.Fatal(err)
		}
		if pre.From == "" || !slices.Contains(pre.Fields, "dpo_contact") || !slices.Contains(pre.Fields, "storage_location") {
			t.Errorf("%s: prefilled %+v", category, pre)
		}
		if e.Description == (registryapi.Text{}) || e.DPOContact.Email != "dpo@"+demo.Domain || e.Accountable.Name.EN != demo.TownEN {
			t.Errorf("%s: not prefilled: %+v", category, e)
		}
		e.ID, e.Site = "capteur-essai-01", "essai"
		e.Name = registryapi.Text{FR: "Essai", EN: "Trial"}
		e.AttachedTo = registryapi.Text{FR: "Mât", EN: "Pole"}
		e.Location = registryapi.Location{Lat: 46.9452, Lon: 2.0491, Address: "Place de l'Hôtel-de-Ville"}
		e.Status = registryapi.StatusActive
		now := e.UpdatedAt
		e.CommissionedAt = &now
		if ps := catalog.Publishable(e, demo.Territory()); len(ps) > 0 {
			t.Errorf("%s: the quick path's entry is not publishable: %v", category, ps)
		}
	}
	// What a draft already says is kept; nothing is taken for a category
	// without published entries.
	e := registryapi.Sensor{Category: registryapi.CategoryAir, DPOContact: registryapi.Contact{Email: "rgpd@ailleurs.example"}}
	e, _, err := svc.Prefill(ctx, tech, e)
	if err != nil || e.DPOContact.Email != "rgpd@ailleurs.example" {
		t.Errorf("the draft's DPO contact was replaced: %v %+v", err, e.DPOContact)
	}
	other, pre, err := svc.Prefill(ctx, tech, registryapi.Sensor{Category: registryapi.CategoryOther})
	if err != nil || pre.From != "" || other.DPOContact != (registryapi.Contact{}) {
		t.Errorf("other: %+v %v", pre, err)
	}
}
