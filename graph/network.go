package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
)

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
