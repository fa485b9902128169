package kurrent

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/metadata"
)

// unused returns a Store whose client is made but never used: the calls
// under test do not touch it, and the client connects only when used.
func unused(t *testing.T, url string) *Store {
	t.Helper()
	conf, addr, err := parseURL("KURRENTDB_URL", url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	s := offline(t, Options{})
	s.conf, s.addr, s.closed = *conf, addr, false
	client, err := s.newClient()
	if err != nil {
		t.Fatal(err)
	}
	s.cur = newConn(client)
	t.Cleanup(s.Close)
	return s
}

func TestCallAsksForTheLeader(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want []string
	}{
		{"kurrentdb://127.0.0.1:1?tls=false", []string{"true"}},
		{"kurrentdb://127.0.0.1:1?tls=false&nodePreference=follower", nil},
	} {
		s := unused(t, tt.url)
		got, err := call(context.Background(), s, func(ctx context.Context, _ *esdb.Client) ([]string, error) {
			md, _ := metadata.FromOutgoingContext(ctx)
			return md.Get("requires-leader"), nil
		})
		if err != nil || len(got) != len(tt.want) || len(got) > 0 && got[0] != tt.want[0] {
			t.Errorf("%s: requires-leader header = %v, %v; want %v", tt.url, got, err, tt.want)
		}
	}
}

// TestCallLeavesAHungClient: a call the v4 client never returns from (its
// error path blocked after a failed discovery) is left when the client is
// replaced, and tried again on the new one.
func TestCallLeavesAHungClient(t *testing.T) {
	s := unused(t, "kurrentdb://127.0.0.1:1?tls=false")
	var attempts atomic.Int32
	hung := make(chan struct{})
	defer close(hung)
	got, err := call(context.Background(), s, func(_ context.Context, c *esdb.Client) (int32, error) {
		n := attempts.Add(1)
		if n == 1 {
			s.renew(s.cur) // what another call does on ConnectionClosed
			<-hung         // and this one never returns
		}
		return n, nil
	})
	if err != nil || got != 2 {
		t.Errorf("call = %d, %v; want the second attempt's 2", got, err)
	}
}

func TestCallBoundedByContext(t *testing.T) {
	s := unused(t, "kurrentdb://127.0.0.1:1?tls=false")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	hung := make(chan struct{})
	defer close(hung)
	start := time.Now()
	_, err := call(ctx, s, func(context.Context, *esdb.Client) (int, error) { <-hung; return 0, nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("call = %v after %s; want the context's deadline, at once", err, time.Since(start))
	}
	if err := s.fail(ctx, "read x-1", err); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("fail = %v; want the context's error", err)
	}
}

func TestCallDoesNotRetryOwnErrors(t *testing.T) {
	s := unused(t, "kurrentdb://127.0.0.1:1?tls=false")
	var attempts atomic.Int32
	mine := errors.New("metadata is not a JSON object")
	_, err := call(context.Background(), s, func(context.Context, *esdb.Client) (int, error) {
		attempts.Add(1)
		return 0, mine
	})
	if !errors.Is(err, mine) || attempts.Load() != 1 {
		t.Errorf("call = %v after %d attempts; want the error after 1", err, attempts.Load())
	}
	s.Close()
	if _, err := call(context.Background(), s, func(context.Context, *esdb.Client) (int, error) { return 1, nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close = %v; want ErrClosed", err)
	}
}
