package eventstore

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Store is the event store contract. The backends that implement it
// (postgres, kurrent, inmem, and dense over a backend whose positions are
// not dense) are held to it by one conformance suite, storetest, each
// with the capabilities it declares.
type Store interface {
	// Append adds events to the end of stream if the stream's version
	// satisfies expected, all of them or none. It returns ErrConcurrency
	// (*ConcurrencyError) when expected does not hold, ErrInvalid
	// (*InvalidError) for malformed input and ErrDuplicateID when an event ID
	// is stored already elsewhere. Appending events whose IDs are all stored
	// already, as the same append, writes nothing and returns the first
	// append's result: retries are safe.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error)

	// ReadStream returns a stream's events in version order, forward or
	// backward. Every committed event is there, whether or not the backend
	// has given it a global position yet, so an aggregate loaded from it is
	// never stale. A stream that does not exist reads as no events.
	ReadStream(ctx context.Context, stream string, opts ReadOptions) ([]Event, error)

	// ReadAll returns up to limit events of the global log with positions
	// after the given one, in position order, without gaps. Positions
	// ascend; they are dense (1, 2, 3...) unless the backend declares
	// otherwise (storetest.Capabilities), so a reader resumes after the
	// last position it read and never computes one.
	ReadAll(ctx context.Context, after int64, limit int) ([]Event, error)

	// ReadCategory returns up to limit positioned events of the streams
	// of one category (those named "<category>-<id>"), with positions
	// after the given one, in position order. It lets a reader take every
	// stream of a kind without reading the whole log: a cycle's ballots,
	// one stream per voter, for a count. Events not yet positioned are
	// not returned; a reader who needs them waits for the position.
	ReadCategory(ctx context.Context, category string, after int64, limit int) ([]Event, error)

	// SubscribeAll yields the events of the global log after the given
	// position: first those stored, then new ones as they are sequenced,
	// each once and in order, until ctx ends or an error occurs; the last
	// value yielded then carries the error (ctx.Err() when ctx ended).
	SubscribeAll(ctx context.Context, after int64) iter.Seq2[Event, error]

	// AwaitPosition waits until the event with the given ID has a global
	// position and returns it. It returns ErrNotFound when no committed event
	// has that ID.
	AwaitPosition(ctx context.Context, id ID) (int64, error)

	// Head returns the position of the last event in the global log, 0 when
	// the log is empty.
	Head(ctx context.Context) (int64, error)
}

// AppendResult is what an append did.
type AppendResult struct {
	// Version is the stream's version after the append: the version of its
	// last event, which is the next Exact expectation.
	Version int64
	// Position is the global position of the append's last event, or 0 when
	// the backend assigns positions after commit (the PostgreSQL sequencer
	// does, within milliseconds); AwaitPosition then tells it.
	Position int64
	// LastID is the ID of the append's last event, for AwaitPosition.
	LastID ID
}

// Direction is the order a stream is read in.
type Direction uint8

// Directions of ReadStream.
const (
	Forward Direction = iota
	Backward
)

// ReadOptions selects events of a stream.
type ReadOptions struct {
	Direction Direction
	// From is the first version to return. Forward, 0 means 1; backward, 0
	// means the stream's last version.
	From int64
	// Limit caps the number of events; 0 means all of them.
	Limit int
}

// MaxReadLimit bounds one ReadAll call.
const MaxReadLimit = 100_000

// Validate checks a ReadStream call's input.
func (o ReadOptions) Validate() error {
	switch {
	case o.Direction != Forward && o.Direction != Backward:
		return invalid("direction", fmt.Sprintf("unknown direction %d", o.Direction))
	case o.From < 0:
		return invalid("from", fmt.Sprintf("version %d is negative", o.From))
	case o.Limit < 0:
		return invalid("limit", fmt.Sprintf("%d is negative", o.Limit))
	}
	return nil
}

// ValidateReadAll checks a ReadAll call's input.
func ValidateReadAll(after int64, limit int) error {
	switch {
	case after < 0:
		return invalid("after", fmt.Sprintf("position %d is negative", after))
	case limit < 1 || limit > MaxReadLimit:
		return invalid("limit", fmt.Sprintf("%d: want 1 to %d", limit, MaxReadLimit))
	}
	return nil
}

// ValidateReadCategory checks ReadCategory's arguments.
func ValidateReadCategory(category string, after int64, limit int) error {
	if !isName(category) {
		return invalid("category", fmt.Sprintf("%q: want lower-case letters, digits and _, starting with a letter", category))
	}
	return ValidateReadAll(after, limit)
}

// Follow implements SubscribeAll for a backend with dense positions: it pages through read until
// it has caught up, then calls wait, which returns once the log may have
// grown past the given position (or ctx has ended), and reads again.
// Backends share it so that every subscription pages, orders and ends alike.
// A position that is not the one after the last is an error: the log has
// a gap.
func Follow(ctx context.Context, after int64, page int,
	read func(ctx context.Context, after int64, limit int) ([]Event, error),
	wait func(ctx context.Context, after int64) error,
) iter.Seq2[Event, error] {
	return follow(ctx, after, page, true, read, wait)
}

// FollowSparse is Follow for a backend whose positions ascend without
// being dense (KurrentDB's byte offsets): a position not above the last
// is the error there, since nothing tells a gap from the numbering.
func FollowSparse(ctx context.Context, after int64, page int,
	read func(ctx context.Context, after int64, limit int) ([]Event, error),
	wait func(ctx context.Context, after int64) error,
) iter.Seq2[Event, error] {
	return follow(ctx, after, page, false, read, wait)
}

func follow(ctx context.Context, after int64, page int, dense bool,
	read func(ctx context.Context, after int64, limit int) ([]Event, error),
	wait func(ctx context.Context, after int64) error,
) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		pos := after
		for {
			events, err := read(ctx, pos, page)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range events {
				if dense && e.Position != pos+1 {
					yield(Event{}, fmt.Errorf("subscription: position %d follows %d: the log has a gap", e.Position, pos))
					return
				}
				if !dense && e.Position <= pos {
					yield(Event{}, fmt.Errorf("subscription: position %d follows %d: the log went back", e.Position, pos))
					return
				}
				if !yield(e, nil) {
					return
				}
				pos = e.Position
			}
			if len(events) == page {
				continue // more may be stored; read on before waiting
			}
			if err := ctx.Err(); err != nil {
				yield(Event{}, err)
				return
			}
			if err := wait(ctx, pos); err != nil {
				yield(Event{}, err)
				return
			}
		}
	}
}

// Auditor is what a backend that keeps its log as a Merkle tree offers an
// auditor, beyond Store: each event's stored leaf hash, and a
// verification of a range of the log against the tree and its signed
// checkpoints. The postgres backend implements it; the in-memory one does
// not.
type Auditor interface {
	// Hashes returns the stored leaf hash at each of positions; a
	// position the log lacks is absent from the map.
	Hashes(ctx context.Context, positions []int64) (map[int64][]byte, error)
	// VerifyRange recomputes the leaves and the tree over positions
	// from..to (from the checkpoint before from, whose tree the stored
	// nodes must rebuild) and checks the signed checkpoints with the
	// backend's trusted keys.
	VerifyRange(ctx context.Context, from, to int64) (Verification, error)
	// CheckEvents checks events, as a read returned them, against the
	// log: each one's leaf hash recomputed from it must be the one stored
	// at its position, and each stream's versions must follow one
	// another. That catches an event row edited or deleted after the fact
	// at the cost of the events alone, where VerifyRange's cost grows with
	// the range; a consistent rewrite of the leaves and the tree takes
	// VerifyRange's checkpoints (or a witness's) to show. Events without
	// a position are skipped. It returns the stored hashes.
	CheckEvents(ctx context.Context, events []Event) (map[int64][]byte, Verification, error)
}

// Verification is the outcome of Auditor.VerifyRange.
type Verification struct {
	From, To int64
	// Events is how many log entries were rehashed, Checkpoints how many
	// signatures were checked.
	Events      int64
	Checkpoints int
	// FirstBad is the first position found wrong, 0 when the range is
	// intact; Problem says what is wrong there.
	FirstBad int64
	Problem  string
}

// Intact reports whether the verification found nothing wrong.
func (v Verification) Intact() bool { return v.FirstBad == 0 }

// Prover is what a backend that keeps its log as a Merkle tree offers
// auditors and witnesses (see eventstore/tlog): the signed checkpoints of
// the tree, and proofs against them that anyone checks with an RFC 6962
// library. The postgres backend implements it.
type Prover interface {
	// Checkpoint returns the latest checkpoint, or the one of size when
	// size is above 0; nil when there is none.
	Checkpoint(ctx context.Context, size int64) (*Checkpoint, error)
	// InclusionProofs returns the proof that each entry is in the tree of
	// size, in the order of positions. ErrBeyondTree when one is not.
	InclusionProofs(ctx context.Context, positions []int64, size int64) ([]InclusionProof, error)
	// ConsistencyProof returns the proof that the tree of size2 extends
	// the tree of size1. ErrBeyondTree unless 1 <= size1 <= size2 <= the
	// log's size.
	ConsistencyProof(ctx context.Context, size1, size2 int64) ([][]byte, error)
}

// Checkpoint is a signed checkpoint of the log's tree, as the log keeps
// it: the C2SP tlog-checkpoint note, with the co-signatures witnesses
// added.
type Checkpoint struct {
	Origin   string
	Size     int64
	Root     []byte
	SignedAt time.Time
	// Note is the signed note, co-signatures included: what a checkpoint
	// reader (GET /log/checkpoint) gets.
	Note string
	// Witnesses are the names of the witnesses that co-signed it.
	Witnesses []string
}

// InclusionProof is the RFC 6962 proof that the entry at Position (leaf
// index Position-1) is in the tree of TreeSize.
type InclusionProof struct {
	Position, TreeSize int64
	LeafHash           []byte
	Hashes             [][]byte
}
