package keyring_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
)

// BenchmarkPersonalData measures what sealing personal data costs, in the
// same run on the same database, each side taking turns in ten rounds:
//
//   - append: an organisation's registration saved through the domain's
//     repository, one writer, with a contact person (name, e-mail, phone:
//     a key made for the new data subject, three fields sealed) and
//     without one (nothing to seal). sealed-ratio = appends a second with
//     / without.
//   - replay: the registrations read back and opened as the projections
//     and the aggregates do (Types.Unseal over pages of 1,000, one look-up
//     of keys a page, then Decode), those with a contact person against
//     those without. open-ratio = events a second with / without.
//
// b.N is the number of registrations of each kind (use -benchtime 2000x).
func BenchmarkPersonalData(b *testing.B) {
	ctx := context.Background()
	k, pool := newKeyring(b)
	if err := postgres.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	defer store.Close()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: k}
	meta := domain.Meta{Actor: domain.Actor{ID: "system:bench", Role: domain.System}, Now: time.Now()}
	register := func(i int, personal bool) registry.OrganisationRegistered {
		e := registry.OrganisationRegistered{ID: eventstore.NewID().String(), Kind: registry.CSO,
			Name:    domain.LocalizedText{Ka: fmt.Sprintf("ორგანიზაცია %d", i), En: fmt.Sprintf("Organisation %d", i)},
			Contact: registry.Contact{Address: "Rustavi, Kostava St 1"}}
		if personal {
			e.Contact.Person, e.Contact.Email, e.Contact.Phone = "ნინო ბერიძე", fmt.Sprintf("nino%d@example.ge", i), "+995 32 200 00 00"
		}
		return e
	}
	const rounds = 10
	perRound := max(b.N/rounds, 1)
	var took [2]time.Duration
	var streams [2][]string
	b.ResetTimer()
	for r := range rounds {
		for side, personal := range []bool{true, false} {
			start := time.Now()
			for i := range perRound {
				e := register(r*perRound+i, personal)
				stream := registry.OrganisationStream(e.ID)
				if _, err := repo.Save(ctx, stream, 0, meta, e); err != nil {
					b.Fatal(err)
				}
				streams[side] = append(streams[side], stream)
			}
			took[side] += time.Since(start)
		}
	}
	b.StopTimer()
	n := float64(rounds * perRound)
	b.ReportMetric(n/took[0].Seconds(), "sealed-appends/s")
	b.ReportMetric(n/took[1].Seconds(), "plain-appends/s")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "sealed-ratio")

	// Read back as stored, then opened page by page.
	var events [2][]eventstore.Event
	for side := range streams {
		for _, s := range streams[side] {
			got, err := store.ReadStream(ctx, s, eventstore.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			events[side] = append(events[side], got...)
		}
	}
	var open [2]time.Duration
	for range rounds {
		for side := range events {
			page := make([]eventstore.Event, 0, 1000)
			start := time.Now()
			for from := 0; from < len(events[side]); from += 1000 {
				page = append(page[:0], events[side][from:min(from+1000, len(events[side]))]...)
				erased, err := catalog.Types.Unseal(ctx, k, page)
				if err != nil {
					b.Fatal(err)
				}
				for i, e := range page {
					d, err := catalog.Types.Decode(e)
					if err != nil || erased != nil && erased[i] != nil {
						b.Fatalf("decode: %v, erased %v", err, erased)
					}
					if side == 0 && d.(registry.OrganisationRegistered).Contact.Person == "" {
						b.Fatal("the contact person did not open")
					}
				}
			}
			open[side] += time.Since(start)
		}
	}
	m := float64(rounds * len(events[0]))
	b.ReportMetric(m/open[0].Seconds(), "sealed-opened-ev/s")
	b.ReportMetric(m/open[1].Seconds(), "plain-decoded-ev/s")
	b.ReportMetric(open[1].Seconds()/open[0].Seconds(), "open-ratio")
}
