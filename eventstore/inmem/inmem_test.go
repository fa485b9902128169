package inmem_test

import (
	"testing"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return inmem.New() })
}
