package registry

import (
	"time"

	"github.com/civicledger/civicledger/domain"
)

// RegisterRegion asks to add a region. Service.RegisterRegion handles it.
type RegisterRegion struct {
	// Code is the region's permanent code, a lower-case slug (kvemo-kartli).
	Code string
	Name domain.LocalizedText
	Kind RegionKind
	// Capital is the English name of the region's centre; may be empty.
	Capital string
}

// event checks the input and returns the event a registration records.
func (c RegisterRegion) event() (RegionRegistered, error) {
	if err := checkCode("code", c.Code); err != nil {
		return RegionRegistered{}, err
	}
	name, err := checkName(c.Name)
	if err != nil {
		return RegionRegistered{}, err
	}
	kind, err := ParseRegionKind(string(c.Kind))
	if err != nil {
		return RegionRegistered{}, err
	}
	capital, err := checkText("capital", c.Capital, maxCapital)
	if err != nil {
		return RegionRegistered{}, err
	}
	return RegionRegistered{Code: c.Code, Name: name, Kind: kind, Capital: capital}, nil
}

// RegisterMunicipality asks to add a municipality of a registered region.
// Service.RegisterMunicipality handles it.
type RegisterMunicipality struct {
	// Code is the municipality's permanent code, a lower-case slug (rustavi).
	Code string
	Name domain.LocalizedText
	// Region is the code of a registered region.
	Region string
	Kind   MunicipalityKind
	// Population2014 is the 2014 census total: nil when unknown, and nil for
	// an occupied municipality.
	Population2014 *int
}

// event checks the input and returns the event a registration records.
func (c RegisterMunicipality) event() (MunicipalityRegistered, error) {
	if err := checkCode("code", c.Code); err != nil {
		return MunicipalityRegistered{}, err
	}
	name, err := checkName(c.Name)
	if err != nil {
		return MunicipalityRegistered{}, err
	}
	if err := checkCode("region", c.Region); err != nil {
		return MunicipalityRegistered{}, err
	}
	kind, err := ParseMunicipalityKind(string(c.Kind))
	if err != nil {
		return MunicipalityRegistered{}, err
	}
	var population *int
	if c.Population2014 != nil {
		n := *c.Population2014 // a copy, so the caller's later writes do not reach the event
		switch {
		case n < 0:
			return MunicipalityRegistered{}, invalid("population_2014", "%d is negative", n)
		case kind == OccupiedMunicipality:
			return MunicipalityRegistered{}, invalid("population_2014", "an occupied municipality has no census figure (the 2014 census did not cover it); leave it empty")
		}
		population = &n
	}
	return MunicipalityRegistered{Code: c.Code, Name: name, Region: c.Region, Kind: kind, Population2014: population}, nil
}

// RegisterOrganisation asks to add an organisation.
// Service.RegisterOrganisation handles it.
type RegisterOrganisation struct {
	// ID is the new organisation's ID, a UUID; empty for a new one. A client
	// that supplies it can retry safely: the retry is a Conflict, not a
	// second organisation.
	ID        string
	Kind      OrganisationKind
	Name      domain.LocalizedText
	LegalForm string
	// Region and Municipality are codes, each optional. A municipality
	// alone places the organisation in the municipality's region; both must
	// agree; neither is a national or foreign body.
	Region       string
	Municipality string
	Contact      Contact
	// Website is an absolute http or https URL, or "".
	Website string
	// Founded is the founding date, YYYY-MM-DD, or "".
	Founded string
}

// event checks the input and returns the event a registration records,
// before the place is resolved (Service.place) and without a new ID.
func (c RegisterOrganisation) event(now time.Time) (OrganisationRegistered, error) {
	var e OrganisationRegistered
	var p domain.Problems
	var err error
	if c.ID != "" {
		e.ID, err = checkID(c.ID)
		p.Add(err)
	}
	e.Kind, err = ParseOrganisationKind(string(c.Kind))
	p.Add(err)
	e.Name, err = checkName(c.Name)
	p.Add(err)
	e.LegalForm, err = checkText("legal_form", c.LegalForm, maxLegalForm)
	p.Add(err)
	p.Add(checkOptionalCode("region", c.Region))
	p.Add(checkOptionalCode("municipality", c.Municipality))
	e.Region, e.Municipality = c.Region, c.Municipality
	e.Contact = checkContact(c.Contact, &p)
	e.Website, err = checkWebsite(c.Website)
	p.Add(err)
	e.Founded, err = checkDate("founded", c.Founded, now, false)
	p.Add(err)
	if err := p.Err(); err != nil {
		return OrganisationRegistered{}, err
	}
	return e, nil
}

// RenameOrganisation asks to give an organisation a new name.
// Service.RenameOrganisation handles it.
type RenameOrganisation struct {
	ID string
	// ExpectedVersion is the organisation's version the caller decided on,
	// or 0 to act on whatever version is current.
	ExpectedVersion int64
	Name            domain.LocalizedText
}

// ChangeOrganisationContact asks to replace an organisation's contact
// details as a whole. Service.ChangeOrganisationContact handles it.
type ChangeOrganisationContact struct {
	ID string
	// ExpectedVersion is as in RenameOrganisation.
	ExpectedVersion int64
	Contact         Contact
}

// MoveOrganisation asks to base an organisation elsewhere, by the rules of
// RegisterOrganisation's Region and Municipality.
// Service.MoveOrganisation handles it.
type MoveOrganisation struct {
	ID string
	// ExpectedVersion is as in RenameOrganisation.
	ExpectedVersion int64
	Region          string
	Municipality    string
}

// CloseOrganisation asks to record that an organisation stopped working.
// Service.CloseOrganisation handles it.
type CloseOrganisation struct {
	ID string
	// ExpectedVersion is as in RenameOrganisation.
	ExpectedVersion int64
	// Reason says why, for whoever later meets the organisation in a
	// programme's history.
	Reason string
	// On is the closing date, YYYY-MM-DD.
	On string
}

// ReopenOrganisation asks to record that a closed organisation works again.
// Service.ReopenOrganisation handles it.
type ReopenOrganisation struct {
	ID string
	// ExpectedVersion is as in RenameOrganisation.
	ExpectedVersion int64
	// On is the reopening date, YYYY-MM-DD.
	On string
}
