package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Sender delivers a notification. The outbox calls it at least once per
// notification: again after an error, and again when the process died
// between sending and recording it, so a Sender that can tell the
// recipient of a repeat (the SMTP sender's Message-ID) should.
type Sender interface {
	// Send delivers n or returns why not; the Dispatcher records the error
	// and tries again later. It must return when ctx ends.
	Send(ctx context.Context, n Notification) error
}

// LogSender writes each notification to a logger: the default, for a
// server with no mail relay, and for development, where the log shows what
// would have been sent.
type LogSender struct {
	// Logger receives the notifications; nil means slog.Default().
	Logger *slog.Logger
}

// Send implements Sender. It never fails.
func (s LogSender) Send(ctx context.Context, n Notification) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "notification", "position", n.Position, "kind", n.Kind, "municipality", n.Municipality,
		"year", n.Year, "attempt", n.Attempts, "subject", n.Subject, "body", n.Body)
	return nil
}

// DispatcherOptions tune a Dispatcher. The zero value of each field means
// its default.
type DispatcherOptions struct {
	// Claim is the most notifications claimed at once (5). They are sent
	// one after the other, so a few keep a slow relay from holding many.
	Claim int
	// Poll is how often the Dispatcher looks for due notifications when it
	// found none (1s).
	Poll time.Duration
	// SendTimeout bounds one Send (30s). A claim lasts long enough for
	// all of its notifications to time out, and one more timeout, after
	// which a notification whose sender died is due again.
	SendTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a failed
	// send (30s and 1h): the first retry after RetryMin, each next one
	// after twice as long, never longer than RetryMax. A notification is
	// retried for as long as it fails, its last error in the outbox.
	RetryMin, RetryMax time.Duration
	// Logger receives sends and failures; nil means slog.Default().
	Logger *slog.Logger
}

func (o *DispatcherOptions) defaults() {
	if o.Claim <= 0 {
		o.Claim = 5
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 30 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Dispatcher sends the outbox's due notifications through a Sender. Run it
// in every server process: each claims a few notifications at a time
// (SELECT ... FOR UPDATE SKIP LOCKED in a short transaction that moves
// them a lease ahead), sends them outside any transaction, and marks each
// sent, or records its error and when to try again. Sending is at least
// once: a process that dies after sending and before recording sends the
// notification again once the lease ends.
//
// No transaction stays open while a message is sent: an open writing
// transaction holds back the event store's sequencer, and with it every
// reader of the log.
type Dispatcher struct {
	db      *pgxpool.Pool
	sender  Sender
	opts    DispatcherOptions
	log     *slog.Logger
	running atomic.Bool
}

// NewDispatcher returns a dispatcher of db's outbox, which Migrate has
// created, through sender.
func NewDispatcher(db *pgxpool.Pool, sender Sender, opts DispatcherOptions) *Dispatcher {
	opts.defaults()
	return &Dispatcher{db: db, sender: sender, opts: opts, log: opts.Logger}
}

// Run sends due notifications until ctx ends, and then returns nil. It
// returns an error only when Run is already running on this Dispatcher.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run is already running on this Dispatcher")
	}
	defer d.running.Store(false)
	wait := d.opts.Poll
	for {
		n, err := d.Dispatch(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			// The outbox unreachable, not a sender failing: try again
			// soon, backing off to half a minute.
			wait = min(2*wait, max(30*time.Second, d.opts.Poll))
			d.log.Error("notify: dispatching notifications", "err", err, "retry_in", wait)
		case n == d.opts.Claim:
			wait = d.opts.Poll
			continue // more may be due
		default:
			wait = d.opts.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// claimSQL claims up to $1 due notifications for a lease of $2
// milliseconds, counting the attempt.
const claimSQL = `UPDATE outbox.notifications n
	SET attempts = n.attempts + 1, last_attempt_at = now(),
		next_attempt_at = now() + $2 * interval '1 millisecond'
	FROM (SELECT position FROM outbox.notifications
		WHERE sent_at IS NULL AND skipped IS NULL AND next_attempt_at <= now()
		ORDER BY next_attempt_at, position
		LIMIT $1
		FOR UPDATE SKIP LOCKED) due
	WHERE n.position = due.position
	RETURNING n.position, n.event_id::text, n.kind, n.municipality, n.year, n.subject, n.body,
		n.occurred_at, n.created_at, n.attempts`

// Dispatch claims the notifications due now, up to DispatcherOptions.Claim
// of them, sends each and records the outcome. It returns how many it
// claimed; an error means the outbox could not be read or written (a
// failed send is not one: it is recorded on its notification).
func (d *Dispatcher) Dispatch(ctx context.Context) (int, error) {
	lease := time.Duration(d.opts.Claim+1) * d.opts.SendTimeout
	rows, err := d.db.Query(ctx, claimSQL, d.opts.Claim, lease.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("claim notifications: %w", err)
	}
	var claimed []Notification
	for rows.Next() {
		var n Notification
		var id, kind string
		if err := rows.Scan(&n.Position, &id, &kind, &n.Municipality, &n.Year, &n.Subject, &n.Body,
			&n.OccurredAt, &n.CreatedAt, &n.Attempts); err != nil {
			rows.Close()
			return 0, fmt.Errorf("claim notifications: %w", err)
		}
		n.Kind = Kind(kind)
		if err := n.EventID.UnmarshalText([]byte(id)); err != nil {
			rows.Close()
			return 0, fmt.Errorf("claim notifications: event ID %q: %w", id, err)
		}
		claimed = append(claimed, n)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("claim notifications: %w", err)
	}
	slices.SortFunc(claimed, func(a, b Notification) int { return cmp.Compare(a.Position, b.Position) })
	for i, n := range claimed {
		if ctx.Err() != nil {
			// Shutting down: what is left is due again at once, for
			// whichever process runs next.
			d.release(claimed[i:], false)
			return len(claimed), ctx.Err()
		}
		if err := d.send(ctx, n); err != nil {
			return len(claimed), err
		}
	}
	return len(claimed), nil
}

// maxErrorLen bounds a stored error message.
const maxErrorLen = 2000

// send sends n and records the outcome.
func (d *Dispatcher) send(ctx context.Context, n Notification) error {
	sendCtx, cancel := context.WithTimeout(ctx, d.opts.SendTimeout)
	sendErr := d.sender.Send(sendCtx, n)
	cancel()
	// Recorded even while shutting down: a send that went out must not be
	// sent again for want of a mark.
	recCtx, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelRec()
	if sendErr == nil {
		// Marked sent whatever the attempt count: a slow sender whose lease
		// ran out still sent it. sent_at is set once.
		if _, err := d.db.Exec(recCtx, `UPDATE outbox.notifications SET sent_at = now(), last_error = NULL
			WHERE position = $1 AND sent_at IS NULL`, n.Position); err != nil {
			return fmt.Errorf("mark notification %d sent: %w", n.Position, err)
		}
		d.log.Info("notify: notification sent", "position", n.Position, "kind", n.Kind, "municipality", n.Municipality, "attempt", n.Attempts)
		return nil
	}
	if ctx.Err() != nil {
		// Interrupted by the shutdown, not failed: due again at once.
		d.release([]Notification{n}, true)
		return ctx.Err()
	}
	msg := sendErr.Error()
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	wait := d.backoff(n.Attempts)
	// Only the current claim records: one whose lease ran out and was
	// claimed again must not overwrite the newer attempt's outcome.
	if _, err := d.db.Exec(recCtx, `UPDATE outbox.notifications
		SET last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond'
		WHERE position = $1 AND attempts = $2 AND sent_at IS NULL`, n.Position, n.Attempts, msg, wait.Milliseconds()); err != nil {
		return fmt.Errorf("record the failure of notification %d: %w", n.Position, err)
	}
	d.log.Warn("notify: sending a notification failed", "position", n.Position, "kind", n.Kind, "municipality", n.Municipality,
		"attempt", n.Attempts, "err", sendErr, "retry_in", wait)
	return nil
}

// backoff is the wait after the attempt-th failed attempt.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	wait := d.opts.RetryMin
	for i := 1; i < attempt && wait < d.opts.RetryMax; i++ {
		wait *= 2
	}
	return min(wait, d.opts.RetryMax)
}

// release makes claimed notifications due again at once. Unless
// attempted, their claim's attempt is not counted, as none was made.
func (d *Dispatcher) release(ns []Notification, attempted bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	uncount := 1
	if attempted {
		uncount = 0
	}
	for _, n := range ns {
		if _, err := d.db.Exec(ctx, `UPDATE outbox.notifications SET next_attempt_at = now(), attempts = attempts - $3
			WHERE position = $1 AND attempts = $2 AND sent_at IS NULL`, n.Position, n.Attempts, uncount); err != nil {
			d.log.Warn("notify: release a claimed notification", "position", n.Position, "err", err)
		}
	}
}
