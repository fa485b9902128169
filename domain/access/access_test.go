package access_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/domaintest"
	"github.com/civicledger/civicledger/internal/seed"
)

// now is the time of every command in these tests.
var now = time.Date(2026, 3, 1, 10, 0, 0, 0, domain.Tbilisi)

// Keys the given parts start from, with IDs of the shape CreateKey makes.
var (
	opsKey = access.KeyCreated{ID: "0a1b2c3d4e5f", Name: "ops", Role: domain.Admin,
		Hash: access.HashKey("civ_0a1b2c3d4e5f_" + strings.Repeat("ab", 32))}
	opsRevoked = access.KeyRevoked{ID: opsKey.ID, Reason: "rotated"}
)

// world is an empty in-memory store with the services over it, and Rustavi
// registered in Kvemo Kartli through registry.Service, so that applicant
// keys have a municipality and hub keys a region to act for, and the store
// is not trivially empty.
type world struct {
	store    *inmem.Store
	repo     *domain.Repository
	keys     *access.Service
	registry *registry.Service
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	w := &world{store: store, repo: repo, keys: &access.Service{Repo: repo}, registry: &registry.Service{Repo: repo}}
	if _, err := w.registry.RegisterRegion(ctx, metaAs(domain.System), registry.RegisterRegion{
		Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"}, Kind: registry.OrdinaryRegion, Capital: "Rustavi",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.registry.RegisterMunicipality(ctx, metaAs(domain.System), registry.RegisterMunicipality{
		Code: "rustavi", Name: domain.LocalizedText{Ka: "რუსთავი", En: "Rustavi"}, Region: "kvemo-kartli", Kind: registry.SelfGoverningCity,
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// metaAs is the meta of a command by an actor of role; the zero role is
// a caller who gave no key at all.
func metaAs(role domain.Role) domain.Meta {
	switch role {
	case "", domain.Anonymous:
		return domain.Meta{Actor: domain.Actor{Role: role}, Now: now}
	case domain.System:
		return access.SystemMeta("test", now)
	}
	return domain.Meta{Actor: domain.Actor{ID: "key:test-" + string(role), Role: role}, CorrelationID: "test", Now: now}
}

// given appends key events to their streams, as earlier commands would
// have.
func (w *world) given(t testing.TB, events ...domain.Event) {
	t.Helper()
	versions := map[string]int64{}
	for _, e := range events {
		var stream string
		switch e := e.(type) {
		case access.KeyCreated:
			stream = "apikey-" + e.ID
		case access.KeyRevoked:
			stream = "apikey-" + e.ID
		default:
			t.Fatalf("given: %T is not a key event", e)
		}
		res, err := w.repo.Save(context.Background(), stream, versions[stream], metaAs(domain.System), e)
		if err != nil {
			t.Fatalf("given %s: %v", stream, err)
		}
		versions[stream] = res.Version
	}
}

func (w *world) head(t testing.TB) int64 {
	t.Helper()
	head, err := w.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// appendedSince returns the stored events after position: what the command
// under test wrote.
func (w *world) appendedSince(t testing.TB, position int64) []eventstore.Event {
	t.Helper()
	events, err := w.store.ReadAll(context.Background(), position, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func (w *world) decode(t testing.TB, e eventstore.Event) domain.Event {
	t.Helper()
	d, err := w.repo.Types.Decode(e)
	if err != nil {
		t.Fatalf("decode %s: %v", e.Type, err)
	}
	return d
}

// checkFailed fails the test unless err is of kind and says text, and the
// command wrote nothing.
func checkFailed(t testing.TB, what string, err error, kind domain.Kind, text string, appended []eventstore.Event) {
	t.Helper()
	if domain.KindOf(err) != kind || !strings.Contains(domain.MessageOf(err), text) {
		t.Errorf("%s = error %v (kind %s), want kind %s saying %q", what, err, domain.KindOf(err), kind, text)
	}
	if len(appended) != 0 {
		t.Errorf("%s failed but wrote %d events (%s first); want nothing written", what, len(appended), appended[0].Type)
	}
}

func TestCreateKey(t *testing.T) {
	rustavi := "rustavi"
	type testCase struct {
		name string
		role domain.Role // the caller's
		when access.CreateKey
		// then, on success: the key's name, role, municipality, region and
		// cycle as recorded (ID and hash are the key's own).
		then access.KeyCreated
		kind domain.Kind // of the error, "" for success
		text string      // in the error's message
	}
	tests := []testCase{
		{name: "by the platform", role: domain.System, when: access.CreateKey{Name: "ops", Role: domain.Admin},
			then: access.KeyCreated{Name: "ops", Role: domain.Admin}},
		{name: "by an admin", role: domain.Admin, when: access.CreateKey{Name: "analyst-7", Role: domain.Analyst},
			then: access.KeyCreated{Name: "analyst-7", Role: domain.Analyst}},
		{name: "by an admin, of the auditor role", role: domain.Admin, when: access.CreateKey{Name: "audit", Role: domain.Auditor},
			then: access.KeyCreated{Name: "audit", Role: domain.Auditor}},
		{name: "of the anonymous role, which no key has", role: domain.Admin, when: access.CreateKey{Name: "guest", Role: domain.Anonymous}, kind: domain.Invalid, text: "anonymous"},
		{name: "by an analyst", role: domain.Analyst, when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Forbidden, text: "analyst"},
		{name: "by an applicant", role: domain.Applicant, when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Forbidden},
		{name: "by an expert", role: domain.Expert, when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Forbidden},
		{name: "by the consortium", role: domain.Consortium, when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Forbidden},
		{name: "by an auditor", role: domain.Auditor, when: access.CreateKey{Name: "x", Role: domain.Auditor}, kind: domain.Forbidden},
		{name: "by an anonymous caller", role: domain.Anonymous, when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Unauthenticated},
		{name: "by a caller without a key", role: "", when: access.CreateKey{Name: "x", Role: domain.Admin}, kind: domain.Unauthenticated},
		{name: "role checked before the name", role: domain.Anonymous, when: access.CreateKey{Name: "Not Valid"}, kind: domain.Unauthenticated},
		{name: "role checked before the name, signed in", role: domain.Expert, when: access.CreateKey{Name: "Not Valid"}, kind: domain.Forbidden},

		{name: "name trimmed", role: domain.Admin, when: access.CreateKey{Name: "  ops-1\t", Role: domain.Admin},
			then: access.KeyCreated{Name: "ops-1", Role: domain.Admin}},
		{name: "name of one character", role: domain.Admin, when: access.CreateKey{Name: "7", Role: domain.Admin},
			then: access.KeyCreated{Name: "7", Role: domain.Admin}},
		{name: "name with every allowed sign", role: domain.Admin, when: access.CreateKey{Name: "a.b_c-d9", Role: domain.Admin},
			then: access.KeyCreated{Name: "a.b_c-d9", Role: domain.Admin}},
		{name: "name of 63 characters", role: domain.Admin, when: access.CreateKey{Name: strings.Repeat("n", 63), Role: domain.Admin},
			then: access.KeyCreated{Name: strings.Repeat("n", 63), Role: domain.Admin}},
		{name: "name of 64 characters", role: domain.Admin, when: access.CreateKey{Name: strings.Repeat("n", 64), Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "no name", role: domain.Admin, when: access.CreateKey{Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "blank name", role: domain.Admin, when: access.CreateKey{Name: "   ", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name in capitals", role: domain.Admin, when: access.CreateKey{Name: "Ops", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name starting with a dash", role: domain.Admin, when: access.CreateKey{Name: "-ops", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name starting with a dot", role: domain.Admin, when: access.CreateKey{Name: ".ops", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name with a space", role: domain.Admin, when: access.CreateKey{Name: "ops team", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name with a slash", role: domain.Admin, when: access.CreateKey{Name: "ops/team", Role: domain.Admin}, kind: domain.Invalid, text: "name"},
		{name: "name in Georgian", role: domain.Admin, when: access.CreateKey{Name: "ნინო", Role: domain.Admin}, kind: domain.Invalid, text: "name"},

		{name: "no role", role: domain.Admin, when: access.CreateKey{Name: "ops"}, kind: domain.Invalid, text: "role"},
		{name: "unknown role", role: domain.Admin, when: access.CreateKey{Name: "ops", Role: "superuser"}, kind: domain.Invalid, text: "role"},
		{name: "the platform's role", role: domain.System, when: access.CreateKey{Name: "ops", Role: domain.System}, kind: domain.Invalid, text: "role"},

		{name: "applicant for a registered municipality", role: domain.Admin,
			when: access.CreateKey{Name: "rustavi-office", Role: domain.Applicant, Municipality: rustavi},
			then: access.KeyCreated{Name: "rustavi-office", Role: domain.Applicant, Municipality: rustavi}},
		{name: "applicant without a municipality", role: domain.Admin, when: access.CreateKey{Name: "office", Role: domain.Applicant},
			kind: domain.Invalid, text: "municipality"},
		{name: "applicant for an unknown municipality", role: domain.Admin,
			when: access.CreateKey{Name: "office", Role: domain.Applicant, Municipality: "atlantis"}, kind: domain.NotFound, text: "atlantis"},
		{name: "applicant for a region", role: domain.Admin,
			when: access.CreateKey{Name: "office", Role: domain.Applicant, Municipality: "kvemo-kartli"}, kind: domain.NotFound, text: "kvemo-kartli"},
		{name: "admin with a municipality", role: domain.Admin, when: access.CreateKey{Name: "ops", Role: domain.Admin, Municipality: rustavi},
			kind: domain.Invalid, text: "municipality"},
		{name: "expert with a municipality", role: domain.System, when: access.CreateKey{Name: "ops", Role: domain.Expert, Municipality: rustavi},
			kind: domain.Invalid, text: "municipality"},

		{name: "hub for a registered region", role: domain.Admin,
			when: access.CreateKey{Name: "kvemo-kartli-hub", Role: domain.Hub, Region: " kvemo-kartli "},
			then: access.KeyCreated{Name: "kvemo-kartli-hub", Role: domain.Hub, Region: "kvemo-kartli"}},
		{name: "hub by the platform, role in capitals", role: domain.System,
			when: access.CreateKey{Name: "hub", Role: "HUB", Region: "kvemo-kartli"},
			then: access.KeyCreated{Name: "hub", Role: domain.Hub, Region: "kvemo-kartli"}},
		{name: "hub without a region", role: domain.Admin, when: access.CreateKey{Name: "hub", Role: domain.Hub},
			kind: domain.Invalid, text: "region"},
		{name: "hub with a blank region", role: domain.Admin, when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: "  "},
			kind: domain.Invalid, text: "region"},
		{name: "hub for an unknown region", role: domain.Admin,
			when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: "atlantis"}, kind: domain.NotFound, text: "atlantis"},
		{name: "hub for a municipality", role: domain.Admin,
			when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: rustavi}, kind: domain.NotFound, text: "rustavi"},
		{name: "hub for a malformed region", role: domain.Admin,
			when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: "Kvemo Kartli"}, kind: domain.Invalid, text: "region"},
		{name: "hub with a municipality", role: domain.Admin,
			when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: "kvemo-kartli", Municipality: rustavi}, kind: domain.Invalid, text: "municipality"},
		{name: "hub by a hub", role: domain.Hub, when: access.CreateKey{Name: "hub", Role: domain.Hub, Region: "kvemo-kartli"}, kind: domain.Forbidden, text: "hub"},
		{name: "analyst with a region", role: domain.Admin, when: access.CreateKey{Name: "analyst-7", Role: domain.Analyst, Region: "kvemo-kartli"},
			kind: domain.Invalid, text: "region"},
		{name: "applicant with a region", role: domain.Admin,
			when: access.CreateKey{Name: "office", Role: domain.Applicant, Municipality: rustavi, Region: "kvemo-kartli"}, kind: domain.Invalid, text: "region"},

		// Officers: a municipality's staff, bound to it as an applicant is.
		{name: "officer for a registered municipality", role: domain.Admin,
			when: access.CreateKey{Name: "rustavi-ballots", Role: domain.Officer, Municipality: rustavi},
			then: access.KeyCreated{Name: "rustavi-ballots", Role: domain.Officer, Municipality: rustavi}},
		{name: "officer by the platform, role in capitals, municipality padded", role: domain.System,
			when: access.CreateKey{Name: "rustavi-ballots", Role: " OFFICER ", Municipality: " rustavi\t"},
			then: access.KeyCreated{Name: "rustavi-ballots", Role: domain.Officer, Municipality: rustavi}},
		{name: "officer without a municipality", role: domain.Admin, when: access.CreateKey{Name: "ballots", Role: domain.Officer},
			kind: domain.Invalid, text: "municipality: an officer key acts for one municipality"},
		{name: "officer for an unknown municipality", role: domain.Admin,
			when: access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: "atlantis"}, kind: domain.NotFound, text: "atlantis"},
		{name: "officer for a malformed municipality", role: domain.Admin,
			when: access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: "Rustavi"}, kind: domain.Invalid, text: "municipality"},
		{name: "officer with a cycle", role: domain.Admin,
			when: access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: rustavi, Cycle: "rustavi-2023"}, kind: domain.Invalid, text: "cycle: only ballot-box keys"},
		{name: "officer with a region", role: domain.Admin,
			when: access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: rustavi, Region: "kvemo-kartli"}, kind: domain.Invalid, text: "region"},
		{name: "officer by an officer", role: domain.Officer,
			when: access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: rustavi}, kind: domain.Forbidden, text: "officer"},

		// Ballot boxes: bound to one budgeting cycle, and through it to
		// the cycle's municipality, which the service sets.
		{name: "ballot box for a cycle", role: domain.Admin,
			when: access.CreateKey{Name: "rustavi-vote", Role: domain.BallotBox, Cycle: "rustavi-2023"},
			then: access.KeyCreated{Name: "rustavi-vote", Role: domain.BallotBox, Municipality: rustavi, Cycle: "rustavi-2023"}},
		{name: "ballot box by the platform, role in capitals, cycle padded", role: domain.System,
			when: access.CreateKey{Name: "rustavi-vote", Role: "Ballot-Box", Cycle: "  rustavi-2023 "},
			then: access.KeyCreated{Name: "rustavi-vote", Role: domain.BallotBox, Municipality: rustavi, Cycle: "rustavi-2023"}},
		{name: "ballot box for the first year", role: domain.Admin,
			when: access.CreateKey{Name: "rustavi-vote", Role: domain.BallotBox, Cycle: "rustavi-2000"},
			then: access.KeyCreated{Name: "rustavi-vote", Role: domain.BallotBox, Municipality: rustavi, Cycle: "rustavi-2000"}},
		{name: "ballot box for the last year", role: domain.Admin,
			when: access.CreateKey{Name: "rustavi-vote", Role: domain.BallotBox, Cycle: "rustavi-2100"},
			then: access.KeyCreated{Name: "rustavi-vote", Role: domain.BallotBox, Municipality: rustavi, Cycle: "rustavi-2100"}},
		{name: "ballot box without a cycle", role: domain.Admin, when: access.CreateKey{Name: "vote", Role: domain.BallotBox},
			kind: domain.Invalid, text: "cycle: a ballot-box key is bound to one budgeting cycle"},
		{name: "ballot box with a blank cycle", role: domain.Admin, when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: " \t "},
			kind: domain.Invalid, text: "cycle"},
		{name: "ballot box with a municipality instead of a cycle", role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Municipality: rustavi}, kind: domain.Invalid, text: "municipality: a ballot-box key acts for its cycle's"},
		{name: "ballot box with a municipality and a cycle", role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Municipality: rustavi, Cycle: "rustavi-2023"}, kind: domain.Invalid, text: "municipality"},
		{name: "ballot box with a region", role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "rustavi-2023", Region: "kvemo-kartli"}, kind: domain.Invalid, text: "region"},
		{name: "ballot box for an unregistered municipality's cycle", role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "atlantis-2023"}, kind: domain.NotFound, text: `cycle "atlantis-2023": municipality "atlantis" is not registered`},
		{name: "ballot box for a region's cycle", role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "kvemo-kartli-2023"}, kind: domain.NotFound, text: `municipality "kvemo-kartli"`},
		{name: "ballot box by a ballot box", role: domain.BallotBox,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "rustavi-2023"}, kind: domain.Forbidden, text: "ballot-box"},
		{name: "ballot box by an officer", role: domain.Officer,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "rustavi-2023"}, kind: domain.Forbidden, text: "officer"},

		// Assessors: the benchmark's, bound to no municipality, region or
		// cycle, like analysts: each of those is refused, naming its field.
		{name: "assessor", role: domain.Admin,
			when: access.CreateKey{Name: "benchmark-assessor-1", Role: domain.Assessor},
			then: access.KeyCreated{Name: "benchmark-assessor-1", Role: domain.Assessor}},
		{name: "assessor by the platform, role in capitals", role: domain.System,
			when: access.CreateKey{Name: "benchmark-assessor-1", Role: " ASSESSOR\t"},
			then: access.KeyCreated{Name: "benchmark-assessor-1", Role: domain.Assessor}},
		{name: "assessor with a municipality", role: domain.Admin,
			when: access.CreateKey{Name: "assessor", Role: domain.Assessor, Municipality: rustavi}, kind: domain.Invalid, text: "municipality: only applicant and officer keys"},
		{name: "assessor with a region", role: domain.Admin,
			when: access.CreateKey{Name: "assessor", Role: domain.Assessor, Region: "kvemo-kartli"}, kind: domain.Invalid, text: "region: only hub keys"},
		{name: "assessor with a cycle", role: domain.Admin,
			when: access.CreateKey{Name: "assessor", Role: domain.Assessor, Cycle: "rustavi-2023"}, kind: domain.Invalid, text: "cycle: only ballot-box keys"},
		{name: "assessor by an assessor", role: domain.Assessor,
			when: access.CreateKey{Name: "assessor", Role: domain.Assessor}, kind: domain.Forbidden, text: "assessor"},
		{name: "admin by an assessor", role: domain.Assessor,
			when: access.CreateKey{Name: "ops", Role: domain.Admin}, kind: domain.Forbidden, text: "assessor"},
		{name: "assessor misspelt", role: domain.Admin,
			when: access.CreateKey{Name: "assessor", Role: "assesor"}, kind: domain.Invalid, text: "role"},
	}
	// Cycles of the wrong shape, each refused as Invalid naming the
	// cycle, before the registry is asked.
	for _, bad := range []string{
		"rustavi",                         // no year
		"2023",                            // no municipality
		"-2023",                           // an empty municipality
		"rustavi-",                        // an empty year
		"rustavi-23",                      // a year of two digits
		"rustavi-02023",                   // of five
		"rustavi-1999",                    // before 2000
		"rustavi-2101",                    // after 2100
		"rustavi-0000",                    // zero
		"rustavi-2023-",                   // a '-' after the year
		"2023-rustavi",                    // the year first
		"rustavi_2023",                    // another separator
		"rustavi 2023",                    // a space
		"rustavi-2o23",                    // a letter in the year
		"rustavi-+202",                    // a sign
		"rustavi-２０２３",                    // digits, but not ASCII
		"Rustavi-2023",                    // a capital
		"rus tavi-2023",                   // a space in the code
		"rus/tavi-2023",                   // a slash in the code
		"რუსთავი-2023",                    // the name, not the code
		strings.Repeat("r", 65) + "-2023", // a code over 64 characters
	} {
		tests = append(tests, testCase{name: "ballot box for cycle " + bad, role: domain.Admin,
			when: access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: bad}, kind: domain.Invalid, text: "cycle: "})
	}
	// A cycle on any key but a ballot box's is refused, naming the cycle.
	for _, c := range []access.CreateKey{
		{Role: domain.Admin}, {Role: domain.Analyst}, {Role: domain.Auditor}, {Role: domain.Expert}, {Role: domain.Consortium},
		{Role: domain.Applicant, Municipality: rustavi}, {Role: domain.Hub, Region: "kvemo-kartli"}, {Role: domain.Officer, Municipality: rustavi},
		{Role: domain.Assessor},
	} {
		c.Name, c.Cycle = "with-cycle", "rustavi-2023"
		tests = append(tests, testCase{name: "cycle on a key of role " + string(c.Role), role: domain.Admin, when: c, kind: domain.Invalid, text: "cycle: only ballot-box keys"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			w := newWorld(t)
			w.given(t, opsKey)
			before := w.head(t)
			meta := metaAs(tt.role)
			key, id, res, err := w.keys.CreateKey(ctx, meta, tt.when)
			appended := w.appendedSince(t, before)
			if tt.kind != "" {
				checkFailed(t, "CreateKey", err, tt.kind, tt.text, appended)
				if key != "" || id != "" {
					t.Errorf("CreateKey failed but returned key %q, ID %q", key, id)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateKey(%+v) = error %v (kind %s), want a key", tt.when, err, domain.KindOf(err))
			}
			if len(appended) != 1 {
				t.Fatalf("CreateKey wrote %d events, want 1", len(appended))
			}
			stored := appended[0]
			want := tt.then
			want.ID, want.Hash = id, access.HashKey(key)
			if diff := cmp.Diff(domain.Event(want), w.decode(t, stored)); diff != "" || stored.Stream != "apikey-"+id {
				t.Errorf("CreateKey wrote to %s (want apikey-%s) (-want +got):\n%s", stored.Stream, id, diff)
			}
			if res.Version != 1 || res.LastID != stored.ID {
				t.Errorf("CreateKey returned %+v, want version 1 and the ID of the event written", res)
			}
			var k access.Key
			if _, err := w.repo.Load(ctx, access.Stream(id), &k); err != nil {
				t.Fatal(err)
			}
			if wantKey := (access.Key{ID: id, Name: want.Name, Role: want.Role, Municipality: want.Municipality, Region: want.Region, Cycle: want.Cycle, Hash: want.Hash}); k != wantKey {
				t.Errorf("the key's state = %+v, want %+v", k, wantKey)
			}
			wantActor := domain.Actor{ID: "key:" + want.Name + "#" + id, Role: want.Role, Municipality: want.Municipality, Region: want.Region, Cycle: want.Cycle, KeyID: id}
			if a, err := w.keys.Actor(ctx, key); err != nil || a != wantActor {
				t.Errorf("Actor(the new key) = %+v, %v; want %+v", a, err, wantActor)
			}
			if stored.Metadata.Actor != meta.Actor.ID || stored.Metadata.Role != string(tt.role) {
				t.Errorf("the key's event names actor %q in role %q, want %q in %q: who issued a key is for the auditors",
					stored.Metadata.Actor, stored.Metadata.Role, meta.Actor.ID, tt.role)
			}

			if parsed, err := access.ParseKey(key); err != nil || parsed != id {
				t.Errorf("ParseKey(%q) = %q, %v; want the ID CreateKey returned, %q", key, parsed, err, id)
			}
			created := w.decode(t, stored).(access.KeyCreated)
			if !access.Matches(key, created.Hash) {
				t.Errorf("Matches(key, stored hash) = false for the key CreateKey returned")
			}
			secret := key[strings.LastIndexByte(key, '_')+1:]
			raw, err := hex.DecodeString(secret)
			if err != nil || len(raw) != 32 {
				t.Fatalf("the key's secret %q is not 32 bytes in hex (%v)", secret, err)
			}
			whole, err := json.Marshal(stored)
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range []string{secret, strings.ToUpper(secret), base64.StdEncoding.EncodeToString(raw),
				base64.RawURLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString([]byte(secret))} {
				if strings.Contains(string(whole), form) {
					t.Fatalf("the stored event holds the key's secret (as %q):\n%s", form, whole)
				}
			}
		})
	}
}

// TestCreateKeyIsRandom: each key is new, so two keys for the same name
// and role never share an ID or a secret.
func TestCreateKeyIsRandom(t *testing.T) {
	w := newWorld(t)
	seen := map[string]bool{}
	for range 20 {
		key, id, _, err := w.keys.CreateKey(t.Context(), metaAs(domain.Admin), access.CreateKey{Name: "same", Role: domain.Analyst})
		if err != nil {
			t.Fatal(err)
		}
		secret := key[strings.LastIndexByte(key, '_')+1:]
		if seen[id] || seen[secret] {
			t.Fatalf("CreateKey gave ID %s or secret %s twice", id, secret)
		}
		seen[id], seen[secret] = true, true
	}
}

func TestRevokeKey(t *testing.T) {
	tests := []struct {
		name  string
		given []domain.Event
		role  domain.Role
		when  access.RevokeKey
		then  access.KeyRevoked
		kind  domain.Kind
		text  string
	}{
		{name: "by an admin", given: []domain.Event{opsKey}, role: domain.Admin, when: access.RevokeKey{ID: opsKey.ID, Reason: "  left the team "},
			then: access.KeyRevoked{ID: opsKey.ID, Reason: "left the team"}},
		{name: "by the platform, without a reason", given: []domain.Event{opsKey}, role: domain.System, when: access.RevokeKey{ID: opsKey.ID},
			then: access.KeyRevoked{ID: opsKey.ID}},
		{name: "twice", given: []domain.Event{opsKey, opsRevoked}, role: domain.Admin, when: access.RevokeKey{ID: opsKey.ID},
			kind: domain.Conflict, text: "revoked already"},
		{name: "unknown", given: []domain.Event{opsKey}, role: domain.Admin, when: access.RevokeKey{ID: "ffffffffffff"},
			kind: domain.NotFound, text: "ffffffffffff"},
		{name: "by an analyst", given: []domain.Event{opsKey}, role: domain.Analyst, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Forbidden, text: "analyst"},
		{name: "by an applicant", given: []domain.Event{opsKey}, role: domain.Applicant, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Forbidden},
		{name: "by an expert", given: []domain.Event{opsKey}, role: domain.Expert, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Forbidden},
		{name: "by the consortium", given: []domain.Event{opsKey}, role: domain.Consortium, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Forbidden},
		{name: "by an auditor", given: []domain.Event{opsKey}, role: domain.Auditor, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Forbidden},
		{name: "by an anonymous caller", given: []domain.Event{opsKey}, role: domain.Anonymous, when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Unauthenticated},
		{name: "by a caller without a key", given: []domain.Event{opsKey}, role: "", when: access.RevokeKey{ID: opsKey.ID}, kind: domain.Unauthenticated},
		{name: "role checked before the key", role: domain.Auditor, when: access.RevokeKey{ID: "ffffffffffff"}, kind: domain.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.given(t, tt.given...)
			before := w.head(t)
			res, err := w.keys.RevokeKey(t.Context(), metaAs(tt.role), tt.when)
			appended := w.appendedSince(t, before)
			if tt.kind != "" {
				checkFailed(t, "RevokeKey", err, tt.kind, tt.text, appended)
				return
			}
			if err != nil {
				t.Fatalf("RevokeKey(%+v) = error %v (kind %s), want success", tt.when, err, domain.KindOf(err))
			}
			if len(appended) != 1 {
				t.Fatalf("RevokeKey wrote %d events, want 1", len(appended))
			}
			if diff := cmp.Diff(domain.Event(tt.then), w.decode(t, appended[0])); diff != "" || appended[0].Stream != "apikey-"+tt.when.ID {
				t.Errorf("RevokeKey wrote to %s (want apikey-%s) (-want +got):\n%s", appended[0].Stream, tt.when.ID, diff)
			}
			if res.Version != 2 {
				t.Errorf("RevokeKey returned version %d, want 2", res.Version)
			}
		})
	}
}

// TestKeyLifecycle: a key created through the service can be revoked once,
// and its stream then holds both facts.
func TestKeyLifecycle(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	_, id, _, err := w.keys.CreateKey(ctx, metaAs(domain.Admin), access.CreateKey{Name: "office", Role: domain.Applicant, Municipality: "rustavi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.keys.RevokeKey(ctx, metaAs(domain.Admin), access.RevokeKey{ID: id, Reason: "moved"}); err != nil {
		t.Fatalf("RevokeKey(new key) = %v", err)
	}
	before := w.head(t)
	_, err = w.keys.RevokeKey(ctx, metaAs(domain.Admin), access.RevokeKey{ID: id})
	checkFailed(t, "RevokeKey again", err, domain.Conflict, "office", w.appendedSince(t, before))

	var k access.Key
	if version, err := w.repo.Load(ctx, access.Stream(id), &k); err != nil || version != 2 {
		t.Fatalf("Load(%s) = version %d, %v; want 2", access.Stream(id), version, err)
	}
	if k.ID != id || k.Name != "office" || k.Role != domain.Applicant || k.Municipality != "rustavi" || !k.Revoked {
		t.Errorf("Key = %+v, want the revoked applicant key for rustavi", k)
	}
}

// TestBudgetingKeys walks the two budgeting roles' keys through the
// service step by step: an officer's and a ballot box's keys are issued
// and work at once, bound to what they were issued for (the ballot box's
// actor carries its cycle and the cycle's municipality, read from the
// key's own stream), refused input writes nothing, and a revoked ballot
// box stops working.
func TestBudgetingKeys(t *testing.T) {
	w := newWorld(t)
	var officerKey, boxKey, boxID string
	// actor checks that key stands for want (but for the ID, which is
	// the key's own).
	actor := func(ctx context.Context, s *access.Service, key string, want domain.Actor) error {
		a, err := s.Actor(ctx, key)
		if err != nil {
			return err
		}
		want.ID, want.KeyID = a.ID, a.KeyID
		if a != want || !strings.HasPrefix(a.ID, "key:") {
			return fmt.Errorf("Actor = %+v, want %+v", a, want)
		}
		return nil
	}
	create := func(cmd access.CreateKey) func(context.Context, *access.Service) error {
		return func(ctx context.Context, s *access.Service) error {
			_, _, _, err := s.CreateKey(ctx, metaAs(domain.Admin), cmd)
			return err
		}
	}
	domaintest.Run(t, w.keys, w.store, []domaintest.Step[*access.Service]{
		{Name: "an officer key for Rustavi", Then: []string{"access.key_created"}, Do: func(ctx context.Context, s *access.Service) error {
			key, _, _, err := s.CreateKey(ctx, metaAs(domain.Admin), access.CreateKey{Name: "rustavi-ballots", Role: domain.Officer, Municipality: "rustavi"})
			if err != nil {
				return err
			}
			officerKey = key
			return actor(ctx, s, key, domain.Actor{Role: domain.Officer, Municipality: "rustavi"})
		}},
		{Name: "a ballot-box key for Rustavi's 2023 cycle", Then: []string{"access.key_created"}, Do: func(ctx context.Context, s *access.Service) error {
			key, id, _, err := s.CreateKey(ctx, metaAs(domain.Admin), access.CreateKey{Name: "rustavi-vote", Role: domain.BallotBox, Cycle: "rustavi-2023"})
			if err != nil {
				return err
			}
			boxKey, boxID = key, id
			return actor(ctx, s, key, domain.Actor{Role: domain.BallotBox, Municipality: "rustavi", Cycle: "rustavi-2023"})
		}},
		{Name: "a ballot-box key without a cycle", Kind: domain.Invalid, Text: "cycle",
			Do: create(access.CreateKey{Name: "vote", Role: domain.BallotBox})},
		{Name: "a ballot-box key for a cycle of 1999", Kind: domain.Invalid, Text: "cycle",
			Do: create(access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "rustavi-1999"})},
		{Name: "a ballot-box key for an unregistered municipality's cycle", Kind: domain.NotFound, Text: "atlantis",
			Do: create(access.CreateKey{Name: "vote", Role: domain.BallotBox, Cycle: "atlantis-2023"})},
		{Name: "an officer key with a cycle", Kind: domain.Invalid, Text: "cycle",
			Do: create(access.CreateKey{Name: "ballots", Role: domain.Officer, Municipality: "rustavi", Cycle: "rustavi-2023"})},
		{Name: "an applicant key with a cycle", Kind: domain.Invalid, Text: "cycle",
			Do: create(access.CreateKey{Name: "office", Role: domain.Applicant, Municipality: "rustavi", Cycle: "rustavi-2023"})},
		{Name: "the ballot box revoked", Then: []string{"access.key_revoked"}, Do: func(ctx context.Context, s *access.Service) error {
			_, err := s.RevokeKey(ctx, metaAs(domain.Admin), access.RevokeKey{ID: boxID, Reason: "cycle closed"})
			return err
		}},
		{Name: "the revoked ballot box signs in", Kind: domain.Unauthenticated, Text: "not valid", Do: func(ctx context.Context, s *access.Service) error {
			_, err := s.Actor(ctx, boxKey)
			return err
		}},
		{Name: "the officer still signs in", Then: []string{}, Do: func(ctx context.Context, s *access.Service) error {
			return actor(ctx, s, officerKey, domain.Actor{Role: domain.Officer, Municipality: "rustavi"})
		}},
	})
}

func TestParseKey(t *testing.T) {
	id, secret := "0a1b2c3d4e5f", strings.Repeat("9f", 32)
	if got, err := access.ParseKey("civ_" + id + "_" + secret); err != nil || got != id {
		t.Fatalf("ParseKey(a good key) = %q, %v; want %q", got, err, id)
	}
	for _, key := range []string{
		"",
		"civ_",
		"civ__",
		id + "_" + secret,                 // no prefix
		"CIV_" + id + "_" + secret,        // another prefix
		"civ-" + id + "_" + secret,        // another separator
		"civ_" + id + secret,              // no separator
		"civ_" + id[1:] + "_" + secret,    // short ID
		"civ_" + id + "0_" + secret,       // long ID
		"civ_" + id + "_" + secret[1:],    // short secret
		"civ_" + id + "_" + secret + "0",  // long secret
		"civ_" + id + "_" + secret + "\n", // a trailing newline
		" civ_" + id + "_" + secret,       // a leading space
		"Bearer civ_" + id + "_" + secret, // an Authorization header's value
		"civ_" + secret + "_" + id,        // parts swapped
		"civ_" + id + "_" + secret[:32],   // half a secret
	} {
		if got, err := access.ParseKey(key); domain.KindOf(err) != domain.Unauthenticated || got != "" {
			t.Errorf("ParseKey(%q) = %q, %v (kind %s); want kind %s", key, got, err, domain.KindOf(err), domain.Unauthenticated)
		}
	}
}

func TestMatches(t *testing.T) {
	key := "civ_0a1b2c3d4e5f_" + strings.Repeat("ab", 32)
	hash := access.HashKey(key)
	if len(hash) != 64 || !access.Matches(key, hash) {
		t.Fatalf("HashKey(key) = %q, which Matches(key) rejects; want the hex SHA-256 it accepts", hash)
	}
	for _, other := range []string{key[:len(key)-1] + "c", key + " ", strings.ToUpper(key), ""} {
		if access.Matches(other, hash) {
			t.Errorf("Matches(%q, hash of %q) = true, want false", other, key)
		}
	}
	if access.Matches(key, strings.ToUpper(hash)) || access.Matches(key, "") {
		t.Error("Matches accepted a hash other than the one HashKey gives")
	}
}

// TestCreateKeyNormalisesAndValidates covers the inputs that once slipped
// through: a role in another case, malformed municipality codes and key
// IDs, and non-hexadecimal keys.
func TestCreateKeyNormalisesAndValidates(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	meta := access.SystemMeta("test", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := seed.Registry(ctx, &registry.Service{Repo: repo}, meta); err != nil {
		t.Fatal(err)
	}
	svc := &access.Service{Repo: repo}

	_, id, _, err := svc.CreateKey(ctx, meta, access.CreateKey{Name: "ops", Role: "Admin"})
	if err != nil {
		t.Fatalf("CreateKey(role Admin) = %v", err)
	}
	var k access.Key
	if _, err := repo.Load(ctx, access.Stream(id), &k); err != nil || k.Role != domain.Admin {
		t.Errorf("stored role = %q, %v; want admin", k.Role, err)
	}
	if _, _, _, err := svc.CreateKey(ctx, meta, access.CreateKey{Name: "gori", Role: "Applicant", Municipality: " gori "}); err != nil {
		t.Errorf("CreateKey(role Applicant, municipality gori) = %v, want a key", err)
	}
	if _, _, _, err := svc.CreateKey(ctx, meta, access.CreateKey{Name: "x", Role: domain.Applicant, Municipality: "Rustavi City"}); domain.KindOf(err) != domain.Invalid {
		t.Errorf("CreateKey(municipality %q) = %v, want Invalid", "Rustavi City", err)
	}
	for _, role := range []domain.Role{domain.Anonymous, domain.System} {
		if _, _, _, err := svc.CreateKey(ctx, meta, access.CreateKey{Name: "x", Role: role}); domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), "role") {
			t.Errorf("CreateKey(role %s) = %v, want Invalid naming the role", role, err)
		}
	}
	for _, bad := range []string{"", "0a1b 2c3d", "ABCDEF012345", "0123456789abc"} {
		if _, err := svc.RevokeKey(ctx, meta, access.RevokeKey{ID: bad}); domain.KindOf(err) != domain.Invalid {
			t.Errorf("RevokeKey(%q) = %v, want Invalid", bad, err)
		}
	}
	if _, err := access.ParseKey("civ_0123456789ab_" + strings.Repeat("z", 64)); domain.KindOf(err) != domain.Unauthenticated {
		t.Errorf("ParseKey(non-hex secret) = %v, want Unauthenticated", err)
	}
}
