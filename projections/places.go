package projections

import (
	"context"
	"fmt"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Places is the read model of Georgia's regions and municipalities.
type Places struct{}

var _ Projection = Places{}

// Name implements Projection.
func (Places) Name() string { return "places" }

// Version implements Projection.
func (Places) Version() int { return 1 }

// Tables implements Projection.
func (Places) Tables() []string { return []string{"regions", "municipalities"} }

// Setup implements Projection.
func (Places) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE regions (
			code     text PRIMARY KEY,
			name_ka  text NOT NULL,
			name_en  text NOT NULL,
			kind     text NOT NULL,
			capital  text NOT NULL,
			position bigint NOT NULL
		);
		CREATE TABLE municipalities (
			code            text PRIMARY KEY,
			name_ka         text NOT NULL,
			name_en         text NOT NULL,
			kind            text NOT NULL,
			region          text NOT NULL,
			population_2014 integer,
			position        bigint NOT NULL
		);
		CREATE INDEX municipalities_region ON municipalities (region, code);`)
	return err
}

// Apply implements Projection. Each upsert applies only an event newer
// than the row, so replaying a batch changes nothing.
func (Places) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error { return applyPlace(b, se) })
}

func applyPlace(b *Batch, se eventstore.Event) error {
	if se.Type != "registry.region_registered" && se.Type != "registry.municipality_registered" {
		return nil
	}
	e, err := catalog.Types.Decode(se)
	if err != nil {
		return fmt.Errorf("places: %w", err)
	}
	switch e := e.(type) {
	case registry.RegionRegistered:
		b.Queue(`
			INSERT INTO regions (code, name_ka, name_en, kind, capital, position) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (code) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en,
				kind = excluded.kind, capital = excluded.capital, position = excluded.position
			WHERE regions.position < excluded.position`,
			e.Code, e.Name.Ka, e.Name.En, string(e.Kind), e.Capital, se.Position)
	case registry.MunicipalityRegistered:
		b.Queue(`
			INSERT INTO municipalities (code, name_ka, name_en, kind, region, population_2014, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (code) DO UPDATE SET name_ka = excluded.name_ka, name_en = excluded.name_en,
				kind = excluded.kind, region = excluded.region, population_2014 = excluded.population_2014,
				position = excluded.position
			WHERE municipalities.position < excluded.position`,
			e.Code, e.Name.Ka, e.Name.En, string(e.Kind), e.Region, e.Population2014, se.Position)
	}
	return nil
}

// Region is a region as readers see it.
type Region struct {
	Code    string
	Name    domain.LocalizedText
	Kind    registry.RegionKind
	Capital string
	// Population2014 sums its municipalities' census figures; nil when none
	// has one (Abkhazia).
	Population2014 *int
}

// Municipality is a municipality as readers see it.
type Municipality struct {
	Code           string
	Name           domain.LocalizedText
	Kind           registry.MunicipalityKind
	RegionCode     string
	Population2014 *int
}

const regionColumns = `r.code, r.name_ka, r.name_en, r.kind, r.capital,
	(SELECT sum(m.population_2014)::int FROM rm.municipalities m WHERE m.region = r.code)`

func scanRegion(row pgx.Row) (Region, error) {
	var r Region
	err := row.Scan(&r.Code, &r.Name.Ka, &r.Name.En, &r.Kind, &r.Capital, &r.Population2014)
	return r, err
}

// Regions returns every region, in code order.
func (q *Reads) Regions(ctx context.Context) ([]Region, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+regionColumns+` FROM rm.regions r ORDER BY r.code`)
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Region, error) { return scanRegion(r) })
}

// RegionsByCode returns the regions with the given codes, keyed by code;
// codes not found are absent.
func (q *Reads) RegionsByCode(ctx context.Context, codes []string) (map[string]Region, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+regionColumns+` FROM rm.regions r WHERE r.code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Region, error) { return scanRegion(r) })
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	out := make(map[string]Region, len(list))
	for _, r := range list {
		out[r.Code] = r
	}
	return out, nil
}

const municipalityColumns = `m.code, m.name_ka, m.name_en, m.kind, m.region, m.population_2014`

func scanMunicipality(row pgx.Row) (Municipality, error) {
	var m Municipality
	err := row.Scan(&m.Code, &m.Name.Ka, &m.Name.En, &m.Kind, &m.RegionCode, &m.Population2014)
	return m, err
}

// Municipalities returns the municipalities of a region (all when region
// is "") and of a kind (all when kind is ""), in code order.
func (q *Reads) Municipalities(ctx context.Context, region string, kind registry.MunicipalityKind) ([]Municipality, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+municipalityColumns+` FROM rm.municipalities m
		WHERE ($1 = '' OR m.region = $1) AND ($2 = '' OR m.kind = $2) ORDER BY m.code`, region, string(kind))
	if err != nil {
		return nil, fmt.Errorf("municipalities: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Municipality, error) { return scanMunicipality(r) })
}

// MunicipalitiesByCode returns the municipalities with the given codes,
// keyed by code; codes not found are absent.
func (q *Reads) MunicipalitiesByCode(ctx context.Context, codes []string) (map[string]Municipality, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+municipalityColumns+` FROM rm.municipalities m WHERE m.code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("municipalities: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Municipality, error) { return scanMunicipality(r) })
	if err != nil {
		return nil, fmt.Errorf("municipalities: %w", err)
	}
	out := make(map[string]Municipality, len(list))
	for _, m := range list {
		out[m.Code] = m
	}
	return out, nil
}

// MunicipalitiesByRegion returns the municipalities of each of the given
// regions, in code order, keyed by region code.
func (q *Reads) MunicipalitiesByRegion(ctx context.Context, regions []string) (map[string][]Municipality, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+municipalityColumns+` FROM rm.municipalities m
		WHERE m.region = ANY($1) ORDER BY m.region, m.code`, regions)
	if err != nil {
		return nil, fmt.Errorf("municipalities: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Municipality, error) { return scanMunicipality(r) })
	if err != nil {
		return nil, fmt.Errorf("municipalities: %w", err)
	}
	out := make(map[string][]Municipality, len(regions))
	for _, m := range list {
		out[m.RegionCode] = append(out[m.RegionCode], m)
	}
	return out, nil
}
