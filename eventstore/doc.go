// Package eventstore is the storage contract of Civic Ledger: streams of
// events, each append checked against the stream's expected version, and one
// global log that orders every event ever stored.
//
// It imports only the standard library. Backends live in sub-packages: postgres (the default:
// gap-free dense positions, a Merkle tree over them with Ed25519-signed
// checkpoints and proofs, see eventstore/tlog), inmem (for unit tests) and the KurrentDB
// mapping below. The storetest package is the conformance suite all of them
// pass.
//
// # Guarantees
//
//   - Append is all or nothing, and checked against an ExpectedVersion: Any,
//     NoStream, StreamExists or Exact(v). A mismatch is ErrConcurrency.
//   - Append is idempotent by event ID: a retry with the same IDs writes
//     nothing and returns the first result.
//   - Stream versions are dense from 1. Global positions are dense from 1,
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
// The contract is KurrentDB-shaped, so a backend over EventStore-Client-Go/v4
// maps each part 1:1:
//
//	Civic Ledger                     KurrentDB (EventStore-Client-Go/v4)
//	-------------------------------  --------------------------------------------------
//	stream "<category>-<id>"         stream name, same string ($ce-<category> by category)
//	Append(stream, expected, ...)    Client.AppendToStream(stream, AppendToStreamOptions)
//	Any()                            esdb.Any{}
//	NoStream()                       esdb.NoStream{}
//	StreamExists()                   esdb.StreamExists{}
//	Exact(v)  (1-based)              esdb.StreamRevision{Value: v-1}  (0-based)
//	ErrConcurrency                   esdb.ErrorCodeWrongExpectedVersion
//	AppendResult.Version             WriteResult.NextExpectedVersion + 1
//	AppendResult.Position            WriteResult.CommitPosition
//	EventData.ID                     EventData.EventID (Kurrent is idempotent by ID too)
//	EventData.Type                   EventData.EventType
//	EventData.Data                   EventData.Data, ContentType JSON
//	Metadata, SchemaVersion,         EventData.Metadata, one JSON object:
//	  OccurredAt                       {"actor",...,"schema_version","occurred_at"}
//	Event.Version                    RecordedEvent.EventNumber + 1
//	Event.RecordedAt                 RecordedEvent.CreatedDate
//	Event.Position                   RecordedEvent.Position.Commit
//	ReadStream(Forward/Backward,     Client.ReadStream(stream, ReadStreamOptions{Direction,
//	  From, Limit)                     From: esdb.Revision(From-1) or esdb.Start{}/End{}}, Limit)
//	(missing stream reads empty)     esdb.ErrorCodeResourceNotFound mapped to no events
//	ReadAll(after, limit)            Client.ReadAll(ReadAllOptions{From: esdb.Position{after}})
//	ReadCategory(category, after,    Client.ReadStream("$ce-<category>", ResolveLinkTos: true),
//	  limit)                           the server's by-category projection enabled
//	SubscribeAll(after)              Client.SubscribeToAll(SubscribeToAllOptions{From: ...})
//	AwaitPosition(id)                immediate: Kurrent knows the position at commit
//	Head()                           ReadAll Backwards from esdb.End{}, 1 event
//
// Two differences are inherent. Kurrent's $all positions are byte offsets:
// ascending and gap-free as a sequence, but not dense numbers, so "position
// N" is only meaningful within one backend. And Kurrent keeps no tree of
// ours: Event.Hash is nil there, and tamper evidence rests on Kurrent's own
// immutability rather than on signed checkpoints.
package eventstore
