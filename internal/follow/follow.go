// Package follow reads the global log for the consumers that keep a
// checkpoint of their own: the projection runner (one per read model
// generation) and the notification outbox. Both need the same things, and
// got them subtly different when each wrote its own: a reader that
// catches up and then follows, running ahead of the consumer so a batch is
// whatever has arrived when the last one committed; a check that the
// positions come densely after the checkpoint (a gap or a repeat means the
// feed must start again from the checkpoint, never skip); and the backoff
// after a failure.
//
// What differs between consumers stays with them: where the checkpoint is
// kept and how it is moved (a compare-and-set in each one's own table, in
// the transaction that writes what the batch produced).
package follow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

// The backoff's defaults for a consumer of the log: quick enough that a
// blip costs a tenth of a second, slow enough at its cap that a database
// down for hours is not hammered.
const (
	RetryMin = 100 * time.Millisecond
	RetryMax = 30 * time.Second
)

// Backoff is an exponential backoff between Min and Max. The zero value
// uses RetryMin and RetryMax.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the wait before the next attempt, and doubles the one after
// it, up to Max.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.bounds()
	if b.next < lo {
		b.next = lo
	}
	d := b.next
	b.next = min(2*d, hi)
	return d
}

// Peek returns what Next will return, for a log line announcing it.
func (b *Backoff) Peek() time.Duration {
	lo, _ := b.bounds()
	return max(b.next, lo)
}

// Reset starts the backoff again from Min, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits Next(), or until ctx ends, when it returns ctx's error.
func (b *Backoff) Sleep(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Backoff) bounds() (lo, hi time.Duration) {
	lo, hi = b.Min, b.Max
	if lo <= 0 {
		lo = RetryMin
	}
	if hi <= 0 {
		hi = RetryMax
	}
	return lo, max(hi, lo)
}

// errEnded: the log's subscription ended without saying why.
var errEnded = errors.New("the log's subscription ended")

// Item is one event from a Feed, or the error that ended it.
type Item struct {
	Event eventstore.Event
	Err   error
}

// Options tune a Feed.
type Options struct {
	// Ahead is the most events opened in one run (1000, at most
	// eventstore.MaxReadLimit); the feed reads up to twice as many ahead
	// of its consumer, so one batch can be built while another commits.
	Ahead int
	// Open, when set, is given each run of events that have arrived
	// together before they are handed on, to prepare them off the
	// consumer's path (the runner opens personal data with it: done in
	// the leader it took a quarter of a catch-up's time, BenchmarkCatchUp).
	// An error ends the feed with it.
	Open func(context.Context, []eventstore.Event) error
}

// Feed reads the log after a position, catching up and then following,
// ahead of its consumer. Take items from C and pass each to Check, which
// enforces the order; Stop it when done.
type Feed struct {
	ch     chan Item
	cancel context.CancelFunc
	done   sync.WaitGroup
	last   int64 // the position of the last event Check accepted
}

// Start starts a feed of store's log after position after.
func Start(ctx context.Context, store eventstore.Store, after int64, opts Options) *Feed {
	ahead := opts.Ahead
	if ahead <= 0 {
		ahead = 1000
	}
	ahead = min(ahead, eventstore.MaxReadLimit)
	ctx, cancel := context.WithCancel(ctx)
	f := &Feed{ch: make(chan Item, 2*ahead), cancel: cancel, last: after}
	read := f.ch
	if opts.Open != nil {
		read = make(chan Item, ahead)
		f.done.Add(1)
		go f.open(ctx, read, ahead, opts.Open)
	}
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		for e, err := range store.SubscribeAll(ctx, after) {
			select {
			case read <- Item{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
		if ctx.Err() == nil {
			// A subscription ends only with its context or an error;
			// should one end otherwise, the consumer must not wait on
			// it for ever.
			select {
			case read <- Item{Err: errEnded}:
			case <-ctx.Done():
			}
		}
	}()
	return f
}

// open passes runs of what has arrived on read through fn to f.ch.
func (f *Feed) open(ctx context.Context, read <-chan Item, ahead int, fn func(context.Context, []eventstore.Event) error) {
	defer f.done.Done()
	run := make([]eventstore.Event, 0, ahead)
	for {
		var it Item
		select {
		case it = <-read:
		case <-ctx.Done():
			return
		}
		// What else has arrived, up to Ahead, is opened with it.
		run = run[:0]
		var last *Item
		for {
			if it.Err != nil {
				last = &it
				break
			}
			run = append(run, it.Event)
			if len(run) == ahead {
				break
			}
			select {
			case it = <-read:
				continue
			default:
			}
			break
		}
		if err := fn(ctx, run); err != nil {
			last, run = &Item{Err: err}, nil
		}
		for _, e := range run {
			select {
			case f.ch <- Item{Event: e}:
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
}

// C is where the feed's items arrive. The last item of a feed that ends
// before Stop carries the error that ended it.
func (f *Feed) C() <-chan Item { return f.ch }

// Check returns it's event if it is the one due next, right after the
// last one Check accepted (or the position the feed started after). An
// item carrying an error, or an event out of order, returns an error: the
// consumer must Stop this feed and start another from its checkpoint,
// never carry on past it.
func (f *Feed) Check(it Item) (eventstore.Event, error) {
	if it.Err != nil {
		return eventstore.Event{}, fmt.Errorf("read the log after %d: %w", f.last, it.Err)
	}
	if want := f.last + 1; it.Event.Position != want {
		return eventstore.Event{}, fmt.Errorf("read the log: position %d where %d was due", it.Event.Position, want)
	}
	f.last = it.Event.Position
	return it.Event, nil
}

// Drain appends to into, after Check, what the feed has ready, without
// waiting, until into holds max events.
func (f *Feed) Drain(into []eventstore.Event, max int) ([]eventstore.Event, error) {
	for len(into) < max {
		select {
		case it := <-f.ch:
			e, err := f.Check(it)
			if err != nil {
				return into, err
			}
			into = append(into, e)
		default:
			return into, nil
		}
	}
	return into, nil
}

// Stop ends the feed and waits for its goroutines.
func (f *Feed) Stop() {
	f.cancel()
	f.done.Wait()
}
