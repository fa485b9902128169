package projections

import (
	"context"
	"fmt"
	"sync"

	"github.com/civicledger/civicledger/domain/catalog"

	"github.com/civicledger/civicledger/eventstore"
)

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
