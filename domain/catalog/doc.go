package catalog

import (
	"fmt"
	"strings"
)

// Document renders who sees what, from the declarations themselves, as
// the Markdown of docs/VISIBILITY.md: a test keeps that file equal to it,
// so the document cannot drift from the rules the server applies.
func Document() string {
	var b strings.Builder
	b.WriteString(`# Who sees what

This file is made from the declarations in each area's visibility.go
(` + "`go test ./domain/catalog -run TestVisibilityDocument -update`" + `); a test fails while it
differs from them. The server applies exactly these rules on every read path: queries and
nested fields (the fields marked ` + "`@see`" + ` in the schema), the events subscription,
certificationAudit, replayDecision and application(asOf).

Audiences: *everyone* includes anonymous callers; *signed-in callers* any API key;
*consortium, auditor, admin* are the judges, who see certification whole; *the applicant of
its municipality*, *the hub of its region*, *an expert assigned to it* and *the actor it is
by or about* depend on what the thing is about. *Whoever sees what encloses it*: a value
shown wherever the object holding it is. *Nobody outside the server*: never shown.

Personal fields are stored in the log sealed under their data subject's key and shown empty
(and listed as erased) once the subject is erased (` + "`civic erase subject`" + `).

## Events

An event is delivered to its audience; the fields listed under it only to theirs (the
others get the event without them, listed in ` + "`withheld`" + `). The actor who caused an
event is withheld when it was an expert, from all but the judges and that expert, and from
anonymous callers always.

| event type | who sees it | fields only some see |
|---|---|---|
`)
	for _, v := range Types.Visibility() {
		var limited []string
		for _, f := range v.Limited {
			p := ""
			if f.Personal {
				p = " (personal)"
			}
			limited = append(limited, fmt.Sprintf("`%s`%s: %s", f.Path, p, f.Audience))
		}
		if v.Assigns {
			limited = append(limited, "assigns its expert to the application (an expert assigned to it)")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Type, v.Audience, strings.Join(limited, "; "))
	}
	b.WriteString(`
## The API's types

An object of a type is shown to the type's audience (a list leaves the others out; a single
one is null, or a FORBIDDEN error at the root); its limited fields only to theirs (null for
the others).

| type | who sees it | fields only some see |
|---|---|---|
`)
	for _, name := range Views.Names() {
		a, _ := Views.Audience(name)
		var limited []string
		for _, f := range Views.Fields(name) {
			rule, _ := Views.Field(name, f)
			if rule.Open() {
				continue
			}
			p := ""
			if rule.Personal {
				p = " (personal)"
			}
			limited = append(limited, fmt.Sprintf("`%s`%s: %s", f, p, rule.Audience))
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, a, strings.Join(limited, "; "))
	}
	return b.String()
}
