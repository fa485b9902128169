package kurrent

import (
	"fmt"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// noPosition is what the client reports for an event read from a stream
// on a server older than EventStoreDB 22.6, which sent none.
const noPosition = math.MaxUint64

// positionOf maps an event's $all position onto Event.Position: its commit
// position, which for every event KurrentDB writes through gRPC is also its
// prepare position (see the package doc). It returns 0 with no error when
// the server sent no position, and an error for a position the contract
// cannot carry: commit and prepare apart (an explicit transaction of the
// legacy TCP API, whose events share one commit position, so one number
// could not order them), 0 (the log begins with an epoch record, so no
// event is there, and 0 means "from the start" to ReadAll), or beyond
// int64.
func positionOf(p esdb.Position) (int64, error) {
	switch {
	case p.Commit == noPosition && p.Prepare == noPosition:
		return 0, nil
	case p.Commit != p.Prepare:
		return 0, fmt.Errorf("$all position commit %d prepare %d: written by an explicit transaction (legacy TCP API), which has no single position", p.Commit, p.Prepare)
	case p.Commit == 0:
		return 0, fmt.Errorf("$all position 0: no event can be there, the log begins with an epoch record")
	case p.Commit > math.MaxInt64:
		return 0, fmt.Errorf("$all position %d: beyond int64", p.Commit)
	}
	return int64(p.Commit), nil
}

// resumeFrom is where a forward read of $all starts to resume after the
// event at position after: that event's own position, since forward reads
// include their starting event (the caller skips it), and the start for 0.
// A subscription starting there delivers only what follows.
func resumeFrom(after int64) esdb.AllPosition {
	if after <= 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(after), Prepare: uint64(after)}
}

// appendPosition maps an append's reported commit position onto
// AppendResult.Position. KurrentDB reports its last event's position
// (the commit of an append's implicit transaction is its last prepare);
// 0, reported when the server sent none, stays 0: AwaitPosition then reads
// the position from the stream.
func appendPosition(commit uint64) (int64, error) {
	if commit == 0 {
		return 0, nil
	}
	if commit > math.MaxInt64 {
		return 0, fmt.Errorf("append reported $all position %d: beyond int64", commit)
	}
	return int64(commit), nil
}
