package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/follow"
	"github.com/jackc/pgx/v5"
)

// leadMode is what a leader does once its generation is active.
type leadMode int

const (
	// maintain: Run's leaders keep the generation current.
	maintain leadMode = iota
	// rebuild: Rebuild's leader stops once it has switched readers over
	// and dropped the old generation.
	rebuild
)

// lead applies the log to generation gen of p, whose leader lock is held,
// until ctx ends or the generation needs no leader here: it was retired
// (errGone), or a newer one became active first (errObsolete), or, in
// rebuild mode, it has been switched to (nil).
func (r *Runner) lead(ctx context.Context, p Projection, gen int, mode leadMode) error {
	g, ok, err := loadGeneration(ctx, r.db, p.Name(), gen)
	if err != nil {
		return err
	}
	if !ok || g.state == StateRetired {
		if ok {
			r.note(g)
		}
		return errGone
	}
	l := &leader{r: r, p: p, g: g, mode: mode, limit: r.opts.BatchSize,
		backoff: follow.Backoff{Min: r.opts.RetryMin, Max: r.opts.RetryMax}}
	defer l.stopFeed()
	return l.run(ctx)
}

// leader is the state of one generation's leader.
type leader struct {
	r    *Runner
	p    Projection
	g    generation // as of the last batch this leader committed
	mode leadMode

	feed  *follow.Feed
	queue []eventstore.Event // read from the feed, after g.position, not yet applied
	ahead *Batch             // built from the head of queue while the last batch ran
	// limit caps the next batch: after a failing event, retries stop at it
	// rather than re-apply everything after it each time.
	limit   int
	backoff follow.Backoff
	target  int64 // a building generation switches once it has reached it
}

func (l *leader) run(ctx context.Context) error {
	if l.g.state == StateBuilding {
		if err := l.setup(ctx); err != nil {
			return err
		}
		for {
			head, err := l.r.store.Head(ctx)
			if err == nil {
				l.target = head
				break
			}
			if err := l.fail(ctx, err); err != nil {
				return err
			}
		}
	}
	l.restart(ctx)
	tick := time.NewTicker(l.r.opts.Poll)
	defer tick.Stop()
	for {
		if l.g.state == StateBuilding && l.g.position >= l.target {
			done, err := l.trySwitch(ctx)
			if done || err != nil {
				return err
			}
			if l.g.state == StateBuilding && l.g.position >= l.target {
				continue // the switch failed and was backed off; try again
			}
		}
		if len(l.queue) == 0 {
			select {
			case it := <-l.feed.C():
				if err := l.take(ctx, it); err != nil {
					return err
				}
			case <-tick.C:
				// Idle: notice a switch made elsewhere, which retired
				// this generation.
				if l.r.retired(l.g) {
					return errGone
				}
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := l.drain(ctx); err != nil {
			return err
		}
		if len(l.queue) == 0 {
			continue
		}
		if err := l.applyNext(ctx); err != nil {
			return err
		}
	}
}

// setup creates a new generation's schema and tables, retrying until it
// succeeds.
func (l *leader) setup(ctx context.Context) error {
	for !l.g.schemaExists {
		err := setupGeneration(ctx, l.r.db, l.p, l.g)
		switch {
		case err == nil:
			l.g.schemaExists = true
		case errors.Is(err, errGone):
			return err
		default:
			if err := l.fail(ctx, fmt.Errorf("set up %s: %w", l.g.schema, err)); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyNext applies the next batch from the queue. While the database
// applies it, the projection builds the batch after it (unless this one
// retries a failure), which is used if this one commits.
func (l *leader) applyNext(ctx context.Context) error {
	b := l.ahead
	l.ahead = nil
	if b == nil || l.limit < l.r.opts.BatchSize || len(b.events) > len(l.queue) || b.events[0].Position != l.queue[0].Position {
		b = build(l.p, l.queue[:min(len(l.queue), l.limit)])
	}
	n := len(b.events)
	var next *Batch
	overlap := func() {
		if rest := l.queue[n:]; len(rest) > 0 && l.limit >= l.r.opts.BatchSize {
			next = build(l.p, rest[:min(len(rest), l.r.opts.BatchSize)])
		}
	}
	err := l.r.applyBatch(ctx, l.g, b, overlap)
	switch {
	case err == nil:
		l.g.position = b.events[n-1].Position
		l.g.lastError, l.g.errorSince, l.g.updatedAt = "", time.Time{}, time.Now()
		l.queue = l.queue[n:]
		l.limit = l.r.opts.BatchSize
		l.backoff.Reset()
		l.ahead = next
		l.r.note(l.g)
		return nil
	case errors.Is(err, errConflict):
		return l.reload(ctx)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	var be *BatchError
	if errors.As(err, &be) {
		l.limit = retryLimit(be)
		if be.Last > be.First {
			// Not one event yet: the smaller batch is tried at once, as
			// backing off is for retrying the same failure.
			l.r.log.Warn("projections: a batch failed; retrying a smaller one to find the failing event", "projection", l.g.name,
				"generation", l.g.gen, "position", l.g.position, "err", err, "next_batch", l.limit)
			return nil
		}
	}
	return l.fail(ctx, err)
}

// retryLimit caps the batch that retries a failure: it ends at the
// failing event, so the retries do not re-apply what follows it each time.
// A failure charged to a run of events (a statement applying many) ends
// the retry halfway through the run instead: the first half commits or
// fails alone, and the halving goes on until the failure has one event.
func retryLimit(be *BatchError) int {
	if be.Last <= be.First {
		return be.First + 1
	}
	return be.First + (be.Last-be.First+1)/2
}

// trySwitch activates a building generation that has caught up. It reports
// done when the leader has nothing more to do.
func (l *leader) trySwitch(ctx context.Context) (done bool, err error) {
	// Far behind an active generation that kept moving during the build:
	// catch up outside the switch, whose transaction holds readers of the
	// views (and the event store's sequencer) back while it runs.
	var activePos int64 = -1
	err = l.r.db.QueryRow(ctx, `SELECT coalesce(max(position), -1) FROM projections.generations
		WHERE name = $1 AND state = 'active'`, l.g.name).Scan(&activePos)
	if err != nil {
		return false, l.fail(ctx, fmt.Errorf("active generation: %w", err))
	}
	if activePos-l.g.position > int64(l.r.opts.BatchSize) {
		l.target = activePos
		return false, nil
	}
	oldSchema, err := l.r.activate(ctx, l.p, &l.g)
	switch {
	case err == nil:
	case errors.Is(err, errObsolete):
		l.r.note(l.g)
		return true, err
	case errors.Is(err, errConflict):
		return false, l.reload(ctx)
	case ctx.Err() != nil:
		return true, ctx.Err()
	case isLockTimeout(err):
		l.r.log.Warn("projections: readers held the views; trying the switch again", "projection", l.g.name, "generation", l.g.gen, "retry_in", l.backoff.Peek())
		return false, l.backoff.Sleep(ctx)
	default:
		return false, l.fail(ctx, fmt.Errorf("switch: %w", err))
	}
	l.r.note(l.g)
	l.r.log.Info("projections: switched readers", "projection", l.g.name, "generation", l.g.gen, "version", l.g.version, "position", l.g.position, "retired", oldSchema)
	if _, err := l.r.refresh(ctx, 0); err != nil && ctx.Err() == nil {
		l.r.log.Warn("projections: read generations", "err", err)
	}
	if l.mode == rebuild {
		if oldSchema != "" {
			if err := dropSchema(ctx, l.r.db, oldSchema); err != nil {
				return true, err
			}
			l.r.refresh(ctx, 0)
		}
		return true, nil
	}
	// Run's supervisor drops the old schema, in the background.
	l.r.poke()
	l.restart(ctx)
	return false, nil
}

// reload re-reads the checkpoint after a conflict and follows the log from
// there.
func (l *leader) reload(ctx context.Context) error {
	g, ok, err := loadGeneration(ctx, l.r.db, l.g.name, l.g.gen)
	if err != nil {
		return l.fail(ctx, err)
	}
	if ok {
		l.r.note(g)
	}
	if !ok || g.state == StateRetired {
		return errGone
	}
	l.r.log.Warn("projections: checkpoint moved elsewhere; resuming from it", "projection", l.g.name, "generation", l.g.gen, "ours", l.g.position, "stored", g.position)
	l.g = g
	l.restart(ctx)
	return nil
}

// fail records err on the generation, logs it and waits before the next
// attempt. It returns ctx's error if ctx ends meanwhile.
func (l *leader) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.r.recordError(ctx, &l.g, err)
	l.r.log.Error("projections: failing; retrying", "projection", l.g.name, "generation", l.g.gen,
		"position", l.g.position, "err", err, "retry_in", l.backoff.Peek())
	return l.backoff.Sleep(ctx)
}

// take adds an item from the feed to the queue. A feed error, or an event
// out of sequence, restarts the feed from the checkpoint.
func (l *leader) take(ctx context.Context, it follow.Item) error {
	e, err := l.feed.Check(it)
	if err == nil {
		l.queue = append(l.queue, e)
		return nil
	}
	return l.refollow(ctx, err)
}

// refollow restarts the feed after err, once the backoff has passed.
func (l *leader) refollow(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.r.log.Warn("projections: reading the log; following it again", "projection", l.g.name, "generation", l.g.gen, "err", err, "retry_in", l.backoff.Peek())
	if err := l.backoff.Sleep(ctx); err != nil {
		return err
	}
	l.restart(ctx)
	return nil
}

// drain moves what the feed has ready into the queue, up to two batches:
// the next batch is built while one runs.
func (l *leader) drain(ctx context.Context) error {
	var err error
	if l.queue, err = l.feed.Drain(l.queue, 2*l.r.opts.BatchSize); err != nil {
		return l.refollow(ctx, err)
	}
	return nil
}

func (l *leader) restart(ctx context.Context) {
	l.stopFeed()
	l.queue, l.ahead = l.queue[:0], nil // ahead's events share queue's array
	l.feed = follow.Start(ctx, l.r.store, l.g.position, follow.Options{Ahead: l.r.opts.BatchSize, Open: l.r.open})
}

func (l *leader) stopFeed() {
	if l.feed != nil {
		l.feed.Stop()
		l.feed = nil
	}
}

// applyBatch applies b, whose events directly follow g's checkpoint, in
// one transaction that also moves the checkpoint to the last of them,
// sending the checkpoint's and the projection's statements in one round
// trip. The checkpoint's compare-and-set comes first: its row lock keeps a
// switch from retiring g until the batch ends. overlap (if not nil) runs
// while the database applies the batch. A failure to apply is a
// *BatchError.
func (r *Runner) applyBatch(ctx context.Context, g generation, b *Batch, overlap func()) error {
	events := b.events
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin batch: %w", err)
	}
	defer tx.Rollback(ctx)
	// Its own round trip: the batch's statements are prepared before any
	// of them runs, so the search path must be set when the batch is sent.
	// The commit does not wait for its WAL flush: a batch that a crash of
	// the database loses took its checkpoint with it, and is applied again
	// from the log. Readers see it at once either way.
	if _, err := tx.Exec(ctx, batchSettingsSQL, searchPath(g.schema)); err != nil {
		return fmt.Errorf("batch settings: %w", err)
	}
	cas := &firstStatement{
		sql:  casSQL,
		args: []any{g.name, g.gen, g.position, events[len(events)-1].Position},
		check: func(moved int64) error {
			if moved == 0 {
				return errConflict
			}
			return nil
		},
	}
	if err := b.send(ctx, tx, cas, overlap); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

// recordError marks g failing at its checkpoint, and updates g. It writes
// only while the checkpoint is still g's: a leader that lost its lock must
// not mark the new leader's progress failing.
func (r *Runner) recordError(ctx context.Context, g *generation, failure error) {
	msg := failure.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	var since time.Time
	err := r.db.QueryRow(ctx, `UPDATE projections.generations
		SET last_error = $4, error_since = coalesce(error_since, now()), updated_at = now()
		WHERE name = $1 AND generation = $2 AND position = $3 AND state <> 'retired'
		RETURNING error_since`, g.name, g.gen, g.position, msg).Scan(&since)
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) && ctx.Err() == nil {
			r.log.Warn("projections: record a failure", "projection", g.name, "generation", g.gen, "err", err)
		}
		return
	}
	g.lastError, g.errorSince, g.updatedAt = msg, since, time.Now()
	r.note(*g)
}
