package projections

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicledger/civicledger/domain"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/follow"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune a Runner. The zero value of each field means its default.
type Options struct {
	// BatchSize is the most events applied in one transaction (1000).
	// Larger batches catch up faster, but a batch's transaction holds the
	// event store's sequencer back while it runs (it positions only events
	// of transactions older than every running one), so new events wait
	// for their positions up to one batch's duration.
	BatchSize int
	// RetryMin and RetryMax bound the exponential backoff after a failing
	// batch (100ms and 30s).
	RetryMin, RetryMax time.Duration
	// Poll is how often the runner looks for changes made by other
	// processes (250ms): a switch by `civic rebuild`, checkpoints moved by
	// the leader elsewhere. WaitFor sees such changes within it.
	Poll time.Duration
	// LeaderRetry is how often a projection led by another process is
	// tried again, to take over once that process stops (2s).
	LeaderRetry time.Duration
	// Logger receives failing batches, leadership changes and switches;
	// nil means slog.Default().
	Logger *slog.Logger
	// Keys opens the personal data the log holds sealed (see
	// domain.Keyring), so the read models hold it open until its subject
	// is erased; without one, a log holding personal data stops the
	// projections at its first such event.
	Keys domain.Keyring
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	o.BatchSize = min(o.BatchSize, eventstore.MaxReadLimit)
	if o.RetryMin <= 0 {
		o.RetryMin = follow.RetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = follow.RetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.LeaderRetry <= 0 {
		o.LeaderRetry = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Runner keeps projections current. Create it with NewRunner; call Run in
// every server process (one leads each projection, the others stand by),
// Rebuild from `civic rebuild`, and Status, WaitFor and Changed from
// anywhere. Its methods are safe for concurrent use.
type Runner struct {
	db      *pgxpool.Pool
	store   eventstore.Store
	ps      []Projection
	byName  map[string]Projection
	opts    Options
	log     *slog.Logger
	invalid error // why ps cannot be run, if they cannot
	running atomic.Bool

	sessMu sync.Mutex
	sess   *session // nil until needed, and after its last user is done

	// wake prompts Run's supervisor: a leader lock was released in this
	// process, or a leader stopped.
	wake chan struct{}

	view genView
}

// NewRunner returns a runner for ps over db, whose schema Migrate has
// created, and store, the event log they are built from. Projections must
// have distinct names and tables; if they do not, Run, Rebuild, WaitFor
// and Status say so.
func NewRunner(db *pgxpool.Pool, store eventstore.Store, ps []Projection, opts Options) *Runner {
	opts.defaults()
	r := &Runner{
		db:      db,
		store:   store,
		ps:      ps,
		byName:  make(map[string]Projection, len(ps)),
		opts:    opts,
		log:     opts.Logger,
		invalid: validateProjections(ps),
		wake:    make(chan struct{}, 1),
	}
	for _, p := range ps {
		r.byName[p.Name()] = p
	}
	r.view.changed = make(chan struct{})
	return r
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run maintains every projection until ctx ends, and then returns nil. For
// each projection it builds generation 1 if there is none, activating it
// once caught up with the head it saw; if the active generation's version
// differs from Version(), it builds a new generation beside it and switches
// readers over once caught up (the old one keeps serving meanwhile, frozen,
// since its code is gone); otherwise it keeps the active generation
// current. A projection whose batch fails stops at that batch and retries
// with backoff (Status shows it failing); the others carry on.
//
// Run it in every server: each projection is led by one process at a time,
// through session advisory locks on one connection per Runner; the others
// take over within LeaderRetry when the leader stops. It returns an error
// only when the projections are invalid or Run is already running.
func (r *Runner) Run(ctx context.Context) error {
	if r.invalid != nil {
		return r.invalid
	}
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("projections: Run is already running on this Runner")
	}
	defer r.running.Store(false)
	backoff := follow.Backoff{Min: r.opts.RetryMin, Max: r.opts.RetryMax}
	for {
		started := time.Now()
		err := r.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > r.opts.RetryMax {
			backoff.Reset()
		}
		r.log.Error("projections: leader connection lost; starting over", "err", err, "retry_in", backoff.Peek())
		if backoff.Sleep(ctx) != nil {
			return nil
		}
	}
}

// runSession leads what it can through one leader connection, until ctx
// ends or the connection is lost.
func (r *Runner) runSession(ctx context.Context) error {
	s, err := r.acquireSession(ctx)
	if err != nil {
		return err
	}
	defer r.releaseSession(s)
	ctx, cancel := sessionContext(ctx, s)
	sup := &supervisor{
		r:        r,
		s:        s,
		leading:  map[string]bool{},
		retryAt:  map[string]time.Time{},
		dropping: map[string]bool{},
		warned:   map[string]bool{},
	}
	defer func() {
		cancel()
		sup.wg.Wait()
	}()
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	for {
		sup.step(ctx)
		select {
		case <-ctx.Done():
			if s.isLost() {
				return s.err
			}
			return ctx.Err()
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// errConflict: the checkpoint was not where this leader left it. Another
// process moved it (it took over while this one was cut off), or the
// generation was retired. The batch is rolled back; the leader reloads the
// checkpoint.
var errConflict = errors.New("checkpoint moved by another process")

// casSQL moves a checkpoint, if it is where the leader left it. Zero rows
// means another process moved it, or the generation was retired.
const batchSettingsSQL = `SELECT set_config('search_path', $1, true), set_config('synchronous_commit', 'off', true)`

const casSQL = `UPDATE projections.generations
	SET position = $4, updated_at = now(), last_error = NULL, error_since = NULL
	WHERE name = $1 AND generation = $2 AND position = $3 AND state <> 'retired'`

// maxErrorLen bounds a stored error message.
const maxErrorLen = 4000

var errSessionLost = errors.New("leader connection lost")
