package budgeting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// BenchmarkVoting casts b.N ballots through 32 ballot boxes at once, each
// a CastBallot through the service (the cycle loaded, the ballot checked,
// the voter's pseudonym made under the cycle's key from the keyring, the
// voter's stream created), against the same number of raw appends of the
// same event to new streams through the event store, in the same run.
func BenchmarkVoting(b *testing.B) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	if err := keyring.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer store.Close()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: keyring.New(pool)}
	svc := &budgeting.Service{Repo: repo}
	sys := on("2023-01-01", domain.Actor{ID: "system:bench", Role: domain.System})
	if _, err := repo.Save(ctx, registry.MunicipalityStream("keda"), 0, sys, registry.MunicipalityRegistered{
		Code: "keda", Name: domain.LocalizedText{Ka: "ქედა", En: "Keda"}, Region: "adjara", Kind: registry.OrdinaryMunicipality}); err != nil {
		b.Fatal(err)
	}
	must := func(_ any, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(svc.OpenCycle(ctx, on("2023-08-01", keda), openCycle(nil)))
	var ideas []string
	for i := range 12 {
		id := fmt.Sprintf("keda-2023-%03d", i+1)
		must(svc.SubmitIdea(ctx, on("2023-09-15", box), idea(id, "dzirula", 1000*gel, nil)))
		must(svc.ReviewIdea(ctx, on("2023-10-20", keda), budgeting.ReviewIdea{ID: id, Feasible: true, Cost: 1000 * gel, Currency: "GEL"}))
		ideas = append(ideas, id)
	}
	must(svc.PublishBallot(ctx, on("2023-11-25", keda), budgeting.PublishBallot{Cycle: cycle, Ideas: ideas}))
	vote := on("2023-12-09", box)

	const boxes = 32
	run := func(cast func(i int) error) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for range boxes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= b.N {
						return
					}
					if err := cast(i); err != nil {
						failed.Store(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	ours := run(func(i int) error {
		_, err := svc.CastBallot(ctx, vote, budgeting.CastBallot{Cycle: cycle, Voter: fmt.Sprintf("voter-%d", i), Pot: "dzirula",
			Projects: []string{ideas[i%12], ideas[(i+5)%12]}, Sex: "female", AgeBand: "30_44"})
		return err
	})
	data, _ := json.Marshal(budgeting.BallotCast{Cycle: cycle, Pot: "dzirula", Voter: "0123456789abcdef0123456789abcdef",
		Projects: []string{ideas[0], ideas[5]}, Sex: "female", AgeBand: "30_44"})
	raw := run(func(i int) error {
		_, err := store.Append(ctx, fmt.Sprintf("rawballot-v%d", i), eventstore.NoStream(),
			eventstore.EventData{Type: "budgeting.ballot_cast", Data: data})
		return err
	})
	b.StopTimer()
	ourRate, rawRate := float64(b.N)/ours.Seconds(), float64(b.N)/raw.Seconds()
	b.ReportMetric(ourRate, "ballots/s")
	b.ReportMetric(rawRate, "raw-appends/s")
	b.ReportMetric(ourRate/rawRate, "ratio")
}
