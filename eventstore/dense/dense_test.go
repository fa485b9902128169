package dense_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/dense"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/eventstore/storetest"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const origin = "test.civicledger.example/ledger"

// keys is a signer and its verifier for checkpoints.
func keys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	s, v, _ := keyPair(t)
	return s, v
}

// keyPair is keys, with the key itself.
func keyPair(t testing.TB) (note.Signer, note.Verifier, ed25519.PrivateKey) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := tlog.NewVerifier(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier, key
}

// newPool is a fresh database with the ledger schema.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool := testdb.Pool(t)
	if err := dense.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// start returns a dense Store over src indexing into pool, with its
// follower running until the test ends (or stop is called).
func start(t testing.TB, pool *pgxpool.Pool, src eventstore.Store, opts dense.Options) (s *dense.Store, stop func()) {
	t.Helper()
	s = dense.New(pool, src, opts)
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunFollower(ctx) }()
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunFollower: %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func signed(t testing.TB) dense.Options {
	signer, verifier := keys(t)
	return dense.Options{Signer: signer, Verifiers: []note.Verifier{verifier}, Origin: origin, CheckpointEvery: 100}
}

// TestConformance holds the dense log over KurrentDB's shape (positions
// that are not dense, no hashes: inmem.NewSparse) to the full contract:
// dense positions, leaf hashes, IDs unique across streams.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s, _ := start(t, newPool(t), inmem.NewSparse(), signed(t))
		return s
	}, storetest.Capabilities{})
}

func ev(n int) eventstore.EventData {
	return eventstore.EventData{
		ID: eventstore.NewID(), Type: "test.happened",
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{Actor: "dense-test", Role: "admin"},
	}
}

// appendN appends n events in appends of up to 7, over a few streams,
// and returns the last ID.
func appendN(t testing.TB, s eventstore.Store, from, n int) eventstore.ID {
	t.Helper()
	var last eventstore.ID
	for i := 0; i < n; {
		k := min(1+i%7, n-i)
		batch := make([]eventstore.EventData, k)
		for j := range batch {
			batch[j] = ev(from + i + j)
		}
		res, err := s.Append(context.Background(), fmt.Sprintf("org-%d", (from+i)%5), eventstore.Any(), batch...)
		if err != nil {
			t.Fatal(err)
		}
		last = res.LastID
		i += k
	}
	return last
}

func await(t testing.TB, s eventstore.Store, id eventstore.ID) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := s.AwaitPosition(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFollowerResumesAndVerifies: a follower stopped and another started
// (a new leader) continue the same dense log and tree; two followers at
// once index each event once; the whole range verifies, checkpoints and
// all; an inclusion proof checks against a signed checkpoint's root with
// transparency-dev/merkle.
func TestFollowerResumesAndVerifies(t *testing.T) {
	pool := newPool(t)
	src := inmem.NewSparse()
	opts := signed(t)
	first, stop := start(t, pool, src, opts)
	last := appendN(t, first, 0, 1500)
	if p := await(t, first, last); p != 1500 {
		t.Fatalf("the 1,500th event is at %d", p)
	}
	stop()
	appendN(t, src, 1500, 700) // while no follower runs
	if l, err := first.Lag(context.Background()); err != nil || !l.Behind || l.LeaderAnywhere || l.Head != 1500 || l.Stalled <= 0 {
		t.Errorf("Lag with no follower = %+v, %v; want behind, no leader, stalled", l, err)
	}

	// Two followers: one leads, the other waits.
	a, _ := start(t, pool, src, opts)
	b, _ := start(t, pool, src, opts)
	last = appendN(t, a, 2200, 300)
	if p := await(t, b, last); p != 2500 {
		t.Fatalf("the 2,500th event is at %d", p)
	}
	if sa, sb := a.Status(), b.Status(); sa.Leading == sb.Leading {
		t.Errorf("two followers: leading %t and %t, want one", sa.Leading, sb.Leading)
	}
	if l, err := b.Lag(context.Background()); err != nil || l.Behind || !l.LeaderAnywhere || l.Head != 2500 || l.Indexed != l.SourceHead {
		t.Errorf("Lag caught up = %+v, %v", l, err)
	}

	ctx := context.Background()
	all, err := a.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := src.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2500 || len(raw) != 2500 {
		t.Fatalf("read %d events, the backend holds %d; want 2,500", len(all), len(raw))
	}
	tree := tlog.NewTree()
	for i, e := range all {
		if e.Position != int64(i)+1 || e.ID != raw[i].ID {
			t.Fatalf("event %d: %s at %d; the backend's is %s", i, e.ID, e.Position, raw[i].ID)
		}
		leaf := e.Hash
		e.Hash = nil
		if !bytes.Equal(leaf, tlog.LeafHash(&e)) {
			t.Fatalf("position %d: the leaf is not the hash of the event as read", e.Position)
		}
		if err := tree.Append(leaf, func(tlog.Node) {}); err != nil {
			t.Fatal(err)
		}
	}

	var signedN int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger.checkpoints`).Scan(&signedN); err != nil {
		t.Fatal(err)
	}
	v, err := a.VerifyRange(ctx, 1, 2500)
	// A checkpoint at least every 100 events, but a batch is signed once.
	if err != nil || !v.Intact() || v.Events != 2500 || v.Checkpoints != signedN || signedN < 5 {
		t.Fatalf("VerifyRange = %+v, %v; want 2,500 events intact and the %d checkpoints checked", v, err, signedN)
	}
	cp, err := a.Checkpoint(ctx, 0)
	if err != nil || cp == nil {
		t.Fatalf("Checkpoint = %v, %v", cp, err)
	}
	_, verifier := keys(t) // another key: the checkpoint must not open with it
	if _, _, err := tlog.Open([]byte(cp.Note), origin, []note.Verifier{verifier}); !errors.Is(err, tlog.ErrUntrusted) {
		t.Errorf("the checkpoint opened with a stranger's key: %v", err)
	}
	c, _, err := tlog.Open([]byte(cp.Note), origin, opts.Verifiers)
	if err != nil {
		t.Fatal(err)
	}
	if root, _ := tree.Root(); c.Size == 2500 && !bytes.Equal(root, c.Root) {
		t.Fatalf("the checkpoint of 2,500 signs another root than the leaves give")
	}
	proofs, err := a.InclusionProofs(ctx, []int64{1, 777, int64(c.Size)}, int64(c.Size))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range proofs {
		if err := proof.VerifyInclusion(tlog.Hasher, uint64(p.Position-1), c.Size, p.LeafHash, p.Hashes, c.Root); err != nil {
			t.Errorf("inclusion of %d in the signed tree of %d: %v", p.Position, c.Size, err)
		}
	}
	if _, err := a.InclusionProofs(ctx, []int64{1}, 2501); !errors.Is(err, eventstore.ErrBeyondTree) {
		t.Errorf("a proof in a tree beyond the log: %v, want ErrBeyondTree", err)
	}
}

// TestTamperingFound: an index row rewritten by a superuser, and a
// backend whose log is not the one indexed, are found and named by
// position; a follower refuses to lead an index whose tree is not the one
// its checkpoint signed.
func TestTamperingFound(t *testing.T) {
	pool := newPool(t)
	src := inmem.NewSparse()
	opts := signed(t)
	s, stop := start(t, pool, src, opts)
	await(t, s, appendN(t, s, 0, 300))
	stop()
	ctx := context.Background()

	if _, err := pool.Exec(ctx, `UPDATE ledger.entries SET leaf = sha256(leaf) WHERE position = 123`); err == nil {
		t.Fatal("the index took an update: it must be append-only")
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE ledger.entries DISABLE TRIGGER entries_append_only;
		UPDATE ledger.entries SET leaf = sha256(leaf) WHERE position = 123;
		ALTER TABLE ledger.entries ENABLE TRIGGER entries_append_only`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyRange(ctx, 1, 300); err != nil || v.FirstBad != 123 {
		t.Errorf("VerifyRange after a leaf was rewritten = %+v, %v; want the first bad at 123", v, err)
	}
	events, err := s.ReadAll(ctx, 120, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.CheckEvents(ctx, events); err != nil || v.FirstBad != 123 {
		t.Errorf("CheckEvents = %+v, %v; want the first bad at 123", v, err)
	}
	// A stored node rewritten too: a follower will not sign over it, as
	// the tree at the last checkpoint is no longer the one signed.
	if _, err := pool.Exec(ctx, `ALTER TABLE ledger.tree DISABLE TRIGGER tree_append_only;
		UPDATE ledger.tree SET hash = sha256(hash) WHERE level = 8 AND idx = 0;
		ALTER TABLE ledger.tree ENABLE TRIGGER tree_append_only`); err != nil {
		t.Fatal(err)
	}
	again := dense.New(pool, src, opts)
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	go again.RunFollower(fctx)
	deadline := time.Now().Add(3 * time.Second)
	for again.Status().Failure == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := again.Status(); st.Leading || st.Failure == "" {
		t.Errorf("a follower over a rewritten index: %+v; want it refusing to lead", st)
	}

	// Another backend under the same index: a restore of another log.
	other := inmem.NewSparse()
	appendN(t, other, 0, 300)
	o := dense.New(pool, other, opts)
	_, err = o.ReadAll(ctx, 0, 10)
	var dv *dense.DivergedError
	if !errors.As(err, &dv) || dv.Position != 1 {
		t.Errorf("ReadAll over another backend's log = %v; want DivergedError at 1", err)
	}
}

// TestBadInput: the contract's errors, naming the input, before anything
// reaches the backend.
func TestBadInput(t *testing.T) {
	src := inmem.NewSparse()
	s, _ := start(t, newPool(t), src, dense.Options{})
	ctx := context.Background()
	for _, stream := range []string{"$all", "$ce-org", "Org-1", "org"} {
		_, err := s.Append(ctx, stream, eventstore.Any(), ev(1))
		var ie *eventstore.InvalidError
		if !errors.As(err, &ie) || ie.Field != "stream ID" {
			t.Errorf("Append(%q) = %v, want an InvalidError naming the stream ID", stream, err)
		}
	}
	big := ev(1)
	big.Data = json.RawMessage(`{"x":"` + string(bytes.Repeat([]byte("a"), eventstore.MaxEventBytes)) + `"}`)
	if _, err := s.Append(ctx, "org-1", eventstore.Any(), big); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("an event over the size limit: %v, want ErrInvalid", err)
	}
	if _, err := s.ReadAll(ctx, -1, 10); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadAll(-1) = %v", err)
	}
	if h, _ := src.Head(ctx); h != 0 {
		t.Errorf("the backend holds events after refused appends: head %d", h)
	}
}

// noIDIndex is a backend that, as KurrentDB, cannot find an event by ID.
type noIDIndex struct{ *inmem.Store }

func (noIDIndex) AwaitPosition(ctx context.Context, id eventstore.ID) (int64, error) {
	return 0, fmt.Errorf("event %s: %w", id, eventstore.ErrNoIDIndex)
}

// TestAwaitWithoutIDIndex: over a backend that cannot find events by ID,
// AwaitPosition still finds another process's event once indexed, and
// answers ErrNotFound for an ID nobody appended once the index has caught
// up with the backend, instead of waiting for ever.
func TestAwaitWithoutIDIndex(t *testing.T) {
	src := noIDIndex{inmem.NewSparse()}
	s, _ := start(t, newPool(t), src, dense.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	appendN(t, src, 0, 50) // by "another process", straight to the backend
	res, err := src.Append(ctx, "org-9", eventstore.Any(), ev(99))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.AwaitPosition(ctx, res.LastID); err != nil || p != 51 {
		t.Errorf("AwaitPosition(another process's event) = %d, %v; want 51", p, err)
	}
	began := time.Now()
	if _, err := s.AwaitPosition(ctx, eventstore.NewID()); !errors.Is(err, eventstore.ErrNotFound) || time.Since(began) > 5*time.Second {
		t.Errorf("AwaitPosition(unknown) = %v after %s; want ErrNotFound at once", err, time.Since(began))
	}
}

// TestCosignatures: a witness's co-signature of a checkpoint is kept and
// served with it, as by the PostgreSQL log; a stranger's, or one of a
// checkpoint the log never signed, is refused.
func TestCosignatures(t *testing.T) {
	opts := signed(t)
	s, stop := start(t, newPool(t), inmem.NewSparse(), opts)
	await(t, s, appendN(t, s, 0, 120))
	stop() // signs the last checkpoint
	ctx := context.Background()
	cp, err := s.Checkpoint(ctx, 0)
	if err != nil || cp == nil || cp.Size != 120 {
		t.Fatalf("Checkpoint = %+v, %v", cp, err)
	}
	skey, vkey, err := note.GenerateKey(nil, "witness.example.org")
	if err != nil {
		t.Fatal(err)
	}
	wsigner, _ := note.NewSigner(skey)
	wverifier, _ := note.NewVerifier(vkey)
	n, err := note.Open([]byte(cp.Note), note.VerifierList(opts.Verifiers...))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, wsigner)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := s.AddCosignatures(ctx, cosigned, []note.Verifier{wverifier}); err != nil || len(names) != 1 || names[0] != "witness.example.org" {
		t.Fatalf("AddCosignatures = %v, %v", names, err)
	}
	got, err := s.Checkpoint(ctx, 120)
	if err != nil || len(got.Witnesses) != 1 {
		t.Fatalf("Checkpoint after the co-signature = %+v, %v", got, err)
	}
	if _, err := note.Open([]byte(got.Note), note.VerifierList(wverifier)); err != nil {
		t.Errorf("the served note does not carry the witness's signature: %v", err)
	}
	_, other, _ := note.GenerateKey(nil, "stranger.example.org")
	stranger, _ := note.NewVerifier(other)
	if _, err := s.AddCosignatures(ctx, cosigned, []note.Verifier{stranger}); !errors.Is(err, eventstore.ErrUnknownWitness) {
		t.Errorf("a co-signature by no accepted witness: %v, want ErrUnknownWitness", err)
	}
	forged, err := note.Sign(&note.Note{Text: strings.Replace(n.Text, "\n120\n", "\n119\n", 1)}, wsigner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCosignatures(ctx, forged, []note.Verifier{wverifier}); !errors.Is(err, eventstore.ErrNotCheckpoint) && !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("a co-signature of a checkpoint the log never signed: %v, want ErrNotCheckpoint", err)
	}
}

// TestCheckOutside: checkpoints kept outside the index (a witness's) are
// held against it: intact while they agree; a checkpoint the index lost,
// or one signed for a longer log, is found; a note the log never signed
// is an error.
func TestCheckOutside(t *testing.T) {
	opts := signed(t)
	pool := newPool(t)
	s, stop := start(t, pool, inmem.NewSparse(), opts)
	for i := range 5 { // batches apart, each signed (CheckpointEvery 100)
		await(t, s, appendN(t, s, i*50, 50))
	}
	stop()
	ctx := context.Background()
	var kept [][]byte
	rows, err := pool.Query(ctx, `SELECT note FROM ledger.checkpoints ORDER BY size`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, []byte(n))
	}
	if len(kept) < 2 {
		t.Fatalf("%d checkpoints signed, want several", len(kept))
	}
	if v, err := s.CheckOutside(ctx, kept, nil); err != nil || !v.Intact() || v.Checkpoints != len(kept) {
		t.Fatalf("CheckOutside(the log's own) = %+v, %v", v, err)
	}
	stranger, _ := keys(t)
	c, _, err := tlog.Open(kept[0], origin, opts.Verifiers)
	if err != nil {
		t.Fatal(err)
	}
	c.Size = 1_000_000
	forged, err := tlog.Sign(c, stranger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckOutside(ctx, [][]byte{forged}, []string{"forged.note"}); err == nil || !strings.Contains(err.Error(), "forged.note") {
		t.Errorf("CheckOutside(a note signed by another key) = %v, want an error naming it", err)
	}
	longer, err := tlog.Sign(c, opts.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.CheckOutside(ctx, [][]byte{longer}, nil); err != nil || v.FirstBad != 251 {
		t.Errorf("CheckOutside(a checkpoint of a longer log) = %+v, %v; want the first bad at 251", v, err)
	}
	first, _, _ := tlog.Open(kept[0], origin, opts.Verifiers)
	if _, err := pool.Exec(ctx, `ALTER TABLE ledger.checkpoints DISABLE TRIGGER checkpoints_append_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM ledger.checkpoints WHERE size = $1`, int64(first.Size)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.CheckOutside(ctx, kept, nil); err != nil || v.FirstBad != int64(first.Size) || !strings.Contains(v.Problem, "deleted") {
		t.Errorf("CheckOutside after the index lost a checkpoint = %+v, %v; want it found at %d", v, err, first.Size)
	}
	// The log's own chain of checkpoints shows it too, without the
	// outside ones: the next names the deleted one as its previous.
	second, _, _ := tlog.Open(kept[1], origin, opts.Verifiers)
	if v, err := s.VerifyRange(ctx, 1, 250); err != nil || v.FirstBad != int64(second.Size) || !strings.Contains(v.Problem, "deleted or replaced") {
		t.Errorf("VerifyRange after the index lost a checkpoint = %+v, %v; want it found at %d", v, err, second.Size)
	}
}

// TestNotifiedAcrossProcesses: a reader whose follower runs elsewhere (a
// Store without one, on the same index) is woken by PostgreSQL's
// notification as the follower commits, not by its polling.
func TestNotifiedAcrossProcesses(t *testing.T) {
	pool := newPool(t)
	src := inmem.NewSparse()
	leader, _ := start(t, pool, src, dense.Options{})
	reader := dense.New(pool, src, dense.Options{Poll: time.Hour})
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	await(t, leader, appendN(t, leader, 0, 10))
	for i := range 5 {
		res, err := reader.Append(ctx, "org-1", eventstore.Any(), ev(100+i))
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		p, err := reader.AwaitPosition(ctx, res.LastID)
		if err != nil || p != int64(11+i) {
			t.Fatalf("AwaitPosition = %d, %v; want %d", p, err, 11+i)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Fatalf("the reader waited %s for its position, with polling every hour: no notification woke it", d)
		}
	}
}
