// Package postgres is the default event store backend, on PostgreSQL 15 or
// later through pgx.
//
// Appends are one SQL statement each and never take a table or stream lock:
// the unique (stream, version) key arbitrates between concurrent writers, and
// the statement refuses to run unless it is its transaction's first write,
// so its transaction ID is taken after it has read the stream's head. That
// makes transaction-ID order agree with version order within every stream.
// When the version an append builds on is already known to be committed
// (this process appended or read it), the statement skips reading the head
// and is a plain INSERT, with the key still arbitrating (see appendKnown).
//
// Global positions are not a bigserial (whose numbers become visible out of
// commit order, so a reader that remembers "position > N" loses the slower
// transaction's event). Instead a sequencer, one leader at a time across all
// servers (a session advisory lock), reads only settled rows (transaction ID
// below the oldest running transaction's) in (epoch, transaction ID,
// sequence) order, assigns dense positions 1..N, extends a SHA-256 hash chain and an
// RFC 6962 Merkle tree over the entries (eventstore/tlog; its nodes of
// every fourth level stored, so proofs are a few reads), and every
// CheckpointEvery events or CheckpointInterval signs the tree's root in a
// C2SP tlog-checkpoint note with Ed25519 (tree.go serves the proofs,
// verify.go checks it all). Readers of the global log see sequenced events only, so
// nothing can ever appear behind them.
//
// Transaction IDs belong to one cluster, and a database moves between
// clusters (pg_dump and pg_restore, pg_upgrade, a copy): so every event
// records its epoch, the run of the log on one cluster, and an older
// epoch's events are all settled and come before a newer one's. A
// process takes the log up on its cluster (eventstore.take_up: a new
// epoch when the cluster is another, or its transaction counter is behind
// its own epoch's events) when it migrates, before its first append and
// at each sequencer election; see migrations/0003_epochs.sql and 0004.
//
// Appends wake the sequencer in-process, or with NOTIFY from a separate
// connection when another process leads (a NOTIFY inside the append's own
// transaction would serialise every commit on PostgreSQL's notify lock); the
// sequencer announces new positions with NOTIFY to subscribers. Short polls
// cover lost notifications.
package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the event store's tables.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if _, err = migrate.Apply(ctx, db, "eventstore", sub); err != nil {
		return err
	}
	// On a database moved to another cluster, this cluster becomes the
	// log's next epoch before anything is appended (see 0003_epochs.sql).
	if _, err := db.Exec(ctx, `SELECT eventstore.take_up()`); err != nil {
		return fmt.Errorf("take up the log on this cluster: %w", err)
	}
	return nil
}

// Advisory lock keys (two-key form, so they cannot collide with the
// single-key locks of other components).
const (
	lockClass     = 0x63697663 // "civc"
	lockSequencer = 1
)

// Notification channels.
const (
	channelAppended  = "eventstore_appended"
	channelSequenced = "eventstore_sequenced"
	// channelCheckpoint asks the leading sequencer for a checkpoint now.
	channelCheckpoint = "eventstore_checkpoint"
)

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// SigningKey signs log checkpoints. Without one the sequencer writes no
	// checkpoints, and verification rests on the hashes alone.
	SigningKey ed25519.PrivateKey
	// Origin names the log in its checkpoints (and its key in their
	// signatures): a name without '+' or white space (CheckOrigin), the
	// same for every key the log is ever signed with. Default: the name
	// its checkpoints already carry, or for a log not yet signed
	// civic-ledger/<key ID> of the signing key. A sequencer whose Origin
	// differs from the log's refuses to lead.
	Origin string
	// TrustedKeys are other keys whose checkpoints VerifyRange accepts:
	// those of earlier signing keys, after a key rotation.
	TrustedKeys []ed25519.PublicKey
	// CheckpointEvery is the most entries between two checkpoints (1000).
	CheckpointEvery int64
	// CheckpointInterval is the longest time new entries wait for a
	// checkpoint (1s): the window in which a superuser could delete them
	// unseen by anyone but those who read them meanwhile.
	CheckpointInterval time.Duration
	// BatchSize is the most events the sequencer positions in one
	// transaction (5000).
	BatchSize int
	// SequencerPoll is how often an idle sequencer looks for events it was
	// not told about (50ms).
	SequencerPoll time.Duration
	// SequencerLinger is the longest pause between the starts of two
	// batches while events keep coming (25ms): the most a busy log makes a
	// new event wait for its position, in exchange for fewer, larger
	// batches. The pause is shorter the fewer events the last batch had.
	SequencerLinger time.Duration
	// SubscriberPoll is how often a waiting subscriber checks the log head
	// without a notification (250ms).
	SubscriberPoll time.Duration
	// Logger receives leadership changes and background errors.
	Logger *slog.Logger

	// chainOnly leaves the tree out (no leaves, no nodes): the sequencer
	// as it was before the tree, the baseline BenchmarkSequencer measures
	// the tree's cost against (export_test.go); nothing else sets it.
	chainOnly bool
}

func (o *Options) defaults() {
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.SequencerPoll <= 0 {
		o.SequencerPoll = 50 * time.Millisecond
	}
	if o.SequencerLinger <= 0 {
		o.SequencerLinger = 25 * time.Millisecond
	}
	if o.SubscriberPoll <= 0 {
		o.SubscriberPoll = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Store is the PostgreSQL eventstore.Store. Create it with New, run
// RunSequencer in at least one process per database, and Close it when done.
type Store struct {
	db   *pgxpool.Pool
	opts Options
	// signer signs checkpoints: the signing key under the log's origin;
	// nil without a key. The sequencer sets it when it takes the lead,
	// and only it uses it.
	signer note.Signer
	origin string
	// epoch is this cluster's epoch of the log (0003_epochs.sql), which the
	// sequencer reads when it takes the lead.
	epoch int32
	// takenUp: this process has run eventstore.take_up, as it does before
	// its first append (takeUp).
	takenUp atomic.Bool

	// leading is true while this process's sequencer holds leadership; an
	// append then wakes it directly instead of notifying through the server.
	leading atomic.Bool
	// failure is why this process's sequencer last stopped, nil once it
	// leads again (Status reports it).
	failure atomic.Pointer[failure]
	// wakeSequencer and wakeNotifier take pokes from appends (buffer 1, so
	// a burst of appends costs one wake-up).
	wakeSequencer chan struct{}
	wakeNotifier  chan struct{}

	// heads remembers streams' committed versions, so that most appends
	// need not read the stream's head first.
	heads knownHeads

	// head is the highest position this process has seen sequenced; it lets
	// waiters compare without a query per wake-up.
	head atomic.Int64
	// mu guards sequenced, closed and replaced whenever head may have grown.
	mu        sync.Mutex
	sequenced chan struct{}

	listening sync.Once
	listens   atomic.Bool     // listening has started the listener (KnownHead)
	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

var _ eventstore.Store = (*Store)(nil)

// New returns a store over db, whose schema Migrate has created. It starts
// one background goroutine that forwards wake-ups to a sequencer in another
// process; Close stops it.
func New(db *pgxpool.Pool, opts Options) *Store {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		db:            db,
		opts:          opts,
		wakeSequencer: make(chan struct{}, 1),
		wakeNotifier:  make(chan struct{}, 1),
		sequenced:     make(chan struct{}),
		ctx:           ctx,
		cancel:        cancel,
	}
	s.wg.Add(1)
	go s.notifier()
	return s
}

// CheckOrigin reports whether origin can name a log: a note key name,
// without '+' or white space.
func CheckOrigin(origin string) error {
	_, err := tlog.VerifierKey(origin, make(ed25519.PublicKey, ed25519.PublicKeySize))
	return err
}

// DefaultOrigin is the origin of a log first signed with pub and no
// origin set.
func DefaultOrigin(pub ed25519.PublicKey) string { return "civic-ledger/" + KeyID(pub) }

// Close stops the store's background goroutines. It does not close db.
func (s *Store) Close() {
	s.cancel()
	s.wg.Wait()
}

// poke tells the sequencer that events were committed.
func (s *Store) poke() {
	ch := s.wakeNotifier
	if s.leading.Load() {
		ch = s.wakeSequencer
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// notifier forwards pokes to a sequencer in another process. The NOTIFY runs
// in a transaction of its own, with no transaction ID, so it writes no WAL
// and holds the server's notify lock only for an instant.
func (s *Store) notifier() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wakeNotifier:
		}
		if s.leading.Load() {
			select {
			case s.wakeSequencer <- struct{}{}:
			default:
			}
			continue
		}
		if _, err := s.db.Exec(s.ctx, `SELECT pg_notify($1, '')`, channelAppended); err != nil && s.ctx.Err() == nil {
			s.opts.Logger.Warn("eventstore: notify sequencer", "err", err) // the sequencer's poll covers it
		}
	}
}

// advance records that positions up to pos are sequenced and wakes waiters.
func (s *Store) advance(pos int64) {
	for {
		cur := s.head.Load()
		if pos <= cur {
			return
		}
		if s.head.CompareAndSwap(cur, pos) {
			break
		}
	}
	s.mu.Lock()
	close(s.sequenced)
	s.sequenced = make(chan struct{})
	s.mu.Unlock()
}

func (s *Store) sequencedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sequenced
}

// KeyID names a public key in checkpoints: the first 8 bytes of its SHA-256,
// in hex. Verification picks the key by it, so keys can be rotated.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// ErrNotFirstWrite: AppendTx ran in a transaction that had written before.
// Its transaction ID predates the append, so the append could land behind a
// later transaction's events of the same stream; it is refused and nothing is
// written. Append in a fresh transaction.
var ErrNotFirstWrite = errors.New("append must be the first write of its transaction")

// ErrOutOfOrder: the append's transaction ID is older than the stream's last
// event's, which only a transaction that wrote before its append can cause.
// Retry in a new transaction.
var ErrOutOfOrder = errors.New("append would land behind a later transaction of its stream; retry in a new transaction")
