package projections

import (
	"context"
	"errors"
	"fmt"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass is the first key of the projections' advisory locks (two-key
// form): "proj", apart from the event store's "civc".
const lockClass = 0x70726f6a

// sessionTimeout bounds each statement on the leader connection. A timeout
// counts as losing the connection, since pgx closes it.
const sessionTimeout = 10 * time.Second

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
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
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
	backoff := r.opts.RetryMin
	for {
		started := time.Now()
		err := r.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > r.opts.RetryMax {
			backoff = r.opts.RetryMin
		}
		r.log.Error("projections: leader connection lost; starting over", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, r.opts.RetryMax)
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

// supervisor decides, every Poll, which generations this process should
// lead, and starts a leader for each it can lock.
type supervisor struct {
	r  *Runner
	s  *session
	wg sync.WaitGroup

	mu       sync.Mutex
	leading  map[string]bool      // generations with a leader goroutine here
	retryAt  map[string]time.Time // when to try again a lock held elsewhere
	dropping map[string]bool      // schemas being dropped
	warned   map[string]bool      // newer active versions already logged
	lastErr  string
}

func (sup *supervisor) step(ctx context.Context) {
	gens, err := sup.r.refresh(ctx, sup.r.opts.Poll/2)
	if err != nil {
		if ctx.Err() == nil && err.Error() != sup.lastErr {
			sup.r.log.Error("projections: read generations", "err", err)
		}
		sup.lastErr = err.Error()
		return
	}
	sup.lastErr = ""
	for _, p := range sup.r.ps {
		if err := sup.plan(ctx, p, gens); err != nil && ctx.Err() == nil {
			sup.r.log.Error("projections: plan", "projection", p.Name(), "err", err)
		}
	}
	sup.tidy(ctx, gens)
}

// plan makes sure the generation of p this process's code can serve is
// led: the active one if its version is p's, otherwise a new one built
// beside it.
func (sup *supervisor) plan(ctx context.Context, p Projection, gens []generation) error {
	var active, building *generation
	last := 0
	for i := range gens {
		g := &gens[i]
		if g.name != p.Name() {
			continue
		}
		last = max(last, g.gen)
		switch g.state {
		case StateActive:
			active = g
		case StateBuilding:
			building = g
		}
	}
	v := p.Version()
	switch {
	case active != nil && active.version > v:
		// Newer code runs elsewhere (a rolling deploy): it maintains the
		// projection, and this process must not build it back.
		if k := active.key(); !sup.warned[k] {
			sup.warned[k] = true
			sup.r.log.Warn("projections: the active generation is newer than this program's; leaving it to newer processes",
				"projection", p.Name(), "generation", active.gen, "version", active.version, "our_version", v)
		}
		return nil
	case active != nil && active.version == v:
		// A building generation beside it belongs to a Rebuild, here or
		// elsewhere, or was left by one that was interrupted: not ours.
		return sup.ensureLeader(ctx, p, *active)
	case building != nil && building.version == v:
		return sup.ensureLeader(ctx, p, *building)
	case building != nil && building.version > v:
		return nil
	case building != nil:
		// An older version's build, which nobody leads any more.
		got, _, err := sup.s.tryLock(building.key())
		if err != nil || !got {
			return err
		}
		defer sup.s.unlock(building.key())
		if _, err := retireGeneration(ctx, sup.r.db, *building, StateBuilding); err != nil {
			return err
		}
		sup.r.log.Info("projections: retired an abandoned build", "projection", p.Name(), "generation", building.gen, "version", building.version)
		return nil
	}
	// No generation this code can serve: start one. Lock first, so that
	// nobody takes the new generation over before its builder leads it.
	gen := last + 1
	key := lockName(p.Name(), gen)
	if sup.leadingKey(key) {
		return nil
	}
	got, _, err := sup.s.tryLock(key)
	if err != nil || !got {
		return err
	}
	ok, err := insertGeneration(ctx, sup.r.db, p, gen)
	if err != nil || !ok {
		sup.s.unlock(key)
		return err
	}
	sup.r.log.Info("projections: building a new generation", "projection", p.Name(), "generation", gen, "version", v)
	sup.start(ctx, p, gen)
	return nil
}

func (sup *supervisor) leadingKey(key string) bool {
	sup.mu.Lock()
	defer sup.mu.Unlock()
	return sup.leading[key]
}

// ensureLeader leads g here unless it is led already, here or elsewhere;
// a lock held elsewhere is tried again after LeaderRetry.
func (sup *supervisor) ensureLeader(ctx context.Context, p Projection, g generation) error {
	key := g.key()
	sup.mu.Lock()
	skip := sup.leading[key] || time.Now().Before(sup.retryAt[key])
	sup.mu.Unlock()
	if skip {
		return nil
	}
	got, elsewhere, err := sup.s.tryLock(key)
	if err != nil {
		return err
	}
	if !got {
		if elsewhere {
			sup.mu.Lock()
			sup.retryAt[key] = time.Now().Add(sup.r.opts.LeaderRetry)
			sup.mu.Unlock()
		}
		return nil
	}
	sup.start(ctx, p, g.gen)
	return nil
}

// start runs a leader for generation gen of p, whose lock is held, until
// the generation needs no leader here any more or ctx ends.
func (sup *supervisor) start(ctx context.Context, p Projection, gen int) {
	key := lockName(p.Name(), gen)
	sup.mu.Lock()
	sup.leading[key] = true
	delete(sup.retryAt, key)
	sup.mu.Unlock()
	sup.wg.Add(1)
	go func() {
		defer sup.wg.Done()
		defer func() {
			sup.mu.Lock()
			delete(sup.leading, key)
			sup.mu.Unlock()
			sup.r.poke()
		}()
		defer sup.s.unlock(key)
		sup.r.log.Info("projections: leading", "projection", p.Name(), "generation", gen)
		err := sup.r.lead(ctx, p, gen, maintain)
		switch {
		case ctx.Err() != nil:
		case err == nil, errors.Is(err, errGone), errors.Is(err, errObsolete):
			sup.r.log.Info("projections: stopped leading", "projection", p.Name(), "generation", gen, "why", fmt.Sprint(err))
		default:
			sup.r.log.Error("projections: leader stopped", "projection", p.Name(), "generation", gen, "err", err)
			sup.mu.Lock()
			sup.retryAt[key] = time.Now().Add(sup.r.opts.RetryMin)
			sup.mu.Unlock()
		}
	}()
}

// tidy drops the schemas of retired generations that are still there
// (their switch's drop was cut short), one goroutine each, since a drop
// waits for the queries still reading the schema.
func (sup *supervisor) tidy(ctx context.Context, gens []generation) {
	for _, g := range gens {
		if g.state != StateRetired || !g.schemaExists {
			continue
		}
		sup.mu.Lock()
		busy := sup.dropping[g.schema]
		sup.dropping[g.schema] = true
		sup.mu.Unlock()
		if busy {
			continue
		}
		sup.wg.Add(1)
		go func() {
			defer sup.wg.Done()
			err := dropSchema(ctx, sup.r.db, g.schema)
			if err != nil && ctx.Err() == nil {
				sup.r.log.Error("projections: drop a retired generation", "projection", g.name, "generation", g.gen, "err", err)
			} else if err == nil {
				g.schemaExists = false
				sup.r.note(g)
			}
			sup.mu.Lock()
			delete(sup.dropping, g.schema)
			sup.mu.Unlock()
		}()
	}
}

// Rebuild builds a new generation of the named projection from position 0
// in this process, switches readers to it once it has caught up with the
// head (and with the active generation, which whoever maintains it keeps
// current meanwhile), drops the old generation's schema, and returns. It is
// what `civic rebuild NAME` runs, possibly while Run runs in a server.
//
// A failing batch is retried with backoff, as in Run, until ctx ends. If
// Rebuild returns an error before the switch, it retires the unfinished
// generation. It refuses when a build of the projection is under way, and
// retires one that nobody leads any more.
func (r *Runner) Rebuild(ctx context.Context, name string) error {
	if r.invalid != nil {
		return r.invalid
	}
	p, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("rebuild %s: no such projection", name)
	}
	s, err := r.acquireSession(ctx)
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	defer r.releaseSession(s)
	ctx, cancel := sessionContext(ctx, s)
	defer cancel()

	g, err := r.newRebuild(ctx, s, p)
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	defer r.poke()
	defer s.unlock(g.key())
	r.log.Info("projections: rebuilding", "projection", name, "generation", g.gen, "version", g.version)
	if err := r.lead(ctx, p, g.gen, rebuild); err != nil {
		if s.isLost() {
			// Another process may lead the generation by now: leave it.
			return fmt.Errorf("rebuild %s: %w", name, s.err)
		}
		if !errors.Is(err, errGone) && !errors.Is(err, errObsolete) {
			r.abandon(context.WithoutCancel(ctx), g)
		}
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	return nil
}

// newRebuild records a new generation of p for Rebuild, leader lock held.
func (r *Runner) newRebuild(ctx context.Context, s *session, p Projection) (generation, error) {
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			return generation{}, errors.New("other processes keep changing the projection's generations; try again")
		}
		gens, err := r.refresh(ctx, 0)
		if err != nil {
			return generation{}, err
		}
		last := 0
		var building *generation
		for i := range gens {
			g := &gens[i]
			if g.name != p.Name() {
				continue
			}
			last = max(last, g.gen)
			if g.state == StateActive && g.version > p.Version() {
				return generation{}, fmt.Errorf("the active generation %d has version %d, newer than this program's %d", g.gen, g.version, p.Version())
			}
			if g.state == StateBuilding {
				building = g
			}
		}
		if building != nil {
			got, _, err := s.tryLock(building.key())
			if err != nil {
				return generation{}, err
			}
			if !got {
				return generation{}, fmt.Errorf("generation %d (version %d) is being built already", building.gen, building.version)
			}
			r.abandon(ctx, *building)
			s.unlock(building.key())
			continue
		}
		gen := last + 1
		got, _, err := s.tryLock(lockName(p.Name(), gen))
		if err != nil {
			return generation{}, err
		}
		if !got {
			continue
		}
		ok, err := insertGeneration(ctx, r.db, p, gen)
		if err != nil || !ok {
			s.unlock(lockName(p.Name(), gen))
			if err != nil {
				return generation{}, err
			}
			continue
		}
		return generation{name: p.Name(), gen: gen, version: p.Version(), schema: schemaName(p.Name(), gen), state: StateBuilding}, nil
	}
}

// abandon retires a building generation whose lock is held here, and
// drops its schema.
func (r *Runner) abandon(ctx context.Context, g generation) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := retireGeneration(ctx, r.db, g, StateBuilding)
	if err == nil && ok {
		err = dropSchema(ctx, r.db, g.schema)
	}
	if err != nil {
		r.log.Error("projections: abandon an unfinished build", "projection", g.name, "generation", g.gen, "err", err)
		return
	}
	if ok {
		r.log.Info("projections: abandoned an unfinished build", "projection", g.name, "generation", g.gen)
	}
	if g, found, err := loadGeneration(ctx, r.db, g.name, g.gen); err == nil && found {
		r.note(g)
	}
}

// leadMode is what a leader does once its generation is active.
type leadMode int

const (
	// maintain: Run's leaders keep the generation current.
	maintain leadMode = iota
	// rebuild: Rebuild's leader stops once it has switched readers over
	// and dropped the old generation.
	rebuild
)

// errConflict: the checkpoint was not where this leader left it. Another
// process moved it (it took over while this one was cut off), or the
// generation was retired. The batch is rolled back; the leader reloads the
// checkpoint.
var errConflict = errors.New("checkpoint moved by another process")

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
	l := &leader{r: r, p: p, g: g, mode: mode, limit: r.opts.BatchSize, backoff: r.opts.RetryMin}
	defer l.stopFeed()
	return l.run(ctx)
}

// leader is the state of one generation's leader.
type leader struct {
	r    *Runner
	p    Projection
	g    generation // as of the last batch this leader committed
	mode leadMode

	feed  *feed
	queue []eventstore.Event // read from the feed, after g.position, not yet applied
	ahead *Batch             // built from the head of queue while the last batch ran
	// limit caps the next batch: after a failing event, retries stop at it
	// rather than re-apply everything after it each time.
	limit   int
	backoff time.Duration
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
			case it := <-l.feed.ch:
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
		l.limit, l.backoff = l.r.opts.BatchSize, l.r.opts.RetryMin
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
		l.r.log.Warn("projections: readers held the views; trying the switch again", "projection", l.g.name, "generation", l.g.gen, "retry_in", l.backoff)
		return false, l.sleep(ctx)
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
		"position", l.g.position, "err", err, "retry_in", l.backoff)
	return l.sleep(ctx)
}

func (l *leader) sleep(ctx context.Context) error {
	t := time.NewTimer(l.backoff)
	defer t.Stop()
	l.backoff = min(2*l.backoff, l.r.opts.RetryMax)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take adds an feedItem from the feed to the queue. A feed error, or an event
// out of sequence, restarts the feed from the checkpoint.
func (l *leader) take(ctx context.Context, it feedItem) error {
	if it.err == nil && it.e.Position == l.g.position+int64(len(l.queue))+1 {
		l.queue = append(l.queue, it.e)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err := it.err
	if err == nil {
		err = fmt.Errorf("log: position %d follows %d", it.e.Position, l.g.position+int64(len(l.queue)))
	}
	l.r.log.Warn("projections: reading the log; following it again", "projection", l.g.name, "generation", l.g.gen, "err", err, "retry_in", l.backoff)
	if err := l.sleep(ctx); err != nil {
		return err
	}
	l.restart(ctx)
	return nil
}

// drain moves what the feed has ready into the queue, up to two batches,
// without waiting.
func (l *leader) drain(ctx context.Context) error {
	// Two batches' worth: the next batch is built while one runs.
	for len(l.queue) < 2*l.r.opts.BatchSize {
		select {
		case it := <-l.feed.ch:
			if err := l.take(ctx, it); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// restart follows the log afresh from the checkpoint.
func (l *leader) restart(ctx context.Context) {
	l.stopFeed()
	l.queue, l.ahead = l.queue[:0], nil // ahead's events share queue's array
	l.feed = l.r.subscribe(ctx, l.g.position)
}

func (l *leader) stopFeed() {
	if l.feed != nil {
		l.feed.stop()
		l.feed = nil
	}
}

// feedItem is an event from the feed, or the error that ended it.
type feedItem struct {
	e   eventstore.Event
	err error
}

// feed reads the log ahead of the leader, catching up and then following,
// so a batch is whatever has arrived when the previous one commits. It
// opens the events' personal fields (domain.Types.Unseal) as it goes, a
// run of them at a time, so that the projections get them open and the
// leader does not wait for it: done in the leader, it took a quarter of a
// catch-up's time off the database's (BenchmarkCatchUp).
type feed struct {
	ch     chan feedItem
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func (r *Runner) subscribe(ctx context.Context, after int64) *feed {
	ctx, cancel := context.WithCancel(ctx)
	f := &feed{ch: make(chan feedItem, 2*r.opts.BatchSize), cancel: cancel}
	read := make(chan feedItem, r.opts.BatchSize)
	f.done.Add(2)
	go func() {
		defer f.done.Done()
		defer close(read)
		for e, err := range r.store.SubscribeAll(ctx, after) {
			select {
			case read <- feedItem{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer f.done.Done()
		run := make([]eventstore.Event, 0, r.opts.BatchSize)
		for {
			var it feedItem
			var ok bool
			select {
			case it, ok = <-read:
			case <-ctx.Done():
				return
			}
			if !ok {
				return
			}
			// What else has arrived, up to a batch, is opened with it.
			run = run[:0]
			var last *feedItem
			for {
				if it.err != nil {
					last = &it
					break
				}
				run = append(run, it.e)
				if len(run) == r.opts.BatchSize {
					break
				}
				select {
				case it, ok = <-read:
					if ok {
						continue
					}
				default:
				}
				break
			}
			if _, err := catalog.Types.Unseal(ctx, r.opts.Keys, run); err != nil {
				last, run = &feedItem{err: fmt.Errorf("open personal data: %w", err)}, nil
			}
			for _, e := range run {
				select {
				case f.ch <- feedItem{e: e}:
				case <-ctx.Done():
					return
				}
			}
			if last != nil {
				select {
				case f.ch <- *last:
				case <-ctx.Done():
				}
				return
			}
		}
	}()
	return f
}

func (f *feed) stop() {
	f.cancel()
	f.done.Wait()
}

// casSQL moves a checkpoint, if it is where the leader left it. Zero rows
// means another process moved it, or the generation was retired.
const batchSettingsSQL = `SELECT set_config('search_path', $1, true), set_config('synchronous_commit', 'off', true)`

const casSQL = `UPDATE projections.generations
	SET position = $4, updated_at = now(), last_error = NULL, error_since = NULL
	WHERE name = $1 AND generation = $2 AND position = $3 AND state <> 'retired'`

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

// maxErrorLen bounds a stored error message.
const maxErrorLen = 4000

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

// session is the Runner's one dedicated connection, holding the session
// advisory locks that make this process leader of generations. The locks
// end with the connection, so once it is lost (lost is closed), nothing led
// through it may be applied any more; the checkpoint's compare-and-set
// rejects the batches already under way.
type session struct {
	conn *pgx.Conn
	refs int // guarded by Runner.sessMu

	mu   sync.Mutex // serialises use of conn
	held map[string]bool
	lost chan struct{}
	err  error // why lost was closed
	stop chan struct{}
	done chan struct{}
}

var errSessionLost = errors.New("leader connection lost")

// acquireSession returns the Runner's live session, opening one if there
// is none. Release it with releaseSession.
func (r *Runner) acquireSession(ctx context.Context) (*session, error) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if s := r.sess; s != nil && !s.isLost() {
		s.refs++
		return s, nil
	}
	pc, err := r.db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("leader connection: %w", err)
	}
	conn := pc.Hijack()
	// So that an operator can tell it apart in pg_stat_activity.
	if _, err := conn.Exec(ctx, `SET application_name = 'civic projections leader'`); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("leader connection: %w", err)
	}
	s := &session{
		conn: conn,
		refs: 1,
		held: map[string]bool{},
		lost: make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.watch(r.opts.Poll)
	r.sess = s
	return s, nil
}

func (r *Runner) releaseSession(s *session) {
	r.sessMu.Lock()
	s.refs--
	last := s.refs == 0
	if last && r.sess == s {
		r.sess = nil
	}
	r.sessMu.Unlock()
	if !last {
		return
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(errors.New("leader connection closed"))
}

// watch pings the connection, so that its loss stops the leaders within
// one interval even when they are idle.
func (s *session) watch(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.lost:
			return
		case <-t.C:
		}
		s.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
		if err := s.conn.Ping(ctx); err != nil {
			s.failLocked(err)
		}
		cancel()
		s.mu.Unlock()
	}
}

func (s *session) isLost() bool {
	select {
	case <-s.lost:
		return true
	default:
		return false
	}
}

// failLocked marks the session lost and closes its connection, which ends
// its locks on the server. s.mu is held.
func (s *session) failLocked(err error) {
	if s.isLost() {
		return
	}
	s.err = fmt.Errorf("%w: %w", errSessionLost, err)
	close(s.lost)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.conn.Close(ctx)
}

// tryLock takes key's leader lock unless this process or another holds it;
// elsewhere reports that another process does. Session advisory locks are
// re-entrant on the server, so this process's own holders are tracked here.
func (s *session) tryLock(key string) (got, elsewhere bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isLost() {
		return false, false, s.err
	}
	if s.held[key] {
		return false, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if err := s.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, key).Scan(&got); err != nil {
		s.failLocked(err)
		return false, false, fmt.Errorf("lock %s: %w", key, err)
	}
	if got {
		s.held[key] = true
	}
	return got, !got, nil
}

// unlock releases key's leader lock, if held here.
func (s *session) unlock(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held[key] {
		return
	}
	delete(s.held, key)
	if s.isLost() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if _, err := s.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, key); err != nil {
		s.failLocked(err)
	}
}

// sessionContext returns a context that also ends when s is lost.
func sessionContext(ctx context.Context, s *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
