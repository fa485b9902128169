package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Resolver is the root of the resolvers: the dependencies they share.
// Resolvers stay thin: convert the input, call the domain or the read
// models, convert the result.
type Resolver struct {
	deps Deps
	cfg  Config
	// views are who may see what (catalog.Views).
	views *domain.Views
	// trends caches participationTrend's answers by their query and the
	// state of the read models they read (trendCache).
	trends *expirable.LRU[string, []projections.PlacedTrendRow]
	// trendHits and trendMisses count the cache's answers (TrendCache).
	trendHits, trendMisses atomic.Int64
}

// meta is the Meta of a command issued by the request's caller.
func (r *Resolver) meta(ctx context.Context) domain.Meta {
	return domain.Meta{
		Actor:         ActorFrom(ctx),
		CorrelationID: correlationID(ctx),
		Now:           r.deps.Now().In(domain.Tbilisi),
	}
}

// mutationPosition is the position a mutation's payload reports: that of
// its last event, or, when it wrote nothing (the change was already so),
// the current head, as good a position as any to wait for.
func (r *Resolver) mutationPosition(ctx context.Context, res eventstore.AppendResult) (scalar.Position, error) {
	if !res.LastID.IsZero() {
		return r.written(ctx, res)
	}
	head, err := r.deps.Store.Head(ctx)
	if err != nil {
		return 0, domain.Wrap(err, "log head")
	}
	return scalar.Position(head), nil
}

// written returns the log position of a mutation's last event, waiting the
// few milliseconds the sequencer takes to assign it.
func (r *Resolver) written(ctx context.Context, res eventstore.AppendResult) (scalar.Position, error) {
	if res.Position > 0 {
		return scalar.Position(res.Position), nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WaitTimeout)
	defer cancel()
	pos, err := r.deps.Store.AwaitPosition(ctx, res.LastID)
	if err != nil {
		return 0, domain.Wrap(err, "await the position of the mutation's event")
	}
	return scalar.Position(pos), nil
}

// caughtUp waits, within the configured bound, until the named projections
// have applied position (the mutation's own, or the one the client sent
// in the Civic-Min-Position header), so the caller reads its own writes.
func (r *Resolver) caughtUp(ctx context.Context, position int64, projections ...string) error {
	if position <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.WaitTimeout)
	defer cancel()
	err := r.deps.Runner.WaitFor(wctx, position, projections...)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return &domain.Error{Kind: domain.Conflict, Message: fmt.Sprintf(
			"the read models have not reached position %d within %s; try again shortly", position, r.cfg.WaitTimeout)}
	}
	return err
}

// consistent makes a query wait for the position the client asked for.
func (r *Resolver) consistent(ctx context.Context, projections ...string) error {
	return r.caughtUp(ctx, minPosition(ctx), projections...)
}

// minPosition is the position the request asked its reads to reflect.
func minPosition(ctx context.Context) int64 {
	p, _ := ctx.Value(minPositionKey).(int64)
	return p
}

// withMinPosition reads the Civic-Min-Position header: "reflect at least
// this log position", typically the position a mutation returned.
func (s *Server) withMinPosition(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Civic-Min-Position"); h != "" {
			p, err := strconv.ParseInt(h, 10, 64)
			if err != nil || p < 0 {
				writeErrors(w, responseType(r), http.StatusBadRequest, requestError(codeBadRequest,
					"Civic-Min-Position must be a log position (a non-negative integer), not %q", h))
				return
			}
			// A position the log has not reached is no write of the
			// caller's: refused at once, not after the wait runs out.
			if head, err := s.store.Head(r.Context()); err == nil && p > head {
				writeErrors(w, responseType(r), http.StatusBadRequest, requestError(codeBadRequest,
					"Civic-Min-Position %d is beyond the log's head, %d: give the position a mutation returned", p, head))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), minPositionKey, p))
		}
		next.ServeHTTP(w, r)
	})
}

// organisationPayload reports a registry mutation: its position, the
// stream's version, and the organisation as the read model shows it once
// caught up (null if the read model is slower than the configured wait,
// which the position lets the client wait out itself).
func (r *Resolver) organisationPayload(ctx context.Context, id string, res eventstore.AppendResult) (*model.OrganisationPayload, error) {
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.OrganisationPayload{Position: pos, Version: int(res.Version)}
	if err := r.caughtUp(ctx, int64(pos), "organisations"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	o, err := r.deps.Reads.Organisation(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Organisation = organisationOf(o)
	return p, nil
}
