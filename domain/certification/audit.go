package certification

import (
	"context"
	"fmt"

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

// AuditApplication audits the application id: NotFound when it has no
// events.
func AuditApplication(ctx context.Context, store eventstore.Store, types *domain.Types, id string) (Audit, error) {
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
	auditor, chained := store.(eventstore.Auditor)
	hashes := map[int64][]byte{}
	var from, to int64
	var positions []int64
	for _, e := range append(append([]eventstore.Event(nil), stored...), cycleStored...) {
		if e.Position == 0 {
			continue // not positioned yet: the chain does not hold it
		}
		positions = append(positions, e.Position)
		if from == 0 || e.Position < from {
			from = e.Position
		}
		to = max(to, e.Position)
	}
	if chained && from > 0 {
		if hashes, err = auditor.Hashes(ctx, positions); err != nil {
			return Audit{}, domain.Wrap(err, "read the hash chain")
		}
		v, err := auditor.VerifyRange(ctx, from, to)
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
