package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockClass is the first key of the projections' advisory locks (two-key
// form): "proj", apart from the event store's "civc".
const lockClass = 0x70726f6a

// sessionTimeout bounds each statement on the leader connection. A timeout
// counts as losing the connection, since pgx closes it.
const sessionTimeout = 10 * time.Second

// session is the Runner's one dedicated connection, holding the session
// advisory locks that make this process leader of generations. The locks
// end with the connection, so once it is lost (lost is closed), nothing led
// through it may be applied any more; the checkpoint's compare-and-set
// rejects the batches already under way.
type session struct {
	conn *pgx.Conn
	refs int // guarded by Runner.sessMu

	mu   sync.Mutex // serialises use of conn
	held map[string]bool
	lost chan struct{}
	err  error // why lost was closed
	stop chan struct{}
	done chan struct{}
}

// acquireSession returns the Runner's live session, opening one if there
// is none. Release it with releaseSession.
func (r *Runner) acquireSession(ctx context.Context) (*session, error) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if s := r.sess; s != nil && !s.isLost() {
		s.refs++
		return s, nil
	}
	pc, err := r.db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("leader connection: %w", err)
	}
	conn := pc.Hijack()
	// So that an operator can tell it apart in pg_stat_activity.
	if _, err := conn.Exec(ctx, `SET application_name = 'civic projections leader'`); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("leader connection: %w", err)
	}
	s := &session{
		conn: conn,
		refs: 1,
		held: map[string]bool{},
		lost: make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.watch(r.opts.Poll)
	r.sess = s
	return s, nil
}

func (r *Runner) releaseSession(s *session) {
	r.sessMu.Lock()
	s.refs--
	last := s.refs == 0
	if last && r.sess == s {
		r.sess = nil
	}
	r.sessMu.Unlock()
	if !last {
		return
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(errors.New("leader connection closed"))
}

// watch pings the connection, so that its loss stops the leaders within
// one interval even when they are idle.
func (s *session) watch(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.lost:
			return
		case <-t.C:
		}
		s.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
		if err := s.conn.Ping(ctx); err != nil {
			s.failLocked(err)
		}
		cancel()
		s.mu.Unlock()
	}
}

func (s *session) isLost() bool {
	select {
	case <-s.lost:
		return true
	default:
		return false
	}
}

// failLocked marks the session lost and closes its connection, which ends
// its locks on the server. s.mu is held.
func (s *session) failLocked(err error) {
	if s.isLost() {
		return
	}
	s.err = fmt.Errorf("%w: %w", errSessionLost, err)
	close(s.lost)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.conn.Close(ctx)
}

// tryLock takes key's leader lock unless this process or another holds it;
// elsewhere reports that another process does. Session advisory locks are
// re-entrant on the server, so this process's own holders are tracked here.
func (s *session) tryLock(key string) (got, elsewhere bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isLost() {
		return false, false, s.err
	}
	if s.held[key] {
		return false, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if err := s.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, key).Scan(&got); err != nil {
		s.failLocked(err)
		return false, false, fmt.Errorf("lock %s: %w", key, err)
	}
	if got {
		s.held[key] = true
	}
	return got, !got, nil
}

// unlock releases key's leader lock, if held here.
func (s *session) unlock(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held[key] {
		return
	}
	delete(s.held, key)
	if s.isLost() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if _, err := s.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, key); err != nil {
		s.failLocked(err)
	}
}

// sessionContext returns a context that also ends when s is lost.
func sessionContext(ctx context.Context, s *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
