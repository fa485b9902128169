//go:build kurrent

package dense_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/kurrent"
	"github.com/civicledger/civicledger/eventstore/storetest"
)

var (
	runID   = strconv.FormatInt(time.Now().UnixNano(), 36)
	nsCount atomic.Int64
)

// TestKurrentConformance holds the dense log over a real KurrentDB (at
// KURRENTDB_URL, a new namespace for each test) to the full contract, as
// over inmem.NewSparse: what the server runs with CIVIC_EVENTSTORE=kurrent.
// It fails, never skips, without KURRENTDB_URL (make test-kurrent).
func TestKurrentConformance(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Fatal("KURRENTDB_URL is not set: make test-kurrent runs this against a KurrentDB (docker compose --profile kurrent up kurrentdb)")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		src, err := kurrent.Open(context.Background(), url, kurrent.Options{
			Namespace: "d" + runID + "n" + strconv.FormatInt(nsCount.Add(1), 36), NewNamespace: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(src.Close)
		s, _ := start(t, newPool(t), src, signed(t))
		return s
	}, storetest.Capabilities{})
}
