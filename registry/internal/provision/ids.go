package provision

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/civisens/civisens/registry/registryapi"
)

// idPrefixes start the suggested ids of each category, in French like the
// demo town's ("eclairage-lise-01").
var idPrefixes = map[string]string{
	registryapi.CategoryAir:      "air",
	registryapi.CategoryParking:  "parking",
	registryapi.CategoryLighting: "eclairage",
	registryapi.CategoryEnergy:   "energie",
	registryapi.CategoryOther:    "capteur",
}

// Slug writes a text as the words of an id: lower case, accents removed,
// anything but a–z and 0–9 as single hyphens ("Gare SNCF – Quai 2" →
// "gare-sncf-quai-2").
func Slug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFD.String(letters.Replace(strings.ToLower(s))) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
		default:
			hyphen = true
		}
	}
	return b.String()
}

// letters spells the letters that do not decompose into a–z and accents.
var letters = strings.NewReplacer("œ", "oe", "æ", "ae", "ø", "o", "ß", "ss", "ł", "l", "đ", "d", "ð", "d", "þ", "th")

// SuggestID suggests an id for a new entry of category at site, not taken
// by any entry (drafts included): "{prefix}-{site}-{nn}", e.g.
// "air-gare-02" — the category's prefix (air, parking, eclairage, energie,
// capteur), the site's slug (without the prefix it may already start
// with), and the first free number from 01. It is a suggestion: another
// request may take it first, which CreateDraft then refuses.
func (s *Service) SuggestID(ctx context.Context, category, site string) (string, error) {
	prefix, ok := idPrefixes[category]
	if !ok {
		prefix = "capteur"
	}
	slug := Slug(site)
	slug = strings.TrimPrefix(strings.TrimPrefix(slug, prefix), "-")
	const maxSlug = 63 - 1 - 1 - 4 // the id's length, two hyphens, a number up to 4 digits
	if len(slug) > maxSlug-len(prefix) {
		slug = strings.TrimRight(slug[:maxSlug-len(prefix)], "-")
	}
	base := prefix
	if slug != "" {
		base += "-" + slug
	}
	all, err := s.st.List(ctx)
	if err != nil {
		return "", err
	}
	taken := make(map[string]bool, len(all))
	for _, e := range all {
		taken[e.ID] = true
	}
	for n := 1; n < 10000; n++ {
		id := fmt.Sprintf("%s-%02d", base, n)
		if !taken[id] {
			return id, nil
		}
	}
	return "", fmt.Errorf("suggest id: every id of %s-01 to %s-9999 is taken", base, base)
}
