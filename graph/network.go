package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
)

// membershipOf converts a membership change's input.
func membershipOf(in model.MembershipInput) network.MembershipChange {
	return network.MembershipChange{Network: in.Network, Organisation: in.Organisation, Role: deref(in.Role),
		Region: deref(in.Region), On: in.On, Reason: deref(in.Reason)}
}

// networkResult turns a network command's outcome into its payload: the
// position, and the network once the read model shows the change.
func (r *Resolver) networkResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.NetworkPayload, error) {
	if err != nil {
		return nil, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.NetworkPayload{Position: pos}
	if err := r.caughtUp(ctx, int64(pos), "networks"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	p.Network, err = r.deps.Reads.Network(ctx, id)
	return p, err
}
