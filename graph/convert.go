package graph

import (
	"context"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

func localized(in *model.LocalizedTextInput) domain.LocalizedText {
	if in == nil {
		return domain.LocalizedText{}
	}
	return domain.LocalizedText{Ka: in.Ka, En: deref(in.En)}
}

func contactOf(in *model.ContactInput) registry.Contact {
	if in == nil {
		return registry.Contact{}
	}
	return registry.Contact{Email: deref(in.Email), Phone: deref(in.Phone), Address: deref(in.Address), Person: deref(in.Person)}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func orgFilterOf(f *model.OrganisationFilter) projections.OrganisationFilter {
	if f == nil {
		return projections.OrganisationFilter{}
	}
	return projections.OrganisationFilter{
		Search: deref(f.Search), Kinds: f.Kind, Region: deref(f.Region), Municipality: deref(f.Municipality), Status: deref(f.Status),
		Network: deref(f.Network), MemberOn: deref(f.MemberOn),
	}
}

// roleOf is the GraphQL form of a role.
func roleOf(r domain.Role) domain.Role {
	if r == "" {
		return domain.Anonymous
	}
	return r
}

// recordedEvent is an event as the domain's rules let one caller see it
// (v), with the personal fields found erased.
func recordedEvent(e eventstore.Event, v domain.EventView, erased []string) *model.RecordedEvent {
	m := e.Metadata
	out := &model.RecordedEvent{
		Position: scalar.Position(e.Position), ID: e.ID.String(), Stream: e.Stream, Version: int(e.Version),
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: scalar.JSON(v.Data),
		OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, Role: nonEmpty(m.Role),
		Withheld: nonNil(v.Withheld), Erased: nonNil(erased),
	}
	if !v.ActorHidden {
		out.Actor, out.CorrelationID = nonEmpty(m.Actor), nonEmpty(m.CorrelationID)
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// projectionStatus is every projection's status in GraphQL form.
func (r *Resolver) projectionStatus(ctx context.Context) ([]model.ProjectionStatus, error) {
	sts, err := r.deps.Runner.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.ProjectionStatus, len(sts))
	for i, st := range sts {
		out[i] = model.ProjectionStatus{
			Name: st.Name, Version: st.Version, Generation: st.Generation, State: strings.ToUpper(st.State),
			Failing: st.Failing, Position: scalar.Position(st.Position), Head: scalar.Position(st.Head),
			LagEvents: int(st.LagEvents), LagSeconds: st.LagSeconds, LastError: nonEmpty(st.LastError),
		}
		if !st.UpdatedAt.IsZero() {
			out[i].UpdatedAt = &st.UpdatedAt
		}
	}
	return out, nil
}

// organisationOf is an organisation as the API shows it: whole, for the
// policy to show its contact as the domain's rules say.
func organisationOf(o projections.Organisation) *model.Organisation {
	return &model.Organisation{Organisation: o, Contact: &o.Contact,
		LegalForm: model.Optional(o.LegalForm), Website: model.Optional(o.Website), ClosedReason: model.Optional(o.ClosedReason)}
}

// connection is a page of organisations.
func connection(page projections.OrganisationPage, f projections.OrganisationFilter) *model.OrganisationConnection {
	c := &model.OrganisationConnection{Edges: make([]model.OrganisationEdge, len(page.Nodes)), Filter: f}
	for i, o := range page.Nodes {
		c.Edges[i] = model.OrganisationEdge{Cursor: page.Cursors[i], Node: organisationOf(o)}
	}
	c.PageInfo.HasNextPage = page.HasNext
	if n := len(page.Cursors); n > 0 {
		c.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return c
}

// eventFilterOf checks an events subscription's filter for actor: an
// unknown event type is bad input, and one the actor may never see is
// refused, so a dashboard that asks for what it cannot have is told so
// instead of waiting for events that never come.
func eventFilterOf(actor domain.Actor, f *model.EventFilter) (prefix string, types map[string]bool, err error) {
	types = map[string]bool{}
	if f == nil {
		return "", types, nil
	}
	prefix = deref(f.StreamPrefix)
	if len(prefix) > eventstore.MaxStreamIDLength {
		return "", nil, domain.InvalidField("filter.streamPrefix", "over %d bytes", eventstore.MaxStreamIDLength)
	}
	if len(f.Types) > 100 {
		return "", nil, domain.InvalidField("filter.types", "%d types; at most 100", len(f.Types))
	}
	for _, t := range f.Types {
		switch {
		case !catalog.Types.Known(t):
			return "", nil, domain.InvalidField("filter.types", "%q is not an event type", t)
		case !catalog.Types.MaySee(actor, t):
			if !actor.SignedIn() {
				return "", nil, domain.Errorf(domain.Unauthenticated, "filter.types: %s events are not public; they need an API key", t)
			}
			return "", nil, domain.Errorf(domain.Forbidden, "filter.types: %s events are never shown to role %s", t, actor.Role)
		}
		types[t] = true
	}
	return prefix, types, nil
}

// eventBatch is a run of the log, or the error that ended it.
type eventBatch struct {
	events []eventstore.Event
	err    error
}

// maxEventBatch bounds the events a subscription handles at once.
const maxEventBatch = 256

// eventBatches follows the log from after position from, keeping the
// events keep admits, and yields them in runs: each run what the log had
// ready when the previous one was done, up to maxEventBatch, so a
// subscription catching up works on many events at a time and one
// following the log live on each as it comes. It ends when ctx does, or
// with a run carrying the store's error.
func eventBatches(ctx context.Context, store eventstore.Store, from int64, keep func(eventstore.Event) bool) func(func(eventBatch) bool) {
	return func(yield func(eventBatch) bool) {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		type item struct {
			e   eventstore.Event
			err error
		}
		feed := make(chan item, maxEventBatch)
		go func() {
			defer close(feed)
			for e, err := range store.SubscribeAll(ctx, from) {
				if err == nil && !keep(e) {
					continue
				}
				select {
				case feed <- item{e, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		for {
			var batch eventBatch
			select {
			case it, ok := <-feed:
				if !ok {
					return
				}
				if it.err != nil {
					yield(eventBatch{err: it.err})
					return
				}
				batch.events = append(batch.events, it.e)
			case <-ctx.Done():
				return
			}
			var failed error
		more:
			for len(batch.events) < maxEventBatch {
				select {
				case it, ok := <-feed:
					if !ok {
						break more
					}
					if it.err != nil {
						failed = it.err
						break more
					}
					batch.events = append(batch.events, it.e)
				default:
					break more
				}
			}
			if !yield(batch) || failed != nil && !yield(eventBatch{err: failed}) || failed != nil {
				return
			}
		}
	}
}
