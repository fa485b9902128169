//go:build kurrent

// The tests in this file need a KurrentDB: KURRENTDB_URL names it, and
// they fail, not skip, without it (make test-kurrent). Each test takes a
// namespace of its own (Options.Namespace), so a KurrentDB that cannot be
// emptied gives each an empty store.

package kurrent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/storetest"
)

// liveURL returns KURRENTDB_URL, failing the test without it: a run that
// asked for the KurrentDB tests and tested nothing must not pass.
func liveURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		tb.Fatal("KURRENTDB_URL is not set: the kurrent-tagged tests need a KurrentDB, for example KURRENTDB_URL=kurrentdb://localhost:2113?tls=false")
	}
	return url
}

// runID makes this run's namespaces unlike any earlier run's.
var (
	runID   = strconv.FormatInt(time.Now().UnixNano(), 36)
	nsCount atomic.Int64
)

func newNamespace() string {
	return "t" + runID + "n" + strconv.FormatInt(nsCount.Add(1), 36)
}

// openLive opens a Store on KURRENTDB_URL, closed when the test ends.
func openLive(tb testing.TB, opts Options) *Store {
	tb.Helper()
	s, err := Open(context.Background(), liveURL(tb), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// freshStore is an empty store: a namespace nobody has written.
func freshStore(tb testing.TB) *Store {
	return openLive(tb, Options{Namespace: newNamespace(), NewNamespace: true})
}

func TestConformance(t *testing.T) {
	liveURL(t)
	storetest.Run(t, func(t *testing.T) eventstore.Store { return freshStore(t) },
		storetest.Capabilities{SparsePositions: true, NoHashes: true, IDsUniquePerStream: true, NoIDIndex: true})
}

func liveCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func batchOf(n int, typ string, data func(i int) string) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: eventstore.NewID(), Type: typ, Data: json.RawMessage(data(i)),
			Metadata: eventstore.Metadata{Actor: "kurrent_test"}}
	}
	return out
}

// TestKurrentPositions checks on the server what the package doc argues from
// its code: each event of a multi-event append has its own $all position,
// commit equal to prepare, ascending; the append reports its last one; and
// a read resumes after any of them.
func TestKurrentPositions(t *testing.T) {
	s := freshStore(t)
	ctx := liveCtx(t)
	var results []eventstore.AppendResult
	for range 3 {
		res, err := s.Append(ctx, "pos-1", eventstore.Any(), batchOf(10, "test.positioned", func(i int) string { return fmt.Sprintf(`{"i":%d}`, i) })...)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	// $all as the client reads it, without the Store's mapping.
	raw, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) ([]esdb.Position, error) {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: s.floor}, unbounded)
		if err != nil {
			return nil, err
		}
		var raw []esdb.Position
		err = drain(rs, func(re *esdb.ResolvedEvent) (bool, error) {
			if re.Event.StreamID == s.wire("pos-1") {
				raw = append(raw, re.Event.Position)
			}
			return len(raw) < 30, nil
		})
		return raw, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 30 {
		t.Fatalf("read %d events of pos-1 in $all, want 30", len(raw))
	}
	for i, p := range raw {
		if p.Commit != p.Prepare || p.Commit == 0 || i > 0 && p.Commit <= raw[i-1].Commit {
			t.Errorf("event %d at commit %d prepare %d (the one before at %d): want its own position, commit = prepare, ascending", i, p.Commit, p.Prepare, raw[max(i-1, 0)].Commit)
		}
	}
	for k, res := range results {
		if want := int64(raw[10*k+9].Commit); res.Position != want || res.Version != int64(10*k+10) {
			t.Errorf("append %d = %+v, want version %d at %d, its last event's position", k, res, 10*k+10, want)
		}
	}
	all, err := s.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil || len(all) != 30 {
		t.Fatalf("ReadAll = %d events, %v", len(all), err)
	}
	for i, e := range all {
		if e.Position != int64(raw[i].Commit) {
			t.Errorf("ReadAll[%d] at %d, the client's read of $all says %d", i, e.Position, raw[i].Commit)
		}
		rest, err := s.ReadAll(ctx, e.Position, eventstore.MaxReadLimit)
		if err != nil || len(rest) != 29-i || len(rest) > 0 && rest[0].ID != all[i+1].ID {
			t.Errorf("ReadAll(%d) = %d events, %v; want the %d after it", e.Position, len(rest), err, 29-i)
		}
	}
	if h, err := s.Head(ctx); err != nil || h != all[29].Position {
		t.Errorf("Head = %d, %v; want %d", h, err, all[29].Position)
	}
	stream, err := s.ReadStream(ctx, "pos-1", eventstore.ReadOptions{})
	if err != nil || len(stream) != 30 {
		t.Fatalf("ReadStream = %d events, %v", len(stream), err)
	}
	for i, e := range stream {
		if e.Position != all[i].Position {
			t.Errorf("ReadStream[%d] at %d, ReadAll says %d", i, e.Position, all[i].Position)
		}
	}
}

// TestKurrentRepeatFromAnotherStore: a repeat of an append this Store did not
// make reaches KurrentDB, which recognises it, and a refused one is told
// apart from a conflict by reading the stream back.
func TestKurrentRepeatFromAnotherStore(t *testing.T) {
	ns := newNamespace()
	first := openLive(t, Options{Namespace: ns, NewNamespace: true})
	other := openLive(t, Options{Namespace: ns})
	ctx := liveCtx(t)
	batch := batchOf(3, "test.repeated", func(i int) string { return fmt.Sprintf(`{"i":%d}`, i) })
	want, err := first.Append(ctx, "rep-1", eventstore.NoStream(), batch...)
	if err != nil {
		t.Fatal(err)
	}
	for _, expected := range []eventstore.ExpectedVersion{eventstore.NoStream(), eventstore.Any(), eventstore.StreamExists()} {
		got, err := other.Append(ctx, "rep-1", expected, batch...)
		if err != nil || got != want {
			t.Errorf("repeat from another store with %s = %+v, %v; want %+v", expected, got, err, want)
		}
	}
	_, err = other.Append(ctx, "rep-1", eventstore.NoStream(), batch[0], batchOf(1, "test.repeated", func(int) string { return "{}" })[0])
	var de *eventstore.DuplicateIDError
	if !errors.As(err, &de) || de.Stream != "rep-1" || de.Version != 1 {
		t.Errorf("partial repeat = %v; want *DuplicateIDError at rep-1 version 1", err)
	}
	_, err = other.Append(ctx, "rep-1", eventstore.Exact(1), batchOf(1, "test.repeated", func(int) string { return "{}" })...)
	var ce *eventstore.ConcurrencyError
	if !errors.As(err, &ce) || ce.Actual != 3 || ce.Stream != "rep-1" {
		t.Errorf("append at a stale version = %v; want *ConcurrencyError with the stream at 3", err)
	}
	if got, err := other.ReadStream(ctx, "rep-1", eventstore.ReadOptions{}); err != nil || len(got) != 3 {
		t.Errorf("rep-1 has %d events, %v; want 3", len(got), err)
	}
	if _, err := other.AwaitPosition(ctx, batch[2].ID); !errors.Is(err, eventstore.ErrNoIDIndex) || errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("AwaitPosition of another store's event = %v; want ErrNoIDIndex, not ErrNotFound", err)
	}
	if p, err := first.AwaitPosition(ctx, batch[0].ID); err != nil || p == 0 || p >= want.Position {
		t.Errorf("AwaitPosition of the first event of an append = %d, %v; want a position before %d", p, err, want.Position)
	}
}

func TestKurrentNamespacesApart(t *testing.T) {
	a, b := freshStore(t), freshStore(t)
	ctx := liveCtx(t)
	for i, s := range []*Store{a, b} {
		if _, err := s.Append(ctx, "apart-1", eventstore.NoStream(), batchOf(i+1, "test.apart", func(int) string { return "{}" })...); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range []*Store{a, b} {
		all, err := s.ReadAll(ctx, 0, 100)
		if err != nil || len(all) != i+1 {
			t.Errorf("namespace %d: ReadAll = %d events, %v; want %d", i, len(all), err, i+1)
		}
		got, err := s.ReadStream(ctx, "apart-1", eventstore.ReadOptions{})
		if err != nil || len(got) != i+1 || got[0].Stream != "apart-1" {
			t.Errorf("namespace %d: ReadStream = %+v, %v", i, got, err)
		}
	}
}

func TestKurrentDeletedStream(t *testing.T) {
	s := freshStore(t)
	ctx := liveCtx(t)
	if _, err := s.Append(ctx, "gone-1", eventstore.NoStream(), batchOf(1, "test.gone", func(int) string { return "{}" })...); err != nil {
		t.Fatal(err)
	}
	_, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) (*esdb.DeleteResult, error) {
		return c.TombstoneStream(ctx, s.wire("gone-1"), esdb.TombstoneStreamOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "gone-1", eventstore.Any(), batchOf(1, "test.gone", func(int) string { return "{}" })...); !errors.Is(err, ErrStreamDeleted) {
		t.Errorf("append to a tombstoned stream = %v; want ErrStreamDeleted", err)
	}
	if _, err := s.ReadStream(ctx, "gone-1", eventstore.ReadOptions{}); !errors.Is(err, ErrStreamDeleted) {
		t.Errorf("read of a tombstoned stream = %v; want ErrStreamDeleted", err)
	}
	if all, err := s.ReadAll(ctx, 0, 100); err != nil || len(all) != 1 {
		t.Errorf("ReadAll = %d events, %v; want the one event and not the tombstone", len(all), err)
	}
}

// crashBatch events of some 4 KB each: 400 KB an append, under the 1 MiB
// limit, long enough on the wire for a kill to land inside one.
const crashBatch = 100

// crashedEvent is what TestCrashChild writes.
type crashedEvent struct {
	Batch int `json:"batch"`
	I     int `json:"i"`
}

// TestCrashChild is the child process of TestCrashMidAppend: it appends
// batches to crash-1 until it is killed, printing each one done.
func TestCrashChild(t *testing.T) {
	ns := os.Getenv("KURRENT_CRASH_NAMESPACE")
	if ns == "" {
		t.Skip("the child process of TestCrashMidAppend")
	}
	s := openLive(t, Options{Namespace: ns})
	ctx := context.Background()
	have, err := s.ReadStream(ctx, "crash-1", eventstore.ReadOptions{Direction: eventstore.Backward, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	version := int64(0)
	if len(have) == 1 {
		version = have[0].Version
	}
	pad := strings.Repeat("x", 4000)
	for b := int(version / crashBatch); ; b++ {
		expected := eventstore.NoStream()
		if version > 0 {
			expected = eventstore.Exact(version)
		}
		res, err := s.Append(ctx, "crash-1", expected, batchOf(crashBatch, "test.crashed", func(i int) string {
			return fmt.Sprintf(`{"batch":%d,"i":%d,"pad":%q}`, b, i, pad)
		})...)
		if err != nil {
			t.Fatal(err)
		}
		version = res.Version
		fmt.Printf("appended batch %d\n", b)
	}
}

// TestCrashMidAppend kills a process appending in a loop, at random within
// an append, three times over: what KurrentDB holds afterwards is whole
// appends, never part of one.
func TestCrashMidAppend(t *testing.T) {
	liveURL(t)
	ns := newNamespace()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "KURRENT_CRASH_NAMESPACE="+ns)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		two, eof := make(chan struct{}), make(chan int)
		go func() {
			n := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "appended batch") {
					if n++; n == 2 {
						close(two)
					}
				}
			}
			eof <- n
		}()
		select {
		case <-two:
		case n := <-eof:
			cmd.Wait()
			t.Fatalf("round %d: the child stopped after %d appends", round, n)
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-eof
			cmd.Wait()
			t.Fatalf("round %d: the child did not append twice within 2 minutes", round)
		}
		time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-eof // the pipe is read to its end before Wait closes it
		cmd.Wait()
	}
	time.Sleep(time.Second) // an append the server had whole when the child died lands meanwhile
	checkWhole(t, openLive(t, Options{Namespace: ns}), "crash-1")
}

// checkWhole checks that stream holds whole batches of crashBatch events,
// each in order, and that $all holds the same.
func checkWhole(t *testing.T, s *Store, stream string) {
	t.Helper()
	ctx := liveCtx(t)
	got, err := s.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got)%crashBatch != 0 {
		t.Fatalf("%s has %d events, not a whole number of appends of %d", stream, len(got), crashBatch)
	}
	batch := 0
	for k, e := range got {
		var c crashedEvent
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if k%crashBatch == 0 {
			batch = c.Batch
		}
		if e.Version != int64(k+1) || c.I != k%crashBatch || c.Batch != batch {
			t.Fatalf("%s version %d is event %d of batch %d, in the append of batch %d: an append is not whole", stream, e.Version, c.I, c.Batch, batch)
		}
	}
	all, err := s.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil || len(all) != len(got) {
		t.Errorf("ReadAll = %d events, %v; the stream has %d", len(all), err, len(got))
	}
	t.Logf("%s: %d whole appends", stream, len(got)/crashBatch)
}

// TestCrashCancelledAppend cancels appends at random moments, before, during
// and after their events are sent: each is written whole or not at all.
func TestCrashCancelledAppend(t *testing.T) {
	s := freshStore(t)
	pad := strings.Repeat("y", 4000)
	written, cancelled := 0, 0
	for b := range 30 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(20_000))*time.Microsecond)
		_, err := s.Append(ctx, "cancel-1", eventstore.Any(), batchOf(crashBatch, "test.crashed", func(i int) string {
			return fmt.Sprintf(`{"batch":%d,"i":%d,"pad":%q}`, b, i, pad)
		})...)
		cancel()
		switch {
		case err == nil:
			written++
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			cancelled++
		default:
			t.Fatalf("append %d: %v", b, err)
		}
	}
	if written == 0 {
		if _, err := s.Append(liveCtx(t), "cancel-1", eventstore.Any(), batchOf(crashBatch, "test.crashed", func(i int) string {
			return fmt.Sprintf(`{"batch":99,"i":%d}`, i)
		})...); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d appends returned, %d cancelled", written, cancelled)
	time.Sleep(time.Second) // a cancelled append the server had whole may land meanwhile
	checkWhole(t, s, "cancel-1")
}
