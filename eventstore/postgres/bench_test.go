package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/transparency-dev/merkle/proof"
)

// The benchmarks measure the store against the same work done with bare SQL
// in the same run, on the same connections, and report both rates and their
// ratio: the machines are noisy, ratios much less so. testdb runs them on a
// cluster with durable (production) settings.

// rawTable holds the same rows as eventstore.events, with none of the
// store's machinery: no keys, no transaction IDs, no sequence.
const rawTable = `CREATE TABLE bench_raw (
	event_id uuid, stream_id text, version bigint, type text, schema_version integer,
	occurred_at timestamptz, recorded_at timestamptz DEFAULT now(), data json,
	actor text, role text, correlation_id text, causation_id text, command_id text)`

func benchEvent(i int) eventstore.EventData {
	return eventstore.EventData{
		ID:   eventstore.NewID(),
		Type: "registry.organisation_registered",
		Data: []byte(fmt.Sprintf(`{"name":{"ka":"სამოქალაქო ინტეგრაციის ფონდი","en":"Civic Integration Foundation %d"},"region":"kvemo-kartli","legal_form":"non-commercial legal entity","founded":"2005-01-01"}`, i)),
		Metadata: eventstore.Metadata{
			Actor: "key:bench", Role: "admin", CorrelationID: "0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8f", CommandID: "register-organisation",
		},
	}
}

// appendCall is one append: a stream and its events. base is unique across
// all calls of a run, for the keyed baseline's versions.
type appendCall struct {
	base   int64
	stream string
	events []eventstore.EventData
}

var callBase atomic.Int64

func makeCalls(n, perCall int) []appendCall {
	calls := make([]appendCall, n)
	for i := range calls {
		evs := make([]eventstore.EventData, perCall)
		for j := range evs {
			evs[j] = benchEvent(i*perCall + j)
		}
		calls[i] = appendCall{base: callBase.Add(int64(perCall)), stream: fmt.Sprintf("organisation-%d", i%10_000), events: evs}
	}
	return calls
}

// runParallel runs do over calls with the given number of writers and
// returns the elapsed time.
func runParallel(b *testing.B, writers int, calls []appendCall, do func(appendCall) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(calls)) || failed.Load() != nil {
					return
				}
				if err := do(calls[i]); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return time.Since(start)
}

// rawInsert inserts a call's events into table with plain INSERT, one row
// or one multi-row statement, in one implicit transaction.
func rawInsert(ctx context.Context, pool *pgxpool.Pool, table string, c appendCall) error {
	if len(c.events) == 1 {
		e := c.events[0]
		m := &e.Metadata
		_, err := pool.Exec(ctx, `INSERT INTO `+table+` (event_id, stream_id, version, type, schema_version, occurred_at, data,
				actor, role, correlation_id, causation_id, command_id)
			VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9, $10, $11)`,
			[16]byte(e.ID), c.stream, c.base, e.Type, 1, []byte(e.Data), m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID)
		return err
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO ` + table + ` (event_id, stream_id, version, type, schema_version, occurred_at, data,
		actor, role, correlation_id, causation_id, command_id) VALUES `)
	args := make([]any, 0, 11*len(c.events))
	for i, e := range c.events {
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		sb.WriteString("(")
		for j := range 11 {
			if j == 5 {
				sb.WriteString("now(), ")
			}
			fmt.Fprintf(&sb, "$%d", n+j+1)
			if j < 10 {
				sb.WriteString(", ")
			}
		}
		sb.WriteString(")")
		m := &e.Metadata
		args = append(args, [16]byte(e.ID), c.stream, c.base+int64(i), e.Type, 1, []byte(e.Data), m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID)
	}
	_, err := pool.Exec(ctx, sb.String(), args...)
	return err
}

// keyedTable has eventstore.events' columns, keys and defaults (primary
// key, unique event ID, (tx, seq) index) but none of the append's checks.
// It is not the baseline the store is held to, rawTable is; it shows how
// much of the distance to rawTable the keys alone account for.
const keyedTable = `CREATE TABLE bench_keyed (LIKE eventstore.events INCLUDING ALL)`

// BenchmarkAppend compares appends with plain INSERTs of the same rows into
// rawTable (and, for scale, into keyedTable), the three taking turns in
// rounds so that drift in the machine's speed hits all alike. b.N is the
// number of calls per side.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ events, writers int }{{1, 1}, {1, 32}, {10, 32}} {
		b.Run(fmt.Sprintf("events=%d/writers=%d", c.events, c.writers), func(b *testing.B) {
			s, pool := newStore(b, postgres.Options{SigningKey: testKey(b)})
			ctx := context.Background()
			for _, ddl := range []string{rawTable, keyedTable} {
				if _, err := pool.Exec(ctx, ddl); err != nil {
					b.Fatal(err)
				}
			}
			const rounds = 10
			perRound := max(b.N/rounds, 1)
			var ours, raw, keyed time.Duration
			b.ResetTimer()
			for range rounds {
				calls := makeCalls(perRound, c.events)
				raw += runParallel(b, c.writers, calls, func(c appendCall) error { return rawInsert(ctx, pool, "bench_raw", c) })
				keyed += runParallel(b, c.writers, calls, func(c appendCall) error { return rawInsert(ctx, pool, "bench_keyed", c) })
				ours += runParallel(b, c.writers, calls, func(c appendCall) error {
					_, err := s.Append(ctx, c.stream, eventstore.Any(), c.events...)
					return err
				})
			}
			b.StopTimer()
			events := float64(rounds * perRound * c.events)
			ourRate, rawRate, keyedRate := events/ours.Seconds(), events/raw.Seconds(), events/keyed.Seconds()
			b.ReportMetric(ourRate, "events/s")
			b.ReportMetric(rawRate, "raw-events/s")
			b.ReportMetric(ourRate/rawRate, "ratio")
			b.ReportMetric(keyedRate/rawRate, "keyed-ratio")
		})
	}
}

// fill appends n events in calls of 1,000 to 100 streams and waits until
// the sequencer has positioned them all.
func fill(b *testing.B, s *postgres.Store, n int) {
	b.Helper()
	ctx := context.Background()
	var last eventstore.ID
	for i := 0; i < n; i += 1000 {
		evs := make([]eventstore.EventData, min(1000, n-i))
		for j := range evs {
			evs[j] = benchEvent(i + j)
		}
		res, err := s.Append(ctx, fmt.Sprintf("organisation-%d", (i/1000)%100), eventstore.Any(), evs...)
		if err != nil {
			b.Fatal(err)
		}
		last = res.LastID
	}
	if _, err := s.AwaitPosition(ctx, last); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSequencer measures how fast a sequencer positions a backlog of
// b.N events (hash chain, Merkle tree, log rows, tree nodes, signed
// checkpoints) against the same sequencer without the tree (the log as it
// was before it: chain, log rows with the chain's links, checkpoints),
// each on backlogs of their own, in the same run; and against copying the
// same rows' keys into a plain table with the same statements and
// batches.
func BenchmarkSequencer(b *testing.B) {
	key := testKey(b)
	n := max(b.N, 10_000)
	// Four backlogs of half the events, sequenced chain, tree, tree,
	// chain: whatever the machine does meanwhile (PostgreSQL's own
	// checkpoints, a neighbour) weighs on both alike.
	half := n / 2
	type run struct {
		pool *pgxpool.Pool
		last eventstore.ID
		opts postgres.Options
	}
	signed := postgres.Options{SigningKey: key}
	runs := make([]run, 4)
	for i, o := range []postgres.Options{postgres.ChainOnly(signed), signed, signed, postgres.ChainOnly(signed)} {
		runs[i].pool, runs[i].last = backlog(b, half)
		runs[i].opts = o
	}
	b.ResetTimer()
	raw := rawSequence(b, runs[1].pool, half)
	var chain, tree time.Duration
	for i, r := range runs {
		d := timeSequencer(b, r.pool, r.opts, r.last, half)
		if i == 1 || i == 2 {
			tree += d
		} else {
			chain += d
		}
	}
	b.StopTimer()
	rate := func(d time.Duration, k int) float64 { return float64(k) / d.Seconds() }
	b.ReportMetric(rate(tree, 2*half), "positions/s")
	b.ReportMetric(rate(chain, 2*half), "chain-positions/s")
	b.ReportMetric(rate(raw, half), "raw-rows/s")
	b.ReportMetric(rate(tree, 2*half)/rate(chain, 2*half), "ratio-to-chain")
	b.ReportMetric(rate(tree, 2*half)/rate(raw, half), "ratio")
}

// backlog is a fresh database with n events appended and none sequenced.
func backlog(b *testing.B, n int) (*pgxpool.Pool, eventstore.ID) {
	pool := newPool(b)
	writer := postgres.New(pool, postgres.Options{})
	defer writer.Close()
	var last eventstore.ID
	for i := 0; i < n; i += 1000 {
		evs := make([]eventstore.EventData, min(1000, n-i))
		for j := range evs {
			evs[j] = benchEvent(i + j)
		}
		res, err := writer.Append(context.Background(), fmt.Sprintf("organisation-%d", (i/1000)%100), eventstore.Any(), evs...)
		if err != nil {
			b.Fatal(err)
		}
		last = res.LastID
	}
	return pool, last
}

// timeSequencer starts a sequencer over a backlog and times it to the
// last event.
func timeSequencer(b *testing.B, pool *pgxpool.Pool, opts postgres.Options, last eventstore.ID, n int) time.Duration {
	start := time.Now()
	s := startStore(b, pool, opts)
	if pos, err := s.AwaitPosition(context.Background(), last); err != nil || pos != int64(n) {
		b.Fatalf("last event at position %d, %v; want %d", pos, err, n)
	}
	return time.Since(start)
}

// rawSequence reads the backlog's keys and inserts them, with positions,
// into a plain table, in the sequencer's batches: the least a sequencer
// can do.
func rawSequence(b *testing.B, pool *pgxpool.Pool, n int) time.Duration {
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_log (position bigint, epoch integer, tx xid8, seq bigint, hash bytea)`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	lastEpoch, lastTx, lastSeq, pos := int32(0), "0", int64(0), int64(0)
	for {
		// In the sequencer's order, (epoch, tx, seq), which its index
		// serves.
		rows, err := pool.Query(ctx, `SELECT e.epoch, e.tx::text, e.seq, e.data::text, e.actor, e.role, e.correlation_id, e.causation_id, e.command_id FROM eventstore.events e
			WHERE (e.epoch, e.tx, e.seq) > ($1, $2::text::xid8, $3) AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY e.epoch, e.tx, e.seq LIMIT 5000`, lastEpoch, lastTx, lastSeq)
		if err != nil {
			b.Fatal(err)
		}
		var positions, seqs []int64
		var epochs []int32
		var txs []string
		var hashes [][]byte
		for rows.Next() {
			var data []byte
			var m eventstore.Metadata
			if err := rows.Scan(&lastEpoch, &lastTx, &lastSeq, &data, &m.Actor, &m.Role, &m.CorrelationID, &m.CausationID, &m.CommandID); err != nil {
				b.Fatal(err)
			}
			pos++
			positions, epochs, txs, seqs, hashes = append(positions, pos), append(epochs, lastEpoch), append(txs, lastTx), append(seqs, lastSeq), append(hashes, data[:32])
		}
		if rows.Err() != nil {
			b.Fatal(rows.Err())
		}
		if len(positions) == 0 {
			break
		}
		if _, err := pool.Exec(ctx, `INSERT INTO bench_log SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[]::xid8[], $4::bigint[], $5::bytea[])`,
			positions, epochs, txs, seqs, hashes); err != nil {
			b.Fatal(err)
		}
	}
	if pos != int64(n) {
		b.Fatalf("baseline read %d events, want %d", pos, n)
	}
	return time.Since(start)
}

// readAllPage is the page size of BenchmarkReadAll, what a projection
// catching up would ask for.
const readAllPage = 5000

// BenchmarkReadAll reads the whole log in pages against a keyset read of
// the same rows, in the same pages, straight from the events table.
func BenchmarkReadAll(b *testing.B) {
	s, pool := newStore(b, postgres.Options{})
	ctx := context.Background()
	n := max(b.N, 10_000)
	fill(b, s, n)
	b.ResetTimer()

	var ours, raw time.Duration
	for range 3 {
		start := time.Now()
		var lastTx = "0"
		var lastSeq int64
		var lastEpoch int32
		read := 0
		for {
			rows, err := pool.Query(ctx, `SELECT e.epoch, e.tx::text, e.seq, `+eventColumns+` FROM eventstore.events e
				WHERE (e.epoch, e.tx, e.seq) > ($1, $2::text::xid8, $3) ORDER BY e.epoch, e.tx, e.seq LIMIT $4`, lastEpoch, lastTx, lastSeq, readAllPage)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for rows.Next() {
				var e eventstore.Event
				var id [16]byte
				m := &e.Metadata
				if err := rows.Scan(&lastEpoch, &lastTx, &lastSeq, &id, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion,
					&e.OccurredAt, &e.RecordedAt, &e.Data, &m.Actor, &m.Role, &m.CorrelationID, &m.CausationID, &m.CommandID); err != nil {
					b.Fatal(err)
				}
				got++
			}
			if rows.Err() != nil {
				b.Fatal(rows.Err())
			}
			read += got
			if got == 0 {
				break
			}
		}
		raw += time.Since(start)
		if read != n {
			b.Fatalf("baseline read %d events, want %d", read, n)
		}

		start = time.Now()
		var after int64
		for {
			page, err := s.ReadAll(ctx, after, readAllPage)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Position
		}
		ours += time.Since(start)
		if after != int64(n) {
			b.Fatalf("ReadAll ended at %d, want %d", after, n)
		}
	}
	b.StopTimer()
	ourRate, rawRate := float64(3*n)/ours.Seconds(), float64(3*n)/raw.Seconds()
	b.ReportMetric(ourRate, "events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(ourRate/rawRate, "ratio")
}

// eventColumns mirrors the package's column list for the baseline query.
const eventColumns = `e.event_id, e.stream_id, e.version, e.type, e.schema_version,
	e.occurred_at, e.recorded_at, e.data::text, e.actor, e.role, e.correlation_id, e.causation_id, e.command_id`

// BenchmarkSubscriberLatency appends b.N events at 1,000 a second and
// measures the time from each append's return to its delivery to a live
// subscriber, against the round trip of a bare NOTIFY to a listener on the
// same server.
func BenchmarkSubscriberLatency(b *testing.B) {
	s, pool := newStore(b, postgres.Options{SigningKey: testKey(b)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := b.N
	committed, delivered := make([]time.Time, n), make([]time.Time, n)
	var mu sync.Mutex
	index := make(map[eventstore.ID]int, n)
	done := make(chan error, 1)
	go func() {
		got := 0
		for e, err := range s.SubscribeAll(ctx, 0) {
			if err != nil {
				done <- err
				return
			}
			now := time.Now()
			mu.Lock()
			delivered[index[e.ID]] = now
			mu.Unlock()
			if got++; got == n {
				done <- nil
				return
			}
		}
	}()
	b.ResetTimer()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		e := benchEvent(i)
		mu.Lock()
		index[e.ID] = i
		mu.Unlock()
		if _, err := s.Append(ctx, fmt.Sprintf("organisation-%d", i%100), eventstore.Any(), e); err != nil {
			b.Fatal(err)
		}
		committed[i] = time.Now()
	}
	select {
	case err := <-done:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(time.Minute):
		b.Fatal("subscriber fell behind by more than a minute")
	}
	b.StopTimer()
	lat := make([]time.Duration, n)
	for i := range lat {
		// Delivery can beat the writer's goroutine back from Append: zero.
		lat[i] = max(delivered[i].Sub(committed[i]), 0)
	}
	base := notifyLatency(b, pool, 200)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(slices.Max(lat).Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(percentile(base, 0.99).Microseconds())/1000, "notify-p99-ms")
}

// notifyLatency measures n round trips of pg_notify to a listening
// connection.
func notifyLatency(b *testing.B, pool *pgxpool.Pool, n int) []time.Duration {
	b.Helper()
	ctx := context.Background()
	pc, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	conn := pc.Hijack()
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN bench_ping`); err != nil {
		b.Fatal(err)
	}
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := pool.Exec(ctx, `SELECT pg_notify('bench_ping', '')`); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
		time.Sleep(time.Millisecond)
	}
	return out
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(int(float64(len(s))*p), len(s)-1)]
}

// proofLogSize is the log BenchmarkProofs proves in: 10 million entries,
// or CIVIC_BENCH_LOG_SIZE.
func proofLogSize(b *testing.B) int64 {
	if v := os.Getenv("CIVIC_BENCH_LOG_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 2 {
			b.Fatalf("CIVIC_BENCH_LOG_SIZE %q: want a size of 2 or more", v)
		}
		return n
	}
	return 10_000_000
}

// BenchmarkProofs measures inclusion and consistency proofs in a log of
// proofLogSize entries, at random positions and sizes, as the store serves
// them (the same reads as GET /log/proof/...), against reading one log
// entry by position in the same run: the least a request to the log can
// cost. It reports each one's median and 99th percentile. The log is
// made directly (entries whose leaves are hashes of their positions, and
// the stored tree over them), since a proof reads nothing else.
func BenchmarkProofs(b *testing.B) {
	ctx := context.Background()
	n := proofLogSize(b)
	pool := newPool(b)
	if _, err := pool.Exec(ctx, `INSERT INTO eventstore.log (position, tx, seq, leaf)
		SELECT i, i::text::xid8, i, sha256(int8send(i)) FROM generate_series(1, $1::bigint) i`, n); err != nil {
		b.Fatal(err)
	}
	tree := tlog.NewTree()
	var nodes [][]any
	for i := int64(1); i <= n; i++ {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		tree.Append(sum[:], func(nd tlog.Node) { nodes = append(nodes, []any{int16(nd.Level), int64(nd.Index), nd.Hash}) })
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"eventstore", "tree"}, []string{"level", "idx", "hash"}, pgx.CopyFromRows(nodes)); err != nil {
		b.Fatal(err)
	}
	// Measured in the steady state, not while the server writes out what
	// loading the log dirtied.
	for _, sql := range []string{`VACUUM ANALYZE eventstore.log`, `VACUUM ANALYZE eventstore.tree`, `CHECKPOINT`} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	root, err := tree.Root()
	if err != nil {
		b.Fatal(err)
	}
	s := postgres.New(pool, postgres.Options{})
	defer s.Close()
	r := mrand.New(mrand.NewPCG(7, 11))
	var one, incl, cons []time.Duration
	b.ResetTimer()
	for range b.N {
		pos := 1 + r.Int64N(n)
		start := time.Now()
		var leaf []byte
		if err := pool.QueryRow(ctx, `SELECT leaf FROM eventstore.log WHERE position = $1`, pos).Scan(&leaf); err != nil {
			b.Fatal(err)
		}
		one = append(one, time.Since(start))

		start = time.Now()
		ps, err := s.InclusionProofs(ctx, []int64{pos}, n)
		if err != nil {
			b.Fatal(err)
		}
		incl = append(incl, time.Since(start))

		from := 1 + r.Int64N(n)
		start = time.Now()
		c, err := s.ConsistencyProof(ctx, from, n)
		if err != nil {
			b.Fatal(err)
		}
		cons = append(cons, time.Since(start))

		b.StopTimer()
		if err := proof.VerifyInclusion(tlog.Hasher, uint64(pos-1), uint64(n), leaf, ps[0].Hashes, root); err != nil {
			b.Fatalf("inclusion of %d: %v", pos, err)
		}
		if len(c) == 0 && from != n {
			b.Fatalf("no consistency proof from %d to %d", from, n)
		}
		b.StartTimer()
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(incl, 0.50), "inclusion-p50-ms")
	b.ReportMetric(pct(incl, 0.99), "inclusion-p99-ms")
	b.ReportMetric(pct(cons, 0.50), "consistency-p50-ms")
	b.ReportMetric(pct(cons, 0.99), "consistency-p99-ms")
	b.ReportMetric(pct(one, 0.99), "one-row-p99-ms")
	b.ReportMetric(pct(incl, 0.99)/pct(one, 0.99), "inclusion-p99-ratio")
	b.ReportMetric(pct(cons, 0.99)/pct(one, 0.99), "consistency-p99-ratio")
}
