package seed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// historyActor records the generated history: the platform, not a person,
// since no one reported these activities.
var historyActor = domain.Actor{ID: "system:seed-history", Role: domain.System}

// historyCorrelation ties every event of a generated history together.
const historyCorrelation = CorrelationPrefix + "history"

// HistoryOptions says what History generates.
type HistoryOptions struct {
	// From and To are the first and last years of the activities' first
	// days, inclusive. Give years that are over: a held activity is a
	// past one.
	From, To int
	// Activities is how many activities to generate in all.
	Activities int
	// Seed picks the history: the same options give the same events.
	Seed int64
	// Concurrency is how many appends are in flight at once; less than 1
	// means 1.
	Concurrency int
	// Organisers are the IDs of registered organisations that organise
	// the activities, by region code: an activity is organised by one of
	// its region's, or by one of those under "" where its region has
	// none. CivilOrganisers gives the demo's hubs and consortium.
	Organisers map[string][]string
}

// HistoryReport says what History appended. Its zero value means nothing
// was appended because the history was there already.
type HistoryReport struct {
	// Activities counts the activities appended; Held and Cancelled,
	// those among them held or cancelled; Rescheduled, the held ones that
	// were moved first; Corrected, the held ones whose attendance was
	// corrected.
	Activities, Held, Cancelled, Rescheduled, Corrected int
	// Groups and Attendees are those of the attendances as they stand,
	// after corrections.
	Groups    int
	Attendees int64
	// Events counts the events appended.
	Events int
}

// add adds what one activity appended.
func (r *HistoryReport) add(a *historyActivity) {
	r.Activities++
	r.Events += len(a.events)
	switch {
	case a.cancelled:
		r.Cancelled++
		return
	case a.rescheduled:
		r.Rescheduled++
	}
	r.Held++
	if a.corrected {
		r.Corrected++
	}
	r.Groups += len(a.attendance.Groups)
	r.Attendees += int64(a.attendance.Total)
}

func (r *HistoryReport) merge(o HistoryReport) {
	r.Activities += o.Activities
	r.Held += o.Held
	r.Cancelled += o.Cancelled
	r.Rescheduled += o.Rescheduled
	r.Corrected += o.Corrected
	r.Groups += o.Groups
	r.Attendees += o.Attendees
	r.Events += o.Events
}

// History appends an illustrative history of activities: opts.Activities
// of them, of every type, over the years From to To, in every municipality
// of the registry outside the occupied territories (more in the populous
// ones), each organised by an organisation of its region. About 95% are
// held, with 5 to 60 attendees split into groups by sex, age band, sector
// and ethnic-minority membership (about 14 groups on average; minorities
// are a larger share in Kvemo Kartli and Samtskhe-Javakheti), 3% of those
// moved first and 2% corrected after; the rest are cancelled. Every title
// and reason is marked illustrative. It serves the demo (a few thousand)
// and benchmarks (150,000 activities give over two million groups).
//
// For speed it does not go through activity.Service, which loads several
// streams for each command: it builds the events itself, as the service
// would decide them (each attendance checked by Attendance.Validate, the
// region taken from the municipality), and appends each activity's events
// at once to its new stream, as "system:seed-history", on the day of the
// activity's last event (Meta.Now and OccurredAt), with opts.Concurrency
// appends in flight. Nothing in it is random but the seed: activity i is
// drawn from (Seed, i) alone, so the same options give the same events
// whatever the concurrency. IDs read hist-<year>-<number>.
//
// The registry must be loaded first (see Registry). It appends nothing
// when the history's first activity exists, which it appends last, so
// every start of a server may call it; a load that stopped part way is
// completed by the next, which skips the activities it finds.
func History(ctx context.Context, repo *domain.Repository, opts HistoryOptions) (HistoryReport, error) {
	h, err := newHistory(ctx, repo, opts)
	if err != nil {
		return HistoryReport{}, err
	}
	first, err := h.activity(0)
	if err != nil {
		return HistoryReport{}, err
	}
	done, err := repo.Store.ReadStream(ctx, activity.Stream(first.id), eventstore.ReadOptions{Limit: 1})
	if err != nil {
		return HistoryReport{}, fmt.Errorf("history: %w", err)
	}
	if len(done) > 0 {
		return HistoryReport{}, nil
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu  sync.Mutex
		rep HistoryReport
		wg  sync.WaitGroup
	)
	next := make(chan int)
	for range max(opts.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine HistoryReport
			defer func() { mu.Lock(); rep.merge(mine); mu.Unlock() }()
			for i := range next {
				a, err := h.activity(i)
				if err == nil {
					var saved bool
					saved, err = h.save(ctx, a)
					if saved {
						mine.add(a)
					}
				}
				if err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
feed:
	for i := 1; i < opts.Activities; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return rep, err
	}
	// The first activity last: its stream says the whole history is in.
	saved, err := h.save(ctx, first)
	if saved {
		rep.add(first)
	}
	return rep, err
}

// save appends a's events to its new stream, and reports whether it did:
// a stream that exists already holds them from an earlier load.
func (h *history) save(ctx context.Context, a *historyActivity) (bool, error) {
	meta := domain.Meta{Actor: historyActor, CorrelationID: historyCorrelation, Now: a.at, OccurredAt: a.at}
	_, err := h.repo.Save(ctx, activity.Stream(a.id), 0, meta, a.events...)
	switch {
	case errors.Is(err, domain.ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("history: %s: %w", a.id, err)
	}
	return true, nil
}

// history is what the activities are drawn from.
type history struct {
	repo   *domain.Repository
	opts   HistoryOptions
	places []historyPlace
	// placeWeights and yearWeights are cumulative, for draw.
	placeWeights, yearWeights []float64
}

// historyPlace is a municipality activities take place in.
type historyPlace struct {
	code, region string
	name         domain.LocalizedText
	// minority is the share of attendees who belong to an ethnic
	// minority.
	minority   float64
	organisers []string
}

// minorityShares are illustrative shares of ethnic-minority attendees by
// region: larger where minorities live in numbers. Other regions take
// otherMinorityShare.
var minorityShares = map[string]float64{
	"kvemo-kartli":       0.45,
	"samtskhe-javakheti": 0.50,
	"kakheti":            0.10,
	"tbilisi":            0.10,
}

const otherMinorityShare = 0.03

// newHistory checks opts and reads the municipalities from the registry.
func newHistory(ctx context.Context, repo *domain.Repository, opts HistoryOptions) (*history, error) {
	switch {
	case opts.Activities < 1:
		return nil, fmt.Errorf("history: activities: %d; want 1 or more", opts.Activities)
	case opts.From < 1990 || opts.To < opts.From:
		return nil, fmt.Errorf("history: years %d to %d; want a first year from 1990 and a last no earlier", opts.From, opts.To)
	}
	h := &history{repo: repo, opts: opts}
	for y := opts.From; y <= opts.To; y++ {
		// A little more each year, for a trend to show; illustrative.
		h.yearWeights = append(h.yearWeights, 1+0.1*float64(y-opts.From))
	}
	h.yearWeights = cumulative(h.yearWeights)

	// The municipalities the registry was loaded from, read from their
	// streams: the registry is the record, and an unloaded one is an error.
	rows, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		return nil, err
	}
	checked := map[string]bool{}
	var weights []float64
	for _, r := range rows {
		var m registry.Municipality
		if _, err := repo.Load(ctx, registry.MunicipalityStream(r.cmd.Code), &m); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		switch {
		case m.Code() == "":
			return nil, fmt.Errorf("history: municipality %s is not registered: load the registry first (seed.Registry)", r.cmd.Code)
		case m.Kind() == registry.OccupiedMunicipality:
			continue // no programme works on the ground there
		}
		organisers := opts.Organisers[m.Region()]
		if len(organisers) == 0 {
			organisers = opts.Organisers[""]
		}
		if len(organisers) == 0 {
			return nil, fmt.Errorf("history: organisers: none for the region %s, nor under \"\"", m.Region())
		}
		for _, id := range organisers {
			if checked[id] {
				continue
			}
			var o registry.Organisation
			if _, err := repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			if o.ID() == "" {
				return nil, fmt.Errorf("history: organisers: %q is not an organisation in the registry", id)
			}
			checked[id] = true
		}
		share, ok := minorityShares[m.Region()]
		if !ok {
			share = otherMinorityShare
		}
		h.places = append(h.places, historyPlace{code: m.Code(), region: m.Region(), name: m.Name(), minority: share, organisers: organisers})
		// More activities where more people live, but not in proportion:
		// the programmes work in every municipality.
		pop, _ := m.Population2014()
		weights = append(weights, math.Sqrt(float64(max(pop, 10000))))
	}
	h.placeWeights = cumulative(weights)
	return h, nil
}

// historyActivity is one generated activity: its events and what they
// say.
type historyActivity struct {
	id     string
	events []domain.Event
	// at is the time of its last event, when it is appended.
	at                                time.Time
	cancelled, rescheduled, corrected bool
	// attendance is as it stands, after any correction.
	attendance activity.Attendance
}

// kindOfActivity is how an activity type is drawn and described.
type kindOfActivity struct {
	typ    activity.Type
	weight float64
	// low and high bound the attendance; days bounds how long it lasts.
	low, high int
	days      [2]int
	// sectors weighs the attendees' sectors, in the order of
	// activity.Sectors (cso, cbo, local_government, central_government,
	// media, business, youth, citizens).
	sectors []float64
	name    domain.LocalizedText
}

// kinds are the activity types as the history draws them: mostly
// trainings and consultations, as the hubs' documents describe their
// work. Weights, sizes and sectors are illustrative.
var kinds = func() []kindOfActivity {
	ks := []kindOfActivity{
		{activity.Training, 26, 10, 32, [2]int{1, 3}, []float64{40, 25, 8, 1, 3, 3, 12, 8}, domain.LocalizedText{Ka: "ტრენინგი", En: "Training"}},
		{activity.Consultation, 14, 5, 16, [2]int{1, 1}, []float64{50, 35, 3, 0, 0, 2, 5, 5}, domain.LocalizedText{Ka: "კონსულტაცია", En: "Consultation"}},
		{activity.MultiStakeholder, 11, 15, 45, [2]int{1, 1}, []float64{20, 10, 20, 5, 15, 10, 12, 8}, domain.LocalizedText{Ka: "შეხვედრა სხვადასხვა სექტორის წარმომადგენლებთან", En: "Multi-stakeholder meeting"}},
		{activity.CoordinationMeet, 8, 8, 25, [2]int{1, 1}, []float64{55, 40, 5, 0, 0, 0, 0, 0}, domain.LocalizedText{Ka: "საკოორდინაციო შეხვედრა", En: "Coordination meeting"}},
		{activity.Forum, 4, 30, 60, [2]int{1, 2}, []float64{30, 10, 15, 10, 10, 5, 10, 10}, domain.LocalizedText{Ka: "ფორუმი", En: "Forum"}},
		{activity.RoundTable, 6, 10, 25, [2]int{1, 1}, []float64{30, 5, 25, 15, 10, 10, 5, 0}, domain.LocalizedText{Ka: "მრგვალი მაგიდა", En: "Round table"}},
		{activity.CSOFair, 4, 25, 60, [2]int{1, 2}, []float64{30, 15, 5, 0, 5, 5, 20, 20}, domain.LocalizedText{Ka: "სამოქალაქო ორგანიზაციების ბაზრობა", En: "CSO fair"}},
		{activity.Competition, 4, 10, 40, [2]int{14, 45}, []float64{25, 25, 0, 0, 0, 0, 35, 15}, domain.LocalizedText{Ka: "კონკურსი", En: "Competition"}},
		{activity.Internship, 4, 5, 12, [2]int{30, 90}, []float64{20, 10, 0, 0, 0, 0, 70, 0}, domain.LocalizedText{Ka: "სტაჟირება", En: "Internship"}},
		{activity.Mentoring, 8, 5, 15, [2]int{7, 30}, []float64{30, 20, 50, 0, 0, 0, 0, 0}, domain.LocalizedText{Ka: "მენტორობა", En: "Mentoring"}},
		{activity.AwarenessCampaign, 11, 20, 60, [2]int{5, 30}, []float64{15, 0, 0, 0, 10, 0, 25, 50}, domain.LocalizedText{Ka: "ცნობიერების ამაღლების კამპანია", En: "Awareness campaign"}},
	}
	for i := range ks {
		ks[i].sectors = cumulative(ks[i].sectors)
	}
	return ks
}()

var kindWeights = func() []float64 {
	w := make([]float64, len(kinds))
	for i, k := range kinds {
		w[i] = k.weight
	}
	return cumulative(w)
}()

// topics are the trainings' subjects: the four the hubs' documents name,
// then others from the programmes' documents.
var topics = []struct {
	code string
	name domain.LocalizedText
}{
	{"effective communication", domain.LocalizedText{Ka: "ეფექტური კომუნიკაცია და საზოგადოებასთან ურთიერთობა", En: "effective communication and public relations"}},
	{"strategic planning", domain.LocalizedText{Ka: "სტრატეგიული დაგეგმვა და ფუნქციების ეფექტურად გადანაწილება", En: "strategic planning and effective distribution of functions"}},
	{"financial management", domain.LocalizedText{Ka: "ფინანსების მართვა", En: "financial management"}},
	{"training of trainers", domain.LocalizedText{Ka: "ტრენინგი ტრენერებისთვის", En: "training of trainers"}},
	{"advocacy and monitoring", domain.LocalizedText{Ka: "ადვოკატირება და მონიტორინგი", En: "advocacy and monitoring"}},
	{"participatory budgeting", domain.LocalizedText{Ka: "მონაწილეობითი ბიუჯეტირება", En: "participatory budgeting"}},
}

var channelNames = map[string]domain.LocalizedText{
	"phone":     {Ka: "ტელეფონით", En: "by phone"},
	"online":    {Ka: "ონლაინ", En: "online"},
	"in_person": {Ka: "პირისპირ", En: "in person"},
}

// The reasons of the changes, illustrative.
var (
	cancelReasons = []string{
		"[illustrative] too few registrations / [საილუსტრაციო] ცოტა რეგისტრაცია",
		"[illustrative] the venue was not available / [საილუსტრაციო] შენობა ხელმისაწვდომი არ იყო",
		"[illustrative] the trainer fell ill / [საილუსტრაციო] ტრენერი შეუძლოდ გახდა",
		"[illustrative] roads closed by snow / [საილუსტრაციო] გზები თოვლმა ჩაკეტა",
	}
	rescheduleReasons = []string{
		"[illustrative] to avoid a clash with a municipal council session / [საილუსტრაციო] საკრებულოს სხდომას რომ არ დაემთხვეს",
		"[illustrative] at the participants' request / [საილუსტრაციო] მონაწილეთა თხოვნით",
	}
	correctionReason = "[illustrative] a late sign-in sheet added attendees / [საილუსტრაციო] დაგვიანებული სარეგისტრაციო ფურცელი"
)

// The attendees' categories as drawn: ages in the order of
// activity.AgeBands, cumulative.
var (
	adultAges = cumulative([]float64{1, 27, 36, 28, 8})
	youngAges = cumulative([]float64{25, 70, 5, 0, 0})
	// The two answers of Group.EthnicMinority, shared by every group.
	minorityYes, minorityNo = true, false
)

// Sector indexes in activity.Sectors that shape who attends.
const (
	sectorLocalGov   = 2
	sectorCentralGov = 3
	sectorBusiness   = 5
	sectorYouth      = 6
)

// activity draws activity i from (Seed, i) alone.
func (h *history) activity(i int) (*historyActivity, error) {
	r := newDraw(h.opts.Seed, i)
	place := &h.places[r.pick(h.placeWeights)]
	kind := &kinds[r.pick(kindWeights)]
	year := h.opts.From + r.pick(h.yearWeights)
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.intn(daysIn(year)))
	switch start.Weekday() { // most activities fall on weekdays
	case time.Saturday:
		if r.float() < 0.8 {
			start = start.AddDate(0, 0, -1)
		}
	case time.Sunday:
		if r.float() < 0.8 {
			start = start.AddDate(0, 0, 1)
		}
	}
	if start.Year() != year { // moved over New Year
		start = start.AddDate(0, 0, -2)
	}
	end := start.AddDate(0, 0, r.between(kind.days[0], kind.days[1])-1)
	id := fmt.Sprintf("hist-%d-%06d", start.Year(), i+1)

	sch := activity.Scheduled{
		ID: id, Type: kind.typ, Organisers: []string{place.organisers[r.intn(len(place.organisers))]},
		Municipality: place.code, Region: place.region,
	}
	what := kind.name
	switch kind.typ {
	case activity.Training:
		t := topics[r.intn(len(topics))]
		sch.Topic = t.code
		what = domain.LocalizedText{Ka: what.Ka + " „" + t.name.Ka + "“", En: what.En + ": " + t.name.En}
	case activity.Consultation:
		sch.Channel = activity.Channels[r.intn(len(activity.Channels))]
		c := channelNames[sch.Channel]
		what = domain.LocalizedText{Ka: what.Ka + " (" + c.Ka + ")", En: what.En + " (" + c.En + ")"}
	}
	sch.Title = domain.LocalizedText{
		Ka: what.Ka + " — " + place.name.Ka + " [საილუსტრაციო]",
		En: what.En + " — " + place.name.En + " [illustrative]",
	}
	a := &historyActivity{id: id}

	status := r.float()
	if status < 0.05 {
		sch.Start, sch.End = day(start), day(end)
		a.cancelled = true
		a.at = start.AddDate(0, 0, -r.between(1, 5))
		a.events = []domain.Event{sch, activity.Cancelled{ID: id, Reason: cancelReasons[r.intn(len(cancelReasons))]}}
		a.at = evening(a.at)
		return a, nil
	}
	a.rescheduled = status > 0.97
	if a.rescheduled {
		// Planned earlier, then moved to the days it was held.
		shift := r.between(7, 21)
		sch.Start, sch.End = day(start.AddDate(0, 0, -shift)), day(end.AddDate(0, 0, -shift))
		a.events = []domain.Event{sch, activity.Rescheduled{ID: id, Start: day(start), End: day(end), Reason: rescheduleReasons[r.intn(len(rescheduleReasons))]}}
	} else {
		sch.Start, sch.End = day(start), day(end)
		a.events = []domain.Event{sch}
	}
	total := kind.low + (r.intn(kind.high-kind.low+1)+r.intn(kind.high-kind.low+1))/2 // peaked in the middle
	rec := recording{age: r.float() >= 0.02, minority: r.float() >= 0.03}
	var cells attendanceCells
	cells.draw(r, kind, place, rec, total)
	a.attendance = cells.attendance()
	if err := a.attendance.Validate(); err != nil {
		return nil, fmt.Errorf("history: %s: %w", id, err) // a bug of the generator
	}
	a.events = append(a.events, activity.Held{ID: id, Attendance: a.attendance})
	a.at = end
	if r.float() < 0.02 {
		a.corrected = true
		cells.draw(r, kind, place, rec, r.between(1, 4))
		a.attendance = cells.attendance()
		if err := a.attendance.Validate(); err != nil {
			return nil, fmt.Errorf("history: %s: correction: %w", id, err)
		}
		a.events = append(a.events, activity.AttendanceCorrected{ID: id, Attendance: a.attendance, Reason: correctionReason})
		a.at = end.AddDate(0, 0, r.between(3, 14))
	}
	a.at = evening(a.at)
	return a, nil
}

// recording says which categories an activity's sign-in sheets asked
// for: not every sheet asks the age or minority membership.
type recording struct{ age, minority bool }

// attendanceCells counts attendees by sex, age band (0: not recorded),
// sector and minority membership (0: not recorded, 1: no, 2: yes); read
// in index order, the groups come out in a fixed order.
type attendanceCells [2][6][8][3]int

// draw adds n attendees of an activity of kind at place.
func (c *attendanceCells) draw(r *draw, kind *kindOfActivity, place *historyPlace, rec recording, n int) {
	for range n {
		sector := r.pick(kind.sectors)
		female := 0.6
		if sector == sectorLocalGov || sector == sectorCentralGov || sector == sectorBusiness {
			female = 0.45
		}
		sex := 1
		if r.float() < female {
			sex = 0
		}
		ages := adultAges
		if sector == sectorYouth || kind.typ == activity.Internship {
			ages = youngAges
		}
		age := 1 + r.pick(ages)
		minority := 1
		if r.float() < place.minority {
			minority = 2
		}
		if !rec.age {
			age = 0
		}
		if !rec.minority {
			minority = 0
		}
		c[sex][age][sector][minority]++
	}
}

func (c *attendanceCells) attendance() activity.Attendance {
	var at activity.Attendance
	for sex, byAge := range c {
		for age, bySector := range byAge {
			for sector, byMinority := range bySector {
				for minority, n := range byMinority {
					if n == 0 {
						continue
					}
					g := activity.Group{Sex: activity.Sexes[sex], Sector: activity.Sectors[sector], Count: n}
					if age > 0 {
						g.AgeBand = activity.AgeBands[age-1]
					}
					switch minority {
					case 1:
						g.EthnicMinority = &minorityNo
					case 2:
						g.EthnicMinority = &minorityYes
					}
					at.Groups = append(at.Groups, g)
					at.Total += n
				}
			}
		}
	}
	return at
}

func day(t time.Time) string { return t.Format(domain.DateLayout) }

// evening is 18:00 in Tbilisi on t's day: when a day's report is written.
func evening(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 18, 0, 0, 0, domain.Tbilisi)
}

func daysIn(year int) int { return time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay() }

// cumulative returns the running sums of weights, for draw.pick.
func cumulative(weights []float64) []float64 {
	out := slices.Clone(weights)
	for i := 1; i < len(out); i++ {
		out[i] += out[i-1]
	}
	return out
}

// draw is a small random source of our own (SplitMix64) rather than
// math/rand's, so that a seed gives the same history whatever Go's
// version does to its generators.
type draw struct{ state uint64 }

func newDraw(seed int64, i int) *draw {
	d := &draw{state: uint64(seed)}
	d.state = d.next() ^ uint64(i)*0xD1B54A32D192ED03
	return d
}

func (d *draw) next() uint64 {
	d.state += 0x9E3779B97F4A7C15
	z := d.state
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// float is uniform in [0, 1).
func (d *draw) float() float64 { return float64(d.next()>>11) / (1 << 53) }

// intn is uniform in [0, n).
func (d *draw) intn(n int) int { return int(d.next() % uint64(n)) }

// between is uniform in [lo, hi].
func (d *draw) between(lo, hi int) int { return lo + d.intn(hi-lo+1) }

// pick draws an index with the weights whose running sums are cum.
func (d *draw) pick(cum []float64) int {
	x := d.float() * cum[len(cum)-1]
	// The first whose running sum passes x: one of weight 0 never does.
	return min(sort.Search(len(cum), func(i int) bool { return cum[i] > x }), len(cum)-1)
}
