package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Organisations is the read model of the organisation registry.
type Organisations struct{}

var _ Projection = Organisations{}

// Name implements Projection.
func (Organisations) Name() string { return "organisations" }

// Version implements Projection. Version 2 keeps the two names apart in
// the search column, so a search cannot match across them.
func (Organisations) Version() int { return 2 }

// Tables implements Projection.
func (Organisations) Tables() []string { return []string{"organisations"} }

// Setup implements Projection. search holds both names in lower case,
// a line apart (search terms never hold a line break), for substring
// search; a trigram index serves it where pg_trgm is installed.
func (Organisations) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE organisations (
			id            text PRIMARY KEY,
			kind          text NOT NULL,
			name_ka       text NOT NULL,
			name_en       text NOT NULL,
			legal_form    text NOT NULL,
			region        text NOT NULL,
			municipality  text NOT NULL,
			email         text NOT NULL,
			phone         text NOT NULL,
			address       text NOT NULL,
			person        text NOT NULL,
			website       text NOT NULL,
			founded       text NOT NULL,
			status        text NOT NULL,
			closed_on     text NOT NULL DEFAULT '',
			closed_reason text NOT NULL DEFAULT '',
			version       bigint NOT NULL,
			registered_at timestamptz NOT NULL,
			updated_at    timestamptz NOT NULL,
			position      bigint NOT NULL,
			search        text GENERATED ALWAYS AS (lower(name_ka || E'\n' || name_en)) STORED
		);
		CREATE INDEX organisations_newest ON organisations (registered_at DESC, id DESC);
		CREATE INDEX organisations_place ON organisations (region, municipality);`)
	if err != nil {
		return err
	}
	var trgm bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')`).Scan(&trgm); err != nil {
		return err
	}
	if trgm {
		_, err = tx.Exec(ctx, `CREATE INDEX organisations_search ON organisations USING gin (search gin_trgm_ops)`)
	}
	return err
}

// orgEvents are the events this projection reads.
var orgEvents = map[string]bool{
	"registry.organisation_registered":      true,
	"registry.organisation_renamed":         true,
	"registry.organisation_contact_changed": true,
	"registry.organisation_moved":           true,
	"registry.organisation_closed":          true,
	"registry.organisation_reopened":        true,
}

// Handle implements Projection. Registration inserts once; every later
// event updates only a row it is newer than, so replays change nothing.
func (Organisations) Handle(ctx context.Context, tx pgx.Tx, se eventstore.Event) error {
	if !orgEvents[se.Type] {
		return nil
	}
	e, err := catalog.Types.Decode(se)
	if err != nil {
		return err
	}
	const guard = ` version = $2, updated_at = $3, position = $4 WHERE id = $1 AND position < $4`
	args := []any{"", se.Version, se.RecordedAt, se.Position}
	switch e := e.(type) {
	case registry.OrganisationRegistered:
		c := e.Contact
		_, err = tx.Exec(ctx, `
			INSERT INTO organisations (id, kind, name_ka, name_en, legal_form, region, municipality,
				email, phone, address, person, website, founded, status, version, registered_at, updated_at, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15, $15, $16)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, string(e.Kind), e.Name.Ka, e.Name.En, e.LegalForm, e.Region, e.Municipality,
			c.Email, c.Phone, c.Address, c.Person, e.Website, e.Founded, se.Version, se.RecordedAt, se.Position)
	case registry.OrganisationRenamed:
		args[0] = e.ID
		_, err = tx.Exec(ctx, `UPDATE organisations SET name_ka = $5, name_en = $6,`+guard, append(args, e.Name.Ka, e.Name.En)...)
	case registry.OrganisationContactChanged:
		args[0] = e.ID
		c := e.Contact
		_, err = tx.Exec(ctx, `UPDATE organisations SET email = $5, phone = $6, address = $7, person = $8,`+guard,
			append(args, c.Email, c.Phone, c.Address, c.Person)...)
	case registry.OrganisationMoved:
		args[0] = e.ID
		_, err = tx.Exec(ctx, `UPDATE organisations SET region = $5, municipality = $6,`+guard, append(args, e.Region, e.Municipality)...)
	case registry.OrganisationClosed:
		args[0] = e.ID
		_, err = tx.Exec(ctx, `UPDATE organisations SET status = 'closed', closed_on = $5, closed_reason = $6,`+guard,
			append(args, e.On, e.Reason)...)
	case registry.OrganisationReopened:
		args[0] = e.ID
		_, err = tx.Exec(ctx, `UPDATE organisations SET status = 'active', closed_on = '', closed_reason = '',`+guard, args...)
	}
	if err != nil {
		return fmt.Errorf("organisations: %s at %d: %w", se.Type, se.Position, err)
	}
	return nil
}

// OrganisationStatus says whether an organisation works.
type OrganisationStatus string

// The organisation statuses.
const (
	Active OrganisationStatus = "active"
	Closed OrganisationStatus = "closed"
)

// Organisation is an organisation as readers see it, with its region and
// municipality (nil when it has none): every list of organisations shows
// where they are, and one join is cheaper than a lookup per row. Contact
// is personal data: the API shows it to signed-in callers only.
type Organisation struct {
	ID           string
	Kind         registry.OrganisationKind
	Name         domain.LocalizedText
	LegalForm    string
	Region       *Region
	Municipality *Municipality
	Contact      registry.Contact
	Website      string
	// Founded and ClosedOn are dates, YYYY-MM-DD, or "".
	Founded      string
	Status       OrganisationStatus
	ClosedOn     string
	ClosedReason string
	Version      int64
	RegisteredAt time.Time
	UpdatedAt    time.Time
}

// orgFrom selects organisations with their places. A region's population
// is not fetched here: no list of organisations shows it, and a region
// fetched alone (Regions, RegionsByCode) has it.
const orgFrom = `SELECT o.id, o.kind, o.name_ka, o.name_en, o.legal_form,
	r.code, r.name_ka, r.name_en, r.kind, r.capital,
	m.code, m.name_ka, m.name_en, m.kind, m.region, m.population_2014,
	o.email, o.phone, o.address, o.person, o.website, o.founded, o.status, o.closed_on, o.closed_reason,
	o.version, o.registered_at, o.updated_at
	FROM rm.organisations o
	LEFT JOIN rm.regions r ON r.code = o.region
	LEFT JOIN rm.municipalities m ON m.code = o.municipality`

func scanOrganisation(row pgx.Row) (Organisation, error) {
	var o Organisation
	var reg struct {
		code, ka, en, kind, capital *string
	}
	var mun struct {
		code, ka, en, kind, region *string
		pop                        *int
	}
	c := &o.Contact
	err := row.Scan(&o.ID, &o.Kind, &o.Name.Ka, &o.Name.En, &o.LegalForm,
		&reg.code, &reg.ka, &reg.en, &reg.kind, &reg.capital,
		&mun.code, &mun.ka, &mun.en, &mun.kind, &mun.region, &mun.pop,
		&c.Email, &c.Phone, &c.Address, &c.Person, &o.Website, &o.Founded, &o.Status, &o.ClosedOn, &o.ClosedReason,
		&o.Version, &o.RegisteredAt, &o.UpdatedAt)
	if reg.code != nil {
		o.Region = &Region{Code: *reg.code, Name: domain.LocalizedText{Ka: *reg.ka, En: *reg.en},
			Kind: registry.RegionKind(*reg.kind), Capital: *reg.capital}
	}
	if mun.code != nil {
		o.Municipality = &Municipality{Code: *mun.code, Name: domain.LocalizedText{Ka: *mun.ka, En: *mun.en},
			Kind: registry.MunicipalityKind(*mun.kind), RegionCode: *mun.region, Population2014: mun.pop}
	}
	return o, err
}

// Organisation returns one organisation, or a NotFound error.
func (q *Reads) Organisation(ctx context.Context, id string) (Organisation, error) {
	o, err := scanOrganisation(q.DB.QueryRow(ctx, orgFrom+` WHERE o.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, domain.Errorf(domain.NotFound, "organisation %q not found", id)
	}
	if err != nil {
		return o, fmt.Errorf("organisation %s: %w", id, err)
	}
	return o, nil
}

// OrganisationFilter selects organisations; zero fields select all.
type OrganisationFilter struct {
	// Search matches part of the Georgian or English name, any case.
	Search       string
	Kinds        []registry.OrganisationKind
	Region       string
	Municipality string
	// Status is Active, Closed or "" (either).
	Status OrganisationStatus
}

func (f OrganisationFilter) where(args *[]any) string {
	var conds []string
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, fmt.Sprintf(cond, len(*args)))
	}
	if s := strings.ToLower(strings.Join(strings.Fields(f.Search), " ")); s != "" {
		add("o.search LIKE $%d", "%"+escapeLike(s)+"%")
	}
	if len(f.Kinds) > 0 {
		kinds := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		add("o.kind = ANY($%d)", kinds)
	}
	if f.Region != "" {
		add("o.region = $%d", f.Region)
	}
	if f.Municipality != "" {
		add("o.municipality = $%d", f.Municipality)
	}
	if f.Status != "" {
		add("o.status = $%d", string(f.Status))
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// escapeLike makes LIKE's wildcards in user input match themselves.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// OrganisationPage is a page of organisations with each row's cursor.
type OrganisationPage struct {
	Nodes   []Organisation
	Cursors []string
	HasNext bool
}

// Organisations returns a page of the organisations matching f, newest
// first, by keyset: the page after a cursor is as cheap as the first.
func (q *Reads) Organisations(ctx context.Context, f OrganisationFilter, page Page) (OrganisationPage, error) {
	if page.First < 1 || page.First > MaxPage {
		return OrganisationPage{}, domain.Errorf(domain.Invalid, "first: %d is outside 1..%d", page.First, MaxPage)
	}
	var args []any
	where := f.where(&args)
	if page.After != "" {
		c, err := decodeCursor(page.After)
		if err != nil {
			return OrganisationPage{}, err
		}
		args = append(args, c.at, c.id)
		where += fmt.Sprintf(" AND (o.registered_at, o.id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, page.First+1)
	rows, err := q.DB.Query(ctx, orgFrom+` WHERE `+where+
		fmt.Sprintf(` ORDER BY o.registered_at DESC, o.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return OrganisationPage{}, fmt.Errorf("organisations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Organisation, error) { return scanOrganisation(r) })
	if err != nil {
		return OrganisationPage{}, fmt.Errorf("organisations: %w", err)
	}
	p := OrganisationPage{HasNext: len(list) > page.First}
	p.Nodes = list[:min(len(list), page.First)]
	p.Cursors = make([]string, len(p.Nodes))
	for i, o := range p.Nodes {
		p.Cursors[i] = cursor{at: o.RegisteredAt, id: o.ID}.encode()
	}
	return p, nil
}

// CountOrganisations counts the organisations matching f.
func (q *Reads) CountOrganisations(ctx context.Context, f OrganisationFilter) (int, error) {
	var args []any
	where := f.where(&args)
	var n int
	if err := q.DB.QueryRow(ctx, `SELECT count(*) FROM rm.organisations o WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count organisations: %w", err)
	}
	return n, nil
}
