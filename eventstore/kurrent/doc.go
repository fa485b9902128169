// Package kurrent is an eventstore.Store over KurrentDB (formerly
// EventStoreDB), through the gRPC client EventStore-Client-Go/v4 (package
// esdb). The mapping is the one in eventstore's package doc; this doc
// records where it had to be decided, and why.
//
// # Connection
//
// Open takes a KurrentDB connection string, normally from KURRENTDB_URL:
// kurrentdb://, kurrentdb+discover:// (and kurrent://, kdb://, as KurrentDB's
// own clients accept) are rewritten to the esdb:// and esdb+discover:// that
// the v4 client parses; user:password@, tls, tlsVerifyCert, tlsCAFile and the
// client's other settings pass through, and a setting the client does not
// know is refused (it would only log it). Errors name the setting the
// string came from and never quote its password. Open then reads the last
// event of $all within ConnectTimeout, so that a wrong address, TLS mode or
// credentials fail at start with "KurrentDB at host:port unreachable: ...".
// The user must be allowed to read $all (by default only $admins may).
//
// # Positions
//
// KurrentDB's $all positions are (commit, prepare) pairs of byte offsets
// in its transaction log: ascending, but not dense. Event.Position is the
// commit position, and 0 is never one. Why one number suffices:
//
//   - Since EventStoreDB's gRPC era, an append is an implicit transaction:
//     the writer (KurrentDB's StorageWriterService.WritePrepares) writes each
//     event as a prepare record flagged Data|IsCommitted, the first also
//     TransactionBegin and the last TransactionEnd, back to back, with no
//     separate commit record.
//   - Reading $all (AllReader.ReadAllEventsForward), a prepare flagged
//     IsCommitted is its own commit: each event is returned at
//     (prepare.LogPosition, prepare.LogPosition). So the events of one
//     multi-event append do not share a commit position; each has its own,
//     equal to its prepare position, distinct and ascending in $all order.
//     A shared commit position with differing prepare positions happens only
//     for explicit transactions of the legacy TCP API, which no gRPC client
//     can make; positionOf refuses such an event rather than misorder it.
//   - The client's own test data bears it out (resources/test: ten events of
//     one stream appended together, dataset20M-1800, at commit = prepare
//     11607400, 11607557, 11607714, ...; the first event of a new database
//     at 167, after the epoch record at 0).
//   - An append's answer carries the commit position of its last event
//     (the request manager answers with the log position of the commit it
//     was told of, which for an implicit transaction is the TransactionEnd
//     prepare), and so does the answer to a recognised repeat. That is
//     AppendResult.Position.
//
// A forward read of $all includes the event at its starting position
// (AllReader keeps a record whose position is at or after the start; the
// client's test reading forward from (1788, 1788) expects the event at 1788
// first), so ReadAll(after) starts at (after, after) and drops the event
// there; a subscription starts after its position (the server's catch-up
// skips events at or before it), and is checked for it here all the same.
// after must be 0 or a position this backend returned: any other number is
// not the start of a record in KurrentDB's log. Events read from a stream
// carry their position on servers since EventStoreDB 22.6; older ones send
// none, and such an event has Position 0.
//
// # The view
//
// ReadAll, ReadCategory, SubscribeAll and Head see $all without system
// events (streams or types starting with '$': metadata, projections'
// links, statistics, tombstones) and without streams the ledger could not
// have named (eventstore.ValidateStream). Stream names KurrentDB reserves
// start with '$', which ValidateStream refuses before anything is sent.
//
// A Store with a Namespace writes "<namespace>.<stream>" and sees only
// those streams, with the prefix stripped. A ledger that shares a KurrentDB
// keeps one namespace; a test takes a new one, and with it an empty store,
// since a KurrentDB cannot be emptied (with NewNamespace, reads of $all
// then start where $all ended at Open, not at its beginning). '.' cannot
// occur in a category, so no view sees another's streams. On the wire the
// namespaced streams are in categories of their own ("ns.ballot"); without
// a namespace the ledger's streams are KurrentDB's, name for name.
//
// ReadCategory scans $all from its position and keeps one category's
// streams, so it costs a read of the log after that position. The server's
// $ce-<category> streams would index a category, but only with the
// by-category system projection running (--run-projections=System), which a
// KurrentDB does not do by default and which adds a link event per event;
// the scan needs nothing of the server and sees positions exactly as
// ReadAll does. SubscribeAll filters on the server (the namespace's prefix,
// or no system event types) and again here.
//
// # Appends
//
// An append is checked by eventstore.Prepare, as in every backend, and
// then against KurrentDB's limit on one append (Options.MaxAppendSize: 1
// MiB by default up to KurrentDB 25.0, counted as data plus metadata plus
// twice the type of each event), so that a too large append is an
// *eventstore.InvalidError naming the event or the size, never a half
// write: KurrentDB writes an append as one transaction, and nothing is
// split. Expected versions map 1:1 (Exact(v) is revision v-1). The
// envelope's metadata, schema version and business time go into
// KurrentDB's metadata field as one JSON object:
//
//	{"actor":..,"role":..,"correlation_id":..,"causation_id":..,"command_id":..,
//	 "schema_version":N,"occurred_at":"RFC 3339, UTC"}
//
// with empty strings and an unset occurred_at left out; a reader falls back
// to the time of recording for the latter, as the contract says.
//
// Event IDs are unique per stream only: KurrentDB keeps no index by ID
// across streams, so the same ID in another stream is another event. Within
// a stream a repeated append is recognised: by the Store itself when it made
// the first one (it remembers the last RememberIDs IDs it appended), and
// otherwise by KurrentDB, which checks the IDs at the expected place
// (NoStream, Exact) or among its recently written events (Any,
// StreamExists). A wrong expected version is read back at that place and
// decided by eventstore.RetryOf, so that a repeat returns the first result,
// a partial repeat is ErrDuplicateID and anything else is
// *eventstore.ConcurrencyError with the version KurrentDB saw. What no
// backend without an ID index can tell, for IDs this Store did not append:
// a repeat sent with the expected version the stream reached after the
// first append, an Any repeat of a write KurrentDB no longer counts as
// recent, and an append whose first event is new while later ones repeat
// IDs of the stream are written as new events.
//
// # AwaitPosition
//
// KurrentDB knows an event's position at commit but cannot find an event by
// its ID. AwaitPosition answers at once for the events this Store appended
// and remembers, and for any other ID returns eventstore.ErrNoIDIndex (not
// ErrNotFound: it cannot know). A caller that needs positions of events
// appended elsewhere reads them (ReadStream carries them) or uses
// eventstore/dense, which indexes them.
//
// # Failures
//
// The client's errors are mapped onto the contract's (see classify):
// WrongExpectedVersion as above, StreamDeleted to ErrStreamDeleted, and no
// answer (unavailable, deadline, timeout inside the server) to
// ErrUnavailable. NotLeader is retried: the client has already been told the
// leader's address and reconnects to it; so are Unavailable and
// ConnectionClosed, the latter with a new client, since the v4 client gives
// up for good once a node discovery fails. Every operation tries at most
// four times within about 1.5s.
//
// With nodePreference=leader (the default) every request carries the
// requires-leader header, which the v4 client means to send but does not
// (it sets it on the incoming context): without it a follower the client
// is still connected to after an election would answer reads itself,
// perhaps behind the leader, and an aggregate read back right after its
// append could miss it. Each call also runs aside, so that its context
// bounds it: the v4 client waits for node discovery whatever the context,
// and a call that fails while a discovery fails never returns (its error
// path blocks on the client's internal channel); such a call is left and
// tried again on a new client.
//
// # Capabilities
//
// In the conformance suite's terms: SparsePositions, NoHashes (KurrentDB
// keeps no Merkle tree; eventstore/dense adds one), IDsUniquePerStream and
// NoIDIndex. The suite, a crash test and checks of what this doc argues
// run against a real KurrentDB with KURRENTDB_URL=... go test -tags kurrent
// ./eventstore/kurrent/ (make test-kurrent), benchmarks beside them.
package kurrent
