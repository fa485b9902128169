package certification

import (
	"context"
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// AuditedEvent is an event of an application as the log holds it, with
// its link in the log's hash chain (nil when the store keeps no chain or
// has not positioned the event yet).
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
	// Verification is nil when the store keeps no hash chain, or none of
	// the events has a position yet.
	Verification *eventstore.Verification
	Replay       Replay
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
// events.
func AuditApplication(ctx context.Context, store eventstore.Store, types *domain.Types, id string, depth Depth) (Audit, error) {
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
	return out, nil
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
