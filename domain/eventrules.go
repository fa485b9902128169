package domain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/eventstore"
)

// eventRule is what an area declared of one event type: who sees the
// event, what the event is about, and who sees each of its fields.
type eventRule struct {
	audience Audience
	scope    func(stream string, e Event) Scope
	// shown are the paths the event's audience sees; limited those only a
	// narrower audience sees, in the order declared.
	shown   []string
	limited []limitedPath
	// scoped: some audience of the rule reads the scope.
	scoped bool
	// assigns, when set, names the actor an event of the type assigns to
	// its stream (an expert to an application): see Types.Assigned.
	assigns func(Event) string
	// notifies, when set, is the kind of notification an event of the
	// type sends to those it is about (see Types.Notifies).
	notifies string
}

// limitedPath is a field (a dotted path into the event's JSON) that only
// part of the event's audience sees.
type limitedPath struct {
	name     string
	path     []string
	audience Audience
	// subject, when set, makes the field personal data: stored sealed
	// under the data subject it names (see Seal), erasable.
	subject func(Event) string
}

// EventRule declares who may see the fields of an event type T; Declare
// returns it.
type EventRule[T Event] struct{ r *eventRule }

// Declare states who may see events of type T, which must be registered
// already: audience sees the event at all; scope works out what an event
// is about (its municipality, its expert), nil for an event type whose
// audiences read no scope. Every field of T must then be declared, with
// Show, Only or Personal: a field nobody declared is withheld from every
// caller, and the catalog's test fails until it is declared.
func Declare[T Event](types *Types, audience Audience, scope func(stream string, e T) Scope) *EventRule[T] {
	var zero T
	name := zero.EventType()
	et, ok := types.byName[name]
	if !ok {
		panic(fmt.Sprintf("domain: visibility of %s declared before the type was registered", name))
	}
	if et.rule != nil {
		panic(fmt.Sprintf("domain: visibility of %s declared twice", name))
	}
	r := &eventRule{audience: audience, scoped: audience.scoped}
	if scope != nil {
		r.scope = func(stream string, e Event) Scope { return scope(stream, e.(T)) }
	}
	et.rule = r
	types.byName[name] = et
	return &EventRule[T]{r: r}
}

// Show declares fields (dotted paths into the event's JSON, such as
// "contact.address") that whoever sees the event sees.
func (d *EventRule[T]) Show(paths ...string) *EventRule[T] {
	d.r.shown = append(d.r.shown, paths...)
	return d
}

// Only declares fields that only audience, within the event's own
// audience, sees: the rest get the event without them.
func (d *EventRule[T]) Only(audience Audience, paths ...string) *EventRule[T] {
	for _, p := range paths {
		d.r.limited = append(d.r.limited, limitedPath{name: p, path: strings.Split(p, "."), audience: audience})
	}
	d.r.scoped = d.r.scoped || audience.scoped
	return d
}

// Personal declares string fields that are personal data of the data
// subject that subject names (such as "organisation:<id>:contact"): they
// are stored sealed under that subject's key (see Seal), audience alone
// sees them, and once the subject is erased nobody does, while the log's
// stored bytes, and so its hashes and checkpoints, stay as they were.
func (d *EventRule[T]) Personal(audience Audience, subject func(T) string, paths ...string) *EventRule[T] {
	for _, p := range paths {
		d.r.limited = append(d.r.limited, limitedPath{name: p, path: strings.Split(p, "."), audience: audience,
			subject: func(e Event) string { return subject(e.(T)) }})
	}
	d.r.scoped = d.r.scoped || audience.scoped
	return d
}

// Notifies declares that an event of type T tells those it is about
// (a municipality, by the outbox) what happened, as a notification of
// kind. Declared beside who sees the event, because both answer whom the
// fact is told; the outbox's test holds its composers to these
// declarations.
func (d *EventRule[T]) Notifies(kind string) *EventRule[T] {
	d.r.notifies = kind
	return d
}

// Notifies returns the kind of notification events of type typ send, ""
// for none.
func (t *Types) Notifies(typ string) string {
	if et, ok := t.byName[typ]; ok && et.rule != nil {
		return et.rule.notifies
	}
	return ""
}

// Notifications returns every event type declared to notify, with the
// kind of notification it sends.
func (t *Types) Notifications() map[string]string {
	out := map[string]string{}
	for name, et := range t.byName {
		if et.rule != nil && et.rule.notifies != "" {
			out[name] = et.rule.notifies
		}
	}
	return out
}

// Assigns declares that an event of type T assigns an actor (the one
// assignee names) to its stream, as an expert is assigned to an
// application: the actor is then in the scope's Assigned for every event
// of the stream, before and after the assignment.
func (d *EventRule[T]) Assigns(assignee func(T) string) *EventRule[T] {
	d.r.assigns = func(e Event) string { return assignee(e.(T)) }
	return d
}

// Assigned returns the actors the events of one stream assign to it, in
// the order assigned (see EventRule.Assigns).
func (t *Types) Assigned(events []eventstore.Event) ([]string, error) {
	var out []string
	for _, e := range events {
		et, ok := t.byName[e.Type]
		if !ok || et.rule == nil || et.rule.assigns == nil {
			continue
		}
		ev, err := t.Decode(e)
		if err != nil {
			return nil, err
		}
		if a := et.rule.assigns(ev); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// MaySee reports whether actor may see any event of type typ at all,
// whatever it is about: false for a type nobody declared, or one whose
// audience never admits the actor (an analyst and the access events).
func (t *Types) MaySee(actor Actor, typ string) bool {
	et, ok := t.byName[typ]
	return ok && et.rule != nil && et.rule.audience.MaySee(actor)
}

// assigns reports whether events of type typ assign actors to their
// stream.
func (t *Types) assigns(typ string) bool {
	et, ok := t.byName[typ]
	return ok && et.rule != nil && et.rule.assigns != nil
}

// Watch decides what one actor sees of a run of the log, event by event,
// as a subscription delivers it. It knows who is assigned to each stream
// (for AssignedExpert): the first time an event of a stream needs it, it
// asks Load for the stream's events, and it follows the assignments of the
// events it is shown afterwards. Only experts need assignments, so for
// other actors it loads nothing.
type Watch struct {
	Types *Types
	Actor Actor
	// Load returns the events of a stream, to learn who is assigned to it.
	Load     func(ctx context.Context, stream string) ([]eventstore.Event, error)
	assigned map[string][]string
}

// See returns what the watcher's actor may see of e (whose personal
// fields Unseal has opened).
func (w *Watch) See(ctx context.Context, e eventstore.Event) (EventView, error) {
	var assigned []string
	if w.Actor.Role == Expert {
		if w.assigned == nil {
			w.assigned = map[string][]string{}
		}
		a, ok := w.assigned[e.Stream]
		if !ok {
			events, err := w.Load(ctx, e.Stream)
			if err != nil {
				return EventView{}, err
			}
			if a, err = w.Types.Assigned(events); err != nil {
				return EventView{}, err
			}
			w.assigned[e.Stream] = a
		} else if w.Types.assigns(e.Type) {
			more, err := w.Types.Assigned([]eventstore.Event{e})
			if err != nil {
				return EventView{}, err
			}
			for _, x := range more {
				if !slices.Contains(a, x) {
					a = append(a, x)
				}
			}
			w.assigned[e.Stream] = a
		}
		assigned = a
	}
	return w.Types.See(w.Actor, e, assigned)
}

// EventView is what one actor may see of one stored event.
type EventView struct {
	Sight Sight
	// Data is the event's data as the actor may see it: without the fields
	// withheld, and with personal fields as Unseal left them (open, or ""
	// when erased). Nil when the event is hidden.
	Data json.RawMessage
	// Withheld lists the fields (dotted paths) left out of Data, in the
	// order they were declared.
	Withheld []string
	// ActorHidden: the actor who caused the event, and the correlation ID
	// that would tie it to their other events, are withheld.
	ActorHidden bool
}

// Declared reports whether the visibility of event type typ is declared.
func (t *Types) Declared(typ string) bool {
	et, ok := t.byName[typ]
	return ok && et.rule != nil
}

// See returns what actor may see of e, a stored event whose personal
// fields Unseal has opened already: nothing for an event type nobody
// declared. assigned are the actors assigned to e's stream (an
// application's experts), for the rules that admit assigned experts; a
// caller that does not know them passes nil, which admits no expert by
// assignment. It decodes e only when a rule of its type reads the scope.
func (t *Types) See(actor Actor, e eventstore.Event, assigned []string) (EventView, error) {
	et, ok := t.byName[e.Type]
	if !ok || et.rule == nil {
		return EventView{}, nil
	}
	r := et.rule
	s := Scope{Assigned: assigned}
	if r.scope != nil && r.scoped && r.undetermined(actor, s) {
		ev, err := t.Decode(e)
		if err != nil {
			return EventView{}, err
		}
		s = r.scope(e.Stream, ev)
		s.Assigned = assigned
	}
	if !r.audience.Sees(actor, s) {
		return EventView{}, nil
	}
	v := EventView{Sight: Whole, Data: e.Data,
		ActorHidden: !ActorAudience(e.Metadata.Role).Sees(actor, Scope{Subject: e.Metadata.Actor})}
	var withheld [][]string
	for _, l := range r.limited {
		if !l.audience.Sees(actor, s) {
			withheld = append(withheld, l.path)
			v.Withheld = append(v.Withheld, l.name)
		}
	}
	if len(withheld) > 0 || v.ActorHidden {
		v.Sight = Redacted
	}
	if len(withheld) == 0 {
		return v, nil
	}
	data, err := withhold(e.Data, withheld)
	if err != nil {
		return EventView{}, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	v.Data = data
	return v, nil
}

// undetermined reports whether some audience of the rule may admit actor
// or not depending on what the event is about: only then is the event
// decoded to work its scope out. Audiences only ever admit more as a
// scope holds more, so one that admits the actor with the scope known so
// far (s), or that never admits it, is settled already: for most callers
// (the judges, analysts) every event is settled by role.
func (r *eventRule) undetermined(actor Actor, s Scope) bool {
	unsettled := func(a Audience) bool { return a.scoped && !a.Sees(actor, s) && a.MaySee(actor) }
	if unsettled(r.audience) {
		return true
	}
	for _, l := range r.limited {
		if unsettled(l.audience) {
			return true
		}
	}
	return false
}

// withhold returns data, a JSON object, without the fields at paths.
func withhold(data json.RawMessage, paths [][]string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("withhold fields: %w", err)
	}
	nested := map[string][][]string{}
	for _, p := range paths {
		if len(p) == 1 {
			delete(obj, p[0])
			continue
		}
		nested[p[0]] = append(nested[p[0]], p[1:])
	}
	for key, rest := range nested {
		sub, ok := obj[key]
		if !ok || bytes.Equal(bytes.TrimSpace(sub), []byte("null")) {
			continue
		}
		out, err := withhold(sub, rest)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", key, err)
		}
		obj[key] = out
	}
	return json.Marshal(obj)
}

// CheckDeclarations lists what the catalog leaves undeclared: event types
// registered without a visibility, fields of their data that no Show,
// Only or Personal names, declared paths that are not fields, and personal
// fields that are not strings. An empty list means every field of every
// event has a rule.
func (t *Types) CheckDeclarations() []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(t.byName)) {
		et := t.byName[name]
		if et.rule == nil {
			problems = append(problems, fmt.Sprintf("%s: no visibility declared (domain.Declare in its area's visibility.go)", name))
			continue
		}
		declared := map[string]bool{}
		for _, p := range et.rule.shown {
			declared[p] = true
		}
		for _, l := range et.rule.limited {
			if declared[l.name] {
				problems = append(problems, fmt.Sprintf("%s: field %s declared twice", name, l.name))
			}
			declared[l.name] = true
			if l.subject != nil {
				if f, ok := fieldAt(et.goType, l.path); ok && f.Kind() != reflect.String {
					problems = append(problems, fmt.Sprintf("%s: personal field %s is a %s; only strings can be sealed", name, l.name, f.Kind()))
				}
			}
		}
		for p := range declared {
			if _, ok := fieldAt(et.goType, strings.Split(p, ".")); !ok {
				problems = append(problems, fmt.Sprintf("%s: declared field %s is not a field of its data", name, p))
			}
		}
		problems = append(problems, undeclaredFields(name, et.goType, "", declared)...)
	}
	return problems
}

// undeclaredFields lists the JSON fields of struct type typ (under
// prefix) that declared does not cover: a field is covered when declared
// itself, or when fields below it are declared and they cover it whole.
func undeclaredFields(event string, typ reflect.Type, prefix string, declared map[string]bool) []string {
	var out []string
	for _, f := range jsonFields(typ) {
		path := prefix + f.name
		if declared[path] {
			continue
		}
		below := false
		for p := range declared {
			below = below || strings.HasPrefix(p, path+".")
		}
		if below && structType(f.typ) != nil {
			out = append(out, undeclaredFields(event, structType(f.typ), path+".", declared)...)
			continue
		}
		out = append(out, fmt.Sprintf("%s: field %s has no visibility declared", event, path))
	}
	return out
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the fields encoding/json writes for struct type typ,
// embedded structs' fields included.
func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && tag == "" && structType(f.Type) != nil {
			out = append(out, jsonFields(structType(f.Type))...)
			continue
		}
		name := tag
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type})
	}
	return out
}

// structType is typ, or the type it points to, when that is a struct.
func structType(typ reflect.Type) reflect.Type {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Struct {
		return typ
	}
	return nil
}

// fieldAt is the type of the field at path in struct type typ.
func fieldAt(typ reflect.Type, path []string) (reflect.Type, bool) {
	for _, seg := range path {
		st := structType(typ)
		if st == nil {
			return nil, false
		}
		found := false
		for _, f := range jsonFields(st) {
			if f.name == seg {
				typ, found = f.typ, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return typ, true
}

// FieldVisibility is one limited field of an event type, as declared.
type FieldVisibility struct {
	// Path is the field's dotted path into the event's data.
	Path     string
	Audience Audience
	// Personal: sealed under its data subject, erasable.
	Personal bool
}

// EventVisibility is what is declared of one event type: who sees it, and
// the fields only some of them see.
type EventVisibility struct {
	Type     string
	Audience Audience
	Limited  []FieldVisibility
	// Assigns: its events assign an actor to their stream.
	Assigns bool
}

// Visibility lists what is declared of every event type, by name: for
// documentation (docs/VISIBILITY.md is made from it) and tests.
func (t *Types) Visibility() []EventVisibility {
	var out []EventVisibility
	for _, name := range slices.Sorted(maps.Keys(t.byName)) {
		r := t.byName[name].rule
		if r == nil {
			out = append(out, EventVisibility{Type: name})
			continue
		}
		v := EventVisibility{Type: name, Audience: r.audience, Assigns: r.assigns != nil}
		for _, l := range r.limited {
			v.Limited = append(v.Limited, FieldVisibility{Path: l.name, Audience: l.audience, Personal: l.subject != nil})
		}
		out = append(out, v)
	}
	return out
}
