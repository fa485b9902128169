package graph

import (
	"context"
	"net/http"
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
}

const loaderWait = time.Millisecond

func newLoaders(reads *projections.Reads) *loaders {
	return &loaders{
		regions:        dataloadgen.NewMappedLoader(reads.RegionsByCode, dataloadgen.WithWait(loaderWait)),
		municipalities: dataloadgen.NewMappedLoader(reads.MunicipalitiesByCode, dataloadgen.WithWait(loaderWait)),
		byRegion:       dataloadgen.NewMappedLoader(reads.MunicipalitiesByRegion, dataloadgen.WithWait(loaderWait)),
	}
}

type loadersKey struct{}

// withLoaders gives each request its own loaders.
func (s *Server) withLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loadersKey{}, newLoaders(s.reads))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func loadersFrom(ctx context.Context) *loaders {
	return ctx.Value(loadersKey{}).(*loaders)
}
