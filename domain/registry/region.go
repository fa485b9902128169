package registry

import (
	"fmt"

	"github.com/civicledger/civicledger/domain"
)

// Region is a first-level administrative unit of Georgia: one of nine
// regions, two autonomous republics, or Tbilisi. Its zero value is a region
// not registered yet.
type Region struct {
	code    string
	name    domain.LocalizedText
	kind    RegionKind
	capital string
}

// Code returns the region's code, "" when it is not registered.
func (r *Region) Code() string { return r.code }

// Name returns the region's name.
func (r *Region) Name() domain.LocalizedText { return r.name }

// Kind returns the region's kind.
func (r *Region) Kind() RegionKind { return r.kind }

// Capital returns the English name of the region's centre, or "".
func (r *Region) Capital() string { return r.capital }

// Apply implements domain.Aggregate.
func (r *Region) Apply(e domain.Event) error {
	switch e := e.(type) {
	case RegionRegistered:
		if r.code != "" {
			return fmt.Errorf("region %s: registered twice", r.code)
		}
		r.code, r.name, r.kind, r.capital = e.Code, e.Name, e.Kind, e.Capital
	default:
		return fmt.Errorf("region %s: unknown event %s (%T)", r.code, e.EventType(), e)
	}
	return nil
}

// register decides a registration whose input is checked already.
func (r *Region) register(e RegionRegistered) ([]domain.Event, error) {
	if r.code != "" {
		return nil, domain.Errorf(domain.Conflict, "region %s is already registered", r.code)
	}
	return []domain.Event{e}, nil
}
