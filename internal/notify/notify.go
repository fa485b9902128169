// Package notify tells municipalities what the certification workflow
// decided about them: an invitation when one is nominated, the result when
// it is announced, the certificate when one is issued. A Notifier turns
// those events of the log into rows of an outbox, each once; a Dispatcher
// sends the rows through a Sender (the log by default, or SMTP) at least
// once, retrying failures with backoff.
//
// The outbox is not a projection. Projections are rebuilt from position 0
// on a rebuild or a version change, which here would send every
// notification again; the outbox keeps its own checkpoint, and nothing
// rebuilds it.
package notify

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/follow"
	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the outbox's schema. Run it before a
// Notifier, a Dispatcher or ReadStatus.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Apply(ctx, db, "outbox", sub)
	return err
}

// Kind is what a notification tells; senders and operators tell them apart
// by it.
type Kind string

// The kinds of notification, one per event that causes one.
const (
	// Invitation: the municipality was nominated for a cycle and is
	// invited to apply (MunicipalityNominated).
	Invitation Kind = "invitation"
	// Result: the decision on the municipality's application was
	// announced (ResultAnnounced).
	Result Kind = "result"
	// Certificate: the municipality's certificate was issued, with its
	// number and validity (CertificateIssued).
	Certificate Kind = "certificate"
)

// Notification is one message to a municipality, as the outbox holds it.
// Its texts are written when the notification is queued, from the events
// up to the one that caused it, so a resend says the same thing.
type Notification struct {
	// Position is the log position of the event that caused the
	// notification. It identifies the notification: an event causes at
	// most one.
	Position int64
	// EventID is the ID of that event, for tracing a message back to it.
	EventID eventstore.ID
	Kind    Kind
	// Municipality is the code of the municipality told. There is no
	// address in the data: a Sender maps the code to one.
	Municipality string
	// Year is the certification cycle's.
	Year int
	// Subject and Body are in Georgian, then English.
	Subject string
	Body    string
	// OccurredAt is when the causing event occurred (business time).
	OccurredAt time.Time
	// CreatedAt is when the notification was queued.
	CreatedAt time.Time
	// Attempts counts the sending attempts, the one under way included.
	Attempts int
}

// NotifierOptions tune a Notifier. The zero value of each field means its
// default.
type NotifierOptions struct {
	// BatchSize is the most events turned into notifications in one
	// transaction (500).
	BatchSize int
	// RetryMin and RetryMax bound the backoff after a failure to read the
	// log or to write a batch (100ms and 30s). A batch that fails is tried
	// again, never skipped.
	RetryMin, RetryMax time.Duration
	// MaxAge is how old an event, by when it occurred, may be when the
	// notifier reads it and still be news (30 days). An older one, such as
	// an import of a past cycle, or the log of a database the outbox was
	// added to, is queued marked skipped and never sent. Negative: no
	// limit.
	MaxAge time.Duration
	// Types decodes the log (catalog.Types).
	Types *domain.Types
	// Logger receives each notification queued and each failure; nil
	// means slog.Default().
	Logger *slog.Logger
}

// DefaultMaxAge is NotifierOptions.MaxAge's default: a month, long enough
// for a server that was down a while, short enough that no past cycle is
// announced again.
const DefaultMaxAge = 30 * 24 * time.Hour

func (o *NotifierOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	o.BatchSize = min(o.BatchSize, eventstore.MaxReadLimit)
	if o.RetryMin <= 0 {
		o.RetryMin = follow.RetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = follow.RetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Types == nil {
		o.Types = catalog.Types
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Notifier follows the event log from the outbox's checkpoint and queues
// the notifications its events call for. Run it in every server process:
// each batch commits its notifications and moves the checkpoint in one
// transaction, by a compare-and-set on the checkpoint, so when several
// run, one commits each batch and the others, finding the checkpoint moved,
// resume from it. Nothing is queued twice and nothing is skipped, even
// after kill -9.
//
// Why no leader lock (a session advisory lock, as the projections hold):
// the compare-and-set is needed anyway, since a lock held on one
// connection can be lost while a batch commits on another; with it, a
// lock would only save the standby processes reading the log, which for
// the handful of events a day this workflow has costs little, and would
// cost a dedicated connection and a watch over it in every process.
type Notifier struct {
	db      *pgxpool.Pool
	store   eventstore.Store
	opts    NotifierOptions
	log     *slog.Logger
	running atomic.Bool

	backoff follow.Backoff
	// names caches municipality names: a municipality is registered once
	// and never renamed.
	names map[string]domain.LocalizedText
}

// NewNotifier returns a notifier over db, whose outbox Migrate has
// created, and store, the log it follows.
func NewNotifier(db *pgxpool.Pool, store eventstore.Store, opts NotifierOptions) *Notifier {
	opts.defaults()
	return &Notifier{db: db, store: store, opts: opts, log: opts.Logger, names: map[string]domain.LocalizedText{}}
}

// errConflict: another notifier moved the checkpoint.
var errConflict = errors.New("the outbox checkpoint moved elsewhere")

// Run queues notifications until ctx ends, and then returns nil. A failure
// (the log unreadable, a batch that cannot be written) is logged and
// retried with backoff from the checkpoint. It returns an error only when
// Run is already running on this Notifier.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run is already running on this Notifier")
	}
	defer n.running.Store(false)
	n.backoff = follow.Backoff{Min: n.opts.RetryMin, Max: n.opts.RetryMax}
	for {
		err := n.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errConflict) {
			// Another process committed the batch: carry on from there.
			n.log.Debug("notify: checkpoint moved elsewhere; resuming from it")
			continue
		}
		n.log.Error("notify: queueing notifications failed; retrying from the checkpoint", "err", err, "retry_in", n.backoff.Peek())
		if n.backoff.Sleep(ctx) != nil {
			return nil
		}
	}
}

// follow reads the log from the checkpoint and commits batches until an
// error, a conflict or the end of ctx.
func (n *Notifier) follow(ctx context.Context) error {
	var pos int64
	if err := n.db.QueryRow(ctx, `SELECT position FROM outbox.checkpoint`).Scan(&pos); err != nil {
		return fmt.Errorf("read the outbox checkpoint: %w", err)
	}
	feed := follow.Start(ctx, n.store, pos, follow.Options{Ahead: n.opts.BatchSize})
	defer feed.Stop()
	batch := make([]eventstore.Event, 0, n.opts.BatchSize)
	for {
		select {
		case it := <-feed.C():
			e, err := feed.Check(it)
			if err != nil {
				return err
			}
			batch = append(batch[:0], e)
		case <-ctx.Done():
			return ctx.Err()
		}
		var err error
		if batch, err = feed.Drain(batch, n.opts.BatchSize); err != nil {
			return err
		}
		if err := n.commit(ctx, pos, batch); err != nil {
			return err
		}
		pos = batch[len(batch)-1].Position
		n.backoff.Reset()
	}
}

const insertSQL = `INSERT INTO outbox.notifications
	(position, event_id, kind, municipality, year, subject, body, occurred_at, skipped)
	VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9)
	ON CONFLICT (position) DO NOTHING`

// commit queues the notifications of events, which follow the checkpoint
// at from, and moves the checkpoint past them, in one transaction.
func (n *Notifier) commit(ctx context.Context, from int64, events []eventstore.Event) error {
	type queued struct {
		Notification
		skipped string
	}
	var qs []queued
	now := time.Now()
	for _, e := range events {
		nt, ok, err := n.compose(ctx, e)
		if err != nil {
			return fmt.Errorf("position %d (%s): %w", e.Position, e.Type, err)
		}
		if !ok {
			continue
		}
		q := queued{Notification: nt}
		if age := now.Sub(e.OccurredAt); n.opts.MaxAge > 0 && age > n.opts.MaxAge {
			q.skipped = fmt.Sprintf("stale: the event occurred on %s, over %s before it was read",
				e.OccurredAt.In(domain.Tbilisi).Format(time.DateOnly), n.opts.MaxAge)
		}
		qs = append(qs, q)
	}
	to := events[len(events)-1].Position
	var inserted []queued
	err := pgx.BeginFunc(ctx, n.db, func(tx pgx.Tx) error {
		inserted = inserted[:0]
		// First, so that its row lock makes a concurrent batch wait and
		// then find the checkpoint moved, before it inserts anything.
		tag, err := tx.Exec(ctx, `UPDATE outbox.checkpoint SET position = $2, updated_at = now() WHERE position = $1`, from, to)
		if err != nil {
			return fmt.Errorf("move the outbox checkpoint: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errConflict
		}
		for _, q := range qs {
			var skipped *string
			if q.skipped != "" {
				skipped = &q.skipped
			}
			tag, err := tx.Exec(ctx, insertSQL, q.Position, q.EventID.String(), string(q.Kind), q.Municipality, q.Year,
				q.Subject, q.Body, q.OccurredAt, skipped)
			if err != nil {
				return fmt.Errorf("queue the notification of position %d: %w", q.Position, err)
			}
			if tag.RowsAffected() == 1 {
				inserted = append(inserted, q)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	skipped := 0
	for _, q := range inserted {
		if q.skipped != "" {
			skipped++
			n.log.Debug("notify: not sending a notification of an old event", "position", q.Position, "kind", q.Kind,
				"municipality", q.Municipality, "year", q.Year, "reason", q.skipped)
			continue
		}
		n.log.Info("notify: notification queued", "position", q.Position, "kind", q.Kind, "municipality", q.Municipality, "year", q.Year)
	}
	if skipped > 0 {
		// One line, not one per notification: an import of a past cycle
		// makes many.
		n.log.Info("notify: notifications of old events kept but not sent", "count", skipped, "max_age", n.opts.MaxAge,
			"from", from+1, "to", to)
	}
	return nil
}

// composer writes the notification of one event type; Kind is what it
// writes, which must be what the type declares (domain.EventRule.Notifies).
type composer struct {
	kind    Kind
	compose func(n *Notifier, ctx context.Context, e eventstore.Event, ev domain.Event, nt *Notification) error
}

// composers are the event types that cause notifications, by type. The
// catalog declares which types notify, beside their visibility; a test
// holds this table to it, so a type declared to notify without a composer
// here, or composed here without the declaration, fails loudly.
var composers = map[string]composer{
	certification.MunicipalityNominated{}.EventType(): {Invitation, (*Notifier).invitation},
	certification.ResultAnnounced{}.EventType():       {Result, (*Notifier).result},
	certification.CertificateIssued{}.EventType():     {Certificate, (*Notifier).certificate},
}

// compose returns the notification e calls for, and false when it calls
// for none. It reads the event's stream up to e, never past it, so the
// texts are the same whenever e is read.
func (n *Notifier) compose(ctx context.Context, e eventstore.Event) (Notification, bool, error) {
	declared := Kind(n.opts.Types.Notifies(e.Type))
	c, ok := composers[e.Type]
	switch {
	case declared == "" && !ok:
		return Notification{}, false, nil
	case !ok || c.kind != declared:
		return Notification{}, false, fmt.Errorf("%s is declared to notify %q, but notify composes %q for it", e.Type, declared, c.kind)
	}
	ev, err := n.opts.Types.Decode(e)
	if err != nil {
		return Notification{}, false, err
	}
	nt := Notification{Position: e.Position, EventID: e.ID, OccurredAt: e.OccurredAt, Kind: c.kind}
	if err := c.compose(n, ctx, e, ev, &nt); err != nil {
		return Notification{}, false, err
	}
	return nt, true, nil
}

// invitation tells a nominated municipality it may apply, and by when.
func (n *Notifier) invitation(ctx context.Context, e eventstore.Event, dev domain.Event, nt *Notification) error {
	ev, ok := dev.(certification.MunicipalityNominated)
	if !ok {
		return fmt.Errorf("%s decoded as %T", e.Type, dev)
	}
	var c certification.Cycle
	if err := n.fold(ctx, e, &c); err != nil {
		return err
	}
	name, err := n.municipalityName(ctx, ev.Municipality)
	if err != nil {
		return err
	}
	nt.Municipality, nt.Year = ev.Municipality, ev.Year
	nt.Subject, nt.Body = invitationText(name, ev.Year, ev.Reason, c.Schedule().ApplicationDeadline)
	return nil
}

// result tells a municipality the decision on its application.
func (n *Notifier) result(ctx context.Context, e eventstore.Event, dev domain.Event, nt *Notification) error {
	ev, ok := dev.(certification.ResultAnnounced)
	if !ok {
		return fmt.Errorf("%s decoded as %T", e.Type, dev)
	}
	a, name, err := n.application(ctx, e, nt)
	if err != nil {
		return err
	}
	d := a.Decision()
	if d == nil {
		return fmt.Errorf("application %s: a result announced without a decision", ev.ID)
	}
	nt.Subject, nt.Body = resultText(name, a.Year(), ev.ID, ev.On, d)
	return nil
}

// certificate tells a municipality its certificate's number and validity.
func (n *Notifier) certificate(ctx context.Context, e eventstore.Event, dev domain.Event, nt *Notification) error {
	ev, ok := dev.(certification.CertificateIssued)
	if !ok {
		return fmt.Errorf("%s decoded as %T", e.Type, dev)
	}
	a, name, err := n.application(ctx, e, nt)
	if err != nil {
		return err
	}
	nt.Subject, nt.Body = certificateText(name, a.Year(), ev)
	return nil
}

// application folds e's application up to e and addresses nt to its
// municipality, returning the application and the municipality's name.
func (n *Notifier) application(ctx context.Context, e eventstore.Event, nt *Notification) (*certification.Application, domain.LocalizedText, error) {
	var a certification.Application
	if err := n.fold(ctx, e, &a); err != nil {
		return nil, domain.LocalizedText{}, err
	}
	name, err := n.municipalityName(ctx, a.Municipality())
	if err != nil {
		return nil, domain.LocalizedText{}, err
	}
	nt.Municipality, nt.Year = a.Municipality(), a.Year()
	return &a, name, nil
}

// fold applies the events of e's stream up to and including e to agg.
func (n *Notifier) fold(ctx context.Context, e eventstore.Event, agg domain.Aggregate) error {
	events, err := n.store.ReadStream(ctx, e.Stream, eventstore.ReadOptions{From: 1, Limit: int(e.Version)})
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Stream, err)
	}
	if len(events) != int(e.Version) {
		return fmt.Errorf("read %s: %d events before version %d", e.Stream, len(events), e.Version)
	}
	for _, se := range events {
		ev, err := n.opts.Types.Decode(se)
		if err != nil {
			return err
		}
		if err := agg.Apply(ev); err != nil {
			return fmt.Errorf("%s at version %d: %w", e.Stream, se.Version, err)
		}
	}
	return nil
}

// municipalityName returns the registry's name of the municipality with
// code, or the code in both languages when the registry has none (a name
// is for the reader; the code identifies the municipality either way).
func (n *Notifier) municipalityName(ctx context.Context, code string) (domain.LocalizedText, error) {
	if name, ok := n.names[code]; ok {
		return name, nil
	}
	var m registry.Municipality
	events, err := n.store.ReadStream(ctx, registry.MunicipalityStream(code), eventstore.ReadOptions{})
	if err != nil {
		return domain.LocalizedText{}, fmt.Errorf("read municipality %s: %w", code, err)
	}
	for _, se := range events {
		ev, err := n.opts.Types.Decode(se)
		if err != nil {
			return domain.LocalizedText{}, err
		}
		if err := m.Apply(ev); err != nil {
			return domain.LocalizedText{}, fmt.Errorf("municipality %s: %w", code, err)
		}
	}
	name := m.Name()
	if name.Ka == "" {
		name = domain.LocalizedText{Ka: code, En: code}
	}
	if name.En == "" {
		name.En = name.Ka
	}
	n.names[code] = name
	return name, nil
}

// The texts. Georgian first, as everywhere; short and factual, with the
// municipality's name after a label rather than inside a sentence, where
// Georgian would decline it.

// bilingual joins the Georgian and English versions of a subject and of a
// body.
func bilingual(subjectKa, subjectEn string, bodyKa, bodyEn []string) (subject, body string) {
	return subjectKa + " / " + subjectEn, strings.Join(bodyKa, "\n") + "\n\n" + strings.Join(bodyEn, "\n") + "\n"
}

func invitationText(name domain.LocalizedText, year int, reason, deadline string) (string, string) {
	ka := []string{
		"მუნიციპალიტეტი: " + name.Ka,
		fmt.Sprintf("თქვენი მუნიციპალიტეტი წარდგენილია %d წლის სერტიფიცირების ციკლისთვის.", year),
		"წარდგენის საფუძველი: " + reason,
		"წარდგენა განაცხადი არ არის: მონაწილეობისთვის მუნიციპალიტეტმა განაცხადი თავად უნდა შეიტანოს.",
	}
	en := []string{
		"Municipality: " + name.En,
		fmt.Sprintf("Your municipality has been nominated for the %d certification cycle.", year),
		"Reason given: " + reason,
		"A nomination is not an application: to take part, the municipality must apply itself.",
	}
	if deadline != "" {
		ka = append(ka, "განაცხადის შეტანის ბოლო ვადა: "+deadline)
		en = append(en, "Application deadline: "+deadline)
	}
	return bilingual(
		fmt.Sprintf("მოწვევა: მუნიციპალიტეტების სერტიფიცირება %d", year),
		fmt.Sprintf("Invitation: municipality certification %d", year), ka, en)
}

func resultText(name domain.LocalizedText, year int, application, on string, d *certification.DecisionTaken) (string, string) {
	ka := []string{"მუნიციპალიტეტი: " + name.Ka, "განაცხადი: " + application, "შედეგის გამოცხადების თარიღი: " + on}
	en := []string{"Municipality: " + name.En, "Application: " + application, "Announced on: " + on}
	if d.Certified {
		ka = append(ka, "შედეგი: სერტიფიცირებულია. სერტიფიკატის მონაცემებს ცალკე შეტყობინებით მიიღებთ.")
		en = append(en, "Result: certified. The certificate's details follow in a separate message.")
	} else {
		ka = append(ka, "შედეგი: არ არის სერტიფიცირებული.")
		en = append(en, "Result: not certified.")
	}
	if len(d.Recommendations) > 0 {
		ka = append(ka, "რეკომენდაციები:")
		en = append(en, "Recommendations:")
		for _, r := range d.Recommendations {
			ka = append(ka, "- "+r.Ka)
			text := r.En
			if text == "" {
				text = r.Ka
			}
			en = append(en, "- "+text)
		}
	}
	return bilingual(
		fmt.Sprintf("შედეგი: მუნიციპალიტეტების სერტიფიცირება %d", year),
		fmt.Sprintf("Result: municipality certification %d", year), ka, en)
}

func certificateText(name domain.LocalizedText, year int, c certification.CertificateIssued) (string, string) {
	return bilingual(
		fmt.Sprintf("სერტიფიკატი %s: მუნიციპალიტეტების სერტიფიცირება %d", c.Number, year),
		fmt.Sprintf("Certificate %s: municipality certification %d", c.Number, year),
		[]string{
			"მუნიციპალიტეტი: " + name.Ka,
			"სერტიფიკატის ნომერი: " + c.Number,
			fmt.Sprintf("მოქმედების ვადა: %s – %s", c.ValidFrom, c.ValidUntil),
		},
		[]string{
			"Municipality: " + name.En,
			"Certificate number: " + c.Number,
			fmt.Sprintf("Valid from %s to %s", c.ValidFrom, c.ValidUntil),
		})
}

// Status is the outbox's state, for readiness and metrics.
type Status struct {
	// Position is the checkpoint: the last log position turned into
	// notifications.
	Position int64
	// Pending counts notifications to send; Failing, those among them
	// whose last attempt failed; Skipped, those never to be sent.
	Pending, Failing, Skipped int64
	// OldestPending is how long the oldest pending notification has waited
	// since it was queued; 0 when none waits.
	OldestPending time.Duration
}

// ReadStatus returns the outbox's state.
func ReadStatus(ctx context.Context, db *pgxpool.Pool) (Status, error) {
	var s Status
	var oldest float64
	err := db.QueryRow(ctx, `SELECT
			(SELECT position FROM outbox.checkpoint),
			count(*) FILTER (WHERE skipped IS NULL),
			count(*) FILTER (WHERE skipped IS NULL AND last_error IS NOT NULL),
			count(*) FILTER (WHERE skipped IS NOT NULL),
			coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE skipped IS NULL)), 0)::float8
		FROM outbox.notifications WHERE sent_at IS NULL`).Scan(&s.Position, &s.Pending, &s.Failing, &s.Skipped, &oldest)
	if err != nil {
		return Status{}, fmt.Errorf("outbox status: %w", err)
	}
	s.OldestPending = time.Duration(oldest * float64(time.Second))
	return s, nil
}
