package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Views declares who may see each field of the state the API shows. A
// view is one type of the API, named as the API names it (Application,
// Score, Contact); each area declares the views of its own state, in its
// visibility.go, and the root fields it adds (views Query, Mutation and
// Subscription). The GraphQL layer asks Sees for every field it resolves
// and SeesView for every object it returns, and a test over the schema
// fails for a type or a field that no view declares.
type Views struct {
	byName map[string]*viewRule
}

type viewRule struct {
	audience Audience
	fields   map[string]FieldRule
}

// FieldRule is who may see one field of a view.
type FieldRule struct {
	// Audience sees the field; Enclosing for a field whoever sees the
	// view sees.
	Audience Audience
	// Personal marks personal data: erasable, shown as erased once its
	// subject is.
	Personal bool
}

// Open reports whether whoever sees the view sees the field, so a read
// path need not work the scope out for it.
func (f FieldRule) Open() bool { return f.Audience.name == Enclosing.name }

// Enclosing is the audience of what is shown wherever it is shown: a
// value (a name, a page's information) whose visibility is that of the
// view or field that holds it.
var Enclosing = Audience{name: "whoever sees what encloses it", sees: func(Actor, Scope) bool { return true }}

// ViewRule declares the fields of one view; Views.View returns it.
type ViewRule struct {
	name string
	r    *viewRule
}

// View declares the view name: audience may see one of its objects at
// all (Enclosing for a value that is shown wherever what holds it is), and
// shown, a space-separated list, are the fields whoever sees it sees.
// Areas that add fields to a root type (Query) each declare them with the
// same audience.
func (v *Views) View(name string, audience Audience, shown string) *ViewRule {
	if v.byName == nil {
		v.byName = map[string]*viewRule{}
	}
	r, ok := v.byName[name]
	if !ok {
		r = &viewRule{audience: audience, fields: map[string]FieldRule{}}
		v.byName[name] = r
	} else if r.audience.name != audience.name {
		panic(fmt.Sprintf("domain: view %s declared with audiences %q and %q", name, r.audience, audience))
	}
	d := &ViewRule{name: name, r: r}
	d.add(FieldRule{Audience: Enclosing}, shown)
	return d
}

func (d *ViewRule) add(rule FieldRule, fields string) {
	for _, f := range strings.Fields(fields) {
		if _, dup := d.r.fields[f]; dup {
			panic(fmt.Sprintf("domain: field %s.%s declared twice", d.name, f))
		}
		d.r.fields[f] = rule
	}
}

// Only declares fields (space-separated) that only audience, of those who
// see the view, sees: the others get null for them.
func (d *ViewRule) Only(audience Audience, fields string) *ViewRule {
	d.add(FieldRule{Audience: audience}, fields)
	return d
}

// Personal declares fields that are personal data, which only audience
// sees, and nobody once their data subject is erased.
func (d *ViewRule) Personal(audience Audience, fields string) *ViewRule {
	d.add(FieldRule{Audience: audience, Personal: true}, fields)
	return d
}

// Field returns the rule of field of view, and whether one is declared.
func (v *Views) Field(view, field string) (FieldRule, bool) {
	r, ok := v.byName[view]
	if !ok {
		return FieldRule{}, false
	}
	f, ok := r.fields[field]
	return f, ok
}

// Audience returns who may see an object of view at all, and whether the
// view is declared.
func (v *Views) Audience(view string) (Audience, bool) {
	r, ok := v.byName[view]
	if !ok {
		return Audience{}, false
	}
	return r.audience, true
}

// Sees reports whether actor may see field of an object of view with
// scope s. An undeclared view or field is seen by nobody.
func (v *Views) Sees(actor Actor, view, field string, s Scope) bool {
	f, ok := v.Field(view, field)
	return ok && f.Audience.Sees(actor, s)
}

// SeesView reports whether actor may see an object of view with scope s.
func (v *Views) SeesView(actor Actor, view string, s Scope) bool {
	a, ok := v.Audience(view)
	return ok && a.Sees(actor, s)
}

// Names lists the declared views.
func (v *Views) Names() []string { return slices.Sorted(maps.Keys(v.byName)) }

// Fields lists the declared fields of view.
func (v *Views) Fields(view string) []string {
	r, ok := v.byName[view]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(r.fields))
}
