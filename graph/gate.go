package graph

import (
	"context"
	"sync"
	"time"
)

// gateWait is how long an expensive operation waits for one of the slots
// in all before it is refused: long enough to ride out a burst, short
// against the request's budget.
const gateWait = 2 * time.Second

// gate bounds the expensive operations running at once: in all (slots),
// and per principal (perKey), where a principal over its share is refused
// at once, since only its own operations stand in its way.
type gate struct {
	slots  chan struct{}
	perKey int

	mu    sync.Mutex
	byKey map[string]int
}

func newGate(total, perKey int) *gate {
	return &gate{slots: make(chan struct{}, total), perKey: perKey, byKey: map[string]int{}}
}

// enter takes a slot for who, reporting whether it got one.
func (g *gate) enter(ctx context.Context, who string) bool {
	g.mu.Lock()
	if g.byKey[who] >= g.perKey {
		g.mu.Unlock()
		return false
	}
	g.byKey[who]++
	g.mu.Unlock()
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	g.release(who)
	return false
}

// leave gives back who's slot.
func (g *gate) leave(who string) {
	<-g.slots
	g.release(who)
}

func (g *gate) release(who string) {
	g.mu.Lock()
	if g.byKey[who]--; g.byKey[who] <= 0 {
		delete(g.byKey, who)
	}
	g.mu.Unlock()
}
