package projections

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Status is one generation of a projection, as /readyz, /metrics and
// `civic status` show it.
type Status struct {
	// Name is the projection's name.
	Name string
	// Version is the projection version the generation was built by; for
	// a projection with no generation yet, the code's version.
	Version int
	// Generation numbers the projection's builds from 1; 0 means this
	// Runner's projection has no generation yet.
	Generation int
	// State is StateBuilding, StateActive or StateRetired; "" when
	// Generation is 0.
	State string
	// Failing reports that the generation's last batch failed: it is
	// stopped at Position, retrying with backoff, and LastError says why.
	Failing bool
	// Position is the generation's checkpoint: the last event applied.
	Position int64
	// Head is the last position of the event log when Status ran.
	Head int64
	// LagEvents is the number of events not yet applied (Head - Position);
	// 0 for retired generations, which are no longer applied.
	LagEvents int64
	// LagSeconds is the age of the oldest event not yet applied; 0 when
	// caught up.
	LagSeconds float64
	// LastError is the failing batch's error; "" when not failing.
	LastError string
	// ErrorSince is when the generation started failing; zero when not.
	ErrorSince time.Time
	// UpdatedAt is when the generation's row last changed: a batch, a
	// failure or a switch.
	UpdatedAt time.Time
}

// Status reports every generation of every projection in the database (a
// retired one included, as history), and a row with Generation 0 for each
// of this Runner's projections that has none yet. It costs a few short
// queries, plus one per lagging generation, so it can serve every
// readiness check and metrics scrape.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	gens, err := r.refresh(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	head, err := r.store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	age := map[int64]float64{} // of the event after a position
	lagSeconds := func(pos int64) (float64, error) {
		if a, ok := age[pos]; ok {
			return a, nil
		}
		events, err := r.store.ReadAll(ctx, pos, 1)
		if err != nil || len(events) == 0 {
			return 0, err
		}
		a := max(0, time.Since(events[0].RecordedAt).Seconds())
		age[pos] = a
		return a, nil
	}
	var out []Status
	seen := map[string]bool{}
	for _, g := range gens {
		seen[g.name] = true
		st := Status{
			Name:       g.name,
			Version:    g.version,
			Generation: g.gen,
			State:      g.state,
			Failing:    g.lastError != "",
			Position:   g.position,
			Head:       head,
			LastError:  g.lastError,
			ErrorSince: g.errorSince,
			UpdatedAt:  g.updatedAt,
		}
		if g.state != StateRetired && g.position < head {
			st.LagEvents = head - g.position
			if st.LagSeconds, err = lagSeconds(g.position); err != nil {
				return nil, fmt.Errorf("projection status: %w", err)
			}
		}
		out = append(out, st)
	}
	for _, p := range r.ps {
		if seen[p.Name()] {
			continue
		}
		st := Status{Name: p.Name(), Version: p.Version(), Head: head, LagEvents: head}
		if head > 0 {
			if st.LagSeconds, err = lagSeconds(0); err != nil {
				return nil, fmt.Errorf("projection status: %w", err)
			}
		}
		out = append(out, st)
	}
	slices.SortStableFunc(out, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Generation, b.Generation))
	})
	return out, nil
}

// WaitFor returns nil once the active generations of the named projections
// (all of this Runner's when none is named) have applied the log up to
// position, or ctx's error if it ends first. Read-your-writes rests on it:
// it wakes on each batch this process commits, and sees batches committed
// by other processes within Poll.
func (r *Runner) WaitFor(ctx context.Context, position int64, names ...string) error {
	if r.invalid != nil {
		return r.invalid
	}
	if len(names) == 0 {
		for _, p := range r.ps {
			names = append(names, p.Name())
		}
	}
	for _, n := range names {
		if _, ok := r.byName[n]; !ok {
			return fmt.Errorf("wait for %s: no such projection", n)
		}
	}
	// A change made by another process is seen at the first refresh after
	// it: refreshing every Poll/2 data at most Poll/2 old sees it within
	// Poll. Refreshes are shared by every waiter and Run in this process.
	every := max(r.opts.Poll/2, time.Millisecond)
	if _, err := r.refresh(ctx, every); err != nil {
		return fmt.Errorf("wait for position %d: %w", position, err)
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		changed := r.Changed()
		if r.reached(position, names) {
			return nil
		}
		select {
		case <-changed:
		case <-t.C:
			if _, err := r.refresh(ctx, every); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("wait for position %d: %w", position, err)
			}
			t.Reset(every)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reached reports whether the active generation of each of names has
// applied position.
func (r *Runner) reached(position int64, names []string) bool {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	for _, n := range names {
		ok := false
		for _, g := range r.view.gens {
			if g.name == n && g.state == StateActive && g.position >= position {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// State names what the named read models hold (none named: all of
// them), as this process last saw them (at most Poll/2 old): each one's active generation and its
// position, "" for one with none. Two reads under the same State read the
// same rows, so an answer can be cached under it (a trend's) or an HTTP
// response tagged with it (ETag).
func (r *Runner) State(ctx context.Context, names ...string) (string, error) {
	gens, err := r.refresh(ctx, max(r.opts.Poll/2, time.Millisecond))
	if err != nil {
		return "", fmt.Errorf("read models' state: %w", err)
	}
	if len(names) == 0 {
		for _, p := range r.ps {
			names = append(names, p.Name())
		}
	}
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		for _, g := range gens {
			if g.name == n && g.state == StateActive {
				fmt.Fprintf(&b, "/%d@%d", g.gen, g.position)
			}
		}
		b.WriteByte(';')
	}
	return b.String(), nil
}

// Changed returns a channel that is closed at the next change of any
// generation's position, state or error seen by this process: a batch
// committed here, or a change elsewhere read by Run, Status or WaitFor.
// Call it again after each close, for a live status subscription.
func (r *Runner) Changed() <-chan struct{} {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	return r.view.changed
}

// genView is this process's picture of the generations: read from the
// database at most every Poll/2 (shared by all callers), and updated at once
// by this process's own batches and switches.
type genView struct {
	refreshMu sync.Mutex // one read at a time, for callers to share

	mu      sync.Mutex
	gens    []generation // by name and generation; replaced, never modified in place
	readAt  time.Time    // when the last read started; zero before the first
	changed chan struct{}
}

// refresh returns the generations, read from the database unless the last
// read started less than maxAge ago.
func (r *Runner) refresh(ctx context.Context, maxAge time.Duration) ([]generation, error) {
	r.view.refreshMu.Lock()
	defer r.view.refreshMu.Unlock()
	r.view.mu.Lock()
	if maxAge > 0 && !r.view.readAt.IsZero() && time.Since(r.view.readAt) < maxAge {
		gens := r.view.gens
		r.view.mu.Unlock()
		return gens, nil
	}
	r.view.mu.Unlock()
	started := time.Now()
	gens, err := loadGenerations(ctx, r.db)
	if err != nil {
		return nil, err
	}
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	r.view.readAt = started
	return r.view.mergeLocked(gens), nil
}

// note records what this process just did to a generation.
func (r *Runner) note(g generation) {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	r.view.mergeLocked([]generation{g})
}

// retired reports whether g is retired, as far as this process knows.
func (r *Runner) retired(g generation) bool {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	for _, v := range r.view.gens {
		if v.name == g.name && v.gen == g.gen {
			return v.state == StateRetired
		}
	}
	return false
}

// mergeLocked folds rows into the view, wakes Changed's callers if
// anything they watch changed, and returns the new view. A generation only
// moves forward (position and state), so a read that started before a
// batch committed here never takes the view back. mu is held.
func (v *genView) mergeLocked(rows []generation) []generation {
	merged := slices.Clone(v.gens)
	changed := false
	for _, g := range rows {
		i, found := slices.BinarySearchFunc(merged, g, func(a, b generation) int {
			return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.gen, b.gen))
		})
		if !found {
			merged = slices.Insert(merged, i, g)
			changed = true
			continue
		}
		old := merged[i]
		if old.position > g.position {
			// This process moved on since the read started: its own
			// record of the checkpoint and error is the newer one.
			g.position, g.lastError, g.errorSince, g.updatedAt = old.position, old.lastError, old.errorSince, old.updatedAt
		}
		if stateRank(old.state) > stateRank(g.state) {
			g.state = old.state
		}
		if old.state != g.state || old.position != g.position || old.lastError != g.lastError {
			changed = true
		}
		merged[i] = g
	}
	v.gens = merged
	if changed {
		close(v.changed)
		v.changed = make(chan struct{})
	}
	return merged
}
