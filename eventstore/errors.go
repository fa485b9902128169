package eventstore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Backends return errors that match them with errors.Is;
// the typed errors below carry the details.
var (
	// ErrConcurrency: the stream's version did not satisfy the append's
	// ExpectedVersion. Nothing was written; reload the stream and decide again.
	ErrConcurrency = errors.New("wrong expected version")
	// ErrInvalid: the call's input is malformed. Nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrDuplicateID: an event ID of the append is stored already, but not as
	// the same append (another stream, other versions or another order), so
	// the call is not a retry and cannot be treated as one. Nothing was written.
	ErrDuplicateID = errors.New("event ID already stored")
	// ErrNotFound: no event has the ID asked for.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the backend did not answer (unreachable, no leader,
	// out of time). The call may succeed later; an append that failed so
	// may or may not have been written, and a retry with the same event
	// IDs is safe.
	ErrUnavailable = errors.New("the event store is unavailable")
	// ErrNoIDIndex: the backend cannot look an event up by its ID unless
	// it appended it itself (KurrentDB keeps no index by ID), so it cannot
	// tell whether the event exists. It is not ErrNotFound: a caller that
	// needs the answer asks an index (eventstore/dense) or waits.
	ErrNoIDIndex = errors.New("the backend cannot find an event by ID")
	// ErrBeyondTree: a proof was asked of a tree larger than the log, of
	// an entry beyond the tree, or between sizes in the wrong order.
	ErrBeyondTree = errors.New("beyond the log")
	// ErrUnknownWitness: no signature on a co-signed checkpoint is by a
	// witness the log was configured to accept.
	ErrUnknownWitness = errors.New("not co-signed by a witness this log accepts")
	// ErrNotCheckpoint: a note is not, word for word, a checkpoint the log
	// signed.
	ErrNotCheckpoint = errors.New("not a checkpoint of this log")
)

// InvalidError names what is wrong with an append's or read's input.
type InvalidError struct {
	// Index is the offending event's index in the call, or -1 when the
	// problem is with the call itself (stream ID, expected version, size).
	Index int
	// Field names the input: "stream ID", "type", "data", ...
	Field string
	// Problem says what is wrong, in words a caller can act on.
	Problem string
}

func invalid(field, problem string) *InvalidError {
	return &InvalidError{Index: -1, Field: field, Problem: problem}
}

func invalidEvent(i int, field, problem string) *InvalidError {
	return &InvalidError{Index: i, Field: field, Problem: problem}
}

// Error names the event (if any), the input and the problem.
func (e *InvalidError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("event %d: %s: %s", e.Index, e.Field, e.Problem)
	}
	return e.Field + ": " + e.Problem
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// ConcurrencyError reports an append refused by its ExpectedVersion.
type ConcurrencyError struct {
	Stream   string
	Expected ExpectedVersion
	// Actual is the stream's version when the append was checked (0: no stream).
	Actual int64
}

// Error says what was expected and where the stream stood.
func (e *ConcurrencyError) Error() string {
	return fmt.Sprintf("append to %s: expected version %s, stream is at %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConcurrency) true.
func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// DuplicateIDError reports an event ID stored already outside a retry of the
// same append.
type DuplicateIDError struct {
	ID ID
	// Stream and Version locate the stored event with that ID.
	Stream  string
	Version int64
}

// Error says where the ID is stored already.
func (e *DuplicateIDError) Error() string {
	return fmt.Sprintf("event ID %s is stored already as %s version %d", e.ID, e.Stream, e.Version)
}

// Is makes errors.Is(err, ErrDuplicateID) true.
func (e *DuplicateIDError) Is(target error) bool { return target == ErrDuplicateID }
