package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// KeyLookup finds the actor an API key stands for. It returns an
// Unauthenticated domain error for an unknown, malformed or revoked key.
type KeyLookup interface {
	Actor(ctx context.Context, key string) (domain.Actor, error)
}

type ctxKey int

const (
	actorKey ctxKey = iota
	correlationKey
	minPositionKey
	principalKey
)

// principalFrom returns who the request's limits apply to (principal).
func principalFrom(ctx context.Context) string {
	who, _ := ctx.Value(principalKey).(string)
	return who
}

// ActorFrom returns the caller; anonymous when the request carried no key.
func ActorFrom(ctx context.Context) domain.Actor {
	if a, ok := ctx.Value(actorKey).(domain.Actor); ok {
		return a
	}
	return domain.Actor{ID: "anonymous", Role: domain.Anonymous}
}

// WithActor returns ctx carrying the caller, for tests and the WebSocket
// handshake.
func WithActor(ctx context.Context, a domain.Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

func newCorrelationID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keyCache remembers looked-up keys briefly, so that a dashboard polling
// every second costs one key lookup per TTL, not one per request. A revoked
// key keeps working for at most keyCacheTTL, unless the server follows the
// revocations (Server.WatchRevocations, which civic serve runs): it
// forgets a revoked key as soon as the keys read model has the revocation.
// The cache is hashicorp/golang-lru's expirable LRU: bounded, the least
// recently used key evicted first (a flood of made-up keys cannot wipe the
// keys in use, as clearing a full map did).
type keyCache struct {
	lookup KeyLookup
	lru    *expirable.LRU[string, cachedKey]
}

type cachedKey struct {
	actor domain.Actor
	err   error
}

const (
	keyCacheTTL  = 10 * time.Second
	keyCacheSize = 10_000
)

func newKeyCache(lookup KeyLookup) *keyCache {
	return &keyCache{lookup: lookup, lru: expirable.NewLRU[string, cachedKey](keyCacheSize, nil, keyCacheTTL)}
}

func (c *keyCache) actor(ctx context.Context, key string) (domain.Actor, error) {
	if e, ok := c.lru.Get(key); ok {
		return e.actor, e.err
	}
	a, err := c.lookup.Actor(ctx, key)
	if err != nil && domain.KindOf(err) != domain.Unauthenticated {
		return a, err // do not remember an outage
	}
	c.lru.Add(key, cachedKey{actor: a, err: err})
	return a, err
}

// forget drops the cached lookups of the key with the given ID, so that
// the next request with it is checked afresh.
func (c *keyCache) forget(keyID string) {
	for _, k := range c.lru.Keys() {
		if e, ok := c.lru.Peek(k); ok && e.actor.KeyID == keyID {
			c.lru.Remove(k)
		}
	}
}

// bearer returns the key of an "Authorization: Bearer <key>" header.
func bearer(h string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return "", false
	}
	return strings.TrimSpace(key), true
}

// authenticate puts the caller in the request's context. A request with a
// key the server does not accept is refused with 401 before anything runs:
// silently treating it as anonymous would hide a misconfigured dashboard.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), correlationKey, newCorrelationID())
		actor := ActorFrom(ctx)
		if r.Header.Get("Upgrade") != "" {
			// A WebSocket authenticates, and is charged against its
			// principal's rate, at its connection_init, where a refusal is a
			// close code the client heeds (4401, 4429); refused here, the
			// upgrade would fail with an HTTP status the graphql-ws client
			// answers by reconnecting at once.
			next.ServeHTTP(w, r.WithContext(WithActor(ctx, actor)))
			return
		}
		if h := r.Header.Get("Authorization"); h != "" {
			key, ok := bearer(h)
			if !ok {
				s.refuse(w, r, http.StatusUnauthorized, codeUnauthenticated, "the Authorization header must be \"Bearer <API key>\"")
				return
			}
			a, err := s.keys.actor(ctx, key)
			if err != nil {
				if domain.KindOf(err) == domain.Unauthenticated {
					s.refuse(w, r, http.StatusUnauthorized, codeUnauthenticated, "%s", domain.MessageOf(err))
					return
				}
				s.log.ErrorContext(ctx, "key lookup", "err", err)
				s.refuse(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "the key could not be checked; try again")
				return
			}
			actor = a
		}
		ctx = WithActor(ctx, actor)
		who := s.principal(actor, r)
		ctx = context.WithValue(ctx, principalKey, who)
		if ok, wait := s.limiter.allow(who, time.Now()); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			s.refuse(w, r, http.StatusTooManyRequests, codeRateLimited,
				"over the limit of %g requests a second for %s; slow down (retry in %s)", s.cfg.RatePerSecond, whom(who), wait.Round(time.Millisecond))
			return
		}
		if !actor.SignedIn() {
			// Anonymous callers share a few requests in flight, so that a
			// flood from many addresses queues behind them rather than
			// take the CPU from the callers with keys.
			t := time.NewTimer(anonymousWait)
			select {
			case s.anonymous <- struct{}{}:
				t.Stop()
				defer func() { <-s.anonymous }()
			case <-t.C:
				w.Header().Set("Retry-After", "1")
				s.refuse(w, r, http.StatusTooManyRequests, codeRateLimited,
					"too many anonymous requests at once (%d in all); try again, or use an API key", cap(s.anonymous))
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// anonymousWait is how long an anonymous request waits for its turn
// among those in flight before it is refused.
const anonymousWait = time.Second

// refuse answers a request that will not run with a GraphQL error.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code, format string, args ...any) {
	e := gqlerror.Errorf(format, args...)
	e.Extensions = map[string]any{"code": code}
	writeErrors(w, responseType(r), status, e)
}

// principal is who a limit applies to: the key, or the client's address
// for anonymous callers (behind a trusted proxy, the address it forwards
// for: clientAddress).
func (s *Server) principal(a domain.Actor, r *http.Request) string {
	if a.SignedIn() {
		return a.ID
	}
	return "ip:" + clientAddress(r, s.cfg.TrustedProxies)
}

// allowed takes a token from who's bucket, reporting whether there was one.
func (s *Server) allowed(who string) bool {
	ok, _ := s.limiter.allow(who, time.Now())
	return ok
}
