package graph

import (
	"context"
	"sync"
	"time"
)

// gateWait is how long an expensive operation waits for a slot before it
// is refused: long enough for a dashboard's panels, sent together, to
// take turns, short against the request's budget.
const gateWait = 2 * time.Second

// gate bounds the expensive operations running at once, per principal
// (perKey) and in all (total), so that no one caller holds every
// database connection. An operation waits up to gateWait for a slot.
type gate struct {
	total, perKey int

	mu      sync.Mutex
	running int
	byKey   map[string]int
	// freed is closed, and replaced, whenever a slot is given back.
	freed chan struct{}
}

func newGate(total, perKey int) *gate {
	return &gate{total: total, perKey: perKey, byKey: map[string]int{}, freed: make(chan struct{})}
}

// enter takes a slot for who, reporting whether it got one in time.
func (g *gate) enter(ctx context.Context, who string) bool {
	t := time.NewTimer(gateWait)
	defer t.Stop()
	for {
		g.mu.Lock()
		if g.running < g.total && g.byKey[who] < g.perKey {
			g.running++
			g.byKey[who]++
			g.mu.Unlock()
			return true
		}
		freed := g.freed
		g.mu.Unlock()
		select {
		case <-freed:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// leave gives back who's slot.
func (g *gate) leave(who string) {
	g.mu.Lock()
	g.running--
	if g.byKey[who]--; g.byKey[who] <= 0 {
		delete(g.byKey, who)
	}
	close(g.freed)
	g.freed = make(chan struct{})
	g.mu.Unlock()
}
