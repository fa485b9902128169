package inmem_test

import (
	"context"

	"testing"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return inmem.New() }, storetest.Capabilities{})
}

// TestConformanceSparse holds KurrentDB's shape, as NewSparse gives it,
// to the contract: the suite checks that its positions are indeed not
// dense.
func TestConformanceSparse(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return inmem.NewSparse() },
		storetest.Capabilities{SparsePositions: true, NoHashes: true})
}

// TestSparseTakesOnlyItsPositions: as KurrentDB reads $all only from a
// record's start, NewSparse refuses a position it did not give, so that
// code computing one (a position minus one) fails here and not in
// production.
func TestSparseTakesOnlyItsPositions(t *testing.T) {
	ctx := context.Background()
	s := inmem.NewSparse()
	for range 3 {
		if _, err := s.Append(ctx, "org-1", eventstore.Any(), eventstore.EventData{Type: "test.happened", Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("ReadAll = %d events, %v", len(all), err)
	}
	for _, after := range []int64{all[0].Position, all[1].Position} {
		if _, err := s.ReadAll(ctx, after, 10); err != nil {
			t.Errorf("ReadAll(%d), a position it gave: %v", after, err)
		}
	}
	for _, after := range []int64{1, all[1].Position - 1, all[2].Position + 1} {
		if _, err := s.ReadAll(ctx, after, 10); err == nil {
			t.Errorf("ReadAll(%d), a position it did not give: no error", after)
		}
		if _, err := s.ReadCategory(ctx, "org", after, 10); err == nil {
			t.Errorf("ReadCategory(%d), a position it did not give: no error", after)
		}
	}
}
