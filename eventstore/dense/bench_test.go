package dense_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/dense"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchEvent is the PostgreSQL backend's benchmark event: an organisation
// registered, about 300 bytes.
func benchEvent(i int) eventstore.EventData {
	return eventstore.EventData{
		ID:   eventstore.NewID(),
		Type: "registry.organisation_registered",
		Data: []byte(fmt.Sprintf(`{"name":{"ka":"სამოქალაქო ინტეგრაციის ფონდი","en":"Civic Integration Foundation %d"},"region":"kvemo-kartli","legal_form":"non-commercial legal entity","founded":"2005-01-01"}`, i)),
		Metadata: eventstore.Metadata{
			Actor: "key:bench", Role: "admin", CorrelationID: "0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8f", CommandID: "register-organisation",
		},
	}
}

// backlog appends n events to s in appends of 1,000 over 100 streams and
// returns the last ID.
func backlog(b *testing.B, s eventstore.Store, n int) eventstore.ID {
	var last eventstore.ID
	for i := 0; i < n; i += 1000 {
		evs := make([]eventstore.EventData, min(1000, n-i))
		for j := range evs {
			evs[j] = benchEvent(i + j)
		}
		res, err := s.Append(context.Background(), fmt.Sprintf("organisation-%d", (i/1000)%100), eventstore.Any(), evs...)
		if err != nil {
			b.Fatal(err)
		}
		last = res.LastID
	}
	return last
}

// BenchmarkFollower is the dense follower's cost per event against the
// PostgreSQL sequencer's, in the same run: each indexes a backlog of the
// same events (signing checkpoints every 1,000, leaf hashes, the tree),
// the follower reading them from the in-memory backend with KurrentDB's
// positions, the sequencer from PostgreSQL's events table. Four backlogs,
// follower, sequencer, sequencer, follower, so that what the machine
// does meanwhile weighs on both alike. ratio is the follower's rate over
// the sequencer's.
func BenchmarkFollower(b *testing.B) {
	n := max(b.N, 10_000)
	signer, _, key := keyPair(b)
	type run struct {
		follower bool
		pool     *pgxpool.Pool
		src      *inmem.Store
		last     eventstore.ID
	}
	var runs []run
	for _, follower := range []bool{true, false, false, true} {
		r := run{follower: follower, pool: testdb.Pool(b)}
		if follower {
			if err := dense.Migrate(context.Background(), r.pool); err != nil {
				b.Fatal(err)
			}
			r.src = inmem.NewSparse()
			r.last = backlog(b, r.src, n)
		} else {
			if err := postgres.Migrate(context.Background(), r.pool); err != nil {
				b.Fatal(err)
			}
			w := postgres.New(r.pool, postgres.Options{})
			r.last = backlog(b, w, n)
			w.Close()
		}
		runs = append(runs, r)
	}
	b.ResetTimer()
	var follower, sequencer time.Duration
	for _, r := range runs {
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		var s eventstore.Store
		done := make(chan struct{})
		if r.follower {
			d := dense.New(r.pool, r.src, dense.Options{Signer: signer, Origin: origin})
			go func() { defer close(done); d.RunFollower(ctx) }()
			s = d
		} else {
			p := postgres.New(r.pool, postgres.Options{SigningKey: key})
			go func() { defer close(done); p.RunSequencer(ctx) }()
			s = p
			defer p.Close()
		}
		pos, err := s.AwaitPosition(ctx, r.last)
		took := time.Since(start)
		cancel()
		<-done
		if err != nil || pos != int64(n) {
			b.Fatalf("the last event at %d, %v; want %d", pos, err, n)
		}
		if r.follower {
			follower += took
		} else {
			sequencer += took
		}
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(2*n) / d.Seconds() }
	b.ReportMetric(rate(follower), "follower-events/s")
	b.ReportMetric(rate(sequencer), "sequencer-events/s")
	b.ReportMetric(float64(follower.Nanoseconds())/float64(2*n), "follower-ns/event")
	b.ReportMetric(float64(sequencer.Nanoseconds())/float64(2*n), "sequencer-ns/event")
	b.ReportMetric(rate(follower)/rate(sequencer), "ratio")
}
