package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// casCounter counts each application of each event: not idempotent, so a
// second application of an event shows.
type casCounter struct{ failAt int64 }

func (*casCounter) Name() string     { return "counter" }
func (*casCounter) Version() int     { return 1 }
func (*casCounter) Tables() []string { return []string{"counts"} }
func (*casCounter) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TABLE counts (position bigint PRIMARY KEY, n int NOT NULL)`)
	return err
}

// Apply fails on the server at failAt, after the batch's earlier events
// were written.
func (c *casCounter) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(e eventstore.Event) error {
		if e.Position == c.failAt {
			b.Queue(`SELECT $1::text::int`, "boom")
			return nil
		}
		b.Queue(`INSERT INTO counts AS c VALUES ($1, 1) ON CONFLICT (position) DO UPDATE SET n = c.n + 1`, e.Position)
		return nil
	})
}

// TestCheckpointCompareAndSet plays a leader that lost its lock without
// noticing and still has batches in hand: each must be refused, whole.
func TestCheckpointCompareAndSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Pool(t)
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	p := &casCounter{}
	r := NewRunner(db, nil, []Projection{p}, Options{Logger: slog.New(slog.DiscardHandler)})
	if ok, err := insertGeneration(ctx, db, p, 1); err != nil || !ok {
		t.Fatalf("insertGeneration = %v, %v", ok, err)
	}
	g, _, err := loadGeneration(ctx, db, "counter", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := setupGeneration(ctx, db, p, g); err != nil {
		t.Fatal(err)
	}
	var evs []eventstore.Event
	for i := range 8 {
		evs = append(evs, eventstore.Event{Stream: "s-1", Type: "test.counted", Position: int64(i + 1)})
	}
	stale := g

	steps := []struct {
		name   string
		from   *generation
		events []eventstore.Event
		want   error
		at     int // failing event's index, when want is neither nil nor errConflict
	}{
		{name: "first batch", from: &g, events: evs[0:3]},
		{name: "same batch from the old checkpoint", from: &stale, events: evs[0:3], want: errConflict},
		{name: "a batch from a checkpoint never stored", from: &generation{name: "counter", gen: 1, schema: g.schema, position: 1}, events: evs[1:4], want: errConflict},
		{name: "next batch", from: &g, events: evs[3:5]},
		{name: "failing batch", from: &g, events: evs[5:8], want: errors.New("boom"), at: 1},
	}
	for _, s := range steps {
		if s.name == "failing batch" {
			p.failAt = 7
		}
		err := r.applyBatch(ctx, *s.from, build(p, s.events), nil)
		var be *BatchError
		switch {
		case s.want == nil && err != nil, s.want == errConflict && !errors.Is(err, errConflict):
			t.Fatalf("%s: %v; want %v", s.name, err, s.want)
		case s.want != nil && s.want != errConflict && (!errors.As(err, &be) || be.First != s.at || be.Last != s.at ||
			!strings.Contains(err.Error(), s.want.Error()) || !strings.Contains(err.Error(), "event 7 (test.counted in s-1)")):
			t.Fatalf("%s: %v (%+v); want the server's error charged to event 7, at %d", s.name, err, be, s.at)
		}
		if err == nil {
			g.position = s.events[len(s.events)-1].Position
		}
	}

	// A retired generation takes no batch, even from the right checkpoint.
	if _, err := retireGeneration(ctx, db, g, StateBuilding); err != nil {
		t.Fatal(err)
	}
	p.failAt = 0
	if err := r.applyBatch(ctx, g, build(p, evs[5:6]), nil); !errors.Is(err, errConflict) {
		t.Fatalf("batch on a retired generation: %v; want errConflict", err)
	}

	var n, maxN, pos int64
	if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), max(n), (SELECT position FROM projections.generations WHERE name = 'counter')
		FROM %s.counts`, quoteIdent(g.schema))).Scan(&n, &maxN, &pos); err != nil {
		t.Fatal(err)
	}
	if n != 5 || maxN != 1 || pos != 5 {
		t.Fatalf("%d events applied, the most often %d times, checkpoint %d; want events 1..5 once each, checkpoint 5", n, maxN, pos)
	}
}
