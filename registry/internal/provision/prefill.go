package provision

import (
	"context"
	"slices"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/registryapi"
)

// Prefilled says what Prefill took from an entry of the register.
type Prefilled struct {
	// From is the id of the entry the fields were taken from; empty when
	// nothing was taken.
	From string
	// Fields are the JSON names of the top-level fields filled, in the
	// entry's order.
	Fields []string
}

// Prefill fills the empty fields of e that the sensors of one organisation
// and one category share — the accountable organisation, the operators,
// the public and DPO contacts, the storage location, the legal block
// (legal basis and text, privacy notice, record of processing: only for
// the same identifiability) and the open-data settings with their access —
// from the published entry (active or maintenance) of e's category that
// was changed last: the technicians' pages call it on a draft from
// NewDraft, so that a new sensor needs only its own name and place. It
// never touches what is particular to a sensor (id, names, place, attached
// object, quantities, identifiability, impact assessment, dates) and keeps
// every field e already fills. The register's own entries are the source,
// shown to the technician ("taken from air-mairie-01"), to review.
func (s *Service) Prefill(ctx context.Context, p auth.Principal, e registryapi.Sensor) (registryapi.Sensor, Prefilled, error) {
	if err := allow(p); err != nil {
		return registryapi.Sensor{}, Prefilled{}, err
	}
	all, err := s.st.List(ctx, registryapi.StatusActive, registryapi.StatusMaintenance)
	if err != nil {
		return registryapi.Sensor{}, Prefilled{}, err
	}
	var src *registryapi.Sensor
	for i := range all {
		c := &all[i]
		if c.Category == e.Category && (src == nil || c.UpdatedAt.After(src.UpdatedAt)) {
			src = c
		}
	}
	if src == nil {
		return e, Prefilled{}, nil
	}
	var filled []string
	take := func(field string, empty bool, set func()) {
		if empty {
			set()
			filled = append(filled, field)
		}
	}
	// The accountable organisation: empty, or only the territory's name
	// that NewDraft sets, and the same organisation.
	acc := e.Accountable
	take("accountable", acc.Name.EN == "" && acc.SIREN == "" && acc.URL == "" &&
		(acc.Name.FR == "" || acc.Name.FR == src.Accountable.Name.FR) && acc != src.Accountable,
		func() { e.Accountable = src.Accountable })
	take("operators", len(e.Operators) == 0 && len(src.Operators) > 0,
		func() { e.Operators = slices.Clone(src.Operators) })
	pc := e.PublicContact
	take("public_contact", pc.URL == "" && pc.Phone == "" && (pc.Email == "" || pc.Email == src.PublicContact.Email) &&
		pc != src.PublicContact, func() { e.PublicContact = src.PublicContact })
	take("dpo_contact", e.DPOContact == (registryapi.Contact{}) && src.DPOContact != (registryapi.Contact{}),
		func() { e.DPOContact = src.DPOContact })
	take("storage_location", e.StorageLocation == (registryapi.Text{}) && src.StorageLocation != (registryapi.Text{}),
		func() { e.StorageLocation = src.StorageLocation })
	if e.Identifiability == src.Identifiability {
		take("legal_basis", e.LegalBasis == "" && src.LegalBasis != "", func() { e.LegalBasis = src.LegalBasis })
		take("legal_reference", e.LegalReference == (registryapi.Text{}) && src.LegalReference != (registryapi.Text{}),
			func() { e.LegalReference = src.LegalReference })
		take("privacy_notice_url", e.PrivacyNoticeURL == "" && src.PrivacyNoticeURL != "",
			func() { e.PrivacyNoticeURL = src.PrivacyNoticeURL })
		take("art30_record", e.Art30Record == "" && src.Art30Record != "", func() { e.Art30Record = src.Art30Record })
	}
	if !e.OpenData && e.OpenDataLicence == "" && e.OpenDataURL == "" && src.OpenData {
		e.OpenData, e.OpenDataLicence, e.OpenDataURL = true, src.OpenDataLicence, src.OpenDataURL
		e.Access = slices.Clone(src.Access)
		filled = append(filled, "access", "open_data")
	}
	if len(filled) == 0 {
		return e, Prefilled{}, nil
	}
	return e, Prefilled{From: src.ID, Fields: filled}, nil
}
