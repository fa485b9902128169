// Package tlog makes the event log a transparency log, as Certificate
// Transparency (RFC 6962 / RFC 9162), Go's checksum database and Sigstore's
// Rekor are: a Merkle tree over the log's entries (eventstore.LeafBytes,
// position i+1 at leaf index i), whose root is signed in checkpoints in the
// C2SP tlog-checkpoint signed-note format. An inclusion proof shows that
// one event is in the tree a checkpoint commits to, in O(log n) hashes; a
// consistency proof shows that a later tree extends an earlier one, so
// anyone holding an old checkpoint (an auditor, a witness) detects a
// rewrite or a truncation of history, even by a database superuser who can
// recompute every hash: they cannot sign, and cannot change what others
// keep.
//
// The hashing and the proofs are transparency-dev/merkle's; the notes are
// golang.org/x/mod/sumdb/note's, and their format transparency-dev/formats'.
// This package only decides what is stored and assembles proofs from it.
//
// What a backend stores: every leaf hash, beside its log entry, and the
// hash of every perfect subtree whose level is a positive multiple of
// Stride. A node of another level is computed from at most 2^(Stride-1)
// stored ones below it, so a proof reads at most a few dozen hashes while
// the stored nodes add a fifteenth to the leaves.
package tlog

import (
	"context"
	"crypto"
	"fmt"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Hasher is the tree's: RFC 6962 over SHA-256.
var Hasher = rfc6962.New(crypto.SHA256)

// Stride is the level spacing of the stored internal nodes.
const Stride = 4

// LeafHash is the tree's hash of an event's entry: the RFC 6962 leaf hash,
// SHA-256(0x00 || eventstore.LeafBytes(e)), by transparency-dev/merkle's
// hasher. The log stores it beside each entry (eventstore.Event.Hash).
func LeafHash(e *eventstore.Event) []byte { return Hasher.HashLeaf(eventstore.LeafBytes(e)) }

// Stored reports whether a backend stores the nodes of level: the leaves
// (beside the log) and every Stride-th level above them.
func Stored(level uint) bool { return level%Stride == 0 }

// Reader reads what a backend stores of the tree, in one read (one round
// trip to a database): the leaf hashes at indexes (positions - 1) and the
// hashes of stored internal nodes, each in the order asked, and an error
// for any that is missing: a proof is asked only of a tree the log holds
// whole.
type Reader interface {
	Read(ctx context.Context, leaves []uint64, nodes []compact.NodeID) ([][]byte, [][]byte, error)
}

// Hashes returns the hashes of perfect nodes, reading the stored ones and
// computing the others from the stored level below them, in one read.
func Hashes(ctx context.Context, r Reader, ids []compact.NodeID) ([][]byte, error) {
	out, _, err := hashes(ctx, r, ids, nil)
	return out, err
}

// hashes is Hashes, reading the leaves at extra too, in the same read.
func hashes(ctx context.Context, r Reader, ids []compact.NodeID, extra []uint64) ([][]byte, [][]byte, error) {
	// What each wanted node is made of, at the stored level below it.
	type span struct {
		base       uint // the stored level
		begin, end uint64
	}
	spans := make([]span, len(ids))
	var leaves []uint64
	var nodes []compact.NodeID
	seenLeaf, seenNode := map[uint64]bool{}, map[compact.NodeID]bool{}
	addLeaf := func(j uint64) {
		if !seenLeaf[j] {
			seenLeaf[j] = true
			leaves = append(leaves, j)
		}
	}
	for _, j := range extra {
		addLeaf(j)
	}
	for i, id := range ids {
		base := id.Level - id.Level%Stride
		d := id.Level - base
		sp := span{base: base, begin: id.Index << d, end: (id.Index + 1) << d}
		spans[i] = sp
		for j := sp.begin; j < sp.end; j++ {
			if base == 0 {
				addLeaf(j)
				continue
			}
			n := compact.NewNodeID(base, j)
			if !seenNode[n] {
				seenNode[n] = true
				nodes = append(nodes, n)
			}
		}
	}
	leafHash := map[uint64][]byte{}
	nodeHash := map[compact.NodeID][]byte{}
	if len(leaves)+len(nodes) > 0 {
		gotLeaves, gotNodes, err := r.Read(ctx, leaves, nodes)
		if err != nil {
			return nil, nil, err
		}
		for i, j := range leaves {
			leafHash[j] = gotLeaves[i]
		}
		for i, n := range nodes {
			nodeHash[n] = gotNodes[i]
		}
	}
	extraHashes := make([][]byte, len(extra))
	for i, j := range extra {
		extraHashes[i] = leafHash[j]
	}
	out := make([][]byte, len(ids))
	for i, sp := range spans {
		level := make([][]byte, 0, sp.end-sp.begin)
		for j := sp.begin; j < sp.end; j++ {
			if sp.base == 0 {
				level = append(level, leafHash[j])
			} else {
				level = append(level, nodeHash[compact.NewNodeID(sp.base, j)])
			}
		}
		for len(level) > 1 {
			next := level[:0:0]
			for k := 0; k+1 < len(level); k += 2 {
				next = append(next, Hasher.HashChildren(level[k], level[k+1]))
			}
			level = next
		}
		out[i] = level[0]
	}
	return out, extraHashes, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of the leaf at index
// in the tree of size, which proof.VerifyInclusion checks.
func InclusionProof(ctx context.Context, r Reader, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, r, nodes)
}

// InclusionProofs returns the leaf hashes at indexes and their inclusion
// proofs in the tree of size, from one read of the store: an audit proves
// dozens of events with the read of one proof.
func InclusionProofs(ctx context.Context, r Reader, indexes []uint64, size uint64) ([][]byte, [][][]byte, error) {
	all := make([]proof.Nodes, len(indexes))
	var ids []compact.NodeID
	for i, index := range indexes {
		nodes, err := proof.Inclusion(index, size)
		if err != nil {
			return nil, nil, err
		}
		all[i] = nodes
		ids = append(ids, nodes.IDs...)
	}
	hs, leaves, err := hashes(ctx, r, ids, indexes)
	if err != nil {
		return nil, nil, err
	}
	out := make([][][]byte, len(indexes))
	for i, nodes := range all {
		n := len(nodes.IDs)
		if out[i], err = nodes.Rehash(hs[:n:n], Hasher.HashChildren); err != nil {
			return nil, nil, err
		}
		hs = hs[n:]
	}
	return leaves, out, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the
// trees of size1 and size2, which proof.VerifyConsistency checks.
func ConsistencyProof(ctx context.Context, r Reader, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, r, nodes)
}

func rehash(ctx context.Context, r Reader, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := Hashes(ctx, r, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

// Range returns the compact range of the tree of size: the roots of the
// perfect subtrees that cover it, from which the sequencer goes on
// appending and RootAt computes the root.
func Range(ctx context.Context, r Reader, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := Hashes(ctx, r, ids)
	if err != nil {
		return nil, err
	}
	return factory.NewRange(0, size, hashes)
}

// RootAt returns the root hash of the tree of size (the empty tree's for
// 0).
func RootAt(ctx context.Context, r Reader, size uint64) ([]byte, error) {
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	rng, err := Range(ctx, r, size)
	if err != nil {
		return nil, err
	}
	return rng.GetRootHash(nil)
}

var factory = &compact.RangeFactory{Hash: Hasher.HashChildren}

// Tree grows the tree leaf by leaf, as the sequencer assigns positions,
// and reports the nodes to store.
type Tree struct {
	rng *compact.Range
}

// Node is a stored internal node.
type Node struct {
	Level uint
	Index uint64
	Hash  []byte
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{rng: factory.NewEmptyRange(0)} }

// TreeFrom returns the tree whose compact range is rng (see Range).
func TreeFrom(rng *compact.Range) (*Tree, error) {
	if rng.Begin() != 0 {
		return nil, fmt.Errorf("tlog: a tree begins at leaf 0, not %d", rng.Begin())
	}
	return &Tree{rng: rng}, nil
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 { return t.rng.End() }

// Append adds a leaf hash and passes each completed node of a stored level
// above the leaves to store.
func (t *Tree) Append(leaf []byte, store func(Node)) error {
	return t.rng.Append(leaf, func(id compact.NodeID, hash []byte) {
		if id.Level > 0 && Stored(id.Level) {
			store(Node{Level: id.Level, Index: id.Index, Hash: hash})
		}
	})
}

// Root is the root hash of the tree as it stands.
func (t *Tree) Root() ([]byte, error) {
	if t.rng.End() == 0 {
		return Hasher.EmptyRoot(), nil
	}
	return t.rng.GetRootHash(nil)
}

// Clone returns a copy that grows apart from t.
func (t *Tree) Clone() *Tree {
	hashes := t.rng.Hashes()
	c, err := factory.NewRange(0, t.rng.End(), append([][]byte(nil), hashes...))
	if err != nil {
		panic(err) // the hashes are t's own: a well-formed range
	}
	return &Tree{rng: c}
}
