package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it. The GraphQL
// layer maps each kind to an error code (BAD_USER_INPUT, NOT_FOUND, ...) and
// shows the message only for kinds other than Internal.
type Kind string

// The error kinds.
const (
	// Invalid: the input is malformed or breaks a rule; fix it and retry.
	Invalid Kind = "invalid"
	// NotFound: the thing asked for does not exist.
	NotFound Kind = "not_found"
	// Conflict: the state changed or forbids the command (wrong state, stale
	// version, duplicate); reload and decide again.
	Conflict Kind = "conflict"
	// Unauthenticated: no valid credentials were given.
	Unauthenticated Kind = "unauthenticated"
	// Forbidden: the caller's role may not do this.
	Forbidden Kind = "forbidden"
	// Internal: our fault; the message is for the log, not the caller.
	Internal Kind = "internal"
)

// Error is a domain error: a kind and a message written for the caller.
// Internal details never go in Message: wrap the cause instead, which
// errors.Unwrap reaches but callers are never shown.
type Error struct {
	Kind    Kind
	Message string
	// Details are the problems an Invalid error from Problems gathers,
	// one message each (field: what is wrong).
	Details []string
	cause   error
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error that keeps cause for the log.
func Wrap(cause error, message string) *Error {
	return &Error{Kind: Internal, Message: message, cause: cause}
}

// Error returns the message and, for the log, the internal cause.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, domain.ErrNotFound) and the like match any error
// of the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.cause == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is; each matches every error of its kind.
var (
	ErrInvalid         = &Error{Kind: Invalid}
	ErrNotFound        = &Error{Kind: NotFound}
	ErrConflict        = &Error{Kind: Conflict}
	ErrUnauthenticated = &Error{Kind: Unauthenticated}
	ErrForbidden       = &Error{Kind: Forbidden}
)

// KindOf returns the kind of err: the kind of the first *Error in its chain,
// or Internal when there is none (an error nobody classified is our fault).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageOf returns what a caller may be shown about err: its message, or
// a generic sentence for Internal errors.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "internal error"
}

// Problems collects what is wrong with the fields of one input, so that a
// caller learns every invalid field at once rather than one per attempt.
// The zero value is ready to use.
type Problems struct{ errs []*Error }

// Add records err, when it is not nil, and reports whether it was nil. An
// error that is not Invalid is kept too, and Err returns it alone.
func (p *Problems) Add(err error) bool {
	if err == nil {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		e = Wrap(err, "check the input")
	}
	if e.Kind == Invalid && len(e.Details) > 0 {
		// Another Problems' list (a part of the input checked on its
		// own): its problems join this list one by one.
		for _, d := range e.Details {
			p.errs = append(p.errs, &Error{Kind: Invalid, Message: d})
		}
		return false
	}
	p.errs = append(p.errs, e)
	return false
}

// Err returns nil when nothing was wrong, the one problem when there was
// one, and otherwise an Invalid error whose message lists them all (each
// also in Details, for the API to list apart).
func (p *Problems) Err() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	}
	msgs := make([]string, 0, len(p.errs))
	for _, e := range p.errs {
		if e.Kind != Invalid {
			return e
		}
		msgs = append(msgs, e.Message)
	}
	return &Error{Kind: Invalid, Message: fmt.Sprintf("%d fields are invalid: %s", len(msgs), strings.Join(msgs, "; ")), Details: msgs}
}
