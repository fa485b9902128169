package registry

import (
	"fmt"

	"github.com/civicledger/civicledger/domain"
)

// Municipality is a unit of local self-government (მუნიციპალიტეტი),
// including the self-governing cities and the municipalities of the
// occupied territories. Its zero value is a municipality not registered yet.
type Municipality struct {
	code       string
	name       domain.LocalizedText
	region     string
	kind       MunicipalityKind
	population *int
}

// Code returns the municipality's code, "" when it is not registered.
func (m *Municipality) Code() string { return m.code }

// Name returns the municipality's name.
func (m *Municipality) Name() domain.LocalizedText { return m.name }

// Region returns the code of the municipality's region.
func (m *Municipality) Region() string { return m.region }

// Kind returns the municipality's kind.
func (m *Municipality) Kind() MunicipalityKind { return m.kind }

// Population2014 returns the 2014 census population, and false when there
// is none (an occupied municipality).
func (m *Municipality) Population2014() (int, bool) {
	if m.population == nil {
		return 0, false
	}
	return *m.population, true
}

// Apply implements domain.Aggregate.
func (m *Municipality) Apply(e domain.Event) error {
	switch e := e.(type) {
	case MunicipalityRegistered:
		if m.code != "" {
			return fmt.Errorf("municipality %s: registered twice", m.code)
		}
		m.code, m.name, m.region, m.kind = e.Code, e.Name, e.Region, e.Kind
		if e.Population2014 != nil {
			n := *e.Population2014 // a copy: the event value is not ours to alias
			m.population = &n
		}
	default:
		return fmt.Errorf("municipality %s: unknown event %s (%T)", m.code, e.EventType(), e)
	}
	return nil
}

// register decides a registration whose input is checked already.
func (m *Municipality) register(e MunicipalityRegistered) ([]domain.Event, error) {
	if m.code != "" {
		return nil, domain.Errorf(domain.Conflict, "municipality %s is already registered", m.code)
	}
	return []domain.Event{e}, nil
}
