package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Activities is the read model of civil-society activities: the calendar
// (one row per activity, as scheduled, moved, cancelled or held), the
// indicators each counts towards, and the attendance as facts for the
// participation trends.
//
// The attendance table holds one row per group of attendees of a held
// activity (alike in sex, age band, sector and minority membership), with
// the activity's own dimensions copied into it (year, month, region,
// municipality, type, project): any grouping of the trends is then one
// scan of one table with no join. Groupings by the activity's dimensions
// alone read the participation table instead: one narrow row per held
// activity with its total: fifteen times fewer rows than the facts in
// the benchmark's history, and none of the calendar's titles, lists and
// JSON, which made scanning the calendar four times slower (see
// docs/PERFORMANCE.md). A held activity always has at
// least one fact row (a row of unrecorded dimensions when nothing is
// known of its attendees, even of none), so the activities of a group are
// the distinct activities among its rows.
type Activities struct{}

var _ Projection = Activities{}

// Name implements Projection.
func (Activities) Name() string { return "activities" }

// Version implements Projection.
func (Activities) Version() int { return 7 }

// Tables implements Projection.
func (Activities) Tables() []string {
	tables := []string{"activities", "activity_links", "participation", "attendance"}
	for _, d := range attendeeColumns {
		tables = append(tables, "attendance_"+d)
	}
	return append(tables, cubeTables()...)
}

// activityDimensions are the columns of an activity's own dimensions in
// every table the trends read: copied in, so no trend needs a join.
const activityDimensions = `day date NOT NULL, year smallint NOT NULL, month smallint NOT NULL, region text NOT NULL,
	municipality text NOT NULL, type text NOT NULL, project text`

// attendeeColumns are the attendee dimensions, each also rolled up into a
// table of its own (attendance_sex, ...): per activity, one row per
// category with attendees (for sex in the benchmark's history, 322,329
// rows against 2,464,253 records). A trend that
// involves one attendee dimension reads its table.
var attendeeColumns = []string{"sex", "age_band", "sector", "ethnic_minority"}

// Setup implements Projection. An activity's no is the log position of
// its scheduling: a unique number, smaller to store and to hash than the
// ID in millions of fact rows. position is the last event applied to the
// row, the guard that makes replays change nothing.
func (Activities) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE activities (
			id            text PRIMARY KEY,
			no            bigint NOT NULL UNIQUE,
			type          text NOT NULL,
			title_ka      text NOT NULL,
			title_en      text NOT NULL,
			topic         text NOT NULL,
			channel       text NOT NULL,
			organisers    text[] NOT NULL,
			project       text,
			cycle         text,
			municipality  text NOT NULL,
			region        text NOT NULL,
			place         text NOT NULL,
			start_on      date NOT NULL,
			end_on        date NOT NULL,
			year          smallint NOT NULL,
			month         smallint NOT NULL,
			status        text NOT NULL,
			reason        text NOT NULL DEFAULT '',
			total         integer,
			groups        jsonb,
			organisations text[] NOT NULL DEFAULT '{}',
			corrections   integer NOT NULL DEFAULT 0,
			notes         text[] NOT NULL DEFAULT '{}',
			position      bigint NOT NULL
		);
		CREATE INDEX activities_calendar ON activities (start_on, id);
		CREATE INDEX activities_cycle ON activities (cycle, start_on, id) WHERE cycle IS NOT NULL;
		CREATE TABLE activity_links (
			activity  text NOT NULL,
			project   text NOT NULL,
			indicator text NOT NULL,
			sector    text NOT NULL,
			sex       text NOT NULL,
			PRIMARY KEY (project, indicator, activity, sector, sex)
		);
		CREATE TABLE participation (
			activity     bigint PRIMARY KEY,
			`+activityDimensions+`,
			total        integer NOT NULL
		);
		CREATE TABLE attendance (
			activity        bigint NOT NULL,
			grp             smallint NOT NULL,
			`+activityDimensions+`,
			sex             text,
			age_band        text,
			sector          text,
			ethnic_minority boolean,
			count           integer NOT NULL,
			PRIMARY KEY (activity, grp)
		);`)
	if err != nil {
		return err
	}
	for _, d := range attendeeColumns {
		kind := "text"
		if d == "ethnic_minority" {
			kind = "boolean"
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`
			CREATE TABLE attendance_%[1]s (
				activity bigint NOT NULL,
				%[3]s,
				%[1]s %[2]s,
				count        integer NOT NULL
			);
			CREATE INDEX attendance_%[1]s_activity ON attendance_%[1]s (activity)`, d, kind, activityDimensions)); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, cubeSetup())
	return err
}

// dropAttendance removes the fact rows of an activity that the held or
// correcting event at $2 is newer than, before holdActivity writes its
// own (one statement cannot delete and re-insert the same keys), and
// stages them to be taken out of the trend cubes.
var dropAttendance = func() string {
	var ctes []string
	for _, t := range append([]string{"participation"}, rollups()...) {
		ctes = append(ctes, fmt.Sprintf(`drop_%[1]s AS (DELETE FROM %[1]s x USING activities a WHERE a.id = $1 AND a.position < $2 AND x.activity = a.no)`, t))
	}
	return `WITH ` + strings.Join(ctes, ",\n") + `,
	d AS (DELETE FROM attendance f USING activities a
		WHERE a.id = $1 AND a.position < $2 AND f.activity = a.no RETURNING f.*)
	INSERT INTO trend_staging (activity, event, sign, day, year, month, region, municipality, type, project, sex, age_band, sector, ethnic_minority, count)
	SELECT activity, $2, -1, day, year, month, region, municipality, type, project, sex, age_band, sector, ethnic_minority, count FROM d`
}()

// rollups are the tables of attendeeColumns.
func rollups() []string {
	var out []string
	for _, d := range attendeeColumns {
		out = append(out, "attendance_"+d)
	}
	return out
}

// holdActivity records a held activity's attendance, or its correction,
// when the row is older than the event: the participation row, the
// groups as fact rows, each attendee dimension's roll-up of them, and the
// fact rows staged for the trend cubes.
var holdActivity = func() string {
	const activityColumns = `a.no, a.start_on, a.year, a.month, a.region, a.municipality, a.type, a.project`
	rollup := make([]string, len(attendeeColumns))
	for i, d := range attendeeColumns {
		rollup[i] = fmt.Sprintf(`up_%[1]s AS (
		INSERT INTO attendance_%[1]s (activity, day, year, month, region, municipality, type, project, %[1]s, count)
		SELECT %[2]s, g.%[1]s, sum(g.n) FROM a, g GROUP BY %[2]s, g.%[1]s)`, d, activityColumns)
	}
	return `
	WITH a AS (
		UPDATE activities SET status = 'held', total = $2, groups = $3, organisations = $4,
			corrections = corrections + $5, position = $6
		WHERE id = $1 AND position < $6
		RETURNING no, start_on, year, month, region, municipality, type, project),
	g AS (
		SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::boolean[], $11::integer[])
			WITH ORDINALITY AS g(sex, age_band, sector, ethnic_minority, n, ord)),
	p AS (
		INSERT INTO participation (activity, day, year, month, region, municipality, type, project, total)
		SELECT no, start_on, year, month, region, municipality, type, project, $2 FROM a),
	` + strings.Join(rollup, ",\n") + `,
	st AS (
		INSERT INTO trend_staging (activity, event, sign, day, year, month, region, municipality, type, project, sex, age_band, sector, ethnic_minority, count)
		SELECT a.no, $6, 1, a.start_on, a.year, a.month, a.region, a.municipality, a.type, a.project,
			g.sex, g.age_band, g.sector, g.ethnic_minority, g.n FROM a, g)
	INSERT INTO attendance (activity, day, year, month, region, municipality, type, project, grp, sex, age_band, sector, ethnic_minority, count)
	SELECT ` + activityColumns + `, g.ord, g.sex, g.age_band, g.sector, g.ethnic_minority, g.n FROM a, g`
}()

// Apply implements Projection.
func (Activities) Apply(b *Batch, events []eventstore.Event) error {
	attended := false // whether the batch staged attendance for the cubes
	err := b.Each(events, func(se eventstore.Event) error {
		if !strings.HasPrefix(se.Type, "activity.") {
			return nil
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return fmt.Errorf("activities: %w", err)
		}
		p := se.Position
		switch e := e.(type) {
		case activity.Scheduled:
			var project *string
			if e.Project != "" {
				project = &e.Project
			}
			year, month := yearMonth(e.Start)
			var cycle *string
			if e.Cycle != "" {
				cycle = &e.Cycle
			}
			b.Queue(`INSERT INTO activities (id, no, type, title_ka, title_en, topic, channel, organisers, project, municipality,
					region, place, start_on, end_on, year, month, status, position, cycle)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'scheduled', $2, $17)
				ON CONFLICT (id) DO NOTHING`,
				e.ID, p, string(e.Type), e.Title.Ka, e.Title.En, e.Topic, e.Channel, nonNilList(e.Organisers), project,
				e.Municipality, e.Region, e.Place, e.Start, e.End, year, month, cycle)
			for _, l := range e.Indicators {
				b.Queue(`INSERT INTO activity_links (activity, project, indicator, sector, sex) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT DO NOTHING`, e.ID, e.Project, l.Indicator, l.Sector, l.Sex)
			}
		case activity.Rescheduled:
			year, month := yearMonth(e.Start)
			b.Queue(`UPDATE activities SET start_on = $2, end_on = $3, year = $4, month = $5, reason = $6, position = $7
				WHERE id = $1 AND position < $7`, e.ID, e.Start, e.End, year, month, e.Reason, p)
		case activity.Cancelled:
			b.Queue(`UPDATE activities SET status = 'cancelled', reason = $2, position = $3 WHERE id = $1 AND position < $3`,
				e.ID, e.Reason, p)
		case activity.Held:
			attended = true
			return queueAttendance(b, e.ID, e.Attendance, 0, p)
		case activity.AttendanceCorrected:
			attended = true
			return queueAttendance(b, e.ID, e.Attendance, 1, p)
		case activity.NoteAdded:
			b.Queue(`UPDATE activities SET notes = array_append(notes, $2), position = $3 WHERE id = $1 AND position < $3`,
				e.ID, e.Note, p)
		default:
			return fmt.Errorf("activities: no handling for event type %s", se.Type)
		}
		return nil
	})
	if err == nil && attended {
		b.Queue(flushCubes)
	}
	return err
}

// queueAttendance queues holdActivity for an attendance: one fact row per
// group with attendees, or one of unrecorded dimensions carrying the total
// when no group has any.
func queueAttendance(b *Batch, id string, at activity.Attendance, correction int, position int64) error {
	groups, err := json.Marshal(nonNilList(at.Groups))
	if err != nil {
		return err
	}
	var sex, age, sector []*string
	var minority []*bool
	var counts []int
	for _, g := range at.Groups {
		if g.Count == 0 {
			continue
		}
		sex, age, sector = append(sex, orNil(g.Sex)), append(age, orNil(g.AgeBand)), append(sector, orNil(g.Sector))
		minority, counts = append(minority, g.EthnicMinority), append(counts, g.Count)
	}
	if len(counts) == 0 {
		sex, age, sector, minority, counts = []*string{nil}, []*string{nil}, []*string{nil}, []*bool{nil}, []int{at.Total}
	}
	b.Queue(dropAttendance, id, position)
	b.Queue(holdActivity, id, at.Total, groups, nonNilList(at.Organisations), correction, position, sex, age, sector, minority, counts)
	return nil
}

// orNil is s, or NULL when empty (not recorded).
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// yearMonth splits a date (YYYY-MM-DD), which the domain has checked.
func yearMonth(day string) (year, month int) {
	fmt.Sscanf(day, "%d-%d", &year, &month)
	return year, month
}

// ActivityInfo is an activity as the calendar shows it.
type ActivityInfo struct {
	ID             string
	Type           activity.Type
	Title          domain.LocalizedText
	Topic, Channel string
	Organisers     []string
	Project        string
	// Cycle is the participatory budget cycle it serves, or "".
	Cycle        string
	Indicators   []activity.IndicatorLink
	Municipality string
	Region       string
	Place        string
	Start, End   string
	Status       activity.Status
	// Reason is why it was cancelled, or last rescheduled.
	Reason string
	// Attendance is nil unless held; Corrections counts its corrections.
	Attendance  *activity.Attendance
	Corrections int
	// Notes are the organisers' notes, oldest first.
	Notes []string
	// Position is the log position of the last event applied to it.
	Position int64
}

// ActivityFilter narrows the calendar. From and To keep the activities
// whose days overlap them; the rest match exactly ("" matches anything).
type ActivityFilter struct {
	From, To     string
	Region       string
	Municipality string
	Types        []activity.Type
	Project      string
	Organiser    string
	Status       activity.Status
	// Cycle keeps the activities serving a participatory budget cycle.
	Cycle string
}

// ActivityPage is a page of the calendar.
type ActivityPage struct {
	Nodes   []ActivityInfo
	Cursors []string
	HasNext bool
}

const activityFrom = `SELECT a.id, a.type, a.title_ka, a.title_en, a.topic, a.channel, a.organisers, coalesce(a.project, ''), coalesce(a.cycle, ''),
		coalesce((SELECT jsonb_agg(jsonb_build_object('indicator', l.indicator, 'sector', l.sector, 'sex', l.sex)
			ORDER BY l.indicator, l.sector, l.sex) FROM rm.activity_links l WHERE l.activity = a.id), '[]'),
		a.municipality, a.region, a.place, a.start_on::text, a.end_on::text, a.status, a.reason, a.total, a.groups,
		a.organisations, a.corrections, a.notes, a.position
	FROM rm.activities a`

func scanActivity(r pgx.CollectableRow) (ActivityInfo, error) {
	var a ActivityInfo
	var total *int
	var groups []activity.Group
	var organisations []string
	err := r.Scan(&a.ID, &a.Type, &a.Title.Ka, &a.Title.En, &a.Topic, &a.Channel, &a.Organisers, &a.Project, &a.Cycle, &a.Indicators,
		&a.Municipality, &a.Region, &a.Place, &a.Start, &a.End, &a.Status, &a.Reason, &total, &groups, &organisations,
		&a.Corrections, &a.Notes, &a.Position)
	if total != nil {
		a.Attendance = &activity.Attendance{Total: *total, Groups: groups, Organisations: organisations}
	}
	return a, err
}

// Activity returns the activity id, nil when there is none.
func (q *Reads) Activity(ctx context.Context, id string) (*ActivityInfo, error) {
	rows, err := q.DB.Query(ctx, activityFrom+` WHERE a.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("activity %s: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, scanActivity)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// Activities returns a page of the calendar, by first day then ID.
func (q *Reads) Activities(ctx context.Context, f ActivityFilter, page Page) (ActivityPage, error) {
	if page.First < 1 || page.First > MaxPage {
		return ActivityPage{}, domain.Errorf(domain.Invalid, "first: %d is outside 1..%d", page.First, MaxPage)
	}
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if err := checkRange(f.From, f.To); err != nil {
		return ActivityPage{}, err
	}
	if f.From != "" {
		add("a.end_on >= $%d", f.From)
	}
	if f.To != "" {
		add("a.start_on <= $%d", f.To)
	}
	if f.Region != "" {
		add("a.region = $%d", f.Region)
	}
	if f.Municipality != "" {
		add("a.municipality = $%d", f.Municipality)
	}
	if len(f.Types) > 0 {
		types := make([]string, len(f.Types))
		for i, t := range f.Types {
			types[i] = string(t)
		}
		add("a.type = ANY($%d)", types)
	}
	if f.Project != "" {
		add("a.project = $%d", f.Project)
	}
	if f.Organiser != "" {
		add("$%d = ANY(a.organisers)", f.Organiser)
	}
	if f.Status != "" {
		add("a.status = $%d", string(f.Status))
	}
	if f.Cycle != "" {
		add("a.cycle = $%d", f.Cycle)
	}
	if page.After != "" {
		c, err := decodeCursor(page.After)
		if err != nil {
			return ActivityPage{}, err
		}
		args = append(args, c.at.Format(domain.DateLayout), c.id)
		conds = append(conds, fmt.Sprintf("(a.start_on, a.id) > ($%d::date, $%d)", len(args)-1, len(args)))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, page.First+1)
	rows, err := q.DB.Query(ctx, activityFrom+where+fmt.Sprintf(" ORDER BY a.start_on, a.id LIMIT $%d", len(args)), args...)
	if err != nil {
		return ActivityPage{}, fmt.Errorf("activities: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanActivity)
	if err != nil {
		return ActivityPage{}, fmt.Errorf("activities: %w", err)
	}
	p := ActivityPage{HasNext: len(list) > page.First, Nodes: list[:min(len(list), page.First)]}
	for _, a := range p.Nodes {
		day, _ := time.Parse(domain.DateLayout, a.Start)
		p.Cursors = append(p.Cursors, cursor{at: day, id: a.ID}.encode())
	}
	return p, nil
}
