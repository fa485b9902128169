package eventstore

import (
	"fmt"
	"strconv"
)

// ExpectedKind is the form of an ExpectedVersion.
type ExpectedKind uint8

// The forms of ExpectedVersion. The zero value is no form at all, so an
// ExpectedVersion left unset is refused rather than taken for Any.
const (
	kindUnset ExpectedKind = iota
	KindAny
	KindNoStream
	KindStreamExists
	KindExact
)

// ExpectedVersion is the optimistic-concurrency condition of an append. It
// maps 1:1 onto KurrentDB's ExpectedRevision (see the package doc).
type ExpectedVersion struct {
	kind    ExpectedKind
	version int64
}

// Any appends whatever the stream's version.
func Any() ExpectedVersion { return ExpectedVersion{kind: KindAny} }

// NoStream appends only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: KindNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedVersion { return ExpectedVersion{kind: KindStreamExists} }

// Exact appends only if the stream's last event has version v. Versions
// start at 1; to append to a stream that must not exist, use NoStream.
func Exact(v int64) ExpectedVersion { return ExpectedVersion{kind: KindExact, version: v} }

// Kind returns the form of e.
func (e ExpectedVersion) Kind() ExpectedKind { return e.kind }

// Version returns the version an Exact condition expects, and 0 otherwise.
func (e ExpectedVersion) Version() int64 {
	if e.kind == KindExact {
		return e.version
	}
	return 0
}

// Allows reports whether a stream whose last version is current (0: no
// stream) satisfies e. Backends evaluate the same rule, in SQL if need be.
func (e ExpectedVersion) Allows(current int64) bool {
	switch e.kind {
	case KindAny:
		return true
	case KindNoStream:
		return current == 0
	case KindStreamExists:
		return current > 0
	case KindExact:
		return current == e.version
	}
	return false
}

// Validate returns an error naming the problem when e is not one of the
// four forms.
func (e ExpectedVersion) Validate() error {
	switch e.kind {
	case KindAny, KindNoStream, KindStreamExists:
		return nil
	case KindExact:
		if e.version < 1 {
			return invalid("expected version", fmt.Sprintf("Exact(%d): versions start at 1; use NoStream for a stream that must not exist", e.version))
		}
		return nil
	case kindUnset:
		return invalid("expected version", "not set: use Any, NoStream, StreamExists or Exact(v)")
	}
	return invalid("expected version", fmt.Sprintf("unknown form %d", e.kind))
}

// String returns the form ParseExpectedVersion reads.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case KindAny:
		return "any"
	case KindNoStream:
		return "no_stream"
	case KindStreamExists:
		return "stream_exists"
	case KindExact:
		return strconv.FormatInt(e.version, 10)
	}
	return fmt.Sprintf("unknown(%d)", e.kind)
}

// ParseExpectedVersion reads "any", "no_stream", "stream_exists" or a
// version number, as given on a command line or in an API request.
func ParseExpectedVersion(s string) (ExpectedVersion, error) {
	switch s {
	case "any":
		return Any(), nil
	case "no_stream":
		return NoStream(), nil
	case "stream_exists":
		return StreamExists(), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return ExpectedVersion{}, invalid("expected version", fmt.Sprintf("unknown form %q: want any, no_stream, stream_exists or a version number", s))
	}
	e := Exact(v)
	return e, e.Validate()
}
