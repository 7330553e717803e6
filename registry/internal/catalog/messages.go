package catalog

import (
	"fmt"
	"strings"

	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/registryapi"
)

// Languages of the messages; French is the default.
const (
	LangFR = "fr"
	LangEN = "en"
)

// Problem is one problem with one field of an entry, not yet in words: a
// stable Code (the key of the fr/en catalogue, and the "code" of the
// answered registryapi.FieldError) and the arguments of its message. Put
// it in a language with In.
type Problem struct {
	// Field is the field's JSON path: "name.en", "quantities[1].unit".
	Field string
	// Code is one of the codes of Messages, e.g. "required".
	Code string
	Args []any
}

// Problems are the problems of one entry, in the order found.
type Problems []Problem

// facet is a DTPR category id given as a message argument: it is written
// as the category's label in the message's language.
type facet string

// In returns the problem in lang ("fr", "en"; anything else is French).
func (p Problem) In(lang string) registryapi.FieldError {
	return registryapi.FieldError{Field: p.Field, Code: p.Code, Message: Message(lang, p.Code, p.Args...)}
}

// In returns every problem in lang; an empty list for none (never nil, so
// that JSON says []).
func (ps Problems) In(lang string) []registryapi.FieldError {
	out := make([]registryapi.FieldError, len(ps))
	for i, p := range ps {
		out[i] = p.In(lang)
	}
	return out
}

// Error lists the problems, in English, for logs and wrapped errors.
func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		e := p.In(LangEN)
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

// Message returns the message of code in lang, formatted with args. An
// unknown code is returned as it is (a test checks that every code used
// has both languages).
func Message(lang, code string, args ...any) string {
	m, ok := messages[code]
	if !ok {
		return code
	}
	format := m.fr
	if lang == LangEN {
		format = m.en
	}
	if len(args) == 0 {
		return format
	}
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
		if f, ok := a.(facet); ok {
			out[i] = string(f)
			if c, ok := dtpr.Device().Category(string(f)); ok {
				out[i] = c.Name.In(lang)
			}
		}
	}
	return fmt.Sprintf(format, out...)
}

// Codes returns every message code, for tests and documentation.
func Codes() []string {
	out := make([]string, 0, len(messages))
	for c := range messages {
		out = append(out, c)
	}
	return out
}

// messages is the fr/en catalogue of problems, by code. Codes are stable:
// clients may branch on them; the words may change.
var messages = map[string]struct{ fr, en string }{
	// Any field.
	"required":           {"est obligatoire", "is required"},
	"url.invalid":        {"%q n'est pas une adresse web http(s)", "%q is not an http(s) URL"},
	"email.invalid":      {"%q n'est pas une adresse électronique", "%q is not an e-mail address"},
	"duplicate":          {"%q figure deux fois", "%q is listed twice"},
	"number.not_finite":  {"n'est pas un nombre fini", "is not a finite number"},
	"dtpr.at_least_one":  {"demande au moins un élément DTPR « %s »", "needs at least one DTPR %s element"},
	"dtpr.at_least":      {"demande au moins %d éléments DTPR « %s »", "needs at least %d DTPR %s elements"},
	"dtpr.too_many":      {"a %d éléments ; %d au plus sont permis", "has %d elements; at most %d are allowed"},
	"dtpr.unknown":       {"%q n'est pas un élément DTPR « %s »", "%q is not a DTPR %s element"},
	"contact.required":   {"demande une adresse électronique ou l'adresse d'un formulaire de contact", "needs an e-mail address or a contact form URL"},
	"contact.personal":   {"%q ressemble à l'adresse d'une personne nommée (prénom.nom@) ; indiquez une adresse fonctionnelle comme %s", "%q looks like a named person's address (firstname.lastname@); use a functional mailbox such as %s"},
	"id.invalid":         {"%q n'est pas un identifiant de capteur : ^[a-z0-9][a-z0-9-]{2,62}$", "%q is not a sensor id: ^[a-z0-9][a-z0-9-]{2,62}$"},
	"id.changed":         {"l'identifiant d'une fiche ne change pas (%q au lieu de %q)", "an entry's id cannot change (%q instead of %q)"},
	"id.taken":           {"%q est déjà l'identifiant d'une autre fiche", "%q is already another entry's id"},
	"category.invalid":   {"%q n'est pas une des catégories %s", "%q is not one of %s"},
	"category.published": {"la catégorie d'une fiche publiée ne change pas (elle nomme ses mesures dans InfluxDB) : créez une nouvelle fiche", "the category of a published entry cannot change (it names its measurements in InfluxDB): create a new entry"},

	// Identity.
	"site.invalid":        {"%q n'est pas une clé de site : ^[a-z0-9][a-z0-9-]{0,62}$ (un bâtiment, un parking, une rue)", "%q is not a site key: ^[a-z0-9][a-z0-9-]{0,62}$ (a building, a car park, a street)"},
	"tags.too_many":       {"a %d étiquettes ; %d au plus sont permises", "has %d tags; at most %d are allowed"},
	"tag.name_invalid":    {"%q n'est pas un nom d'étiquette : ^[a-z][a-z0-9_]{0,30}$", "%q is not a tag name: ^[a-z][a-z0-9_]{0,30}$"},
	"tag.reserved":        {"%q est posée par la passerelle et ne peut pas être une étiquette de la fiche", "%q is set by the gateway and cannot be a tag of the entry"},
	"tag.quantity_name":   {"%q est aussi le nom d'une grandeur mesurée", "%q is also a quantity name"},
	"tag.value_invalid":   {"%q n'est pas une valeur d'étiquette : ^[a-z0-9][a-z0-9-]{0,62}$", "%q is not a tag value: ^[a-z0-9][a-z0-9-]{0,62}$"},
	"quantities.required": {"demande au moins une grandeur mesurée déclarée", "needs at least one declared quantity"},
	"quantity.name":       {"%q n'est pas un nom SenML : ^[a-z][a-z0-9_]{0,62}$", "%q is not a SenML name: ^[a-z][a-z0-9_]{0,62}$"},
	"quantity.twice":      {"%q est déclarée deux fois", "%q is declared twice"},
	"unit.invalid":        {"%q n'est pas une unité SenML (par exemple Cel, %%RH, hPa, ug/m3, lx, W, Wh, /)", "%q is not a SenML unit (e.g. Cel, %%RH, hPa, ug/m3, lx, W, Wh, /)"},
	"range.inverted":      {"%g n'est pas au-dessus du minimum %g", "%g is not above min %g"},
	"period.negative":     {"%d est négatif", "%d is negative"},
	"aggregation.invalid": {"%q n'est pas une agrégation connue (%s)", "%q is not a known aggregation (%s)"},

	// Identifiability and legal basis.
	"identifiability.invalid":       {"%q n'est pas une des valeurs %s", "%q is not one of %s"},
	"dpia.required":                 {"est obligatoire quand les données sont %s (analyse d'impact, RGPD art. 35)", "is required when the data is %s (impact assessment, GDPR art. 35)"},
	"legal_basis.required":          {"est obligatoire, sauf si le capteur ne collecte aucune donnée personnelle", "is required unless the sensor collects no personal data"},
	"legal_basis.invalid":           {"%q n'est pas une des bases %s", "%q is not one of %s"},
	"legal_basis.public_authority":  {"6-1-f (intérêt légitime) n'est pas ouvert à une autorité publique dans l'exécution de ses missions (RGPD art. 6(1), dernier alinéa) : utilisez 6-1-e avec son texte", "6-1-f (legitimate interest) is not available to a public authority in its public tasks (GDPR art. 6(1), last subparagraph); use 6-1-e with its legal text"},
	"legal_reference.required":      {"est obligatoire avec la base légale %s : citez le texte", "is required with legal basis %s: name the legal text"},
	"art30.required":                {"est obligatoire, sauf si le capteur ne collecte aucune donnée personnelle (RGPD art. 30)", "is required unless the sensor collects no personal data (GDPR art. 30)"},
	"retention.required":            {"est obligatoire : une durée ISO 8601 comme P1Y", "is required: an ISO 8601 duration such as P1Y"},
	"retention.unenforceable":       {"%q ne peut pas être appliquée par la base de mesures : une durée de conservation compte des heures entières, au moins une", "%q cannot be enforced by the readings database: a retention is a whole number of hours, at least one"},
	"retention.invalid":             {"%q n'est pas une durée ISO 8601 comme P1Y, P6M ou P30D", "%q is not an ISO 8601 duration such as P1Y, P6M or P30D"},
	"retention.zero":                {"%q ne conserve rien : indiquez combien de temps les données sont gardées", "%q keeps nothing: state how long data is kept"},
	"retention.too_long":            {"%q dépasse %d ans", "%q is longer than %d years"},
	"open_data_licence.required":    {"est obligatoire pour des données ouvertes", "is required for open data"},
	"location.required":             {"est obligatoire : un point WGS84, ou une zone pour un capteur mobile", "is required: a WGS84 point, or an area for a mobile sensor"},
	"location.invalid":              {"%g, %g n'est pas une position WGS84", "%g, %g is not a WGS84 position"},
	"location.outside":              {"%g, %g est hors du territoire (%s)", "%g, %g is outside the territory (%s)"},
	"address.required":              {"est obligatoire pour un capteur fixe", "is required for a sensor at a fixed place"},
	"area.not_ring":                 {"n'est pas un anneau fermé d'au moins 4 positions [lon, lat]", "is not a closed ring of at least 4 [lon, lat] positions"},
	"area.invalid":                  {"%g, %g n'est pas une position WGS84 [lon, lat]", "%g, %g is not a WGS84 [lon, lat] position"},
	"area.outside":                  {"%g, %g est hors du territoire (%s)", "%g, %g is outside the territory (%s)"},
	"status.invalid":                {"%q n'est pas un des états %s", "%q is not one of %s"},
	"decommissioned_at.retired":     {"est obligatoire pour un capteur retiré du service", "is required for a retired sensor"},
	"decommissioned_at.before":      {"est antérieure à la date de mise en service", "is before commissioned_at"},
	"decommissioned_at.not_retired": {"ne se remplit qu'au retrait du service", "is only set when the sensor is retired"},

	// Lifecycle (CheckTransition) and changes.
	"status.unchanged":       {"la fiche est déjà « %s »", "the entry is already %s"},
	"status.retired_final":   {"la fiche est retirée du service : c'est définitif (elle reste publique)", "the entry is retired: that is final (it stays public)"},
	"status.unpublish":       {"une fiche publiée (%s) ne redevient pas un brouillon", "a published entry (%s) cannot become a draft again"},
	"status.publish_first":   {"un brouillon se publie d'abord (il passe « en service ») avant de passer « %s »", "a draft is published first (it becomes active) before it can be %s"},
	"status.use_lifecycle":   {"l'état change par la publication ou le changement d'état, pas par une modification (%q au lieu de %q)", "the status changes by publishing or by a status change, not by an update (%q instead of %q)"},
	"reason.required":        {"est obligatoire pour toute modification d'une fiche publiée : dites pourquoi", "is required for every change to a published entry: say why"},
	"reason.too_long":        {"dépasse %d caractères", "is longer than %d characters"},
	"version.required":       {"est obligatoire : la version de la fiche sur laquelle la modification a été faite", "is required: the version of the entry that the change was made from"},
	"text.too_long":          {"dépasse %d caractères", "is longer than %d characters"},
	"bridge.name":            {"est obligatoire : un nom d'une ligne d'au plus %d caractères", "is required: a one-line name of at most %d characters"},
	"bridge.sensor_unknown":  {"%q n'est pas une fiche du registre", "%q is not an entry of the register"},
	"bridge.sensor_retired":  {"%q est retiré du service", "%q is retired"},
	"template.unknown":       {"%q n'a pas de modèle ; modèles : %s", "%q has no template; templates: %s"},
	"template.category":      {"le modèle est celui de la catégorie %s, la fiche dit %s", "the template is for %s, the entry says %s"},
	"history.created":        {"Création de la fiche", "Entry created"},
	"credentials.retired":    {"un capteur retiré du service ne reçoit pas d'identifiants", "a retired sensor gets no credentials"},
	"credentials.bridge_off": {"une passerelle retirée ne reçoit pas d'identifiants", "a retired bridge gets no credentials"},
}

// fieldLabels names the top-level fields of an entry (their JSON names)
// in words, for the public history of changes: fr, en.
var fieldLabels = map[string][2]string{
	"id":                      {"identifiant", "id"},
	"name":                    {"nom", "name"},
	"category":                {"catégorie", "category"},
	"technology":              {"technologie", "technology"},
	"manufacturer":            {"fabricant", "manufacturer"},
	"model":                   {"modèle", "model"},
	"attached_to":             {"support", "attached to"},
	"site":                    {"site", "site"},
	"tags":                    {"étiquettes", "tags"},
	"accountable":             {"organisme responsable", "accountable organisation"},
	"operators":               {"opérateurs", "operators"},
	"public_contact":          {"contact public", "public contact"},
	"dpo_contact":             {"contact du délégué à la protection des données", "data protection officer's contact"},
	"purposes":                {"buts", "purposes"},
	"description":             {"description", "description"},
	"quantities":              {"grandeurs mesurées", "measured quantities"},
	"data_types":              {"types de données", "data types"},
	"processing":              {"traitements", "processing"},
	"identifiability":         {"identification", "identifiability"},
	"deidentification_method": {"méthode de désidentification", "de-identification method"},
	"legal_basis":             {"base légale", "legal basis"},
	"legal_reference":         {"texte légal", "legal text"},
	"privacy_notice_url":      {"mentions d'information", "privacy notice"},
	"art30_record":            {"registre des traitements", "record of processing"},
	"dpia_reference":          {"analyse d'impact", "impact assessment"},
	"storage":                 {"stockage", "storage"},
	"storage_location":        {"lieu de stockage", "storage location"},
	"retention":               {"durée de conservation", "retention"},
	"access":                  {"accès aux données", "data access"},
	"open_data":               {"données ouvertes", "open data"},
	"open_data_licence":       {"licence des données ouvertes", "open data licence"},
	"open_data_url":           {"lien des données ouvertes", "open data link"},
	"location":                {"emplacement", "location"},
	"status":                  {"statut", "status"},
	"version":                 {"version", "version"},
	"commissioned_at":         {"date de mise en service", "commissioning date"},
	"decommissioned_at":       {"date de retrait du service", "decommissioning date"},
	"active_until":            {"fin de service prévue", "planned end of service"},
	"updated_at":              {"date de mise à jour", "update date"},
	"url":                     {"adresse de la fiche", "entry address"},
	"source_ref":              {"référence d'inventaire", "inventory reference"},
}

// FieldLabel names the top-level field of an entry (its JSON name, or the
// first element of a field path such as "location.address") in lang, and
// reports whether it knows it; an unknown field is returned as it is.
func FieldLabel(lang, field string) (string, bool) {
	top := field
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	l, ok := fieldLabels[top]
	if !ok {
		return field, false
	}
	if lang == LangEN {
		return l[1], true
	}
	return l[0], true
}

// DescribeChanges says, in lang, which fields a version changed, from the
// store's summary of a version (the JSON names of the changed fields,
// separated by ", "): "nom, emplacement". Unknown names are kept as
// they are.
func DescribeChanges(lang, summary string) string {
	var words []string
	for _, f := range strings.Split(summary, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		w, _ := FieldLabel(lang, f)
		words = append(words, w)
	}
	return strings.Join(words, ", ")
}
