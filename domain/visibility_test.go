package domain_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// A contact card and a mark, the smallest events with confidential and
// personal fields.
type person struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Town  string `json:"town"`
}

type carded struct {
	ID     string `json:"id"`
	Town   string `json:"town"`
	Person person `json:"person"`
}

func (carded) EventType() string { return "test.carded" }

type marked struct {
	ID     string `json:"id"`
	Expert string `json:"expert"`
	Mark   int    `json:"mark"`
	Note   string `json:"note"`
}

func (marked) EventType() string { return "test.marked" }

// card holds the state of a card stream.
type card struct{ person person }

func (c *card) Apply(e domain.Event) error {
	if e, ok := e.(carded); ok {
		c.person = e.Person
	}
	return nil
}

func cardSubject(e carded) string { return "card:" + e.ID }

func visibilityTypes() *domain.Types {
	t := &domain.Types{}
	domain.Register[carded](t)
	domain.Register[marked](t)
	domain.Declare[carded](t, domain.Everyone, nil).
		Show("id", "town", "person.town").
		Personal(domain.SignedIn, cardSubject, "person.name", "person.phone")
	domain.Declare(t, domain.Either(domain.Judges, domain.OwnMunicipality, domain.AssignedExpert),
		func(stream string, e marked) domain.Scope {
			_, m, _ := strings.Cut(stream, "-")
			return domain.Scope{Municipality: m, Subject: e.Expert}
		}).
		Show("id", "mark").
		Only(domain.Either(domain.Judges, domain.Self), "expert", "note")
	return t
}

var (
	anonymous = domain.Actor{ID: "anonymous", Role: domain.Anonymous}
	analyst   = domain.Actor{ID: "key:a#1", Role: domain.Analyst}
	gori      = domain.Actor{ID: "key:gori#2", Role: domain.Applicant, Municipality: "gori"}
	batumi    = domain.Actor{ID: "key:batumi#3", Role: domain.Applicant, Municipality: "batumi"}
	expertA   = domain.Actor{ID: "key:nino#4", Role: domain.Expert}
	expertB   = domain.Actor{ID: "key:levan#5", Role: domain.Expert}
	auditor   = domain.Actor{ID: "key:aud#6", Role: domain.Auditor}
	hubKK     = domain.Actor{ID: "key:cif#7", Role: domain.Hub, Region: "kvemo-kartli"}
)

func TestAudiences(t *testing.T) {
	gs := domain.Scope{Municipality: "gori", Region: "shida-kartli", Assigned: []string{expertA.ID}, Subject: expertA.ID}
	kk := domain.Scope{Region: "kvemo-kartli"}
	system := domain.Actor{ID: "system:test", Role: domain.System}
	tests := []struct {
		audience domain.Audience
		actor    domain.Actor
		scope    domain.Scope
		want     bool
	}{
		{domain.Everyone, anonymous, gs, true},
		{domain.SignedIn, anonymous, gs, false},
		{domain.SignedIn, analyst, gs, true},
		{domain.Nobody, auditor, gs, false},
		{domain.Nobody, system, gs, false},
		{domain.OwnMunicipality, gori, gs, true},
		{domain.OwnMunicipality, batumi, gs, false},
		{domain.OwnMunicipality, analyst, domain.Scope{}, false},
		{domain.OwnMunicipality, domain.Actor{ID: "x", Role: domain.Applicant}, domain.Scope{}, false},
		{domain.OwnRegion, hubKK, kk, true},
		{domain.OwnRegion, hubKK, gs, false},
		{domain.AssignedExpert, expertA, gs, true},
		{domain.AssignedExpert, expertB, gs, false},
		{domain.AssignedExpert, domain.Actor{ID: expertA.ID, Role: domain.Analyst}, gs, false},
		{domain.Self, expertA, gs, true},
		{domain.Self, expertB, gs, false},
		{domain.Self, anonymous, domain.Scope{Subject: "anonymous"}, false},
		{domain.Judges, auditor, gs, true},
		{domain.Judges, analyst, gs, false},
		{domain.Either(domain.Judges, domain.Self), expertA, gs, true},
		{domain.Either(domain.Judges, domain.Self), expertB, gs, false},
		{domain.Audience{}, system, gs, false},
		{domain.Audience{}, auditor, gs, false},
		{domain.SignedIn, system, gs, true},
		{domain.Published, anonymous, gs, false},
		{domain.Published, anonymous, domain.Scope{Public: true}, true},
		{domain.Either(domain.Published, domain.OwnMunicipality), gori, gs, true},
		{domain.Either(domain.Published, domain.OwnMunicipality), batumi, gs, false},
		{domain.Either(domain.Published, domain.OwnMunicipality), batumi, domain.Scope{Municipality: "gori"}.Within(domain.Scope{Public: true}), true},
	}
	for _, tt := range tests {
		if got := tt.audience.Sees(tt.actor, tt.scope); got != tt.want {
			t.Errorf("%s.Sees(%s %s, %+v) = %v, want %v", tt.audience, tt.actor.Role, tt.actor.ID, tt.scope, got, tt.want)
		}
	}
	if !domain.Either(domain.Judges, domain.Self).Scoped() || domain.Either(domain.Judges, domain.SignedIn).Scoped() {
		t.Error("Scoped: want true only for audiences that read the scope")
	}
}

// stored appends events and reads them back as the log holds them.
func stored(t *testing.T, repo *domain.Repository, stream string, meta domain.Meta, events ...domain.Event) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	if _, err := repo.Save(ctx, stream, 0, meta, events...); err != nil {
		t.Fatal(err)
	}
	out, err := repo.Store.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSeeWithholdsFieldsByAudienceAndScope(t *testing.T) {
	types := visibilityTypes()
	repo := &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}
	meta := domain.Meta{Actor: domain.Actor{ID: expertA.ID, Role: domain.Expert}, Now: time.Now()}
	events := stored(t, repo, "marks-gori", meta, marked{ID: "m1", Expert: expertA.ID, Mark: 7, Note: "strong budget"})
	e := events[0]
	tests := []struct {
		actor       domain.Actor
		assigned    []string
		sight       domain.Sight
		withheld    []string
		actorHidden bool
	}{
		{anonymous, nil, domain.Hidden, nil, false},
		{analyst, nil, domain.Hidden, nil, false},
		{batumi, nil, domain.Hidden, nil, false},
		{gori, nil, domain.Redacted, []string{"expert", "note"}, true},
		{auditor, nil, domain.Whole, nil, false},
		{expertA, nil, domain.Hidden, nil, false}, // not assigned: the mark is not theirs to see
		{expertA, []string{expertA.ID}, domain.Whole, nil, false},
		{expertB, []string{expertA.ID, expertB.ID}, domain.Redacted, []string{"expert", "note"}, true},
	}
	for _, tt := range tests {
		v, err := types.See(tt.actor, e, tt.assigned)
		if err != nil {
			t.Fatal(err)
		}
		if v.Sight != tt.sight || !slices.Equal(v.Withheld, tt.withheld) || v.ActorHidden != tt.actorHidden {
			t.Errorf("See(%s, assigned %v) = %s withholding %v, actor hidden %v; want %s withholding %v, actor hidden %v",
				tt.actor.ID, tt.assigned, v.Sight, v.Withheld, v.ActorHidden, tt.sight, tt.withheld, tt.actorHidden)
			continue
		}
		if tt.sight == domain.Hidden {
			if v.Data != nil {
				t.Errorf("See(%s): hidden, yet data %s", tt.actor.ID, v.Data)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(v.Data, &got); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"expert", "note"} {
			_, present := got[f]
			if present == slices.Contains(tt.withheld, f) {
				t.Errorf("See(%s): field %s present %v in %s", tt.actor.ID, f, present, v.Data)
			}
		}
		if got["mark"] != float64(7) {
			t.Errorf("See(%s): mark %v, want 7", tt.actor.ID, got["mark"])
		}
	}
	// An event type nobody declared is hidden from everyone, even the
	// judges.
	undeclared := e
	undeclared.Type = "test.undeclared"
	if v, _ := types.See(auditor, undeclared, nil); v.Sight != domain.Hidden {
		t.Errorf("See(an undeclared type) = %s, want hidden", v.Sight)
	}
}

func TestSealedPersonalDataOpensForItsAudienceUntilErased(t *testing.T) {
	ctx := context.Background()
	types := visibilityTypes()
	keys := &domain.MemoryKeyring{}
	repo := &domain.Repository{Store: inmem.New(), Types: types, Keys: keys}
	meta := domain.Meta{Actor: domain.Actor{ID: "key:admin#9", Role: domain.Admin}, Now: time.Now()}
	events := stored(t, repo, "card-1", meta, carded{ID: "1", Town: "Gori", Person: person{Name: "Nino Beridze", Phone: "+995 555 123 456", Town: "Gori"}})
	raw := string(events[0].Data)
	for _, secret := range []string{"Nino", "Beridze", "555"} {
		if strings.Contains(raw, secret) {
			t.Fatalf("the log holds %q in plain text: %s", secret, raw)
		}
	}
	if !strings.Contains(raw, `"subject":"card:1"`) || !strings.Contains(raw, `"town":"Gori"`) {
		t.Fatalf("stored data %s: want the sealed fields to name their subject, the others plain", raw)
	}

	// The aggregate loads the plain text.
	var c card
	if _, err := repo.Load(ctx, "card-1", &c); err != nil || c.person.Name != "Nino Beridze" {
		t.Fatalf("Load = %+v, %v; want the name opened", c, err)
	}

	open := slices.Clone(events)
	erased, err := types.Unseal(ctx, keys, open)
	if err != nil || erased[0] != nil {
		t.Fatalf("Unseal = %v, %v; want nothing erased", erased, err)
	}
	v, _ := types.See(analyst, open[0], nil)
	if !strings.Contains(string(v.Data), "Nino Beridze") || v.Sight != domain.Whole {
		t.Errorf("See(analyst) = %s %s; want the name", v.Sight, v.Data)
	}
	v, _ = types.See(anonymous, open[0], nil)
	if strings.Contains(string(v.Data), "Nino") || !slices.Equal(v.Withheld, []string{"person.name", "person.phone"}) || !strings.Contains(string(v.Data), `"town":"Gori"`) {
		t.Errorf("See(anonymous) = %s withholding %v; want the card without the name and phone", v.Data, v.Withheld)
	}

	// A sealed value moved to another event does not open.
	moved := slices.Clone(events)
	moved[0].ID = eventstore.NewID()
	if _, err := types.Unseal(ctx, keys, moved); err == nil {
		t.Error("Unseal of a sealed value under another event's ID succeeded; want it refused")
	}

	// Erasing destroys the key: the stored bytes stay, nothing opens.
	er, err := keys.Erase(ctx, "card:1")
	if err != nil || !er.Known || er.Destroyed != 1 || er.Through != 1 {
		t.Fatalf("Erase = %+v, %v; want one key destroyed", er, err)
	}
	after, _ := repo.Store.ReadStream(ctx, "card-1", eventstore.ReadOptions{})
	if string(after[0].Data) != raw {
		t.Fatal("erasing changed the stored bytes")
	}
	erased, err = types.Unseal(ctx, keys, after)
	if err != nil || !slices.Equal(erased[0], []string{"person.name", "person.phone"}) {
		t.Fatalf("Unseal after erasure = %v, %v; want both personal fields erased", erased, err)
	}
	if strings.Contains(string(after[0].Data), "Nino") || !strings.Contains(string(after[0].Data), `"name":""`) {
		t.Errorf("after erasure the data reads %s; want the name empty", after[0].Data)
	}
	if er, _ := keys.Erase(ctx, "card:1"); er.Destroyed != 0 || !er.Known {
		t.Errorf("erasing twice = %+v; want known, nothing destroyed", er)
	}
	if er, _ := keys.Erase(ctx, "card:404"); er.Known {
		t.Errorf("erasing an unknown subject = %+v; want unknown", er)
	}

	// New data for an erased subject gets a new key, which opens.
	events2 := stored(t, repo, "card-2", meta, carded{ID: "1", Person: person{Name: "Levan"}})
	if _, err := types.Unseal(ctx, keys, events2); err != nil || !strings.Contains(string(events2[0].Data), "Levan") {
		t.Errorf("new data after an erasure: %s, %v; want it sealed under a new key and opened", events2[0].Data, err)
	}
}

func TestPlainTextFromBeforeSealingIsWithheldOnceErased(t *testing.T) {
	ctx := context.Background()
	types := visibilityTypes()
	keys := &domain.MemoryKeyring{}
	// An event written before personal data was sealed.
	legacy := eventstore.Event{ID: eventstore.NewID(), Stream: "card-9", Type: "test.carded", SchemaVersion: 1,
		Data: json.RawMessage(`{"id":"9","town":"Poti","person":{"name":"Tamar","phone":"+995 1","town":"Poti"}}`)}
	subjects, err := types.Subjects(legacy)
	if err != nil || !slices.Equal(subjects, []string{"card:9"}) {
		t.Fatalf("Subjects = %v, %v; want card:9", subjects, err)
	}
	events := []eventstore.Event{legacy}
	if erased, err := types.Unseal(ctx, keys, events); err != nil || erased[0] != nil || !strings.Contains(string(events[0].Data), "Tamar") {
		t.Fatalf("Unseal of plain text = %s, %v, %v; want it as it is", events[0].Data, erased, err)
	}
	keys.RecordPlain("card:9")
	if er, _ := keys.Erase(ctx, "card:9"); !er.Known || er.Through != 0 {
		t.Fatalf("Erase of a plain-text subject = %+v; want known, through generation 0", er)
	}
	events = []eventstore.Event{legacy}
	erased, err := types.Unseal(ctx, keys, events)
	if err != nil || !slices.Equal(erased[0], []string{"person.name", "person.phone"}) || strings.Contains(string(events[0].Data), "Tamar") {
		t.Fatalf("Unseal after erasure = %s, %v, %v; want the plain text withheld", events[0].Data, erased, err)
	}
}

func TestRepositoryRefusesPersonalDataWithoutAKeyring(t *testing.T) {
	repo := &domain.Repository{Store: inmem.New(), Types: visibilityTypes()}
	_, err := repo.Save(context.Background(), "card-1", 0, domain.Meta{}, carded{ID: "1", Person: person{Name: "Nino"}})
	if err == nil {
		t.Fatal("Save of personal data without a keyring succeeded; want it refused rather than stored in plain text")
	}
	// Empty personal fields need no key.
	if _, err := repo.Save(context.Background(), "card-2", 0, domain.Meta{}, carded{ID: "2", Town: "Gori"}); err != nil {
		t.Fatalf("Save without personal data: %v", err)
	}
}

// undeclaredField is an event with a field its declaration forgot, one
// whose personal field is not text, and a declared path that is no field.
type undeclaredField struct {
	ID    string `json:"id"`
	Extra string `json:"extra"`
	Inner struct {
		A string `json:"a"`
		B string `json:"b"`
	} `json:"inner"`
	Count int `json:"count"`
}

func (undeclaredField) EventType() string { return "test.undeclared_field" }

func TestCheckDeclarationsFindsWhatIsUndeclared(t *testing.T) {
	types := visibilityTypes()
	if p := types.CheckDeclarations(); len(p) != 0 {
		t.Fatalf("CheckDeclarations on a complete catalog = %v", p)
	}
	domain.Register[undeclaredField](types)
	if p := types.CheckDeclarations(); len(p) != 1 || !strings.Contains(p[0], "test.undeclared_field: no visibility declared") {
		t.Fatalf("CheckDeclarations with an undeclared type = %v", p)
	}
	domain.Declare[undeclaredField](types, domain.Everyone, nil).
		Show("id", "inner.a", "missing").
		Personal(domain.SignedIn, func(undeclaredField) string { return "x" }, "count")
	want := []string{
		"test.undeclared_field: personal field count is a int; only strings can be sealed",
		"test.undeclared_field: declared field missing is not a field of its data",
		"test.undeclared_field: field extra has no visibility declared",
		"test.undeclared_field: field inner.b has no visibility declared",
	}
	got := types.CheckDeclarations()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("CheckDeclarations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestViews(t *testing.T) {
	v := &domain.Views{}
	v.View("Application", domain.Either(domain.Judges, domain.OwnMunicipality), "id status").
		Only(domain.Judges, "experts").
		Personal(domain.SignedIn, "contact")
	v.View("Query", domain.Everyone, "applications")
	v.View("Query", domain.Everyone, "certificates")
	s := domain.Scope{Municipality: "gori"}
	tests := []struct {
		actor       domain.Actor
		view, field string
		want        bool
	}{
		{gori, "Application", "status", true},
		{gori, "Application", "experts", false},
		{auditor, "Application", "experts", true},
		{gori, "Application", "undeclared", false},
		{auditor, "Undeclared", "id", false},
		{anonymous, "Application", "contact", false},
		{anonymous, "Query", "certificates", true},
	}
	for _, tt := range tests {
		if got := v.Sees(tt.actor, tt.view, tt.field, s); got != tt.want {
			t.Errorf("Sees(%s, %s.%s) = %v, want %v", tt.actor.ID, tt.view, tt.field, got, tt.want)
		}
	}
	if !v.SeesView(gori, "Application", s) || v.SeesView(batumi, "Application", s) || v.SeesView(auditor, "Undeclared", s) {
		t.Error("SeesView: want the applicant of Gori only, and nobody for an undeclared view")
	}
	if f, _ := v.Field("Application", "id"); !f.Open() {
		t.Error("Field(id).Open() = false, want true for a field whoever sees the view sees")
	}
	if f, _ := v.Field("Application", "contact"); f.Open() || !f.Personal {
		t.Errorf("Field(contact) = %+v, want a personal, limited field", f)
	}
	if got := v.Fields("Query"); !slices.Equal(got, []string{"applications", "certificates"}) {
		t.Errorf("Fields(Query) = %v, want both areas' fields", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("declaring a field twice did not panic")
		}
	}()
	v.View("Query", domain.Everyone, "applications")
}
