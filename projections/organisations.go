package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/privacy"
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
// the search column, so a search cannot match across them; version 3
// drops a contact person's name, e-mail and phone when their subject is
// erased, and says so (contact_erased).
func (Organisations) Version() int { return 3 }

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
			contact_erased boolean NOT NULL DEFAULT false,
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
	"privacy.subject_erased":                true,
}

// Apply implements Projection. It folds the batch's events per
// organisation, so a batch costs two statements however many events it
// holds: one INSERT of the organisations registered in it, as the batch
// leaves them, and one UPDATE of those it changes after registration.
//
// Replays stay exact because every event sets a group of columns to
// values of its own (never relative to the old ones): the last event of
// the batch that sets a group decides it, and it applies to a row only
// when it is newer than the row (the row's position is that of the last
// event applied to it). The INSERT does nothing to a row that exists; the
// UPDATE then applies each group on its own, if newer.
func (Organisations) Apply(b *Batch, events []eventstore.Event) error {
	f := orgFold{byID: map[string]*orgChange{}}
	err := b.Each(events, func(se eventstore.Event) error {
		if !orgEvents[se.Type] {
			return nil
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return fmt.Errorf("organisations: %w", err)
		}
		f.add(se, e)
		return nil
	})
	if err != nil {
		return err
	}
	f.queue(b)
	return nil
}

// orgFold is what a batch does to each organisation it touches.
type orgFold struct {
	ids  []string // in the order first seen, for statements that do not depend on map order
	byID map[string]*orgChange
}

// orgChange is one organisation's change in a batch: its columns as the
// batch leaves them, and for each group of columns the position of the
// last event that set it (0: none did).
type orgChange struct {
	regPos                            int64 // the registration's position, 0 when not in the batch
	kind, legalForm, website, founded string
	nameKa, nameEn                    string
	email, phone, address, person     string
	// erased: the contact group's last event erased the contact person;
	// keepAddress: and no contact event of the batch came before it, so
	// the row's address stays as it is.
	erased, keepAddress                      bool
	region, municipality                     string
	status, closedOn, closedReason           string
	registeredAt, updatedAt                  time.Time
	namePos, contactPos, placePos, statusPos int64
	version, position                        int64
}

func (f *orgFold) add(se eventstore.Event, e any) {
	id := ""
	switch e := e.(type) {
	case registry.OrganisationRegistered:
		id = e.ID
	case registry.OrganisationRenamed:
		id = e.ID
	case registry.OrganisationContactChanged:
		id = e.ID
	case registry.OrganisationMoved:
		id = e.ID
	case registry.OrganisationClosed:
		id = e.ID
	case registry.OrganisationReopened:
		id = e.ID
	case privacy.SubjectErased:
		org, isOrg := strings.CutPrefix(e.Subject, "organisation:")
		var isContact bool
		if id, isContact = strings.CutSuffix(org, ":contact"); !isOrg || !isContact {
			return
		}
	default:
		return
	}
	c := f.byID[id]
	if c == nil {
		c = &orgChange{}
		f.byID[id] = c
		f.ids = append(f.ids, id)
	}
	// Each group takes the newest event that sets it, whatever the order
	// the events come in.
	p := se.Position
	switch e := e.(type) {
	case registry.OrganisationRegistered:
		c.regPos, c.registeredAt = p, se.RecordedAt
		c.kind, c.legalForm, c.website, c.founded = string(e.Kind), e.LegalForm, e.Website, e.Founded
		if p > c.namePos {
			c.nameKa, c.nameEn, c.namePos = e.Name.Ka, e.Name.En, p
		}
		if p > c.contactPos {
			c.email, c.phone, c.address, c.person, c.contactPos = e.Contact.Email, e.Contact.Phone, e.Contact.Address, e.Contact.Person, p
			c.erased, c.keepAddress = false, false
		}
		if p > c.placePos {
			c.region, c.municipality, c.placePos = e.Region, e.Municipality, p
		}
		if p > c.statusPos {
			c.status, c.closedOn, c.closedReason, c.statusPos = string(Active), "", "", p
		}
	case registry.OrganisationRenamed:
		if p > c.namePos {
			c.nameKa, c.nameEn, c.namePos = e.Name.Ka, e.Name.En, p
		}
	case registry.OrganisationContactChanged:
		if p > c.contactPos {
			c.email, c.phone, c.address, c.person, c.contactPos = e.Contact.Email, e.Contact.Phone, e.Contact.Address, e.Contact.Person, p
			c.erased, c.keepAddress = false, false
		}
	case privacy.SubjectErased:
		if p > c.contactPos {
			c.keepAddress = c.contactPos == 0
			c.email, c.phone, c.person, c.erased, c.contactPos = "", "", "", true, p
		}
	case registry.OrganisationMoved:
		if p > c.placePos {
			c.region, c.municipality, c.placePos = e.Region, e.Municipality, p
		}
	case registry.OrganisationClosed:
		if p > c.statusPos {
			c.status, c.closedOn, c.closedReason, c.statusPos = string(Closed), e.On, e.Reason, p
		}
	case registry.OrganisationReopened:
		if p > c.statusPos {
			c.status, c.closedOn, c.closedReason, c.statusPos = string(Active), "", "", p
		}
	}
	if p > c.position {
		c.version, c.updatedAt, c.position = se.Version, se.RecordedAt, p
	}
}

const orgInsertSQL = `
	INSERT INTO organisations (id, kind, name_ka, name_en, legal_form, region, municipality,
		email, phone, address, person, website, founded, status, closed_on, closed_reason,
		version, registered_at, updated_at, position, contact_erased)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
		$17::bigint[], $18::timestamptz[], $19::timestamptz[], $20::bigint[], $21::boolean[])
		AS u (id, kind, name_ka, name_en, legal_form, region, municipality, email, phone, address, person,
			website, founded, status, closed_on, closed_reason, version, registered_at, updated_at, position, contact_erased)
	WHERE NOT EXISTS (SELECT FROM organisations o WHERE o.id = u.id)`

const orgUpdateSQL = `
	UPDATE organisations o SET
		name_ka = CASE WHEN o.position < u.name_pos THEN u.name_ka ELSE o.name_ka END,
		name_en = CASE WHEN o.position < u.name_pos THEN u.name_en ELSE o.name_en END,
		email   = CASE WHEN o.position < u.contact_pos THEN u.email ELSE o.email END,
		phone   = CASE WHEN o.position < u.contact_pos THEN u.phone ELSE o.phone END,
		address = CASE WHEN o.position < u.contact_pos AND NOT u.keep_address THEN u.address ELSE o.address END,
		person  = CASE WHEN o.position < u.contact_pos THEN u.person ELSE o.person END,
		contact_erased = CASE WHEN o.position < u.contact_pos THEN u.erased ELSE o.contact_erased END,
		region       = CASE WHEN o.position < u.place_pos THEN u.region ELSE o.region END,
		municipality = CASE WHEN o.position < u.place_pos THEN u.municipality ELSE o.municipality END,
		status        = CASE WHEN o.position < u.status_pos THEN u.status ELSE o.status END,
		closed_on     = CASE WHEN o.position < u.status_pos THEN u.closed_on ELSE o.closed_on END,
		closed_reason = CASE WHEN o.position < u.status_pos THEN u.closed_reason ELSE o.closed_reason END,
		version = u.version, updated_at = u.updated_at, position = u.position
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::text[], $15::text[], $16::text[],
		$17::bigint[], $18::timestamptz[], $19::bigint[], $20::boolean[], $21::boolean[])
		AS u (id, name_pos, name_ka, name_en, contact_pos, email, phone, address, person, place_pos, region,
			municipality, status_pos, status, closed_on, closed_reason, version, updated_at, position, erased, keep_address)
	WHERE o.id = u.id AND o.position < u.position`

// queue queues the fold's INSERT and UPDATE, each only when it has rows.
func (f *orgFold) queue(b *Batch) {
	var ins, upd orgColumns
	for _, id := range f.ids {
		c := f.byID[id]
		if c.regPos != 0 {
			ins.add(id, c)
		}
		if c.position != c.regPos {
			upd.add(id, c)
		}
	}
	if len(ins.id) > 0 {
		b.Queue(orgInsertSQL, ins.id, ins.kind, ins.nameKa, ins.nameEn, ins.legalForm, ins.region, ins.municipality,
			ins.email, ins.phone, ins.address, ins.person, ins.website, ins.founded, ins.status, ins.closedOn, ins.closedReason,
			ins.version, ins.registeredAt, ins.updatedAt, ins.position, ins.erased)
	}
	if len(upd.id) > 0 {
		b.Queue(orgUpdateSQL, upd.id, upd.namePos, upd.nameKa, upd.nameEn, upd.contactPos, upd.email, upd.phone,
			upd.address, upd.person, upd.placePos, upd.region, upd.municipality, upd.statusPos, upd.status,
			upd.closedOn, upd.closedReason, upd.version, upd.updatedAt, upd.position, upd.erased, upd.keepAddress)
	}
}

// orgColumns holds orgChanges column by column, as unnest takes them.
type orgColumns struct {
	id, kind, legalForm, website, founded                []string
	nameKa, nameEn, email, phone, address, person        []string
	region, municipality, status, closedOn, closedReason []string
	registeredAt, updatedAt                              []time.Time
	namePos, contactPos, placePos, statusPos             []int64
	version, position                                    []int64
	erased, keepAddress                                  []bool
}

func (o *orgColumns) add(id string, c *orgChange) {
	o.id = append(o.id, id)
	o.kind, o.legalForm = append(o.kind, c.kind), append(o.legalForm, c.legalForm)
	o.website, o.founded = append(o.website, c.website), append(o.founded, c.founded)
	o.nameKa, o.nameEn = append(o.nameKa, c.nameKa), append(o.nameEn, c.nameEn)
	o.email, o.phone = append(o.email, c.email), append(o.phone, c.phone)
	o.address, o.person = append(o.address, c.address), append(o.person, c.person)
	o.region, o.municipality = append(o.region, c.region), append(o.municipality, c.municipality)
	o.status, o.closedOn, o.closedReason = append(o.status, c.status), append(o.closedOn, c.closedOn), append(o.closedReason, c.closedReason)
	o.registeredAt, o.updatedAt = append(o.registeredAt, c.registeredAt), append(o.updatedAt, c.updatedAt)
	o.namePos, o.contactPos = append(o.namePos, c.namePos), append(o.contactPos, c.contactPos)
	o.placePos, o.statusPos = append(o.placePos, c.placePos), append(o.statusPos, c.statusPos)
	o.version, o.position = append(o.version, c.version), append(o.position, c.position)
	o.erased, o.keepAddress = append(o.erased, c.erased), append(o.keepAddress, c.keepAddress)
}

// Contact is how to reach an organisation, as the read model keeps it.
type Contact struct {
	Email, Phone, Address string
	// Person is the contact person's name.
	Person string
	// Erased: the contact person's name, e-mail and phone were erased
	// (their data subject, registry.ContactSubject, was), and are empty.
	Erased bool
}

// Scope is the organisation's scope, for who may see its contact person:
// its region's hub may.
func (o Organisation) Scope() domain.Scope {
	var s domain.Scope
	if o.Region != nil {
		s.Region = o.Region.Code
	}
	if o.Municipality != nil {
		s.Municipality = o.Municipality.Code
	}
	return s
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
// holds personal data, which the API shows as registry's visibility says.
type Organisation struct {
	ID           string
	Kind         registry.OrganisationKind
	Name         domain.LocalizedText
	LegalForm    string
	Region       *Region
	Municipality *Municipality
	Contact      Contact
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
	o.email, o.phone, o.address, o.person, o.contact_erased, o.website, o.founded, o.status, o.closed_on, o.closed_reason,
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
		&c.Email, &c.Phone, &c.Address, &c.Person, &c.Erased, &o.Website, &o.Founded, &o.Status, &o.ClosedOn, &o.ClosedReason,
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
	// Network keeps the members of a network on MemberOn (YYYY-MM-DD,
	// required with it).
	Network, MemberOn string
}

// check refuses a network filter without a day to be a member on.
func (f OrganisationFilter) check() error {
	if f.Network == "" {
		return nil
	}
	return domain.CheckDate("memberOn", f.MemberOn)
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
	if f.Network != "" {
		*args = append(*args, f.Network, f.MemberOn)
		conds = append(conds, fmt.Sprintf(`EXISTS (SELECT FROM rm.network_periods p WHERE p.network = $%d AND p.organisation = o.id
			AND p.valid_from <= $%[2]d::date AND (p.valid_to IS NULL OR p.valid_to > $%[2]d::date))`, len(*args)-1, len(*args)))
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
	if err := f.check(); err != nil {
		return OrganisationPage{}, err
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
	if err := f.check(); err != nil {
		return 0, err
	}
	var args []any
	where := f.where(&args)
	var n int
	if err := q.DB.QueryRow(ctx, `SELECT count(*) FROM rm.organisations o WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count organisations: %w", err)
	}
	return n, nil
}

// OrganisationsByID returns the organisations with the given IDs, keyed by
// ID; IDs not found are absent.
func (q *Reads) OrganisationsByID(ctx context.Context, ids []string) (map[string]Organisation, error) {
	rows, err := q.DB.Query(ctx, orgFrom+` WHERE o.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("organisations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Organisation, error) { return scanOrganisation(r) })
	if err != nil {
		return nil, fmt.Errorf("organisations: %w", err)
	}
	out := make(map[string]Organisation, len(list))
	for _, o := range list {
		out[o.ID] = o
	}
	return out, nil
}
