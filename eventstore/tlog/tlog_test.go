package tlog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
)

// memory keeps what a backend keeps: the leaves and the stored nodes.
type memory struct {
	leaves [][]byte
	nodes  map[compact.NodeID][]byte
}

func (m *memory) Read(_ context.Context, idx []uint64, ids []compact.NodeID) ([][]byte, [][]byte, error) {
	leaves := make([][]byte, len(idx))
	for i, j := range idx {
		if j >= uint64(len(m.leaves)) {
			return nil, nil, fmt.Errorf("no leaf %d", j)
		}
		leaves[i] = m.leaves[j]
	}
	nodes := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, nil, fmt.Errorf("no node %+v", id)
		}
		nodes[i] = h
	}
	return leaves, nodes, nil
}

// grow builds a tree of n random leaves, as the sequencer does, and the
// reference tree of the library's test package beside it.
func grow(t testing.TB, n int) (*memory, *tlog.Tree, *testonly.Tree) {
	t.Helper()
	m := &memory{nodes: map[compact.NodeID][]byte{}}
	tree := tlog.NewTree()
	ref := testonly.New(tlog.Hasher)
	for i := range n {
		leaf := make([]byte, 20+i%7)
		rand.Read(leaf)
		h := tlog.Hasher.HashLeaf(leaf)
		m.leaves = append(m.leaves, h)
		if err := tree.Append(h, func(nd tlog.Node) {
			if !tlog.Stored(nd.Level) || nd.Level == 0 {
				t.Fatalf("asked to store node %+v", nd)
			}
			m.nodes[compact.NewNodeID(nd.Level, nd.Index)] = nd.Hash
		}); err != nil {
			t.Fatal(err)
		}
		ref.AppendData(leaf)
	}
	return m, tree, ref
}

// TestProofsAgainstTheLibrary: for random logs, every inclusion and
// consistency proof assembled from what is stored verifies with the
// library's own verifier against the reference tree's roots, and a proof
// with any one byte altered does not.
func TestProofsAgainstTheLibrary(t *testing.T) {
	ctx := context.Background()
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 15, 16, 17, 255, 256, 257, 1000, 1 + r.IntN(5000)} {
		m, tree, ref := grow(t, n)
		if root, err := tree.Root(); err != nil || !bytes.Equal(root, ref.Hash()) {
			t.Fatalf("n=%d: root %x, %v; the reference's %x", n, root, err, ref.Hash())
		}
		for range 40 {
			size := uint64(1 + r.IntN(n))
			index := uint64(r.IntN(int(size)))
			root, err := tlog.RootAt(ctx, m, size)
			if err != nil || !bytes.Equal(root, ref.HashAt(size)) {
				t.Fatalf("n=%d: RootAt(%d) = %x, %v; want %x", n, size, root, err, ref.HashAt(size))
			}
			p, err := tlog.InclusionProof(ctx, m, index, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(tlog.Hasher, index, size, m.leaves[index], p, root); err != nil {
				t.Fatalf("n=%d: inclusion of %d in %d: %v", n, index, size, err)
			}
			if len(p) > 0 {
				bad := clone(p)
				bad[r.IntN(len(bad))][r.IntN(32)] ^= 1 << r.IntN(8)
				if proof.VerifyInclusion(tlog.Hasher, index, size, m.leaves[index], bad, root) == nil {
					t.Fatalf("n=%d: an altered inclusion proof verified", n)
				}
			}
			size1 := uint64(1 + r.IntN(int(size)))
			c, err := tlog.ConsistencyProof(ctx, m, size1, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(tlog.Hasher, size1, size, c, ref.HashAt(size1), root); err != nil {
				t.Fatalf("n=%d: consistency %d..%d: %v", n, size1, size, err)
			}
			if len(c) > 0 {
				bad := clone(c)
				bad[r.IntN(len(bad))][r.IntN(32)] ^= 1 << r.IntN(8)
				if proof.VerifyConsistency(tlog.Hasher, size1, size, bad, ref.HashAt(size1), root) == nil {
					t.Fatalf("n=%d: an altered consistency proof verified", n)
				}
			}
		}
	}
}

// TestInclusionProofsAtOnce: proofs read together are the proofs read
// one by one.
func TestInclusionProofsAtOnce(t *testing.T) {
	ctx := context.Background()
	m, _, ref := grow(t, 777)
	indexes := []uint64{0, 1, 15, 16, 400, 400, 776}
	leaves, all, err := tlog.InclusionProofs(ctx, m, indexes, 777)
	if err != nil {
		t.Fatal(err)
	}
	for i, index := range indexes {
		one, err := tlog.InclusionProof(ctx, m, index, 777)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(one) != fmt.Sprint(all[i]) || !bytes.Equal(leaves[i], m.leaves[index]) {
			t.Fatalf("proof of %d read with others differs from the one read alone", index)
		}
		if err := proof.VerifyInclusion(tlog.Hasher, index, 777, m.leaves[index], all[i], ref.Hash()); err != nil {
			t.Fatalf("inclusion of %d: %v", index, err)
		}
	}
	if _, _, err := tlog.InclusionProofs(ctx, m, []uint64{3, 777}, 777); err == nil {
		t.Fatal("a proof of a leaf beyond the tree was given")
	}
}

// TestRewriteDetected: a tree rewritten at one leaf has another root, and
// no consistency proof from what was seen before holds for it.
func TestRewriteDetected(t *testing.T) {
	ctx := context.Background()
	m, _, _ := grow(t, 1000)
	seen, err := tlog.RootAt(ctx, m, 1000)
	if err != nil {
		t.Fatal(err)
	}
	m.leaves[499] = tlog.Hasher.HashLeaf([]byte("rewritten"))
	rebuilt := &memory{nodes: map[compact.NodeID][]byte{}}
	tree := tlog.NewTree()
	for _, l := range m.leaves {
		rebuilt.leaves = append(rebuilt.leaves, l)
		tree.Append(l, func(nd tlog.Node) { rebuilt.nodes[compact.NewNodeID(nd.Level, nd.Index)] = nd.Hash })
	}
	for _, l := range make([][]byte, 200) {
		l = tlog.Hasher.HashLeaf(append(l, 1))
		rebuilt.leaves = append(rebuilt.leaves, l)
		tree.Append(l, func(nd tlog.Node) { rebuilt.nodes[compact.NewNodeID(nd.Level, nd.Index)] = nd.Hash })
	}
	root, _ := tree.Root()
	c, err := tlog.ConsistencyProof(ctx, rebuilt, 1000, 1200)
	if err != nil {
		t.Fatal(err)
	}
	if proof.VerifyConsistency(tlog.Hasher, 1000, 1200, c, seen, root) == nil {
		t.Fatal("a history rewritten at 500 is consistent with the tree of 1000 seen before it")
	}
}

func clone(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i, h := range p {
		out[i] = bytes.Clone(h)
	}
	return out
}

func TestCheckpointNotes(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	const origin = "civic-ledger.test/log"
	signer, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tlog.NewVerifier(origin, key.Public().(ed25519.PublicKey))
	vOther, _ := tlog.NewVerifier(origin, other.Public().(ed25519.PublicKey))
	c := tlog.Checkpoint{Origin: origin, Size: 1234, Root: bytes.Repeat([]byte{7}, 32), Chain: bytes.Repeat([]byte{9}, 32),
		PreviousSize: 1000, PreviousHash: tlog.BodyHash([]byte("previous")), Time: time.Date(2026, 12, 6, 12, 0, 0, 123000, time.UTC)}
	signed, err := tlog.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(signed), origin+"\n1234\n") || !strings.Contains(string(signed), "\n\n— "+origin+" ") {
		t.Fatalf("signed note:\n%s", signed)
	}
	got, _, err := tlog.Open(signed, origin, []note.Verifier{vOther, v})
	if err != nil || got.Size != 1234 || !bytes.Equal(got.Root, c.Root) || !bytes.Equal(got.Chain, c.Chain) ||
		got.PreviousSize != 1000 || !bytes.Equal(got.PreviousHash, c.PreviousHash) || !got.Time.Equal(c.Time) {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, c)
	}
	if _, _, err := tlog.Open(signed, origin, []note.Verifier{vOther}); !errors.Is(err, tlog.ErrUntrusted) {
		t.Errorf("Open with only another key: %v, want ErrUntrusted", err)
	}
	if _, _, err := tlog.Open(signed, "another/log", []note.Verifier{v}); err == nil {
		t.Error("Open under another origin succeeded")
	}
	altered := bytes.Replace(signed, []byte("\n1234\n"), []byte("\n1235\n"), 1)
	if _, _, err := tlog.Open(altered, origin, []note.Verifier{v}); err == nil {
		t.Error("Open of an altered note succeeded")
	}
	for _, bad := range []string{"", "garbage", origin + "\nx\n", strings.Repeat("x", 20000)} {
		if _, _, err := tlog.Open([]byte(bad), origin, []note.Verifier{v}); err == nil {
			t.Errorf("Open(%.20q) succeeded", bad)
		}
	}
	if _, err := tlog.NewSigner("has space", key); err == nil {
		t.Error("an origin with a space made a signer")
	}
}
