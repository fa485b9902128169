package projections

import (
	"context"
	"fmt"
	"sort"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Batch collects the statements a projection makes for a run of events.
// A projection only queues them: the runner sends the whole batch, with
// the checkpoint's compare-and-set, in one round trip, so catching up with
// a long log costs a round trip per batch instead of one per event. That
// is why a projection reads nothing while it applies events: what it needs
// from its tables, its statements look up in SQL.
//
// Each statement is charged to the events it was queued for, so a failing
// statement names its event (or the run of events, for a statement that
// applies many at once, which the runner then narrows down by retrying in
// smaller batches).
type Batch struct {
	events []eventstore.Event // the batch, in log order
	q      pgx.Batch
	spans  []span // per queued statement, the events it applies
	cur    span
	failed span  // the event whose handling returned an error in Each
	err    error // the failure of the projection's Apply, if it failed
}

// span is a run of a Batch's events, events[lo:hi]; lo is -1 for an event
// not in the batch, which is charged to the whole batch.
type span struct{ lo, hi int }

func newBatch(events []eventstore.Event) *Batch {
	all := span{0, len(events)}
	return &Batch{events: events, cur: all, failed: all}
}

// Queue adds a statement, run after those queued before it. Outside Each it
// is charged to every event of the batch.
func (b *Batch) Queue(sql string, args ...any) {
	b.q.Queue(sql, args...)
	b.spans = append(b.spans, b.cur)
}

// Len is the number of statements queued so far.
func (b *Batch) Len() int { return len(b.spans) }

// Each calls fn for each of events in turn, charging what fn queues to the
// event it was called for. An error from fn stops it and is returned; the
// batch remembers the event, which the runner names when it reports the
// failure.
func (b *Batch) Each(events []eventstore.Event, fn func(e eventstore.Event) error) error {
	saved := b.cur
	defer func() { b.cur = saved }()
	for _, e := range events {
		i := b.index(e)
		b.cur = span{i, i + 1}
		if err := fn(e); err != nil {
			b.failed = b.cur
			return err
		}
	}
	return nil
}

// index finds e among the batch's events, which are in position order. An
// event from elsewhere is charged to the whole batch.
func (b *Batch) index(e eventstore.Event) int {
	i := sort.Search(len(b.events), func(i int) bool { return b.events[i].Position >= e.Position })
	if i == len(b.events) || b.events[i].Position != e.Position {
		return -1
	}
	return i
}

// describe names the events of s for an error message.
func (b *Batch) describe(s span) string {
	switch {
	case s.lo < 0 || s.hi > len(b.events) || s.lo >= s.hi:
		return "the batch"
	case s.hi-s.lo == 1:
		e := b.events[s.lo]
		return fmt.Sprintf("event %d (%s in %s)", e.Position, e.Type, e.Stream)
	default:
		return fmt.Sprintf("events %d..%d", b.events[s.lo].Position, b.events[s.hi-1].Position)
	}
}

// BatchError is a failure to apply a batch, charged to a run of its events.
type BatchError struct {
	// First and Last are the indexes, in the batch, of the first and last
	// event the failure is charged to.
	First, Last int
	Err         error
}

// Error implements error.
func (e *BatchError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying failure.
func (e *BatchError) Unwrap() error { return e.Err }

// Apply runs p over events (in log order) within tx, as the Runner does:
// p queues its statements into a Batch, which is sent in one round trip.
// tx must have the generation's schema first on its search path. A failure
// is a *BatchError.
func Apply(ctx context.Context, tx pgx.Tx, p Projection, events []eventstore.Event) error {
	return build(p, events).send(ctx, tx, nil, nil)
}

// build has p queue its statements for events. It does no I/O, so the
// runner can build the next batch while the database applies this one. An
// error from p is kept in the Batch and returned by send.
func build(p Projection, events []eventstore.Event) *Batch {
	b := newBatch(events)
	if err := callSafely(func() error { return p.Apply(b, events) }); err != nil {
		b.err = b.fail(b.failed, err)
	}
	return b
}

// send runs the batch in tx, after the runner's own first statement, if
// any. overlap, if not nil, runs while the database works on the batch:
// once the statements are sent, before their results are read.
func (b *Batch) send(ctx context.Context, tx pgx.Tx, first *firstStatement, overlap func()) error {
	if b.err != nil {
		return b.err
	}
	q := b.q.QueuedQueries
	runner := 0
	if first != nil {
		q = append([]*pgx.QueuedQuery{{SQL: first.sql, Arguments: first.args}}, q...)
		runner = 1
	}
	if len(q) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &pgx.Batch{QueuedQueries: q})
	if overlap != nil {
		overlap()
	}
	var failure error
	for i := range q {
		tag, err := br.Exec()
		switch {
		case err != nil && i < runner:
			// The batch's statements are prepared before the first runs,
			// so this error may be any statement's.
			failure = b.fail(span{0, len(b.events)}, err)
		case err != nil:
			failure = b.fail(b.spans[i-runner], err)
		case i < runner:
			failure = first.check(tag.RowsAffected())
		}
		if failure != nil {
			break
		}
	}
	if err := br.Close(); failure == nil && err != nil {
		failure = b.fail(span{0, len(b.events)}, err)
	}
	return failure
}

// fail charges err to the events of s.
func (b *Batch) fail(s span, err error) error {
	if s.lo < 0 || s.hi > len(b.events) || s.lo >= s.hi {
		s = span{0, len(b.events)}
	}
	return &BatchError{First: s.lo, Last: s.hi - 1, Err: fmt.Errorf("%s: %w", b.describe(s), err)}
}

// firstStatement is the runner's own statement at the head of a batch
// (moving the checkpoint), with the judge of its result.
type firstStatement struct {
	sql   string
	args  []any
	check func(rowsAffected int64) error
}
