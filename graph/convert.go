package graph

import (
	"context"
	"strings"

	"github.com/civicledger/civicledger/domain"
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
func roleOf(r domain.Role) model.Role {
	if r == "" {
		return model.RoleAnonymous
	}
	return model.Role(strings.ToUpper(string(r)))
}

func recordedEvent(e eventstore.Event) *model.RecordedEvent {
	m := e.Metadata
	return &model.RecordedEvent{
		Position: scalar.Position(e.Position), ID: e.ID.String(), Stream: e.Stream, Version: int(e.Version),
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: scalar.JSON(e.Data),
		OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
		Actor: nonEmpty(m.Actor), Role: nonEmpty(m.Role), CorrelationID: nonEmpty(m.CorrelationID),
	}
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

// visible is an organisation as the caller may see it: its contact
// details (personal data) only for signed-in callers.
func visible(ctx context.Context, o projections.Organisation) *model.Organisation {
	v := &model.Organisation{Organisation: o}
	if ActorFrom(ctx).SignedIn() {
		v.Contact = &o.Contact
	}
	return v
}

// connection is a page of organisations as the caller may see them.
func connection(ctx context.Context, page projections.OrganisationPage, f projections.OrganisationFilter) *model.OrganisationConnection {
	c := &model.OrganisationConnection{Edges: make([]model.OrganisationEdge, len(page.Nodes)), Filter: f}
	for i, o := range page.Nodes {
		c.Edges[i] = model.OrganisationEdge{Cursor: page.Cursors[i], Node: visible(ctx, o)}
	}
	c.PageInfo.HasNextPage = page.HasNext
	if n := len(page.Cursors); n > 0 {
		c.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return c
}
