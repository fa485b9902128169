package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
	lru "github.com/hashicorp/golang-lru/v2"
	"google.golang.org/grpc/metadata"
)

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// Source names the setting the connection string came from, so that
	// an error about it tells the operator what to fix. Default:
	// KURRENTDB_URL.
	Source string
	// Namespace gives the Store a view of its own inside a KurrentDB it
	// shares, since a KurrentDB cannot be emptied: the streams it writes
	// are "<namespace>.<stream>" on the wire, and it reads back only
	// those, with the prefix stripped. Lower-case letters and digits,
	// starting with a letter, at most 32; '.' cannot occur in a category,
	// so no view sees another's streams, and a Store without a namespace
	// sees none of them. A ledger sharing a KurrentDB keeps one name (the
	// server's KURRENTDB_NAMESPACE); tests take a new one each.
	Namespace string
	// NewNamespace promises that Namespace was never written before this
	// Open. Reads of $all then start where $all ended at Open instead of at
	// its beginning, so that a test's reads do not scan every earlier
	// test's events. Wrong when the namespace has events: they would be
	// missing from ReadAll, ReadCategory, SubscribeAll and Head (not from
	// ReadStream).
	NewNamespace bool
	// MaxAppendSize is the server's limit on one append in bytes, as it
	// counts them: data, metadata and twice the type of every event.
	// Appends over it are refused before anything is sent. Default 1 MiB,
	// KurrentDB's default up to 25.0 (25.1 raised it to 256 MiB); set it to
	// the server's --max-append-size.
	MaxAppendSize int
	// ConnectTimeout bounds Open's check that KurrentDB answers. Default
	// 10s.
	ConnectTimeout time.Duration
	// RememberIDs bounds how many appended event IDs the Store keeps, for
	// AwaitPosition and to tell a retry from a new append (KurrentDB keeps
	// no index by ID). Default 100,000, about 20 MB at most.
	RememberIDs int
	// Logger receives the client library's log lines (discovery,
	// reconnections to a new leader). Default: none; every failure that
	// matters is in the errors returned.
	Logger func(level, format string, args ...any)
}

// DefaultMaxAppendSize is KurrentDB's default limit on an append up to
// version 25.0: 1 MiB.
const DefaultMaxAppendSize = 1 << 20

const (
	defaultSource         = "KURRENTDB_URL"
	defaultConnectTimeout = 10 * time.Second
	defaultRememberIDs    = 100_000
	maxNamespace          = 32
)

// Store is an eventstore.Store over KurrentDB. It is safe for concurrent
// use; Close it when done.
type Store struct {
	conf esdb.Configuration // copied into each client the Store makes
	addr string             // the node or seeds, for messages
	opts Options

	// prefix is Namespace plus '.', or empty.
	prefix string
	// floor is the $all position before which this Store's view has
	// nothing (NewNamespace), zero when it may have anything.
	floor esdb.Position

	// ids maps the IDs of events this Store appended to where they are.
	ids *lru.Cache[eventstore.ID, idRef]

	mu     sync.Mutex
	cur    *conn
	closed bool
}

var _ eventstore.Store = (*Store)(nil)

// conn is one client and the calls in flight on it. The v4 client must
// not be closed while a call on it may still report an error: its error
// path sends to a channel that Close closes, which would panic. So a
// client is closed only once its calls are done.
type conn struct {
	client   *esdb.Client
	inflight sync.WaitGroup
	// dead is closed when the client has given up (see renew): a call
	// still waiting on it will never return, since the client's error path
	// blocks on a channel nobody reads any more.
	dead chan struct{}
}

func newConn(c *esdb.Client) *conn { return &conn{client: c, dead: make(chan struct{})} }

// idRef locates an event this Store appended.
type idRef struct {
	stream   string // without the namespace
	version  int64
	position int64 // 0 until known
}

// Open connects to the KurrentDB that url names and checks, within
// ConnectTimeout, that it answers a read of $all: a store that will fail on
// first use should fail here, saying why. url is a KurrentDB connection
// string (kurrentdb://, kurrentdb+discover://, esdb://, esdb+discover://,
// with user:password@, tls, tlsCAFile and the client's other settings).
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Source == "" {
		opts.Source = defaultSource
	}
	if opts.MaxAppendSize == 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = defaultConnectTimeout
	}
	if opts.RememberIDs == 0 {
		opts.RememberIDs = defaultRememberIDs
	}
	switch {
	case opts.MaxAppendSize < 0:
		return nil, fmt.Errorf("kurrent: MaxAppendSize %d is negative", opts.MaxAppendSize)
	case opts.ConnectTimeout < 0:
		return nil, fmt.Errorf("kurrent: ConnectTimeout %s is negative", opts.ConnectTimeout)
	case opts.RememberIDs < 0:
		return nil, fmt.Errorf("kurrent: RememberIDs %d is negative", opts.RememberIDs)
	case opts.NewNamespace && opts.Namespace == "":
		return nil, fmt.Errorf("kurrent: NewNamespace without a Namespace: the whole of KurrentDB is never new")
	}
	if err := checkNamespace(opts.Namespace); err != nil {
		return nil, err
	}
	conf, addr, err := parseURL(opts.Source, url)
	if err != nil {
		return nil, err
	}
	conf.Logger = esdb.NoopLogging()
	if opts.Logger != nil {
		conf.Logger = opts.Logger
	}
	ids, err := lru.New[eventstore.ID, idRef](max(opts.RememberIDs, 1))
	if err != nil {
		return nil, err
	}
	s := &Store{conf: *conf, addr: addr, opts: opts, ids: ids}
	if opts.Namespace != "" {
		s.prefix = opts.Namespace + "."
	}
	client, err := s.newClient()
	if err != nil {
		return nil, fmt.Errorf("%s: %s", opts.Source, scrub(err.Error(), url))
	}
	head, err := s.probe(ctx, client, url)
	if err != nil {
		return nil, err
	}
	if opts.NewNamespace {
		s.floor = head
	}
	s.cur = newConn(client)
	return s, nil
}

// checkNamespace refuses a namespace that could be confused with another's
// or with a category.
func checkNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	ok := len(ns) <= maxNamespace && ns[0] >= 'a' && ns[0] <= 'z'
	for i := 0; ok && i < len(ns); i++ {
		c := ns[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	if !ok {
		return fmt.Errorf("KURRENTDB_NAMESPACE %q: want lower-case letters and digits, starting with a letter, at most %d", ns, maxNamespace)
	}
	return nil
}

func (s *Store) newClient() (*esdb.Client, error) {
	conf := s.conf
	return esdb.NewClient(&conf)
}

// probe reads the last event of $all, which every reader of this Store
// needs to be allowed, and returns its position (zero for an empty log).
// The client waits for node discovery without regard to a context, so the
// read runs aside and Open stops waiting at the deadline; the client is
// closed once the read has returned (see conn).
func (s *Store) probe(ctx context.Context, client *esdb.Client, url string) (esdb.Position, error) {
	pctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
	defer cancel()
	type result struct {
		head esdb.Position
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.head, r.err = lastOfAll(pctx, client)
		done <- r
	}()
	var r result
	select {
	case r = <-done:
	case <-pctx.Done():
		go func() { <-done; client.Close() }()
		if err := ctx.Err(); err != nil {
			return esdb.Position{}, fmt.Errorf("open KurrentDB at %s: %w", s.addr, err)
		}
		return esdb.Position{}, fmt.Errorf("KurrentDB at %s unreachable: no answer within %s", s.addr, s.opts.ConnectTimeout)
	}
	if r.err == nil {
		return r.head, nil
	}
	client.Close()
	if err := ctx.Err(); err != nil {
		return esdb.Position{}, fmt.Errorf("open KurrentDB at %s: %w", s.addr, err)
	}
	cause := scrub(r.err.Error(), url)
	code, _ := codeOf(r.err)
	switch classify(code) {
	case failAuth:
		return esdb.Position{}, fmt.Errorf("KurrentDB at %s refused the credentials of %s (user %q): %s", s.addr, s.opts.Source, s.conf.Username, cause)
	case failDenied:
		return esdb.Position{}, fmt.Errorf("KurrentDB at %s: user %q may not read $all, which this store needs (by default only $admins may): %s", s.addr, s.conf.Username, cause)
	case failUnsupported:
		return esdb.Position{}, fmt.Errorf("KurrentDB at %s: what answers there does not serve KurrentDB's gRPC API (wrong host or port?): %s", s.addr, cause)
	}
	hint := ""
	if !s.conf.DisableTLS && (strings.Contains(cause, "handshake") || strings.Contains(cause, "tls")) {
		hint = " (the connection uses TLS; for a server started with --insecure add ?tls=false)"
	}
	return esdb.Position{}, fmt.Errorf("KurrentDB at %s unreachable: %s%s", s.addr, cause, hint)
}

// lastOfAll returns the position of the last event of $all, whatever it
// is, or zero when there is none.
func lastOfAll(ctx context.Context, client *esdb.Client) (esdb.Position, error) {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return esdb.Position{}, err
	}
	defer rs.Close()
	re, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return esdb.Position{}, nil
	}
	if err != nil {
		return esdb.Position{}, err
	}
	return re.OriginalEvent().Position, nil
}

// Close ends the Store. It returns at once; the connection closes when
// the calls in flight on it are done, and subscriptions still open then
// end with an error.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	cn := s.cur
	go func() {
		cn.inflight.Wait()
		cn.client.Close()
	}()
}

// acquire returns the current client, counted in flight until the caller
// is done with it (inflight.Done).
func (s *Store) acquire() (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.cur.inflight.Add(1)
	return s.cur, nil
}

// renew replaces a client that has closed itself: the v4 client gives up
// for good when a node discovery fails (after a restart of the server, say),
// and answers every later call with ConnectionClosed.
func (s *Store) renew(old *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur != old {
		return
	}
	client, err := s.newClient()
	if err != nil {
		return // the configuration was valid at Open; it still is
	}
	s.cur = newConn(client)
	close(old.dead)
	go func() {
		old.inflight.Wait()
		old.client.Close()
	}()
}

// errDeadClient ends a call left waiting on a client that gave up; the
// call is tried again on the new one.
var errDeadClient = errors.New("the KurrentDB client gave up on the connection")

// call runs fn with the current client, again after a failure that a
// retry may cure (see retryable), at most maxAttempts times. fn runs aside
// and the caller stops waiting when ctx ends or the client gives up: the
// v4 client waits for node discovery whatever the context, and a call
// whose error it reports after a failed discovery never returns. fn must
// be done with the client (its stream read to the end or closed) when it
// returns, and keep its results to itself until then: an abandoned fn may
// still be running when the next attempt starts.
func call[T any](ctx context.Context, s *Store, fn func(context.Context, *esdb.Client) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var zero T
	cctx := ctx
	if s.conf.NodePreference == esdb.NodePreferenceLeader {
		// The v4 client means to send this header for a leader preference
		// but puts it in the incoming context, which gRPC does not send;
		// without it a follower answers reads itself, possibly behind the
		// leader (an aggregate loaded there could miss its last append).
		// With it, a follower answers NotLeader with the leader's address,
		// the client reconnects there, and the call is retried.
		cctx = metadata.AppendToOutgoingContext(ctx, "requires-leader", "true")
	}
	for attempt := 0; ; attempt++ {
		cn, err := s.acquire()
		if err != nil {
			return zero, err
		}
		done := make(chan result, 1)
		go func() {
			defer cn.inflight.Done()
			v, err := fn(cctx, cn.client)
			done <- result{v, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-cn.dead:
			r.err = errDeadClient
		}
		if r.err == nil || ctx.Err() != nil {
			return r.v, r.err
		}
		code, ok := codeOf(r.err)
		switch {
		case r.err == errDeadClient:
		case !ok:
			return zero, r.err
		case code == esdb.ErrorCodeConnectionClosed:
			s.renew(cn)
		}
		if attempt+1 >= maxAttempts || ok && !retryable(code) {
			return zero, r.err
		}
		if sleep(ctx, backoff(attempt)) != nil {
			return zero, r.err
		}
	}
}

// fail puts an error of the client into the contract's terms: the
// context's error when it ended, the Store's own errors as they are.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", op, cerr)
	}
	var own *storeError
	switch code, ok := codeOf(err); {
	case errors.As(err, &own):
		return err
	case errors.Is(err, ErrClosed):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, errDeadClient):
		return &storeError{op: op, kind: ErrUnavailable, msg: fmt.Sprintf("KurrentDB at %s is unavailable", s.addr), cause: err}
	case ok:
		return describe(op, s.addr, code, err)
	}
	return &storeError{op: op, msg: "KurrentDB", cause: err}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wire is a stream's name in KurrentDB.
func (s *Store) wire(stream string) string { return s.prefix + stream }

// inView returns the ledger stream an event of $all belongs to, and
// whether it is in this Store's view at all: not a system event (a stream
// or a type starting with '$': metadata, projections' links, statistics,
// tombstones), in the namespace, and named as the ledger names streams.
func (s *Store) inView(rec *esdb.RecordedEvent) (string, bool) {
	if rec == nil || strings.HasPrefix(rec.EventType, "$") || strings.HasPrefix(rec.StreamID, "$") {
		return "", false
	}
	name, ok := strings.CutPrefix(rec.StreamID, s.prefix)
	if !ok {
		return "", false
	}
	category, _, ok := strings.Cut(name, "-")
	if !ok || strings.IndexByte(category, '.') >= 0 { // another namespace's stream: skip it cheaply
		return "", false
	}
	return name, eventstore.ValidateStream(name) == nil
}
