package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// A tally, the smallest aggregate: it counts up, never past a limit.
type counted struct {
	By int `json:"by"`
}

func (counted) EventType() string { return "test.counted" }

// renamedV2 changed shape at version 2: "name" became "title".
type renamedV2 struct {
	Title string `json:"title"`
}

func (renamedV2) EventType() string { return "test.renamed" }

type tally struct{ n int }

func (t *tally) Apply(e domain.Event) error {
	switch e := e.(type) {
	case counted:
		t.n += e.By
	case renamedV2:
	default:
		return errors.New("tally: unknown event")
	}
	return nil
}

func newTypes() *domain.Types {
	types := &domain.Types{}
	domain.Register[counted](types)
	domain.RegisterVersion[renamedV2](types, 2, map[int]domain.Upcaster{
		1: func(data json.RawMessage) (json.RawMessage, error) {
			var v1 struct{ Name string }
			if err := json.Unmarshal(data, &v1); err != nil {
				return nil, err
			}
			return json.Marshal(renamedV2{Title: v1.Name})
		},
	})
	return types
}

func TestRepositorySaveLoad(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: newTypes(), Keys: &domain.MemoryKeyring{}}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	meta := domain.Meta{Actor: domain.Actor{ID: "key:ops", Role: domain.Admin}, CorrelationID: "c-1", Now: now}

	res, err := repo.Save(ctx, "tally-1", 0, meta, counted{By: 2}, counted{By: 3})
	if err != nil || res.Version != 2 {
		t.Fatalf("Save = %+v, %v; want version 2", res, err)
	}
	var agg tally
	v, err := repo.Load(ctx, "tally-1", &agg)
	if err != nil || v != 2 || agg.n != 5 {
		t.Fatalf("Load = version %d, n %d, %v; want 2 and 5", v, agg.n, err)
	}
	stored, _ := store.ReadStream(ctx, "tally-1", eventstore.ReadOptions{})
	if m := stored[0].Metadata; m.Actor != "key:ops" || m.Role != "admin" || m.CorrelationID != "c-1" {
		t.Errorf("metadata = %+v, want the actor, role and correlation of the command", m)
	}
	if !stored[0].OccurredAt.Equal(now) {
		t.Errorf("OccurredAt = %v, want the command's time %v", stored[0].OccurredAt, now)
	}

	// A stale version is a Conflict that says what to do.
	_, err = repo.Save(ctx, "tally-1", 1, meta, counted{By: 1})
	if domain.KindOf(err) != domain.Conflict || !strings.Contains(domain.MessageOf(err), "reload") {
		t.Fatalf("Save at a stale version: %v (kind %s), want a Conflict", err, domain.KindOf(err))
	}
	// Creating a stream that exists is a Conflict too.
	if _, err := repo.Save(ctx, "tally-1", 0, meta, counted{By: 1}); domain.KindOf(err) != domain.Conflict {
		t.Fatalf("Save of an existing stream as new: %v, want a Conflict", err)
	}
	// Bad input from the store is Invalid.
	if _, err := repo.Save(ctx, "no stream id", 0, meta, counted{By: 1}); domain.KindOf(err) != domain.Invalid {
		t.Fatalf("Save to a malformed stream ID: %v, want Invalid", err)
	}
}

func TestDecodeUpcastsAndRefusesUnknown(t *testing.T) {
	types := newTypes()
	old := eventstore.Event{ID: eventstore.NewID(), Type: "test.renamed", SchemaVersion: 1, Data: json.RawMessage(`{"Name":"Gori"}`)}
	e, err := types.Decode(old)
	if err != nil || e.(renamedV2).Title != "Gori" {
		t.Fatalf("Decode(v1) = %#v, %v; want it upcast to title Gori", e, err)
	}
	for _, bad := range []eventstore.Event{
		{Type: "test.unknown", SchemaVersion: 1, Data: json.RawMessage(`{}`)},
		{Type: "test.renamed", SchemaVersion: 3, Data: json.RawMessage(`{}`)},
		{Type: "test.counted", SchemaVersion: 1, Data: json.RawMessage(`{"by":"two"}`)},
	} {
		if _, err := types.Decode(bad); err == nil {
			t.Errorf("Decode(%s v%d %s) succeeded, want an error", bad.Type, bad.SchemaVersion, bad.Data)
		}
	}
	// A stream with an event its aggregate does not know fails to load.
	ctx := context.Background()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: types, Keys: &domain.MemoryKeyring{}}
	if _, err := repo.Save(ctx, "tally-2", 0, domain.Meta{}, counted{By: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "tally-2", eventstore.Any(), eventstore.EventData{Type: "test.unknown", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Load(ctx, "tally-2", &tally{}); err == nil {
		t.Error("Load of a stream holding an unknown event succeeded, want an error")
	}
}

func TestRegisterPanicsOnMistakes(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate", func() {
		types := &domain.Types{}
		domain.Register[counted](types)
		domain.Register[counted](types)
	})
	mustPanic("missing upcaster", func() {
		domain.RegisterVersion[renamedV2](&domain.Types{}, 2, nil)
	})
}

func TestRequire(t *testing.T) {
	admin := domain.Actor{ID: "key:a", Role: domain.Admin}
	if err := admin.Require("register an organisation", domain.Admin); err != nil {
		t.Errorf("admin: %v", err)
	}
	analyst := domain.Actor{ID: "key:b", Role: domain.Analyst}
	err := analyst.Require("register an organisation", domain.Admin, domain.Consortium)
	if domain.KindOf(err) != domain.Forbidden || !strings.Contains(err.Error(), "role analyst") {
		t.Errorf("analyst: %v, want Forbidden naming the role", err)
	}
	if err := (domain.Actor{}).Require("register an organisation", domain.Admin); domain.KindOf(err) != domain.Unauthenticated {
		t.Errorf("anonymous: %v, want Unauthenticated", err)
	}
	if _, err := domain.ParseRole("root"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("ParseRole(root) = %v, want Invalid", err)
	}
	if r, err := domain.ParseRole(" Consortium "); err != nil || r != domain.Consortium {
		t.Errorf("ParseRole(Consortium) = %s, %v", r, err)
	}
}

// TestParseBudgetingRoles: the participatory-budgeting roles are read as
// every other, and an unknown role's error lists them, so whoever typed
// it learns they exist.
func TestParseBudgetingRoles(t *testing.T) {
	for in, want := range map[string]domain.Role{"officer": domain.Officer, " OFFICER ": domain.Officer,
		"ballot-box": domain.BallotBox, "Ballot-Box\t": domain.BallotBox} {
		if r, err := domain.ParseRole(in); err != nil || r != want {
			t.Errorf("ParseRole(%q) = %s, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"ballot_box", "ballotbox", "ballot box", "officers"} {
		if r, err := domain.ParseRole(bad); domain.KindOf(err) != domain.Invalid || r != "" {
			t.Errorf("ParseRole(%q) = %s, %v; want Invalid", bad, r, err)
		}
	}
	_, err := domain.ParseRole("root")
	for _, r := range domain.Roles {
		if !strings.Contains(domain.MessageOf(err), string(r)) {
			t.Errorf("ParseRole(root) says %q, which does not list role %s", domain.MessageOf(err), r)
		}
	}
	for _, r := range []domain.Role{domain.Officer, domain.BallotBox} {
		if !slices.Contains(domain.Roles, r) {
			t.Errorf("domain.Roles lacks %s: no key could have it", r)
		}
	}
}

func TestLocalizedText(t *testing.T) {
	ok := domain.LocalizedText{Ka: " გორი ", En: "Gori"}.Normalize()
	if ok.Ka != "გორი" || ok.Validate("name") != nil {
		t.Errorf("Normalize/Validate(%+v) failed", ok)
	}
	if err := (domain.LocalizedText{En: "Gori"}).Validate("name"); domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), "name: the Georgian text") {
		t.Errorf("Validate without Georgian = %v, want Invalid naming the field", err)
	}
	if err := (domain.LocalizedText{Ka: strings.Repeat("ა", 501)}).Validate("name"); err == nil {
		t.Error("Validate of 501 Georgian characters succeeded")
	}
}
