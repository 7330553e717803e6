package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/civisens/civisens/registry/internal/auth"
)

// Every role has its public history wording and its staff name.
func TestRolesAreWorded(t *testing.T) {
	for lang, msgs := range catalogue() {
		for _, r := range auth.Roles() {
			for _, k := range []string{"role." + string(r), "rolename." + string(r)} {
				if _, ok := msgs[k]; !ok {
					t.Errorf("%s: %q is missing", lang, k)
				}
			}
		}
	}
}

// Forms carry the CSRF token of the session, and nothing for the public.
func TestCSRFField(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Login(&b, Request{Lang: LangFR, Path: LoginPath}, LoginPage{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), CSRFField) || strings.Contains(b.String(), LogoutPath) {
		t.Error("the public's login form carries a CSRF field or a logout button")
	}
	b.Reset()
	r := Request{Lang: LangEN, Path: AccountsPath, CSRFToken: "tok<&>", Role: "administrator"}
	if err := p.Accounts(&b, r, AccountsPage{Accounts: []Account{{ID: 7, Username: "u", Role: "technician"}}, Roles: []string{"technician"}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// The staff menu's logout, the row's three forms, the creation form.
	if n := strings.Count(page, `<input type="hidden" name="csrf_token" value="tok&lt;&amp;&gt;">`); n != 5 {
		t.Errorf("%d escaped CSRF fields, want 5:\n%s", n, page)
	}
	if strings.Contains(page, "⟦") {
		t.Error("a message key is missing")
	}
}
