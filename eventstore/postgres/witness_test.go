package postgres_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
	"github.com/jackc/pgx/v5/pgxpool"
)

// storeSource is a witness's view of the log straight through the store,
// what GET /log/checkpoint and /log/proof/consistency serve.
type storeSource struct{ s *postgres.Store }

func (src storeSource) Checkpoint(ctx context.Context) ([]byte, error) {
	c, err := src.s.Checkpoint(ctx, 0)
	if err != nil || c == nil {
		return nil, fmt.Errorf("no checkpoint: %v", err)
	}
	return []byte(c.Note), nil
}

func (src storeSource) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	return src.s.ConsistencyProof(ctx, int64(from), int64(to))
}

// appendN appends n events, one append each, and waits for the last to
// be sequenced.
func appendN(t *testing.T, s *postgres.Store, from, n int) {
	t.Helper()
	ctx := context.Background()
	var last eventstore.ID
	for i := from; i < from+n; i++ {
		res, err := s.Append(ctx, fmt.Sprintf("org-%d", i%7), eventstore.Any(), event(i))
		if err != nil {
			t.Fatal(err)
		}
		last = res.LastID
	}
	if _, err := s.AwaitPosition(ctx, last); err != nil {
		t.Fatal(err)
	}
}

// TestWitnessDetectsARewrite: a witness that co-signed the log at size
// 1,000 refuses it once a superuser rewrote history at 500, deleted the
// checkpoints from there and let a server sign the rewritten log again;
// and civic verify, given the witness's checkpoints, names the first
// position that cannot be trusted.
func TestWitnessDetectsARewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	key := testKey(t)
	opts := postgres.Options{SigningKey: key, CheckpointEvery: 100, CheckpointInterval: time.Hour}
	vkey, err := tlog.VerifierKey(postgres.DefaultOrigin(key.Public().(ed25519.PublicKey)), key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := witness.Init(dir, "auditor.example/witness", vkey); err != nil {
		t.Fatal(err)
	}
	w, err := witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	// The honest log: 1,000 entries, signed every 100; the witness
	// co-signs it at 1,000.
	s, stop := startStopper(t, pool, opts)
	appendN(t, s, 0, 1000)
	if res, err := w.Step(ctx, storeSource{s}); err != nil || res.Size != 1000 {
		t.Fatalf("witness step = %+v, %v; want the checkpoint of size 1000", res, err)
	}
	stop()

	// The attack, with the server stopped: rewrite at 500, delete the
	// checkpoints that would show it, start a server again.
	rewrite(t, pool, 500)
	if _, err := superuser(t, pool).Exec(ctx, `DELETE FROM eventstore.tree_checkpoints WHERE size >= 500`); err != nil {
		t.Fatal(err)
	}
	s, stop = startStopper(t, pool, opts)
	defer stop()
	appendN(t, s, 1000, 50)
	if _, err := s.RequestCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}

	res, err := w.Step(ctx, storeSource{s})
	if !errors.Is(err, witness.ErrInconsistent) {
		t.Fatalf("witness step after the rewrite = %+v, %v; want ErrInconsistent", res, err)
	}
	seen, err := readSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Every: 100, Against: seen})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad != 401 {
		t.Fatalf("Verify against the witness's checkpoints = %v; want position 401 (after the last checkpoint before the rewrite)", rep)
	}
	// Without the witness, the stretch the server signed again gives the
	// rewrite away too.
	rep, err = postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Every: 100})
	if err != nil || rep.FirstBad != 401 || !strings.Contains(rep.Problem, "more than the 100") {
		t.Fatalf("Verify with the database's own checkpoints = %v, %v; want position 401", rep, err)
	}
}

// startStopper runs a store's sequencer until the returned stop is called.
func startStopper(t *testing.T, pool *pgxpool.Pool, opts postgres.Options) (*postgres.Store, func()) {
	t.Helper()
	s := postgres.New(pool, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.RunSequencer(ctx) }()
	stopped := false
	return s, func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			s.Close()
		}
	}
}

// readSeen reads the checkpoints a witness co-signed.
func readSeen(dir string) ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, witness.SeenDir, "*.note"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
