package inmem_test

import (
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
