package certification

import (
	"context"
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// AuditedEvent is an event of an application as the log holds it, with
// its stored leaf hash in the log's Merkle tree (nil when the store keeps
// no tree or has not positioned the event yet).
type AuditedEvent struct {
	eventstore.Event
	Hash []byte
}

// Audit is what an auditor gets for an application: its events as
// stored, the verification of the log over them and over its cycle's
// events, and the replay of its decision. It reads the event store only,
// never a read model, since an audit must not trust derived data.
type Audit struct {
	ApplicationID string
	Events        []AuditedEvent
	// Verification is nil when the store keeps no tree, or none of
	// the events has a position yet.
	Verification *eventstore.Verification
	Replay       Replay
	// Inclusion proves the application's and its cycle's events are in
	// the log's tree as a signed checkpoint fixed it; nil when the store
	// keeps no tree, or no checkpoint covers them yet (the latest was
	// asked for, and the events are younger than it).
	Inclusion *Inclusion
}

// Inclusion is the proof that events are in the log: an RFC 6962
// inclusion proof of each against one signed checkpoint, which an auditor
// checks with any RFC 6962 library and the log's public key, without the
// rest of the log.
type Inclusion struct {
	Checkpoint eventstore.Checkpoint
	// Proofs are in the order of Events, the event each one proves.
	Proofs []eventstore.InclusionProof
	Events []eventstore.Event
}

// Depth is how thoroughly AuditApplication checks the log.
type Depth int

// The depths.
const (
	// EventsOnly checks each event of the application and its cycle
	// against its predecessor's hash in the chain: it catches an event row
	// edited or deleted after the fact, at the cost of those events alone.
	EventsOnly Depth = iota
	// FullChain verifies the chain and its signed checkpoints over the
	// whole range of positions the events span, as civic verify does: it
	// also catches a rewrite of the chain, at a cost that grows with the
	// range.
	FullChain
)

// AuditApplication audits the application id: NotFound when it has no
// events. Its events are proven against the checkpoint of the tree of
// size checkpoint, or against the latest when checkpoint is 0; a
// checkpoint the log did not sign, or one too early to hold the events, is
// Invalid.
func AuditApplication(ctx context.Context, store eventstore.Store, types *domain.Types, id string, depth Depth, checkpoint int64) (Audit, error) {
	year, _, err := parseApplicationID(id)
	if err != nil {
		return Audit{}, err
	}
	stored, err := store.ReadStream(ctx, ApplicationStream(id), eventstore.ReadOptions{})
	if err != nil {
		return Audit{}, domain.Wrap(err, "read application "+id)
	}
	if len(stored) == 0 {
		return Audit{}, domain.Errorf(domain.NotFound, "no application %s", id)
	}
	cycleStored, err := store.ReadStream(ctx, CycleStream(year), eventstore.ReadOptions{})
	if err != nil {
		return Audit{}, domain.Wrap(err, "read the cycle")
	}
	app, err := decodeAll(types, stored)
	if err != nil {
		return Audit{}, err
	}
	cycle, err := decodeAll(types, cycleStored)
	if err != nil {
		return Audit{}, err
	}
	out := Audit{ApplicationID: id}
	if out.Replay, err = ReplayDecision(cycle, app); err != nil {
		return Audit{}, domain.Wrap(err, "replay")
	}
	all := append(append([]eventstore.Event(nil), stored...), cycleStored...)
	var positions []int64
	for _, e := range all {
		if e.Position > 0 { // one without a position is not in the chain yet
			positions = append(positions, e.Position)
		}
	}
	hashes := map[int64][]byte{}
	if auditor, ok := store.(eventstore.Auditor); ok && len(positions) > 0 {
		var v eventstore.Verification
		if depth == FullChain {
			if hashes, err = auditor.Hashes(ctx, positions); err == nil {
				v, err = auditor.VerifyRange(ctx, slices.Min(positions), slices.Max(positions))
			}
		} else {
			hashes, v, err = auditor.CheckEvents(ctx, all)
		}
		if err != nil {
			return Audit{}, domain.Wrap(err, "verify the log")
		}
		out.Verification = &v
	}
	for _, e := range stored {
		out.Events = append(out.Events, AuditedEvent{Event: e, Hash: hashes[e.Position]})
	}
	if prover, ok := store.(eventstore.Prover); ok && len(positions) > 0 {
		if out.Inclusion, err = prove(ctx, prover, all, slices.Max(positions), checkpoint); err != nil {
			return Audit{}, err
		}
	}
	return out, nil
}

// prove proves the positioned events of all against the checkpoint of
// size (the latest when 0), which must hold last, the largest position.
func prove(ctx context.Context, prover eventstore.Prover, all []eventstore.Event, last, size int64) (*Inclusion, error) {
	if size < 0 {
		return nil, domain.Errorf(domain.Invalid, "checkpoint: %d is not a tree size", size)
	}
	c, err := prover.Checkpoint(ctx, size)
	if err != nil {
		return nil, domain.Wrap(err, "read the checkpoint")
	}
	switch {
	case c == nil && size > 0:
		return nil, domain.Errorf(domain.Invalid, "checkpoint: the log signed no checkpoint of size %d", size)
	case c == nil:
		return nil, nil
	case c.Size < last && size > 0:
		return nil, domain.Errorf(domain.Invalid, "checkpoint: the checkpoint of size %d is older than the events (the last is at position %d)", size, last)
	case c.Size < last:
		return nil, nil
	}
	in := &Inclusion{Checkpoint: *c}
	var positions []int64
	for _, e := range all {
		if e.Position > 0 {
			positions = append(positions, e.Position)
			in.Events = append(in.Events, e)
		}
	}
	if in.Proofs, err = prover.InclusionProofs(ctx, positions, c.Size); err != nil {
		return nil, domain.Wrap(err, "prove the events")
	}
	return in, nil
}

func decodeAll(types *domain.Types, stored []eventstore.Event) ([]domain.Event, error) {
	out := make([]domain.Event, len(stored))
	for i, se := range stored {
		e, err := types.Decode(se)
		if err != nil {
			return nil, domain.Wrap(fmt.Errorf("%s at version %d: %w", se.Stream, se.Version, err), "decode")
		}
		out[i] = e
	}
	return out, nil
}
