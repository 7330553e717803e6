// Package demo is the demo town that `registry -demo` seeds into an empty
// register: the fictional Commune de Valmont-sur-Lise, with twelve active
// sensors — three air-quality stations, four parking bays, three street
// lights and two public buildings' energy meters — each a complete entry in
// French and English that passes [catalog.CheckPublishable] on [Territory].
//
// The firmware bridge's simulator reads the declared quantities of these
// entries (name, unit, min, max, period_s) from GET /api/v1/sensors, and the
// gateway validates readings against them; units are SenML units.
//
// The town, its addresses and its web domain are fictional; the domain uses
// the reserved .example top-level domain (RFC 2606) so that no link or
// address of the demo can reach a real organisation. The legal texts cited
// are real French law.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/registryapi"
)

// The demo town.
const (
	TownFR = "Commune de Valmont-sur-Lise"
	TownEN = "Municipality of Valmont-sur-Lise"
	// Domain is the town's (reserved, fictional) web and mail domain.
	Domain = "valmont-sur-lise.example"
	// Email is its functional sensor mailbox.
	Email = "capteurs@" + Domain
)

// Territory returns the demo town's territory: its bounding box (about
// 5 km × 6 km, in the Centre-Val de Loire region) and functional mailbox.
func Territory() catalog.Territory {
	return catalog.Territory{
		Name:            TownFR,
		BBox:            catalog.BBox{MinLat: 46.925, MinLon: 2.005, MaxLat: 46.970, MaxLon: 2.085},
		FunctionalEmail: Email,
	}
}

// seeder is what Seed needs of the store.
type seeder interface {
	SeedIfEmpty(ctx context.Context, sensors []registryapi.Sensor, ch store.Change) (bool, error)
}

// Seed creates the demo entries in st when it has no entry at all, in one
// transaction, and reports whether it did; a register that already holds
// entries (a second start) is left as it is. Every entry is checked with
// catalog.CheckPublishable first.
func Seed(ctx context.Context, st seeder) (bool, error) {
	sensors := Sensors()
	t := Territory()
	for _, s := range sensors {
		if errs := catalog.CheckPublishable(s, t); len(errs) > 0 {
			return false, fmt.Errorf("demo: entry %s is not publishable: %v", s.ID, errs)
		}
	}
	seeded, err := st.SeedIfEmpty(ctx, sensors, store.Change{
		ActorRole: catalog.RoleSystem,
		Actor:     "registry -demo",
		Reason:    "Création de la commune de démonstration",
	})
	if err != nil {
		return false, fmt.Errorf("demo: seed: %w", err)
	}
	return seeded, nil
}

func text(fr, en string) registryapi.Text { return registryapi.Text{FR: fr, EN: en} }

func ptr[T any](v T) *T { return &v }

func quantity(name, unit string, min, max float64, period int, fr, en string) registryapi.Quantity {
	return registryapi.Quantity{Name: name, Unit: unit, Min: ptr(min), Max: ptr(max), PeriodSeconds: period, Label: text(fr, en)}
}

// index marks q as a cumulative meter index.
func index(q registryapi.Quantity) registryapi.Quantity {
	q.Aggregation = registryapi.AggregationIndex
	return q
}

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err) // constants below
	}
	return &t
}

// common returns the facets every demo entry shares: who is accountable,
// the contacts, storage, access and open data.
func common(category string) registryapi.Sensor {
	return registryapi.Sensor{
		Category: category,
		Accountable: registryapi.Organisation{
			Name:            text(TownFR, TownEN),
			URL:             "https://www." + Domain,
			PublicAuthority: true,
		},
		PublicContact: registryapi.Contact{
			Email: Email,
			URL:   "https://www." + Domain + "/capteurs/contact",
		},
		DPOContact: registryapi.Contact{Email: "dpo@" + Domain},
		DataTypes:  []string{"values_time"},
		Storage:    []string{"stored_locally", "backed_up_locally"},
		StorageLocation: text(
			"Serveur de la commune, à l'hôtel de ville de Valmont-sur-Lise (France), sauvegardé dans un second bâtiment communal",
			"The municipality's server at Valmont-sur-Lise town hall (France), backed up in a second municipal building"),
		Access:          []string{"available_to_download", "available_to_the_accountable_organization"},
		Identifiability: registryapi.NoPersonalData,
		OpenData:        true,
		OpenDataLicence: "Licence Ouverte / Open Licence version 2.0 (Etalab)",
		OpenDataURL:     "https://data." + Domain + "/capteurs/" + category,
		Status:          registryapi.StatusActive,
	}
}

// Sensors returns the demo entries, fresh copies at each call.
func Sensors() []registryapi.Sensor {
	var out []registryapi.Sensor
	out = append(out, air()...)
	out = append(out, parking()...)
	out = append(out, lighting()...)
	out = append(out, energy()...)
	return out
}

func air() []registryapi.Sensor {
	pm10 := quantity("pm10", "ug/m3", 0, 1000, 60, "Particules PM10", "PM10 particulate matter")
	pm25 := quantity("pm2_5", "ug/m3", 0, 1000, 60, "Particules fines PM2,5", "PM2.5 fine particulate matter")
	no2 := quantity("no2", "ug/m3", 0, 500, 60, "Dioxyde d'azote (NO₂)", "Nitrogen dioxide (NO₂)")
	temp := quantity("temperature", "Cel", -30, 50, 60, "Température de l'air", "Air temperature")
	hum := quantity("humidity", "%RH", 0, 100, 60, "Humidité relative", "Relative humidity")
	pres := quantity("pressure", "hPa", 900, 1080, 60, "Pression atmosphérique", "Atmospheric pressure")

	station := func(id, site, zone string, lat, lon float64, addr, nbh string, name, attached registryapi.Text, since string, qs ...registryapi.Quantity) registryapi.Sensor {
		s := common(registryapi.CategoryAir)
		s.ID, s.Name, s.AttachedTo, s.Site = id, name, attached, site
		s.Tags = map[string]string{"zone": zone}
		s.Technology = []string{"air_quality", "thermometer"}
		s.Manufacturer = "Sensirion, Bosch Sensortec, Alphasense"
		s.Model = "SPS30 + BME280 + NO2-B43F"
		s.Purposes = []string{"health", "ecology", "inform"}
		s.Description = text(
			"Cette station mesure en continu les particules, le dioxyde d'azote et les conditions météorologiques pour informer les habitants de la qualité de l'air de leur quartier et repérer les pics de pollution. Elle complète, sans les remplacer, les stations de référence de l'association agréée de surveillance de la qualité de l'air.",
			"This station continuously measures particulate matter, nitrogen dioxide and weather conditions, to inform residents of the air quality in their neighbourhood and spot pollution peaks. It complements, and does not replace, the reference stations of the approved air quality monitoring association.")
		s.Quantities = qs
		s.Processing = []string{"raw_data", "aggregated", "transport_layer_security"}
		s.LegalReference = text(
			"Code de l'environnement, articles L221-1 et suivants (surveillance de la qualité de l'air et information du public)",
			"French Environment Code, articles L221-1 et seq. (air quality monitoring and public information)")
		s.Retention = "P5Y"
		s.Location = registryapi.Location{Lat: lat, Lon: lon, Address: addr, Neighbourhood: nbh}
		s.CommissionedAt = date(since)
		return s
	}
	return []registryapi.Sensor{
		station("air-mairie-01", "hotel-de-ville", "centre", 46.9478, 2.0452,
			"Place de l'Hôtel-de-Ville, Valmont-sur-Lise", "Centre-ville",
			text("Qualité de l'air – place de l'Hôtel-de-Ville", "Air quality – Town Hall square"),
			text("Façade de l'hôtel de ville, à 3 m de hauteur", "Town hall front wall, 3 m above ground"),
			"2024-03-18", pm10, pm25, no2, temp, hum),
		station("air-ecole-01", "ecole-jules-ferry", "nord", 46.9562, 2.0391,
			"12 rue des Écoles, Valmont-sur-Lise", "Les Coteaux",
			text("Qualité de l'air – école Jules-Ferry", "Air quality – Jules-Ferry school"),
			text("Mât d'éclairage devant le portail de l'école", "Lamp post in front of the school gate"),
			"2024-09-02", pm10, pm25, temp, hum),
		station("air-gare-01", "gare", "gare", 46.9401, 2.0568,
			"Avenue de la Gare, Valmont-sur-Lise", "Quartier de la gare",
			text("Qualité de l'air – avenue de la Gare", "Air quality – Station Avenue"),
			text("Abri du carrefour de l'avenue de la Gare et de la rue de la Lise", "Shelter at the crossing of Station Avenue and Rue de la Lise"),
			"2024-03-25", no2, pm10, pm25, pres, temp),
	}
}

func parking() []registryapi.Sensor {
	occ := quantity("occupancy", "/", 0, 1, 30, "Occupation de la place (0 libre, 1 occupée)", "Bay occupancy (0 free, 1 taken)")
	occ.Aggregation = registryapi.AggregationOccupancy
	bay := func(id, site, zone, kind string, lat, lon float64, addr string, name, attached registryapi.Text, since string) registryapi.Sensor {
		s := common(registryapi.CategoryParking)
		s.ID, s.Name, s.AttachedTo, s.Site = id, name, attached, site
		s.Tags = map[string]string{"zone": zone, "bay": kind}
		s.Technology = []string{"induction_loop"}
		s.Quantities = []registryapi.Quantity{occ}
		s.DataTypes = []string{"boolean", "values_time"}
		s.Processing = []string{"raw_data", "encrypted", "transport_layer_security"}
		s.LegalReference = text(
			"Code général des collectivités territoriales, articles L2213-2 (réglementation de l'arrêt et du stationnement) et L2213-6 (stationnement sur la voie publique)",
			"French General Code of Local Authorities, articles L2213-2 (regulation of stopping and parking) and L2213-6 (parking on the public highway)")
		s.Retention = "P1Y"
		s.Location = registryapi.Location{Lat: lat, Lon: lon, Address: addr}
		s.CommissionedAt = date(since)
		return s
	}

	gare := bay("parking-gare-01", "parking-gare", "gare", "standard", 46.9396, 2.0575,
		"Parking de la gare, place 14, Valmont-sur-Lise",
		text("Stationnement – parking de la gare, place 14", "Parking – station car park, bay 14"),
		text("Place de stationnement n° 14, sous le revêtement", "Parking bay no. 14, under the road surface"), "2024-05-06")
	gare.Purposes = []string{"mobility", "inform", "planning_decision_making"}
	gare.Description = text(
		"Ce capteur indique si la place est libre ou occupée, pour afficher le nombre de places libres à l'entrée du parking et sur le site de la commune, et pour dimensionner l'offre de stationnement près de la gare.",
		"This sensor tells whether the bay is free or taken, to show the number of free bays at the car park entrance and on the municipality's website, and to size parking near the station.")

	pmr := bay("parking-gare-02", "parking-gare", "gare", "pmr", 46.9397, 2.0573,
		"Parking de la gare, place PMR 2, Valmont-sur-Lise",
		text("Stationnement – place réservée PMR, parking de la gare", "Parking – accessible bay, station car park"),
		text("Place réservée aux personnes à mobilité réduite n° 2, sous le revêtement", "Accessible parking bay no. 2, under the road surface"), "2024-05-06")
	pmr.Purposes = []string{"accessibility", "mobility", "inform"}
	pmr.Description = text(
		"Ce capteur indique si la place réservée aux personnes à mobilité réduite est libre, pour que ses usagers le sachent avant de se déplacer.",
		"This sensor tells whether the bay reserved for people with reduced mobility is free, so that its users know before they travel.")

	marche := func(id string, n int, lat, lon float64, since string) registryapi.Sensor {
		s := bay(id, "place-du-marche", "centre", "zone-bleue", lat, lon,
			fmt.Sprintf("Place du Marché, place %d (zone bleue), Valmont-sur-Lise", n),
			text(fmt.Sprintf("Stationnement – place du Marché, place %d (zone bleue)", n),
				fmt.Sprintf("Parking – Market square, bay %d (blue zone)", n)),
			text(fmt.Sprintf("Place de stationnement n° %d, sous le revêtement", n),
				fmt.Sprintf("Parking bay no. %d, under the road surface", n)), since)
		s.Purposes = []string{"mobility", "enforcement", "planning_decision_making"}
		s.Description = text(
			"La place du Marché est en zone bleue : le stationnement y est limité à 1 h 30 les jours de marché. Le capteur indique si la place est occupée et depuis quand, pour que les agents de surveillance de la voie publique vérifient le disque de stationnement des seuls véhicules qui semblent dépasser la durée autorisée, et pour mesurer la rotation des places au profit des commerces.",
			"Market square is a blue zone: parking is limited to 1 h 30 on market days. The sensor tells whether the bay is taken and since when, so that parking wardens check the parking disc of only the vehicles that seem to exceed the allowed time, and to measure the turnover of bays for the benefit of local shops.")
		s.Identifiability = registryapi.DeidentifiedAtSource
		s.DeidentificationMethod = text(
			"Le capteur mesure seulement la perturbation du champ magnétique terrestre due à une masse métallique. Il ne capte ni image, ni plaque d'immatriculation, ni identifiant radio du véhicule : seul l'état libre ou occupé de la place, avec son heure, quitte le capteur. L'occupation d'une place reste liée à un véhicule présent sur la voie publique ; c'est pourquoi ce traitement est inscrit au registre des traitements.",
			"The sensor only measures the disturbance of the Earth's magnetic field caused by a metal mass. It captures no image, no number plate and no radio identifier of the vehicle: only the free or taken state of the bay, with its time, leaves the sensor. A bay's occupancy still relates to a vehicle on the public highway, which is why this processing is listed in the record of processing activities.")
		s.LegalBasis = registryapi.BasisPublicTask
		s.PrivacyNoticeURL = "https://www." + Domain + "/donnees-personnelles/capteurs-stationnement"
		s.Art30Record = "RT-2024-017 (registre des activités de traitement de la commune)"
		return s
	}
	return []registryapi.Sensor{
		gare, pmr,
		marche("parking-marche-01", 3, 46.9483, 2.0440, "2024-06-10"),
		marche("parking-marche-02", 4, 46.9484, 2.0442, "2024-06-10"),
	}
}

func lighting() []registryapi.Sensor {
	power := quantity("power", "W", 0, 250, 60, "Puissance appelée par le luminaire", "Luminaire power draw")
	lux := quantity("illuminance", "lx", 0, 100000, 60, "Éclairement ambiant", "Ambient illuminance")
	dim := quantity("dimming", "/", 0, 1, 60, "Taux de gradation (0 éteint, 1 pleine puissance)", "Dimming level (0 off, 1 full power)")
	light := func(id, site, zone, cabinet string, lat, lon float64, addr, nbh string, name, attached registryapi.Text, since string) registryapi.Sensor {
		s := common(registryapi.CategoryLighting)
		s.ID, s.Name, s.AttachedTo, s.Site = id, name, attached, site
		s.Tags = map[string]string{"zone": zone, "cabinet": cabinet}
		s.Technology = []string{"passive_infrared_sensor"}
		s.Model = "Zhaga Book 18 luminaire node (photocell, PIR)"
		s.Purposes = []string{"energy_efficiency", "safety_security", "ecology"}
		s.Description = text(
			"Ce contrôleur pilote et mesure le luminaire : il abaisse l'éclairage au cœur de la nuit et le relève au passage d'un piéton ou d'un véhicule, pour économiser l'énergie et limiter la pollution lumineuse sans renoncer à la sécurité. Le détecteur de présence ne compte ni n'identifie personne : il déclenche seulement la remontée de la lumière.",
			"This controller drives and meters the luminaire: it dims the light in the middle of the night and raises it when a pedestrian or a vehicle passes, to save energy and limit light pollution without giving up safety. The presence detector neither counts nor identifies anyone: it only triggers the light.")
		s.Quantities = []registryapi.Quantity{power, lux, dim}
		s.Processing = []string{"raw_data", "aggregated", "transport_layer_security"}
		s.LegalReference = text(
			"Code de l'environnement, articles L583-1 et suivants, et arrêté du 27 décembre 2018 relatif à la prévention, à la réduction et à la limitation des nuisances lumineuses",
			"French Environment Code, articles L583-1 et seq., and order of 27 December 2018 on the prevention, reduction and limitation of light pollution")
		s.Retention = "P3Y"
		s.Location = registryapi.Location{Lat: lat, Lon: lon, Address: addr, Neighbourhood: nbh}
		s.CommissionedAt = date(since)
		return s
	}
	return []registryapi.Sensor{
		light("eclairage-lise-01", "rue-de-la-lise", "centre", "armoire-03", 46.9455, 2.0489,
			"14 rue de la Lise, Valmont-sur-Lise", "Centre-ville",
			text("Éclairage public – rue de la Lise, candélabre 14", "Street lighting – Rue de la Lise, lamp post 14"),
			text("Candélabre n° 14 de la rue de la Lise", "Lamp post no. 14, Rue de la Lise"), "2024-10-14"),
		light("eclairage-lise-02", "rue-de-la-lise", "centre", "armoire-03", 46.9449, 2.0511,
			"22 rue de la Lise, Valmont-sur-Lise", "Centre-ville",
			text("Éclairage public – rue de la Lise, candélabre 22", "Street lighting – Rue de la Lise, lamp post 22"),
			text("Candélabre n° 22 de la rue de la Lise", "Lamp post no. 22, Rue de la Lise"), "2024-10-14"),
		light("eclairage-parc-01", "parc-des-tilleuls", "nord", "armoire-07", 46.9531, 2.0427,
			"Parc des Tilleuls, allée centrale, Valmont-sur-Lise", "Les Coteaux",
			text("Éclairage public – parc des Tilleuls", "Street lighting – Tilleuls park"),
			text("Borne lumineuse de l'allée centrale du parc des Tilleuls", "Bollard light on the central path of Tilleuls park"), "2025-01-20"),
	}
}

func energy() []registryapi.Sensor {
	building := func(id, site string, maxPower float64, lat, lon float64, addr string, name, attached registryapi.Text, since string) registryapi.Sensor {
		s := common(registryapi.CategoryEnergy)
		s.ID, s.Name, s.AttachedTo, s.Site = id, name, attached, site
		s.Tags = map[string]string{"building": site, "meter": "general"}
		s.Technology = []string{"thermometer"}
		s.Model = "Linky (TIC) + BME280"
		s.Purposes = []string{"energy_efficiency", "planning_decision_making", "ecology"}
		s.Description = text(
			"Ce dispositif relève la consommation d'électricité du bâtiment sur la sortie de téléinformation de son compteur, ainsi que la température intérieure, pour suivre les économies d'énergie exigées par le dispositif éco-énergie tertiaire (−40 % en 2030, −50 % en 2040, −60 % en 2050 par rapport à l'année de référence) et repérer les dérives de chauffage.",
			"This device reads the building's electricity use from its meter's customer information output, and the indoor temperature, to track the energy savings that the French tertiary decree requires (−40 % by 2030, −50 % by 2040, −60 % by 2050 against the reference year) and spot heating drifts.")
		s.Quantities = []registryapi.Quantity{
			quantity("power", "W", 0, maxPower, 60, "Puissance électrique appelée", "Electrical power draw"),
			index(quantity("energy", "Wh", 0, 1e12, 60, "Index de consommation d'électricité", "Electricity consumption index")),
			quantity("indoor_temperature", "Cel", 0, 40, 300, "Température intérieure", "Indoor temperature"),
		}
		s.Processing = []string{"raw_data", "aggregated", "transport_layer_security"}
		s.LegalReference = text(
			"Code de la construction et de l'habitation, article L174-1 et articles R174-22 et suivants (dispositif éco-énergie tertiaire, dit « décret tertiaire »)",
			"French Construction and Housing Code, article L174-1 and articles R174-22 et seq. (tertiary-sector energy savings scheme, the \"décret tertiaire\")")
		s.Retention = "P10Y"
		s.Location = registryapi.Location{Lat: lat, Lon: lon, Address: addr, Indoor: true}
		s.CommissionedAt = date(since)
		return s
	}
	return []registryapi.Sensor{
		building("energie-mairie-01", "hotel-de-ville", 60000, 46.9480, 2.0455,
			"Hôtel de ville, place de l'Hôtel-de-Ville, Valmont-sur-Lise",
			text("Énergie – hôtel de ville", "Energy – town hall"),
			text("Tableau électrique général de l'hôtel de ville", "Town hall main switchboard"), "2024-01-15"),
		building("energie-ecole-01", "ecole-jules-ferry", 120000, 46.9565, 2.0388,
			"Groupe scolaire Jules-Ferry, 12 rue des Écoles, Valmont-sur-Lise",
			text("Énergie – groupe scolaire Jules-Ferry", "Energy – Jules-Ferry school"),
			text("Tableau électrique général du groupe scolaire", "School main switchboard"), "2024-02-05"),
	}
}

// IDs returns the ids of the demo entries, in order.
func IDs() []string {
	var ids []string
	for _, s := range Sensors() {
		ids = append(ids, s.ID)
	}
	return ids
}
