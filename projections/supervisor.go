package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

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
