package graph

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/civicledger/civicledger/projections"
	"github.com/vikstrous/dataloadgen"
)

// loaders batch the lookups a list makes per row (an organisation's region
// and municipality, a region's municipalities) into one query per list.
// They live for one request, so they cache nothing across requests.
type loaders struct {
	regions        *dataloadgen.Loader[string, projections.Region]
	municipalities *dataloadgen.Loader[string, projections.Municipality]
	byRegion       *dataloadgen.Loader[string, []projections.Municipality]
	organisations  *dataloadgen.Loader[string, projections.Organisation]
	projects       *dataloadgen.Loader[string, projections.ProjectInfo]
	networks       *dataloadgen.Loader[string, projections.NetworkInfo]
	memberships    *dataloadgen.Loader[projections.MembershipKey, []projections.MembershipPeriod]
	// budgetCycles are the cycles of the ideas a request shows (each
	// idea's amounts are in its cycle's currency); cycleIdeas, every idea
	// of a cycle by ID, for its ballot and results.
	budgetCycles *dataloadgen.Loader[string, projections.BudgetCycle]
	cycleIdeas   *dataloadgen.Loader[string, map[string]projections.BudgetIdea]
}

const loaderWait = time.Millisecond

// newLoaders makes a request's loaders; with places (a server with a
// projection runner), regions and municipalities come from its cache.
func newLoaders(reads *projections.Reads, places *placeCache) *loaders {
	regions, municipalities, byRegion := reads.RegionsByCode, reads.MunicipalitiesByCode, reads.MunicipalitiesByRegion
	if places != nil {
		regions, municipalities, byRegion = places.regionsByCode, places.municipalitiesByCode, places.municipalitiesByRegion
	}
	return &loaders{
		regions:        dataloadgen.NewMappedLoader(regions, dataloadgen.WithWait(loaderWait)),
		municipalities: dataloadgen.NewMappedLoader(municipalities, dataloadgen.WithWait(loaderWait)),
		byRegion:       dataloadgen.NewMappedLoader(byRegion, dataloadgen.WithWait(loaderWait)),
		organisations:  dataloadgen.NewMappedLoader(reads.OrganisationsByID, dataloadgen.WithWait(loaderWait)),
		projects:       dataloadgen.NewMappedLoader(reads.ProjectsByID, dataloadgen.WithWait(loaderWait)),
		networks:       dataloadgen.NewMappedLoader(reads.NetworksByID, dataloadgen.WithWait(loaderWait)),
		memberships:    dataloadgen.NewMappedLoader(reads.MembershipsOf, dataloadgen.WithWait(loaderWait)),
		budgetCycles:   dataloadgen.NewMappedLoader(budgetCyclesByID(reads), dataloadgen.WithWait(loaderWait)),
		cycleIdeas:     dataloadgen.NewMappedLoader(cycleIdeasByID(reads), dataloadgen.WithWait(loaderWait)),
	}
}

type loadersKey struct{}

// lazyLoaders makes a request's loaders when it first needs them: most
// requests never do, and a loader is a few allocations.
type lazyLoaders struct {
	once   sync.Once
	reads  *projections.Reads
	places *placeCache // nil: no cache
	l      *loaders
}

// withLoaders gives each request its own loaders.
func (s *Server) withLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loadersKey{}, &lazyLoaders{reads: s.reads, places: s.places})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func loadersFrom(ctx context.Context) *loaders {
	lz := ctx.Value(loadersKey{}).(*lazyLoaders)
	lz.once.Do(func() { lz.l = newLoaders(lz.reads, lz.places) })
	return lz.l
}
