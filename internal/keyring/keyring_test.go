package keyring_test

import (
	"context"
	"sync"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func newKeyring(t testing.TB) (*keyring.Keyring, *pgxpool.Pool) {
	t.Helper()
	pool := testdb.Pool(t)
	if err := keyring.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("migrating twice: %v", err)
	}
	return keyring.New(pool), pool
}

func TestKeyring(t *testing.T) {
	ctx := context.Background()
	k, pool := newKeyring(t)

	// Many commands sealing a new subject's data at once agree on one key.
	var wg sync.WaitGroup
	refs := make([]domain.KeyRef, 8)
	keys := make([][]byte, 8)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if refs[i], keys[i], err = k.Current(ctx, "organisation:1:contact"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range refs {
		if refs[i] != refs[0] || string(keys[i]) != string(keys[0]) || len(keys[i]) != 32 {
			t.Fatalf("concurrent Current: %v and %v; want one 32-byte key of generation 1", refs[i], refs[0])
		}
	}
	if refs[0].Generation != 1 {
		t.Fatalf("first key: generation %d, want 1", refs[0].Generation)
	}
	got, err := k.Keys(ctx, []domain.KeyRef{refs[0], {Subject: "organisation:1:contact", Generation: 2}, {Subject: "nobody", Generation: 1}})
	if err != nil || len(got) != 1 || string(got[refs[0]]) != string(keys[0]) {
		t.Fatalf("Keys = %d keys, %v; want the one held", len(got), err)
	}

	er, err := k.Erase(ctx, "organisation:1:contact")
	if err != nil || er != (domain.Erasure{Known: true, Destroyed: 1, Through: 1}) {
		t.Fatalf("Erase = %+v, %v; want one key destroyed, through generation 1", er, err)
	}
	if got, _ := k.Keys(ctx, refs[:1]); len(got) != 0 {
		t.Fatal("an erased key is still handed out")
	}
	var stored []byte
	if err := pool.QueryRow(ctx, `SELECT key FROM privacy.keys WHERE subject = 'organisation:1:contact'`).Scan(&stored); err != nil || stored != nil {
		t.Fatalf("the erased key's row holds %x, %v; want NULL", stored, err)
	}
	if er, _ := k.Erase(ctx, "organisation:1:contact"); er != (domain.Erasure{Known: true, Through: 1}) {
		t.Errorf("erasing again = %+v; want known, nothing destroyed", er)
	}
	if er, _ := k.Erase(ctx, "organisation:2:contact"); er.Known {
		t.Errorf("erasing an unknown subject = %+v; want unknown", er)
	}
	if e, err := k.Erased(ctx, []string{"organisation:1:contact", "organisation:2:contact"}); err != nil || !e["organisation:1:contact"] || e["organisation:2:contact"] {
		t.Errorf("Erased = %v, %v", e, err)
	}

	// New data after an erasure gets a new generation.
	ref, _, err := k.Current(ctx, "organisation:1:contact")
	if err != nil || ref.Generation != 2 {
		t.Fatalf("Current after the erasure = %+v, %v; want generation 2", ref, err)
	}
	if er, _ := k.Erase(ctx, "organisation:1:contact"); er != (domain.Erasure{Known: true, Destroyed: 1, Through: 2}) {
		t.Errorf("erasing generation 2 = %+v", er)
	}
}

func TestScanPlain(t *testing.T) {
	ctx := context.Background()
	k, pool := newKeyring(t)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); store.RunSequencer(sctx) }()
	defer func() { stop(); <-done }()
	appendPlain := func(id, person string) eventstore.ID {
		res, err := store.Append(ctx, "organisation-"+id, eventstore.Any(), eventstore.EventData{Type: "registry.organisation_registered",
			Data: []byte(`{"id":"` + id + `","kind":"cso","name":{"ka":"x"},"contact":{"email":"","phone":"","address":"","person":"` + person + `"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
		return res.LastID
	}
	appendPlain("a", "Eka")
	appendPlain("b", "")
	scan, err := k.ScanPlain(ctx, store, catalog.Types)
	if err != nil || scan.Events != 1 || scan.Subjects != 1 || scan.To != 2 || scan.Total != 1 {
		t.Fatalf("ScanPlain = %+v, %v; want one event, one subject, up to position 2", scan, err)
	}
	appendPlain("c", "Levan")
	scan, err = k.ScanPlain(ctx, store, catalog.Types)
	if err != nil || scan.From != 2 || scan.To != 3 || scan.Events != 1 || scan.Total != 2 {
		t.Fatalf("the second ScanPlain = %+v, %v; want only the new event", scan, err)
	}
	if er, err := k.Erase(ctx, "organisation:a:contact"); err != nil || !er.Known || er.Destroyed != 0 || er.Through != 0 {
		t.Fatalf("erasing a plain-text subject = %+v, %v; want known, through generation 0", er, err)
	}
	events, _ := store.ReadAll(ctx, 0, 10)
	erased, err := catalog.Types.Unseal(ctx, k, events)
	if err != nil || len(erased[0]) != 1 || erased[2] != nil {
		t.Fatalf("Unseal = %v, %v; want Eka's name withheld and Levan's kept", erased, err)
	}
}
