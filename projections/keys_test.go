package projections_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// keyHistory is the history the key tests share, written through
// access.Service after the seed: seven keys created, then one revoked.
type keyHistory struct {
	head int64
	// after is the position of the second key: a crash after it falls
	// among key events.
	after int64
	keys  map[string]string // the whole key, by name
	ids   map[string]string // by name
}

// keySpecs are the keys of keyHistory, in order of creation.
var keySpecs = []access.CreateKey{
	{Name: "ops-admin", Role: domain.Admin},
	{Name: "rustavi-office", Role: domain.Applicant, Municipality: "rustavi"},
	{Name: "analyst-1", Role: domain.Analyst},
	{Name: "auditor.external", Role: domain.Auditor},
	{Name: "kvemo-kartli-hub", Role: domain.Hub, Region: "kvemo-kartli"},
	{Name: "rustavi-ballots", Role: domain.Officer, Municipality: "rustavi"},
	{Name: "rustavi-vote", Role: domain.BallotBox, Cycle: "rustavi-2023"},
}

// municipalityOf is the municipality a key made from spec acts for: the
// one given, or a ballot box's cycle's, which the service sets.
func municipalityOf(spec access.CreateKey) string {
	if spec.Cycle != "" {
		return spec.Cycle[:strings.LastIndexByte(spec.Cycle, '-')]
	}
	return spec.Municipality
}

// revokedKey is the key keyHistory revokes.
const revokedKey = "analyst-1"

func makeKeyHistory(t testing.TB, e *domainEnv) keyHistory {
	t.Helper()
	ctx := context.Background()
	h := keyHistory{keys: map[string]string{}, ids: map[string]string{}}
	for i, spec := range keySpecs {
		key, id, _, err := e.access.CreateKey(ctx, asSystem(), spec)
		if err != nil {
			t.Fatalf("CreateKey(%+v): %v", spec, err)
		}
		h.keys[spec.Name], h.ids[spec.Name] = key, id
		if i == 1 {
			h.after = e.settle(t)
		}
	}
	if _, err := e.access.RevokeKey(ctx, asSystem(), access.RevokeKey{ID: h.ids[revokedKey], Reason: "left the team"}); err != nil {
		t.Fatalf("RevokeKey(%s): %v", revokedKey, err)
	}
	h.head = e.settle(t)
	return h
}

func TestKeysIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeKeyHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Keys{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Keys{}, events)
}

func TestKeysCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeKeyHistory(t, e)
	checkCrashRecovery(t, e, projections.Keys{}, h.head, h.after)
}

func TestKeysRebuild(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeKeyHistory(t, e)
	r := e.startRunner(t, h.head, projections.Keys{})
	checkRebuild(t, e, r, projections.Keys{}, h.head, func(ctx context.Context) (string, error) {
		var b strings.Builder
		for _, spec := range keySpecs {
			a, err := e.reads.Actor(ctx, h.keys[spec.Name])
			if err != nil && domain.KindOf(err) != domain.Unauthenticated {
				return "", err
			}
			fmt.Fprintf(&b, "%s: %+v %s\n", spec.Name, a, domain.KindOf(err))
		}
		return b.String(), nil
	})
}

func TestKeysActor(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeKeyHistory(t, e)
	r := e.startRunner(t, h.head, projections.Keys{})
	ctx := context.Background()

	for _, spec := range keySpecs {
		if spec.Name == revokedKey {
			continue
		}
		a, err := e.reads.Actor(ctx, h.keys[spec.Name])
		if err != nil || a.Role != spec.Role || a.Municipality != municipalityOf(spec) || a.Region != spec.Region || a.Cycle != spec.Cycle ||
			!strings.HasPrefix(a.ID, "key:"+spec.Name) || a.KeyID != h.ids[spec.Name] {
			t.Errorf("Actor(key %s) = %+v, %v; want role %s, municipality %q, region %q, cycle %q, an ID naming the key",
				spec.Name, a, err, spec.Role, municipalityOf(spec), spec.Region, spec.Cycle)
		}
	}

	// A key works until it is revoked, as soon as the revocation is applied.
	key, id, _, err := e.access.CreateKey(ctx, asSystem(), access.CreateKey{Name: "temp", Role: domain.Expert})
	if err != nil {
		t.Fatal(err)
	}
	waitForPosition(t, r, e.settle(t))
	if a, err := e.reads.Actor(ctx, key); err != nil || a.Role != domain.Expert {
		t.Fatalf("Actor(new key) = %+v, %v; want an expert", a, err)
	}
	if _, err := e.access.RevokeKey(ctx, asSystem(), access.RevokeKey{ID: id}); err != nil {
		t.Fatal(err)
	}
	waitForPosition(t, r, e.settle(t))

	admin := h.keys["ops-admin"]
	_, secret, _ := strings.Cut(strings.TrimPrefix(admin, "civ_"), "_")
	flip := func(s string, i int) string { // another hex digit at i
		b := []byte(s)
		b[i] = "1032547698badcfe"[strings.IndexByte("0123456789abcdef", b[i])]
		return string(b)
	}
	// A key of the right shape that nobody created.
	var raw [6 + 32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		t.Fatal(err)
	}
	unknown := "civ_" + hex.EncodeToString(raw[:6]) + "_" + hex.EncodeToString(raw[6:])
	if _, err := access.ParseKey(unknown); err != nil {
		t.Fatalf("the made-up key %q does not parse: %v", unknown, err)
	}
	tests := []struct {
		name string
		key  string
		// probe: a key of the right shape, whose failure must not say
		// why, so a caller probing for keys learns nothing.
		probe bool
	}{
		{"revoked", h.keys[revokedKey], true},
		{"revoked just now", key, true},
		{"unknown", unknown, true},
		{"one character of the secret changed", flip(admin, len(admin)-1), true},
		{"one character in the middle of the secret changed", flip(admin, len(admin)-len(secret)/2), true},
		{"one character of the ID changed", flip(admin, len("civ_")), true},
		{"secret of another key", "civ_" + h.ids["ops-admin"] + "_" + strings.Split(h.keys["auditor.external"], "_")[2], true},
		{"empty", "", false},
		{"prefix only", "civ_", false},
		{"no prefix", strings.TrimPrefix(admin, "civ_"), false},
		{"a character more", admin + "0", false},
		{"a character less", admin[:len(admin)-1], false},
		{"bearer prefix", "Bearer " + admin, false},
		{"upper case", strings.ToUpper(admin), false},
	}
	var probeMessage string
	for _, tt := range tests {
		a, err := e.reads.Actor(ctx, tt.key)
		if domain.KindOf(err) != domain.Unauthenticated {
			t.Errorf("%s: Actor(%q) = %+v, %v (kind %s); want kind %s", tt.name, tt.key, a, err, domain.KindOf(err), domain.Unauthenticated)
			continue
		}
		if a != (domain.Actor{}) {
			t.Errorf("%s: Actor(%q) = %+v with its error; want no actor", tt.name, tt.key, a)
		}
		if tt.probe {
			if probeMessage == "" {
				probeMessage = err.Error()
			}
			if err.Error() != probeMessage {
				t.Errorf("%s: Actor says %q, another well-formed key %q: a prober can tell them apart", tt.name, err, probeMessage)
			}
		}
	}
}

// TestKeysActorOnGenerationOne: a server upgraded to version 2 reads
// generation 1's table, which has no region column, until version 2 is
// built; its keys must keep working meanwhile.
func TestKeysActorOnGenerationOne(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	ctx := context.Background()
	key := "civ_0a1b2c3d4e5f_" + strings.Repeat("ab", 32)
	// Version 1's table, as its Setup made it, behind the rm view readers
	// use.
	if _, err := e.pool.Exec(ctx, `
		CREATE SCHEMA keys_v1_test;
		CREATE TABLE keys_v1_test.api_keys (
			id           text PRIMARY KEY,
			name         text NOT NULL,
			role         text NOT NULL,
			municipality text NOT NULL,
			hash         text NOT NULL,
			revoked      boolean NOT NULL DEFAULT false,
			created_at   timestamptz NOT NULL,
			position     bigint NOT NULL
		);
		CREATE VIEW rm.api_keys AS SELECT * FROM keys_v1_test.api_keys`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO keys_v1_test.api_keys (id, name, role, municipality, hash, created_at, position)
		VALUES ('0a1b2c3d4e5f', 'rustavi-office', 'applicant', 'rustavi', $1, now(), 1)`, access.HashKey(key)); err != nil {
		t.Fatal(err)
	}
	want := domain.Actor{ID: "key:rustavi-office#0a1b2c3d4e5f", Role: domain.Applicant, Municipality: "rustavi", KeyID: "0a1b2c3d4e5f"}
	if a, err := e.reads.Actor(ctx, key); err != nil || a != want {
		t.Errorf("Actor(key) on generation 1 = %+v, %v; want %+v", a, err, want)
	}
}

// TestKeysCycle: a ballot-box key's cycle is stored in the read model, in
// its own column beside the cycle's municipality, and read back into the
// actor; no other key has one.
func TestKeysCycle(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeKeyHistory(t, e)
	e.startRunner(t, h.head, projections.Keys{})
	ctx := context.Background()

	for _, spec := range keySpecs {
		var role, municipality, cycle string
		if err := e.pool.QueryRow(ctx, `SELECT role, municipality, cycle FROM rm.api_keys WHERE id = $1`, h.ids[spec.Name]).
			Scan(&role, &municipality, &cycle); err != nil {
			t.Fatalf("the row of key %s: %v", spec.Name, err)
		}
		if role != string(spec.Role) || municipality != municipalityOf(spec) || cycle != spec.Cycle {
			t.Errorf("the row of key %s holds role %q, municipality %q, cycle %q; want %q, %q, %q",
				spec.Name, role, municipality, cycle, spec.Role, municipalityOf(spec), spec.Cycle)
		}
	}
	want := domain.Actor{ID: "key:rustavi-vote#" + h.ids["rustavi-vote"], Role: domain.BallotBox, Municipality: "rustavi", Cycle: "rustavi-2023", KeyID: h.ids["rustavi-vote"]}
	if a, err := e.reads.Actor(ctx, h.keys["rustavi-vote"]); err != nil || a != want {
		t.Errorf("Actor(the ballot box's key) = %+v, %v; want %+v", a, err, want)
	}
}

// TestKeysActorOnGenerationTwo: a server upgraded to version 3 reads
// generation 2's table, which has no cycle column, until version 3 is
// built; its keys must keep working meanwhile. A ballot-box row there
// (an older program dropped its cycle) is refused as not held, so the
// lookup goes to the key's stream rather than take a ballot box bound to
// no cycle.
func TestKeysActorOnGenerationTwo(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	ctx := context.Background()
	hub := "civ_0a1b2c3d4e5f_" + strings.Repeat("ab", 32)
	box := "civ_1a1b2c3d4e5f_" + strings.Repeat("cd", 32)
	// Version 2's table, as its Setup made it, behind the rm view readers
	// use.
	if _, err := e.pool.Exec(ctx, `
		CREATE SCHEMA keys_v2_test;
		CREATE TABLE keys_v2_test.api_keys (
			id           text PRIMARY KEY,
			name         text NOT NULL,
			role         text NOT NULL,
			municipality text NOT NULL,
			region       text NOT NULL,
			hash         text NOT NULL,
			revoked      boolean NOT NULL DEFAULT false,
			created_at   timestamptz NOT NULL,
			position     bigint NOT NULL
		);
		CREATE VIEW rm.api_keys AS SELECT * FROM keys_v2_test.api_keys`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO keys_v2_test.api_keys (id, name, role, municipality, region, hash, created_at, position)
		VALUES ('0a1b2c3d4e5f', 'cif', 'hub', '', 'kvemo-kartli', $1, now(), 1),
		       ('1a1b2c3d4e5f', 'rustavi-vote', 'ballot-box', 'rustavi', '', $2, now(), 2)`, access.HashKey(hub), access.HashKey(box)); err != nil {
		t.Fatal(err)
	}
	want := domain.Actor{ID: "key:cif#0a1b2c3d4e5f", Role: domain.Hub, Region: "kvemo-kartli", KeyID: "0a1b2c3d4e5f"}
	if a, err := e.reads.Actor(ctx, hub); err != nil || a != want {
		t.Errorf("Actor(hub key) on generation 2 = %+v, %v; want %+v", a, err, want)
	}
	if a, err := e.reads.Actor(ctx, box); domain.KindOf(err) != domain.Unauthenticated || a != (domain.Actor{}) {
		t.Errorf("Actor(ballot-box key without its cycle) on generation 2 = %+v, %v; want Unauthenticated, so the key's stream is asked", a, err)
	}
}
