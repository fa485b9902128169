package graph

import (
	"context"
	"sync"

	"github.com/civicledger/civicledger/projections"
)

// placeCache holds Georgia's regions and municipalities as the places
// read model last had them, so that the lookups of every request (a
// trend row's region, an activity's municipality) cost no SQL: 12 regions
// and 69 municipalities that change when the registry does, which is a
// few times a decade. It is refreshed when the read model's state
// (projections.Runner.State: its generation and position) has moved, so
// a change is seen as soon as the read model has it, as any read would.
type placeCache struct {
	reads  *projections.Reads
	runner *projections.Runner

	mu    sync.Mutex
	state string
	snap  *placeSnapshot
}

// placeSnapshot is the places at one state of their read model; shared,
// never modified.
type placeSnapshot struct {
	regions        map[string]projections.Region
	municipalities map[string]projections.Municipality
	byRegion       map[string][]projections.Municipality
}

// get returns the places as the read model now has them: the snapshot
// when its state has not moved, else a fresh one. A read started before
// the state was taken may return newer places under an older state; the
// next call then sees the state move and reads again, so nothing is
// served staler than a read of the read model would be.
func (c *placeCache) get(ctx context.Context) (*placeSnapshot, error) {
	state, err := c.runner.State(ctx, "places")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && c.state == state {
		return c.snap, nil
	}
	regions, err := c.reads.Regions(ctx)
	if err != nil {
		return nil, err
	}
	munis, err := c.reads.Municipalities(ctx, "", "")
	if err != nil {
		return nil, err
	}
	s := &placeSnapshot{regions: map[string]projections.Region{}, municipalities: map[string]projections.Municipality{},
		byRegion: map[string][]projections.Municipality{}}
	for _, r := range regions {
		s.regions[r.Code] = r
	}
	for _, m := range munis { // ordered by code, as MunicipalitiesByRegion orders them
		s.municipalities[m.Code] = m
		s.byRegion[m.RegionCode] = append(s.byRegion[m.RegionCode], m)
	}
	c.state, c.snap = state, s
	return s, nil
}

// regionsByCode, municipalitiesByCode and municipalitiesByRegion are the
// loaders' batch functions over the cache, answering as
// projections.Reads' of the same names do (codes not found are absent).
func (c *placeCache) regionsByCode(ctx context.Context, codes []string) (map[string]projections.Region, error) {
	s, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	return pick(s.regions, codes), nil
}

func (c *placeCache) municipalitiesByCode(ctx context.Context, codes []string) (map[string]projections.Municipality, error) {
	s, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	return pick(s.municipalities, codes), nil
}

func (c *placeCache) municipalitiesByRegion(ctx context.Context, regions []string) (map[string][]projections.Municipality, error) {
	s, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	return pick(s.byRegion, regions), nil
}

// pick returns the entries of m under keys.
func pick[V any](m map[string]V, keys []string) map[string]V {
	out := make(map[string]V, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
