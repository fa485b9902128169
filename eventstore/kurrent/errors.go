package kurrent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
)

// Errors a caller can act on beyond the contract's own. Each is matched
// with errors.Is; the message says which operation, which node and why.
var (
	// ErrUnavailable: KurrentDB did not answer (unreachable, no leader,
	// over its deadline, or the operation timed out inside it). An append
	// that ends so may or may not have been written: retry it with the same
	// event IDs, which KurrentDB recognises as a repeat of a recent write.
	ErrUnavailable = fmt.Errorf("KurrentDB: %w", eventstore.ErrUnavailable)
	// ErrStreamDeleted: the stream was tombstoned in KurrentDB (by an
	// operator; the ledger never deletes), so it can never be written
	// again and reads of it fail rather than look empty.
	ErrStreamDeleted = errors.New("stream is deleted in KurrentDB")
	// ErrClosed: the Store was closed, so that a late call fails plainly
	// instead of reaching a client that is shutting down.
	ErrClosed = errors.New("kurrent store is closed")
)

// storeError is an error of this backend: what was being done, the
// sentinel it matches, and the client's error as the cause.
type storeError struct {
	op    string
	kind  error // a sentinel above or of eventstore; nil when none fits
	msg   string
	cause error
}

func (e *storeError) Error() string {
	s := e.op + ": " + e.msg
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *storeError) Unwrap() error { return e.cause }

// Is matches the sentinel the error is of, and what that sentinel wraps
// (ErrUnavailable is the contract's eventstore.ErrUnavailable).
func (e *storeError) Is(target error) bool { return e.kind != nil && errors.Is(e.kind, target) }

// failure is what an esdb error code means to a caller of the contract.
type failure uint8

const (
	failOther       failure = iota // nothing the contract names: passed on with context
	failConcurrency                // the expected version did not hold
	failNotFound                   // a stream that does not exist (read: no events)
	failDeleted                    // a tombstoned stream
	failNotLeader                  // asked a follower; the client reconnects to the leader
	failUnavailable                // no answer, or none in time
	failAuth                       // credentials refused
	failDenied                     // credentials accepted, operation not allowed
	failUnsupported                // the server is too old for the request
)

// classify maps every code the v4 client defines onto a failure.
// ErrorAborted is the server giving up on a write it could not prepare or
// commit in time (KurrentDB answers its PrepareTimeout and CommitTimeout
// with gRPC's Aborted): like a deadline, the outcome is unknown.
func classify(code esdb.ErrorCode) failure {
	switch code {
	case esdb.ErrorCodeWrongExpectedVersion:
		return failConcurrency
	case esdb.ErrorCodeResourceNotFound:
		return failNotFound
	case esdb.ErrorCodeStreamDeleted:
		return failDeleted
	case esdb.ErrorCodeNotLeader:
		return failNotLeader
	case esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeConnectionClosed, esdb.ErrorAborted:
		return failUnavailable
	case esdb.ErrorCodeUnauthenticated:
		return failAuth
	case esdb.ErrorCodeAccessDenied:
		return failDenied
	case esdb.ErrorCodeUnsupportedFeature:
		return failUnsupported
	}
	// Unknown, ResourceAlreadyExists (no such request here), Parsing,
	// InternalClient, InternalServer: bugs or surprises, passed on.
	return failOther
}

// retryable reports whether an operation that failed with code is worth
// trying again at once, writes included. NotLeader: the client has
// already been told the leader's address and reconnects to it; nothing
// was written. Unavailable: the client rediscovers the node; a write may
// have landed, but its repeat with the same event IDs is recognised as
// such (see Append). ConnectionClosed: the Store replaces the client. A
// deadline or an abort is not retried: the server is slow, and repeating
// at once adds to its load.
func retryable(code esdb.ErrorCode) bool {
	switch code {
	case esdb.ErrorCodeNotLeader, esdb.ErrorUnavailable, esdb.ErrorCodeConnectionClosed:
		return true
	}
	return false
}

// Bounds of the retries of one operation: about 1.5s in all, enough for a
// leader election's reconnect without hiding an outage from the caller.
const (
	maxAttempts  = 4
	firstBackoff = 100 * time.Millisecond
)

// backoff is the wait before retry number n (0-based): 100, 300, 900 ms.
func backoff(n int) time.Duration {
	d := firstBackoff
	for range n {
		d *= 3
	}
	return d
}

// codeOf returns the code of a client error, wrapped or not.
func codeOf(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return esdb.ErrorCodeUnknown, false
}

// describe turns a client error of the given code into the contract's
// terms for the operation op against the node at addr. A wrong expected
// version reaching it has lost its context (Append builds the full
// *eventstore.ConcurrencyError itself); it still matches
// eventstore.ErrConcurrency.
func describe(op, addr string, code esdb.ErrorCode, cause error) error {
	switch classify(code) {
	case failConcurrency:
		return &storeError{op: op, kind: eventstore.ErrConcurrency, msg: "wrong expected version", cause: cause}
	case failNotFound:
		return &storeError{op: op, kind: eventstore.ErrNotFound, msg: "not found in KurrentDB", cause: cause}
	case failDeleted:
		return &storeError{op: op, kind: ErrStreamDeleted, msg: "the stream is deleted (tombstoned) in KurrentDB and can never be written again", cause: cause}
	case failNotLeader:
		return &storeError{op: op, kind: ErrUnavailable, msg: fmt.Sprintf("KurrentDB at %s is unavailable: no leader took the request after %d attempts", addr, maxAttempts), cause: cause}
	case failUnavailable:
		return &storeError{op: op, kind: ErrUnavailable, msg: fmt.Sprintf("KurrentDB at %s is unavailable", addr), cause: cause}
	case failAuth:
		return &storeError{op: op, msg: fmt.Sprintf("KurrentDB at %s refused the credentials of the connection string", addr), cause: cause}
	case failDenied:
		return &storeError{op: op, msg: fmt.Sprintf("KurrentDB at %s denied access: the user needs to read $all and its streams and write its streams (by default $all is readable by $admins only)", addr), cause: cause}
	case failUnsupported:
		return &storeError{op: op, msg: fmt.Sprintf("the KurrentDB server at %s does not support this request (too old?)", addr), cause: cause}
	}
	return &storeError{op: op, msg: "KurrentDB", cause: cause}
}

// parseActual reads the stream's version from the v4 client's wrong
// expected version error. The client puts the server's figure only in the
// message ("expecting '2' but got '4'", or "but got 'no_stream'"), and it
// is the one figure taken when the append was checked; a later read could
// see the stream moved on. It returns the contract's 1-based version (0:
// no stream) and whether the message had one.
func parseActual(msg string) (int64, bool) {
	const marker = "but got '"
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return 0, false
	}
	got, _, ok := strings.Cut(msg[i+len(marker):], "'")
	if !ok {
		return 0, false
	}
	if got == "no_stream" {
		return 0, true
	}
	rev, err := strconv.ParseInt(got, 10, 64)
	if err != nil || rev < 0 {
		return 0, false
	}
	return rev + 1, true
}
