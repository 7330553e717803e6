package web

import (
	"fmt"
	"strconv"
	"strings"
)

// Languages of the pages; the first is the default.
const (
	LangFR = "fr"
	LangEN = "en"
)

// Negotiate picks the language of a page: the lang query parameter when it
// is "fr" or "en", otherwise the one of the two that Accept-Language prefers
// (by q-value, then by order), otherwise French.
func Negotiate(queryLang, acceptLanguage string) string {
	switch queryLang {
	case LangFR, LangEN:
		return queryLang
	}
	best, bestQ := LangFR, 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if primary != LangFR && primary != LangEN {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}

// localizer gives the visible strings of one language.
type localizer struct {
	lang string
	msgs map[string]string
}

// T returns the message key, formatted with args when given. A missing key
// shows as ⟦key⟧, which the tests look for.
func (l localizer) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return "⟦" + key + "⟧"
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// has reports whether key exists.
func (l localizer) has(key string) bool {
	_, ok := l.msgs[key]
	return ok
}

// coreCatalogue returns the visible strings of the core pages, by language
// then key; catalogue (i18n_reports.go) adds those of reports and quality.
// Both languages must have the same keys: a test checks it.
func coreCatalogue() map[string]map[string]string {
	return map[string]map[string]string{
		LangFR: {
			"site.title":      "Registre public des capteurs",
			"site.skip":       "Aller au contenu",
			"site.nav":        "Navigation principale",
			"site.list":       "Tous les capteurs",
			"site.lang.other": "English",
			"site.lang.label": "Read this page in English",
			"site.api":        "Le registre en JSON (API ouverte)",
			"site.credit":     "Libellés et descriptions des dispositifs issus de la taxonomie %s, sous licence %s ; texte repris sans modification.",
			"site.credit.src": "Source de la taxonomie",

			"list.title":   "Capteurs publiés",
			"list.intro":   "Ce registre recense les capteurs que la collectivité installe dans l'espace public et dans ses bâtiments : ce qu'ils mesurent, pourquoi, sur quelle base légale, s'ils peuvent vous identifier, qui en est responsable, combien de temps les données sont gardées et où les retrouver en données ouvertes.",
			"list.count":   "%d capteurs publiés.",
			"list.count1":  "1 capteur publié.",
			"list.empty":   "Aucun capteur n'est encore publié.",
			"list.caption": "Capteurs publiés dans le registre, par catégorie",
			"list.name":    "Nom",
			"list.cat":     "Catégorie",
			"list.what":    "Ce qu'il mesure",
			"list.ident":   "Données personnelles",
			"list.status":  "Statut",
			"list.address": "Adresse",

			"category.air":      "Qualité de l'air",
			"category.parking":  "Stationnement",
			"category.lighting": "Éclairage public",
			"category.energy":   "Énergie des bâtiments",
			"category.other":    "Autre",

			"status.draft":       "Brouillon",
			"status.active":      "En service",
			"status.maintenance": "En maintenance",
			"status.retired":     "Retiré du service",

			"ident.identifiable":           "Identifiant",
			"ident.pseudonymised":          "Pseudonymisé",
			"ident.deidentified_at_source": "Désidentifié à la source",
			"ident.aggregate_only":         "Agrégé uniquement",
			"ident.no_personal_data":       "Aucune donnée personnelle",

			"identx.identifiable":           "Ce capteur collecte des données qui peuvent identifier des personnes.",
			"identx.pseudonymised":          "Les personnes ne sont pas nommées, mais les données restent personnelles : elles pourraient être rattachées à quelqu'un avec des informations complémentaires.",
			"identx.deidentified_at_source": "Le capteur retire ce qui pourrait identifier une personne avant que les données ne le quittent.",
			"identx.aggregate_only":         "Seuls des totaux ou des moyennes, qui ne désignent personne, sont conservés.",
			"identx.no_personal_data":       "Ce capteur ne collecte aucune donnée sur des personnes.",

			"entry.summary":        "En bref",
			"entry.id":             "Identifiant du capteur",
			"entry.category":       "Catégorie",
			"entry.status":         "Statut",
			"entry.commissioned":   "En service depuis le",
			"entry.decommissioned": "Retiré le",
			"entry.version":        "Version de la fiche",
			"entry.updated":        "Fiche mise à jour le",

			"entry.what":       "Ce qu'il mesure",
			"entry.q.caption":  "Grandeurs mesurées",
			"entry.q.quantity": "Grandeur",
			"entry.q.unit":     "Unité",
			"entry.q.range":    "Plage plausible",
			"entry.q.period":   "Fréquence",
			"entry.datatypes":  "Type de données (DTPR)",
			"entry.processing": "Traitement (DTPR)",
			"range.between":    "de %s à %s",
			"range.min":        "au moins %s",
			"range.max":        "au plus %s",
			"range.none":       "non précisée",
			"period.every":     "une mesure toutes les %s",
			"period.none":      "non précisée",
			"unit.none":        "sans unité",

			"entry.why":         "Pourquoi",
			"entry.purposes":    "Buts (DTPR), par ordre d'importance",
			"entry.description": "Description",

			"entry.who":            "Qui est responsable",
			"entry.accountable":    "Responsable du traitement",
			"entry.operators":      "Exploitants et sous-traitants",
			"entry.operators.none": "Aucun : la collectivité exploite elle-même ce capteur.",
			"entry.contact":        "Contact public",
			"entry.dpo":            "Délégué à la protection des données (DPO)",
			"contact.email":        "Courriel :",
			"contact.form":         "Formulaire de contact",
			"contact.phone":        "Téléphone :",

			"entry.ident":     "Peut-il vous identifier ?",
			"entry.ident.lvl": "Niveau d'identification",
			"entry.deid":      "Comment les personnes sont protégées",

			"entry.legal":             "Base légale",
			"entry.legal.basis":       "Base légale (RGPD)",
			"entry.legal.na":          "Sans objet : ce capteur ne collecte aucune donnée personnelle, le RGPD ne s'applique donc pas à ses mesures.",
			"entry.legal.ref":         "Texte de référence",
			"entry.legal.mission":     "Cadre juridique de la mission",
			"entry.legal.notice":      "Information des personnes",
			"entry.legal.notice.link": "Lire la notice d'information",
			"entry.legal.art30":       "Registre des traitements (RGPD, art. 30)",
			"entry.legal.dpia":        "Analyse d'impact (RGPD, art. 35)",
			"basis.6-1-a":             "Consentement des personnes concernées (RGPD, article 6, paragraphe 1, point a)",
			"basis.6-1-b":             "Exécution d'un contrat (RGPD, article 6, paragraphe 1, point b)",
			"basis.6-1-c":             "Respect d'une obligation légale (RGPD, article 6, paragraphe 1, point c)",
			"basis.6-1-d":             "Sauvegarde des intérêts vitaux d'une personne (RGPD, article 6, paragraphe 1, point d)",
			"basis.6-1-e":             "Mission d'intérêt public ou exercice de l'autorité publique (RGPD, article 6, paragraphe 1, point e)",
			"basis.6-1-f":             "Intérêt légitime (RGPD, article 6, paragraphe 1, point f)",
			"basisx.6-1-a":            "Les données ne sont collectées qu'avec votre accord, que vous pouvez retirer à tout moment.",
			"basisx.6-1-b":            "Les données sont nécessaires à un contrat auquel vous êtes partie.",
			"basisx.6-1-c":            "Une loi oblige l'organisation responsable à collecter ces données ; le texte est cité ci-dessous.",
			"basisx.6-1-d":            "Les données sont nécessaires pour protéger la vie ou la santé d'une personne.",
			"basisx.6-1-e":            "La loi confie cette mission à l'organisation responsable ; le texte qui la fonde est cité ci-dessous.",
			"basisx.6-1-f":            "L'organisation responsable invoque son intérêt légitime, mis en balance avec vos droits.",

			"entry.data":           "Conservation et accès",
			"entry.storage":        "Stockage (DTPR)",
			"entry.storage.where":  "Lieu de stockage",
			"entry.retention":      "Durée de conservation",
			"entry.retention.iso":  "soit %s en notation ISO 8601",
			"entry.retention.dtpr": "Conservation (DTPR)",
			"entry.access":         "Accès aux données (DTPR)",
			"entry.opendata":       "Données ouvertes",
			"entry.opendata.yes":   "Oui, sous %s.",
			"entry.opendata.no":    "Non : les mesures de ce capteur ne sont pas publiées en données ouvertes.",
			"entry.opendata.link":  "Télécharger les données",

			"entry.where":         "Où se trouve-t-il ?",
			"entry.address":       "Adresse",
			"entry.attached":      "Installé sur",
			"entry.neighbourhood": "Quartier",
			"entry.position":      "Position (WGS84)",
			"entry.map":           "Voir sur OpenStreetMap",
			"entry.indoor":        "Intérieur ou extérieur",
			"entry.indoor.yes":    "À l'intérieur d'un bâtiment",
			"entry.indoor.no":     "En extérieur",
			"entry.area":          "Capteur mobile : il se déplace dans une zone de %d points.",

			"entry.tech":         "Technologie",
			"entry.tech.dtpr":    "Technologie (DTPR)",
			"entry.manufacturer": "Fabricant",
			"entry.model":        "Modèle",

			"entry.readings":         "Dernières mesures",
			"entry.readings.caption": "Dernière valeur reçue de chaque grandeur",
			"entry.readings.value":   "Valeur",
			"entry.readings.time":    "Mesurée le",
			"entry.readings.none":    "Aucune mesure reçue de ce capteur ces sept derniers jours.",
			"entry.readings.down":    "Les dernières mesures sont momentanément indisponibles. Le reste de la fiche est à jour.",
			"entry.readings.closed":  "Les mesures de ce capteur ne sont pas publiées.",

			"entry.history":         "Historique de la fiche",
			"entry.history.caption": "Versions successives de la fiche, de la plus récente à la plus ancienne",
			"entry.history.version": "Version",
			"entry.history.date":    "Date",
			"entry.history.role":    "Modifiée par",
			"entry.history.reason":  "Motif",
			"entry.history.changes": "Changements",
			"entry.history.created": "Création de la fiche",
			"entry.history.changed": "Modifié : %s",
			"entry.json":            "Cette fiche en JSON",

			"entry.sign":      "Panneau imprimable",
			"entry.sign.text": "Le panneau à fixer près du capteur, en français : ce qu'il mesure, pourquoi, s'il peut identifier des personnes, qui en est responsable, combien de temps les données sont gardées, et un code QR qui mène à cette fiche.",
			"entry.sign.a5":   "Format A5 (148 × 210 mm)",
			"entry.sign.a6":   "Format A6 (105 × 148 mm)",

			"role.system":         "Le registre (automatique)",
			"role.technician":     "Un technicien ou une technicienne",
			"role.administrator":  "L'administration du registre",
			"role.dpo":            "Le délégué à la protection des données",
			"role.energy_manager": "Un ou une gestionnaire de l'énergie",
			"role.gateway":        "Une passerelle (automatique)",

			// Staff pages: accounts, roles, API tokens (package auth).
			"rolename.administrator":  "Administration du registre",
			"rolename.technician":     "Technicien ou technicienne",
			"rolename.energy_manager": "Gestion de l'énergie",
			"rolename.gateway":        "Passerelle (machine)",

			"staff.nav":      "Espace agents",
			"staff.signedin": "Connecté : %s",
			"staff.accounts": "Comptes",
			"staff.tokens":   "Jetons d'API",
			"staff.password": "Mon mot de passe",
			"staff.logout":   "Se déconnecter",

			"login.title":    "Connexion",
			"login.intro":    "Réservé aux agents de la collectivité. Le registre public se consulte sans compte.",
			"login.username": "Identifiant",
			"login.password": "Mot de passe",
			"login.submit":   "Se connecter",
			"login.failed":   "Identifiant ou mot de passe incorrect.",
			"login.limited":  "Trop de tentatives échouées. Réessayez dans %d minutes.",
			"login.limited1": "Trop de tentatives échouées. Réessayez dans une minute.",
			"login.required": "Connectez-vous pour continuer.",
			"login.out":      "Vous êtes déconnecté.",

			"denied.title":           "Accès refusé",
			"denied.role":            "Votre rôle ne permet pas d'ouvrir cette page ni de faire cette action.",
			"denied.csrf":            "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.",
			"denied.unauthenticated": "Connectez-vous, ou envoyez un jeton d'API (en-tête Authorization: Bearer).",

			"accounts.title":         "Comptes",
			"accounts.intro":         "Les comptes des agents qui gèrent le registre. Leurs noms ne sont jamais publiés : l'historique public des fiches ne montre que les rôles.",
			"accounts.caption":       "Comptes, par identifiant",
			"accounts.username":      "Identifiant",
			"accounts.display":       "Nom affiché (visible des seuls agents)",
			"accounts.role":          "Rôle",
			"accounts.created":       "Créé le",
			"accounts.state":         "État",
			"accounts.active":        "Actif",
			"accounts.disabled":      "Désactivé le %s",
			"accounts.actions":       "Actions",
			"accounts.you":           "(vous)",
			"accounts.setrole":       "Changer le rôle",
			"accounts.disable":       "Désactiver",
			"accounts.enable":        "Réactiver",
			"accounts.reset":         "Nouveau mot de passe",
			"accounts.new":           "Créer un compte",
			"accounts.password":      "Mot de passe initial",
			"accounts.password.help": "Au moins %d caractères. Laissez vide pour en générer un, affiché une seule fois.",
			"accounts.create":        "Créer le compte",
			"accounts.secret":        "Mot de passe de %s, affiché une seule fois : remettez-le en main propre ou par un canal sûr.",
			"accounts.done.created":  "Compte %s créé.",
			"accounts.done.role":     "Rôle modifié.",
			"accounts.done.disabled": "Compte désactivé ; ses sessions sont fermées.",
			"accounts.done.enabled":  "Compte réactivé.",
			"accounts.done.reset":    "Nouveau mot de passe pour %s ; ses sessions sont fermées.",

			"tokens.title":        "Jetons d'API",
			"tokens.intro":        "Les passerelles et les scripts s'authentifient avec un jeton (en-tête Authorization: Bearer). Le registre n'en garde qu'une empreinte : un jeton n'est affiché qu'une fois, à sa création.",
			"tokens.caption":      "Jetons, du plus ancien au plus récent",
			"tokens.name":         "Nom (à quoi sert-il ?)",
			"tokens.role":         "Rôle",
			"tokens.created":      "Créé le",
			"tokens.used":         "Dernière utilisation",
			"tokens.never":        "jamais",
			"tokens.state":        "État",
			"tokens.active":       "Valide",
			"tokens.revoked":      "Révoqué le %s",
			"tokens.revoke":       "Révoquer",
			"tokens.empty":        "Aucun jeton pour l'instant.",
			"tokens.new":          "Créer un jeton",
			"tokens.create":       "Créer le jeton",
			"tokens.secret":       "Jeton « %s », affiché une seule fois : copiez-le maintenant dans la configuration de la passerelle ou du script. Il ne pourra plus être affiché.",
			"tokens.done.revoked": "Jeton révoqué.",

			"password.title":   "Changer mon mot de passe",
			"password.current": "Mot de passe actuel",
			"password.new":     "Nouveau mot de passe",
			"password.confirm": "Nouveau mot de passe, une seconde fois",
			"password.help":    "Au moins %d caractères ; une phrase de plusieurs mots se retient mieux.",
			"password.submit":  "Changer le mot de passe",
			"password.done":    "Mot de passe changé. Vos autres sessions sont fermées.",

			"err.form":              "Corrigez les champs signalés.",
			"err.username":          "Identifiant non valable : de 2 à 64 caractères parmi a à z, 0 à 9, point, tiret et tiret bas.",
			"err.username.taken":    "Cet identifiant est déjà pris.",
			"err.role":              "Ce rôle n'est pas permis ici.",
			"err.name":              "Au plus %d caractères, sans caractère de contrôle.",
			"err.name.required":     "Un nom est obligatoire.",
			"err.password.short":    "Le mot de passe doit compter au moins %d caractères.",
			"err.password.long":     "Le mot de passe doit compter au plus %d caractères.",
			"err.password.username": "Le mot de passe ne peut pas être l'identifiant.",
			"err.password.text":     "Le mot de passe contient des caractères non valables.",
			"err.password.mismatch": "Les deux saisies du nouveau mot de passe diffèrent.",
			"err.password.current":  "Mot de passe actuel incorrect.",
			"err.last_admin":        "Le dernier compte d'administration actif ne peut être ni désactivé ni changer de rôle.",
			"err.self":              "Vous ne pouvez ni changer votre propre rôle ni désactiver votre propre compte : demandez-le à un autre administrateur.",
			"err.json":              "Le corps de la requête n'est pas un JSON valable pour cette adresse.",

			"field.name":            "nom",
			"field.category":        "catégorie",
			"field.status":          "statut",
			"field.location":        "emplacement",
			"field.quantities":      "grandeurs mesurées",
			"field.purposes":        "buts",
			"field.description":     "description",
			"field.retention":       "durée de conservation",
			"field.identifiability": "identification",
			"field.legal_basis":     "base légale",
			"field.public_contact":  "contact public",
			"field.open_data":       "données ouvertes",

			"notfound.title": "Capteur introuvable",
			"notfound.text":  "Aucun capteur publié ne porte cet identifiant. Il a peut-être été mal saisi, ou la fiche n'est pas encore publiée.",
			"notfound.back":  "Revenir à la liste des capteurs",

			"error.title": "Erreur",
			"error.text":  "La page n'a pas pu être affichée. Réessayez dans un moment.",

			"date.months": "janvier,février,mars,avril,mai,juin,juillet,août,septembre,octobre,novembre,décembre",
			"date.at":     "%s à %s",

			"dur.year":    "an",
			"dur.years":   "ans",
			"dur.month":   "mois",
			"dur.months":  "mois",
			"dur.week":    "semaine",
			"dur.weeks":   "semaines",
			"dur.day":     "jour",
			"dur.days":    "jours",
			"dur.hour":    "heure",
			"dur.hours":   "heures",
			"dur.minute":  "minute",
			"dur.minutes": "minutes",
			"dur.second":  "seconde",
			"dur.seconds": "secondes",
			"dur.and":     " et ",
		},
		LangEN: {
			"site.title":      "Public sensor register",
			"site.skip":       "Skip to content",
			"site.nav":        "Main navigation",
			"site.list":       "All sensors",
			"site.lang.other": "Français",
			"site.lang.label": "Lire cette page en français",
			"site.api":        "The register as JSON (open API)",
			"site.credit":     "Device labels and descriptions from the %s taxonomy, licensed %s; the text is shown without changes.",
			"site.credit.src": "Source of the taxonomy",

			"list.title":   "Published sensors",
			"list.intro":   "This register lists the sensors that the local authority installs in public space and in its buildings: what they measure, why, on which legal basis, whether they can identify you, who is accountable, how long the data is kept and where to find it as open data.",
			"list.count":   "%d published sensors.",
			"list.count1":  "1 published sensor.",
			"list.empty":   "No sensor is published yet.",
			"list.caption": "Sensors published in the register, by category",
			"list.name":    "Name",
			"list.cat":     "Category",
			"list.what":    "What it measures",
			"list.ident":   "Personal data",
			"list.status":  "Status",
			"list.address": "Address",

			"category.air":      "Air quality",
			"category.parking":  "Parking",
			"category.lighting": "Street lighting",
			"category.energy":   "Building energy",
			"category.other":    "Other",

			"status.draft":       "Draft",
			"status.active":      "In service",
			"status.maintenance": "Under maintenance",
			"status.retired":     "Retired",

			"ident.identifiable":           "Identifiable",
			"ident.pseudonymised":          "Pseudonymised",
			"ident.deidentified_at_source": "De-identified at source",
			"ident.aggregate_only":         "Aggregate only",
			"ident.no_personal_data":       "No personal data",

			"identx.identifiable":           "This sensor collects data that can identify people.",
			"identx.pseudonymised":          "People are not named, but the data is still personal: it could be linked to someone with additional information.",
			"identx.deidentified_at_source": "The sensor removes what could identify a person before the data leaves it.",
			"identx.aggregate_only":         "Only totals or averages, which point to no one, are kept.",
			"identx.no_personal_data":       "This sensor collects no data about people.",

			"entry.summary":        "At a glance",
			"entry.id":             "Sensor id",
			"entry.category":       "Category",
			"entry.status":         "Status",
			"entry.commissioned":   "In service since",
			"entry.decommissioned": "Retired on",
			"entry.version":        "Entry version",
			"entry.updated":        "Entry updated on",

			"entry.what":       "What it measures",
			"entry.q.caption":  "Measured quantities",
			"entry.q.quantity": "Quantity",
			"entry.q.unit":     "Unit",
			"entry.q.range":    "Plausible range",
			"entry.q.period":   "Frequency",
			"entry.datatypes":  "Data type (DTPR)",
			"entry.processing": "Processing (DTPR)",
			"range.between":    "from %s to %s",
			"range.min":        "at least %s",
			"range.max":        "at most %s",
			"range.none":       "not stated",
			"period.every":     "one reading every %s",
			"period.none":      "not stated",
			"unit.none":        "no unit",

			"entry.why":         "Why",
			"entry.purposes":    "Purposes (DTPR), most important first",
			"entry.description": "Description",

			"entry.who":            "Who is accountable",
			"entry.accountable":    "Controller",
			"entry.operators":      "Operators and processors",
			"entry.operators.none": "None: the local authority operates this sensor itself.",
			"entry.contact":        "Public contact",
			"entry.dpo":            "Data protection officer (DPO)",
			"contact.email":        "E-mail:",
			"contact.form":         "Contact form",
			"contact.phone":        "Phone:",

			"entry.ident":     "Can it identify you?",
			"entry.ident.lvl": "Identifiability",
			"entry.deid":      "How people are protected",

			"entry.legal":             "Legal basis",
			"entry.legal.basis":       "Legal basis (GDPR)",
			"entry.legal.na":          "Not applicable: this sensor collects no personal data, so the GDPR does not apply to its readings.",
			"entry.legal.ref":         "Legal text",
			"entry.legal.mission":     "Legal framework of the task",
			"entry.legal.notice":      "Privacy notice",
			"entry.legal.notice.link": "Read the privacy notice",
			"entry.legal.art30":       "Record of processing activities (GDPR, art. 30)",
			"entry.legal.dpia":        "Data protection impact assessment (GDPR, art. 35)",
			"basis.6-1-a":             "Consent of the people concerned (GDPR, article 6(1)(a))",
			"basis.6-1-b":             "Performance of a contract (GDPR, article 6(1)(b))",
			"basis.6-1-c":             "Compliance with a legal obligation (GDPR, article 6(1)(c))",
			"basis.6-1-d":             "Protection of someone's vital interests (GDPR, article 6(1)(d))",
			"basis.6-1-e":             "Task carried out in the public interest or in the exercise of official authority (GDPR, article 6(1)(e))",
			"basis.6-1-f":             "Legitimate interests (GDPR, article 6(1)(f))",
			"basisx.6-1-a":            "The data is collected only with your agreement, which you can withdraw at any time.",
			"basisx.6-1-b":            "The data is needed for a contract you are party to.",
			"basisx.6-1-c":            "A law requires the accountable organisation to collect this data; the text is cited below.",
			"basisx.6-1-d":            "The data is needed to protect someone's life or health.",
			"basisx.6-1-e":            "The law gives this task to the accountable organisation; the text it rests on is cited below.",
			"basisx.6-1-f":            "The accountable organisation relies on its legitimate interests, weighed against your rights.",

			"entry.data":           "Retention and access",
			"entry.storage":        "Storage (DTPR)",
			"entry.storage.where":  "Storage location",
			"entry.retention":      "Retention",
			"entry.retention.iso":  "that is %s in ISO 8601 notation",
			"entry.retention.dtpr": "Retention (DTPR)",
			"entry.access":         "Data access (DTPR)",
			"entry.opendata":       "Open data",
			"entry.opendata.yes":   "Yes, under %s.",
			"entry.opendata.no":    "No: this sensor's readings are not published as open data.",
			"entry.opendata.link":  "Download the data",

			"entry.where":         "Where is it?",
			"entry.address":       "Address",
			"entry.attached":      "Mounted on",
			"entry.neighbourhood": "Neighbourhood",
			"entry.position":      "Position (WGS84)",
			"entry.map":           "See on OpenStreetMap",
			"entry.indoor":        "Indoor or outdoor",
			"entry.indoor.yes":    "Inside a building",
			"entry.indoor.no":     "Outdoors",
			"entry.area":          "Mobile sensor: it moves within an area of %d points.",

			"entry.tech":         "Technology",
			"entry.tech.dtpr":    "Technology (DTPR)",
			"entry.manufacturer": "Manufacturer",
			"entry.model":        "Model",

			"entry.readings":         "Latest readings",
			"entry.readings.caption": "Latest value received for each quantity",
			"entry.readings.value":   "Value",
			"entry.readings.time":    "Measured on",
			"entry.readings.none":    "No reading received from this sensor in the last seven days.",
			"entry.readings.down":    "The latest readings are unavailable for the moment. The rest of this entry is up to date.",
			"entry.readings.closed":  "This sensor's readings are not published.",

			"entry.history":         "History of this entry",
			"entry.history.caption": "Successive versions of this entry, newest first",
			"entry.history.version": "Version",
			"entry.history.date":    "Date",
			"entry.history.role":    "Changed by",
			"entry.history.reason":  "Reason",
			"entry.history.changes": "Changes",
			"entry.history.created": "Entry created",
			"entry.history.changed": "Changed: %s",
			"entry.json":            "This entry as JSON",

			"entry.sign":      "Printable sign",
			"entry.sign.text": "The sign to put up next to the sensor, in French: what it measures, why, whether it can identify people, who is accountable, how long data is kept, and a QR code that leads to this entry.",
			"entry.sign.a5":   "A5 size (148 × 210 mm)",
			"entry.sign.a6":   "A6 size (105 × 148 mm)",

			"role.system":         "The register (automatic)",
			"role.technician":     "A technician",
			"role.administrator":  "The register's administration",
			"role.dpo":            "The data protection officer",
			"role.energy_manager": "An energy manager",
			"role.gateway":        "A gateway (automatic)",

			// Staff pages: accounts, roles, API tokens (package auth).
			"rolename.administrator":  "Administrator",
			"rolename.technician":     "Technician",
			"rolename.energy_manager": "Energy manager",
			"rolename.gateway":        "Gateway (machine)",

			"staff.nav":      "Staff area",
			"staff.signedin": "Signed in: %s",
			"staff.accounts": "Accounts",
			"staff.tokens":   "API tokens",
			"staff.password": "My password",
			"staff.logout":   "Log out",

			"login.title":    "Log in",
			"login.intro":    "For the local authority's staff. The public register needs no account.",
			"login.username": "User name",
			"login.password": "Password",
			"login.submit":   "Log in",
			"login.failed":   "Wrong user name or password.",
			"login.limited":  "Too many failed attempts. Try again in %d minutes.",
			"login.limited1": "Too many failed attempts. Try again in a minute.",
			"login.required": "Log in to continue.",
			"login.out":      "You are logged out.",

			"denied.title":           "Access denied",
			"denied.role":            "Your role does not allow this page or this action.",
			"denied.csrf":            "The form has expired or did not come from this site. Reload the page and try again.",
			"denied.unauthenticated": "Log in, or send an API token (Authorization: Bearer header).",

			"accounts.title":         "Accounts",
			"accounts.intro":         "The accounts of the staff who manage the register. Their names are never published: the public history of entries shows roles only.",
			"accounts.caption":       "Accounts, by user name",
			"accounts.username":      "User name",
			"accounts.display":       "Display name (seen by staff only)",
			"accounts.role":          "Role",
			"accounts.created":       "Created on",
			"accounts.state":         "State",
			"accounts.active":        "Active",
			"accounts.disabled":      "Disabled on %s",
			"accounts.actions":       "Actions",
			"accounts.you":           "(you)",
			"accounts.setrole":       "Change role",
			"accounts.disable":       "Disable",
			"accounts.enable":        "Enable",
			"accounts.reset":         "New password",
			"accounts.new":           "Create an account",
			"accounts.password":      "Initial password",
			"accounts.password.help": "At least %d characters. Leave empty to generate one, shown only once.",
			"accounts.create":        "Create the account",
			"accounts.secret":        "Password of %s, shown only once: hand it over in person or through a safe channel.",
			"accounts.done.created":  "Account %s created.",
			"accounts.done.role":     "Role changed.",
			"accounts.done.disabled": "Account disabled; its sessions are closed.",
			"accounts.done.enabled":  "Account enabled.",
			"accounts.done.reset":    "New password for %s; their sessions are closed.",

			"tokens.title":        "API tokens",
			"tokens.intro":        "Gateways and scripts authenticate with a token (Authorization: Bearer header). The register keeps only a fingerprint: a token is shown once, when it is created.",
			"tokens.caption":      "Tokens, oldest first",
			"tokens.name":         "Name (what is it for?)",
			"tokens.role":         "Role",
			"tokens.created":      "Created on",
			"tokens.used":         "Last used",
			"tokens.never":        "never",
			"tokens.state":        "State",
			"tokens.active":       "Valid",
			"tokens.revoked":      "Revoked on %s",
			"tokens.revoke":       "Revoke",
			"tokens.empty":        "No token yet.",
			"tokens.new":          "Create a token",
			"tokens.create":       "Create the token",
			"tokens.secret":       "Token “%s”, shown only once: copy it now into the gateway's or script's configuration. It cannot be shown again.",
			"tokens.done.revoked": "Token revoked.",

			"password.title":   "Change my password",
			"password.current": "Current password",
			"password.new":     "New password",
			"password.confirm": "New password, again",
			"password.help":    "At least %d characters; a phrase of several words is easier to remember.",
			"password.submit":  "Change the password",
			"password.done":    "Password changed. Your other sessions are closed.",

			"err.form":              "Correct the fields marked below.",
			"err.username":          "Not a valid user name: 2 to 64 of a to z, 0 to 9, dot, hyphen and underscore.",
			"err.username.taken":    "This user name is taken.",
			"err.role":              "This role is not allowed here.",
			"err.name":              "At most %d characters, without control characters.",
			"err.name.required":     "A name is required.",
			"err.password.short":    "The password must have at least %d characters.",
			"err.password.long":     "The password must have at most %d characters.",
			"err.password.username": "The password cannot be the user name.",
			"err.password.text":     "The password contains characters that are not valid.",
			"err.password.mismatch": "The two new passwords differ.",
			"err.password.current":  "Wrong current password.",
			"err.last_admin":        "The last active administrator account can be neither disabled nor given another role.",
			"err.self":              "You can neither change your own role nor disable your own account: ask another administrator.",
			"err.json":              "The request body is not valid JSON for this address.",

			"field.name":            "name",
			"field.category":        "category",
			"field.status":          "status",
			"field.location":        "location",
			"field.quantities":      "measured quantities",
			"field.purposes":        "purposes",
			"field.description":     "description",
			"field.retention":       "retention",
			"field.identifiability": "identifiability",
			"field.legal_basis":     "legal basis",
			"field.public_contact":  "public contact",
			"field.open_data":       "open data",

			"notfound.title": "Sensor not found",
			"notfound.text":  "No published sensor has this id. It may have been mistyped, or the entry is not published yet.",
			"notfound.back":  "Back to the list of sensors",

			"error.title": "Error",
			"error.text":  "The page could not be shown. Please try again in a moment.",

			"date.months": "January,February,March,April,May,June,July,August,September,October,November,December",
			"date.at":     "%s, %s",

			"dur.year":    "year",
			"dur.years":   "years",
			"dur.month":   "month",
			"dur.months":  "months",
			"dur.week":    "week",
			"dur.weeks":   "weeks",
			"dur.day":     "day",
			"dur.days":    "days",
			"dur.hour":    "hour",
			"dur.hours":   "hours",
			"dur.minute":  "minute",
			"dur.minutes": "minutes",
			"dur.second":  "second",
			"dur.seconds": "seconds",
			"dur.and":     " and ",
		},
	}
}
