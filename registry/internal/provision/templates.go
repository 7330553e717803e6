package provision

import (
	"slices"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Template is what a category of sensor usually declares, so that a
// technician starts from it instead of a blank entry: its quantities (with
// SenML unit, plausible range, sampling period and labels) and its DTPR
// facets, identifiability and retention. Apply fills the empty fields of an
// entry from it.
type Template struct {
	Category string           `json:"category"`
	Label    registryapi.Text `json:"label"`
	// Quantities the category's sensors may declare; those not Optional
	// are declared by Apply.
	Quantities []QuantityTemplate `json:"quantities"`
	Technology []string           `json:"technology"` // DTPR device__tech ids
	Purposes   []string           `json:"purposes"`   // DTPR device__purpose ids, ordered
	DataTypes  []string           `json:"data_types"` // DTPR device__data ids
	Processing []string           `json:"processing"` // DTPR device__process ids
	Storage    []string           `json:"storage"`    // DTPR device__storage ids
	Access     []string           `json:"access"`     // DTPR device__access ids
	// Identifiability is the usual identifiability; empty when it must be
	// decided for each sensor (parking: a bay's occupancy may relate to a
	// vehicle).
	Identifiability string `json:"identifiability,omitempty"`
	Retention       string `json:"retention"` // ISO 8601
	// Description is a plain-language description of what the category's
	// sensors are for, in French and English, for the technician to adapt.
	Description registryapi.Text `json:"description"`
}

// QuantityTemplate is a quantity a category's sensors may declare.
type QuantityTemplate struct {
	registryapi.Quantity
	// Optional quantities are offered, not declared by default (they need
	// hardware that not every sensor has).
	Optional bool `json:"optional,omitempty"`
}

func q(name, unit string, min, max float64, period int, fr, en string, optional bool) QuantityTemplate {
	return QuantityTemplate{Quantity: registryapi.Quantity{Name: name, Unit: unit, Min: &min, Max: &max,
		PeriodSeconds: period, Label: registryapi.Text{FR: fr, EN: en}}, Optional: optional}
}

// templates returns the templates, fresh copies at each call.
func templates() []Template {
	values := []string{"values_time"}
	processed := []string{"raw_data", "aggregated", "transport_layer_security"}
	storage := []string{"stored_locally", "backed_up_locally"}
	access := []string{"available_to_the_accountable_organization"}
	return []Template{
		{
			Category: registryapi.CategoryAir,
			Label:    registryapi.Text{FR: "Qualité de l'air", EN: "Air quality"},
			Quantities: []QuantityTemplate{
				q("pm10", "ug/m3", 0, 1000, 60, "Particules PM10", "PM10 particulate matter", false),
				q("pm2_5", "ug/m3", 0, 1000, 60, "Particules fines PM2,5", "PM2.5 fine particulate matter", false),
				q("no2", "ug/m3", 0, 500, 60, "Dioxyde d'azote (NO₂)", "Nitrogen dioxide (NO₂)", true),
				q("o3", "ug/m3", 0, 500, 60, "Ozone (O₃)", "Ozone (O₃)", true),
				q("temperature", "Cel", -40, 60, 60, "Température de l'air", "Air temperature", false),
				q("humidity", "%RH", 0, 100, 60, "Humidité relative", "Relative humidity", false),
				q("pressure", "hPa", 870, 1085, 60, "Pression atmosphérique", "Atmospheric pressure", true),
			},
			Technology: []string{"air_quality", "thermometer"},
			Purposes:   []string{"health", "ecology", "inform"},
			DataTypes:  values, Processing: processed, Storage: storage, Access: access,
			Identifiability: registryapi.NoPersonalData,
			Retention:       "P5Y",
			Description: registryapi.Text{
				FR: "Ce capteur mesure la qualité de l'air (particules fines, température, humidité) pour informer les habitants et repérer les pics de pollution. Il complète, sans les remplacer, les stations de référence.",
				EN: "This sensor measures air quality (fine particles, temperature, humidity) to inform residents and spot pollution peaks. It complements, and does not replace, the reference stations.",
			},
		},
		{
			Category: registryapi.CategoryParking,
			Label:    registryapi.Text{FR: "Stationnement", EN: "Parking"},
			Quantities: []QuantityTemplate{
				q("occupancy", "/", 0, 1, 30, "Occupation de la place (0 libre, 1 occupée)", "Bay occupancy (0 free, 1 taken)", false),
			},
			Technology: []string{"induction_loop"},
			Purposes:   []string{"mobility", "inform", "planning_decision_making"},
			DataTypes:  []string{"boolean", "values_time"},
			Processing: []string{"raw_data", "encrypted", "transport_layer_security"},
			Storage:    storage, Access: access,
			Retention: "P1Y",
			Description: registryapi.Text{
				FR: "Ce capteur détecte si la place de stationnement est libre ou occupée, pour guider les conducteurs vers les places libres et mieux organiser le stationnement.",
				EN: "This sensor detects whether the parking bay is free or taken, to guide drivers to free bays and plan parking better.",
			},
		},
		{
			Category: registryapi.CategoryLighting,
			Label:    registryapi.Text{FR: "Éclairage public", EN: "Street lighting"},
			Quantities: []QuantityTemplate{
				q("power", "W", 0, 500, 60, "Puissance appelée par le luminaire", "Luminaire power draw", false),
				q("illuminance", "lx", 0, 100000, 60, "Éclairement ambiant", "Ambient illuminance", false),
				q("dimming", "/", 0, 1, 60, "Taux de gradation (0 éteint, 1 pleine puissance)", "Dimming level (0 off, 1 full power)", false),
				q("energy", "Wh", 0, 1e9, 300, "Index d'énergie consommée par le luminaire", "Luminaire energy index", false),
			},
			Technology: []string{"passive_infrared_sensor"},
			Purposes:   []string{"energy_efficiency", "safety_security", "ecology"},
			DataTypes:  values, Processing: processed, Storage: storage, Access: access,
			Identifiability: registryapi.NoPersonalData,
			Retention:       "P3Y",
			Description: registryapi.Text{
				FR: "Ce capteur mesure la consommation et la gradation du luminaire et la lumière ambiante, pour n'éclairer qu'au besoin et économiser l'énergie. Son détecteur de présence signale un passage sans identifier personne.",
				EN: "This sensor measures the luminaire's consumption and dimming and the ambient light, to light only when needed and save energy. Its presence detector reports a passage without identifying anyone.",
			},
		},
		{
			Category: registryapi.CategoryEnergy,
			Label:    registryapi.Text{FR: "Énergie des bâtiments", EN: "Building energy"},
			Quantities: []QuantityTemplate{
				q("power", "W", 0, 250000, 60, "Puissance électrique appelée", "Electrical power draw", false),
				q("energy", "Wh", 0, 1e12, 60, "Index de consommation d'électricité", "Electricity consumption index", false),
				q("indoor_temperature", "Cel", 0, 40, 300, "Température intérieure", "Indoor temperature", false),
				q("gas", "m3", 0, 1e9, 3600, "Index de consommation de gaz", "Gas consumption index", true),
				q("heat", "Wh", 0, 1e12, 3600, "Index d'énergie thermique (réseau de chaleur)", "Heat energy index (district heating)", true),
			},
			Technology: []string{"thermometer"},
			Purposes:   []string{"energy_efficiency", "planning_decision_making", "ecology"},
			DataTypes:  values, Processing: processed, Storage: storage, Access: access,
			Identifiability: registryapi.NoPersonalData,
			Retention:       "P10Y",
			Description: registryapi.Text{
				FR: "Ce compteur mesure la consommation d'énergie et la température intérieure du bâtiment public, pour suivre ses économies d'énergie (décret tertiaire) et régler le chauffage au plus juste.",
				EN: "This meter measures the energy consumption and indoor temperature of the public building, to follow its energy savings (French tertiary decree) and adjust the heating.",
			},
		},
	}
}

// Templates returns the template of every category that has one (air,
// parking, lighting, energy), in display order.
func Templates() []Template { return templates() }

// TemplateFor returns the template of category, if it has one.
func TemplateFor(category string) (Template, bool) {
	for _, t := range templates() {
		if t.Category == category {
			return t, true
		}
	}
	return Template{}, false
}

// TemplateCategories lists the categories that have a template.
func TemplateCategories() []string {
	var out []string
	for _, t := range templates() {
		out = append(out, t.Category)
	}
	return out
}

// Apply returns s with its empty fields filled from the template: the
// category, the non-optional quantities (when s declares none), the DTPR
// facets, the identifiability, the retention and the description. What s
// says is kept.
func (t Template) Apply(s registryapi.Sensor) registryapi.Sensor {
	if s.Category == "" {
		s.Category = t.Category
	}
	if len(s.Quantities) == 0 {
		s.Quantities = []registryapi.Quantity{}
		for _, q := range t.Quantities {
			if !q.Optional {
				s.Quantities = append(s.Quantities, q.Quantity)
			}
		}
	}
	fill := func(dst *[]string, src []string) {
		if len(*dst) == 0 {
			*dst = slices.Clone(src)
		}
	}
	fill(&s.Technology, t.Technology)
	fill(&s.Purposes, t.Purposes)
	fill(&s.DataTypes, t.DataTypes)
	fill(&s.Processing, t.Processing)
	fill(&s.Storage, t.Storage)
	fill(&s.Access, t.Access)
	if s.Identifiability == "" {
		s.Identifiability = t.Identifiability
	}
	if s.Retention == "" {
		s.Retention = t.Retention
	}
	if s.Description == (registryapi.Text{}) {
		s.Description = t.Description
	}
	return s
}

// applyTerritory fills the empty "who" of s from the territory: the
// accountable organisation (the commune, a public authority) and the
// functional public contact.
func applyTerritory(s registryapi.Sensor, t catalog.Territory) registryapi.Sensor {
	if s.Accountable.Name.FR == "" && s.Accountable.Name.EN == "" && t.Name != "" {
		s.Accountable.Name = registryapi.Text{FR: t.Name}
		s.Accountable.PublicAuthority = true
	}
	if s.PublicContact == (registryapi.Contact{}) && t.FunctionalEmail != "" {
		s.PublicContact.Email = t.FunctionalEmail
	}
	return s
}
