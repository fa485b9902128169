package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// memLog is a log kept in memory the way a backend keeps it (leaves and
// stored nodes), signing its checkpoints with its own key.
type memLog struct {
	t      *testing.T
	leaves [][]byte
	nodes  map[compact.NodeID][]byte
	signer note.Signer
	origin string
	size   uint64 // the size its checkpoint shows
}

func (m *memLog) Read(_ context.Context, idx []uint64, ids []compact.NodeID) ([][]byte, [][]byte, error) {
	leaves := make([][]byte, len(idx))
	for i, j := range idx {
		leaves[i] = m.leaves[j]
	}
	nodes := make([][]byte, len(ids))
	for i, id := range ids {
		nodes[i] = m.nodes[id]
	}
	return leaves, nodes, nil
}

// build makes the stored tree over leaves afresh.
func (m *memLog) build() {
	m.nodes = map[compact.NodeID][]byte{}
	tree := tlog.NewTree()
	for _, l := range m.leaves {
		tree.Append(l, func(n tlog.Node) { m.nodes[compact.NewNodeID(n.Level, n.Index)] = n.Hash })
	}
}

func (m *memLog) grow(n int) {
	for range n {
		m.leaves = append(m.leaves, tlog.Hasher.HashLeaf(fmt.Appendf(nil, "entry %d", len(m.leaves))))
	}
	m.build()
	m.size = uint64(len(m.leaves))
}

func (m *memLog) Checkpoint(ctx context.Context) ([]byte, error) {
	root, err := tlog.RootAt(ctx, m, m.size)
	if err != nil {
		return nil, err
	}
	return tlog.Sign(tlog.Checkpoint{Origin: m.origin, Size: m.size, Root: root, Chain: make([]byte, 32), Time: time.Now()}, m.signer)
}

func (m *memLog) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	return tlog.ConsistencyProof(ctx, m, from, to)
}

func newLog(t *testing.T) (*memLog, string) {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	const origin = "civic-ledger.test/log"
	signer, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := tlog.VerifierKey(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return &memLog{t: t, signer: signer, origin: origin}, vkey
}

func newWitness(t *testing.T, vkey string) *witness.Witness {
	t.Helper()
	dir := t.TempDir()
	if _, err := witness.Init(dir, "auditor.test/witness", vkey); err != nil {
		t.Fatal(err)
	}
	w, err := witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWitnessRefusesWhatDoesNotExtend: a witness co-signs a log that
// grows, and refuses one that shrank, forked or was rewritten, keeping
// what it saw.
func TestWitnessRefusesWhatDoesNotExtend(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		attack func(m *memLog)
		want   error
	}{
		{"grown", func(m *memLog) { m.grow(300) }, nil},
		{"unchanged", func(m *memLog) {}, nil},
		{"rolled back", func(m *memLog) { m.leaves = m.leaves[:900]; m.build(); m.size = 900 }, witness.ErrRolledBack},
		{"forked at the same size", func(m *memLog) {
			m.leaves[999] = tlog.Hasher.HashLeaf([]byte("other"))
			m.build()
		}, witness.ErrForked},
		{"rewritten at 500 and grown", func(m *memLog) {
			m.leaves[499] = tlog.Hasher.HashLeaf([]byte("rewritten"))
			m.grow(10)
		}, witness.ErrInconsistent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, vkey := newLog(t)
			w := newWitness(t, vkey)
			m.grow(1000)
			if res, err := w.Step(ctx, m); err != nil || res.Size != 1000 || res.Cosigned == nil {
				t.Fatalf("first step = %+v, %v", res, err)
			}
			tc.attack(m)
			res, err := w.Step(ctx, m)
			if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Fatalf("step = %+v, %v; want %v", res, err, tc.want)
			}
			latest, err := w.Latest()
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(1000); tc.want != nil && latest.Size != want {
				t.Fatalf("after a refused step the witness holds size %d; want the %d it saw", latest.Size, want)
			}
		})
	}
}

// TestWitnessRefusesAStranger: a checkpoint signed by another key, or
// of another log, is refused.
func TestWitnessRefusesAStranger(t *testing.T) {
	ctx := context.Background()
	m, _ := newLog(t)
	_, otherKey := newLog(t)
	w := newWitness(t, otherKey)
	m.grow(5)
	if _, err := w.Step(ctx, m); !errors.Is(err, tlog.ErrUntrusted) {
		t.Fatalf("step on a log signed by another key: %v; want ErrUntrusted", err)
	}
}
