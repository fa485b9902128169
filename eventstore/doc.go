// Package eventstore is the storage contract of Civic Ledger: streams of
// events, each append checked against the stream's expected version, and one
// global log that orders every event ever stored.
//
// It imports only the standard library. Backends live in sub-packages:
// postgres (the default: gap-free dense positions, a Merkle tree over them
// with Ed25519-signed checkpoints and proofs, see eventstore/tlog),
// kurrent (KurrentDB through EventStore-Client-Go/v4, mapped below), dense
// (dense positions, the tree and checkpoints in PostgreSQL over a backend
// whose positions are not dense: what the server runs over KurrentDB) and
// inmem (for unit tests; NewSparse has KurrentDB's positions). The
// storetest package is the conformance suite all of them pass, each held
// to the capabilities it declares.
//
// # Guarantees
//
//   - Append is all or nothing, and checked against an ExpectedVersion: Any,
//     NoStream, StreamExists or Exact(v). A mismatch is ErrConcurrency.
//   - Append is idempotent by event ID: a retry with the same IDs writes
//     nothing and returns the first result.
//   - Stream versions are dense from 1. Global positions are dense from 1
//     (over KurrentDB, the raw kurrent backend's ascend without being dense;
//     dense gives them dense ones),
//     and within a stream, versions ascend in position order.
//   - SubscribeAll never skips or repeats an event, live or catching up.
//   - Bad input (a malformed stream ID or type, data that is not a JSON
//     object, an event over 1 MiB, more than 10,000 events in one append, an
//     unset expected version) is refused with an *InvalidError naming the
//     problem, before anything is written.
//
// # Envelope
//
// A stored Event carries its ID, stream, version (1-based), type
// ("<area>.<snake_case_fact>", written by hand and never renamed; breaking
// changes get ".v2" and an upcaster), schema version, data (a JSON object),
// metadata (actor, role, correlation, causation and command IDs), occurred_at
// (business time), recorded_at (system time) and global position.
//
// # Mapping onto KurrentDB
//
// The contract is KurrentDB-shaped, so eventstore/kurrent maps most parts
// 1:1 (its package doc says where it had to decide, and why):
//
//	Civic Ledger                     KurrentDB (EventStore-Client-Go/v4)
//	-------------------------------  --------------------------------------------------
//	stream "<category>-<id>"         stream name, same string ("<ns>.<stream>" in a namespace)
//	Append(stream, expected, ...)    Client.AppendToStream(stream, AppendToStreamOptions)
//	Any()                            esdb.Any{}
//	NoStream()                       esdb.NoStream{}
//	StreamExists()                   esdb.StreamExists{}
//	Exact(v)  (1-based)              esdb.StreamRevision{Value: v-1}  (0-based)
//	ErrConcurrency                   esdb.ErrorCodeWrongExpectedVersion (read back: a retry?)
//	AppendResult.Version             WriteResult.NextExpectedVersion + 1
//	AppendResult.Position            WriteResult.CommitPosition
//	EventData.ID                     EventData.EventID (idempotent per stream)
//	EventData.Type                   EventData.EventType
//	EventData.Data                   EventData.Data, ContentType JSON
//	Metadata, SchemaVersion,         EventData.Metadata, one JSON object:
//	  OccurredAt                       {"actor",...,"schema_version","occurred_at"}
//	Event.Version                    RecordedEvent.EventNumber + 1
//	Event.RecordedAt                 RecordedEvent.CreatedDate
//	Event.Position                   RecordedEvent.Position.Commit (= Prepare for gRPC appends)
//	ReadStream(Forward/Backward,     Client.ReadStream(stream, ReadStreamOptions{Direction,
//	  From, Limit)                     From: esdb.Revision(From-1) or esdb.Start{}/End{}}, Limit)
//	(missing stream reads empty)     esdb.ErrorCodeResourceNotFound mapped to no events
//	ReadAll(after, limit)            Client.ReadAll from esdb.Position{after, after}, system events out
//	ReadCategory(category, after,    ReadAll's scan keeping the category's streams (no server
//	  limit)                           projection needed)
//	SubscribeAll(after)              Client.SubscribeToAll(SubscribeToAllOptions{From: ...}, filtered)
//	AwaitPosition(id)                known at commit for this process's appends; ErrNoIDIndex else
//	Head()                           ReadAll backwards from esdb.End{}, the first non-system event
//
// Three differences are inherent, and declared (storetest.Capabilities):
// KurrentDB's $all positions are byte offsets, ascending but not dense;
// it keeps no tree of ours, so Event.Hash is nil; and it keeps no index by
// event ID, so IDs are unique per stream and AwaitPosition cannot find
// another process's event. The server therefore runs over KurrentDB through
// eventstore/dense, whose follower records each event's dense position,
// leaf hash and tree node in PostgreSQL: the layers above, proofs and
// verification included, see the same log as over PostgreSQL.
package eventstore
