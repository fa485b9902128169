// Package graph is Civic Ledger's GraphQL API: the schema (schema/), thin
// resolvers that convert, call the domain or the read models, and return,
// and the HTTP front that keeps third-party dashboards from hurting the
// server: body, depth, complexity and page limits, per-key rate limits,
// statement timeouts, and errors that carry a code and never an internal
// detail.
package graph

import (
	"compress/gzip"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/generated"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/web"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/klauspost/compress/gzhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"golang.org/x/mod/sumdb/note"
)

// Config bounds what one caller can make the server do. Zero fields take
// the defaults in parentheses.
type Config struct {
	// MaxBodyBytes caps a request body (1 MiB).
	MaxBodyBytes int64
	// MaxDepth caps how deeply fields may nest (12).
	MaxDepth int
	// MaxComplexity caps an operation's cost, each field counting 1 and a
	// list counting its page size times its fields (5,000).
	MaxComplexity int
	// MaxTokens caps the tokens of a query document (10,000), MaxFields
	// its fields once fragments are expanded (1,000), MaxDirectives the
	// directives at one location (5); all are checked before validation,
	// in time linear in the document (documentLimits).
	MaxTokens     int
	MaxFields     int
	MaxDirectives int
	// RequestTimeout is an operation's budget of wall time: its resolvers
	// and their SQL are cancelled when it runs out (15s).
	RequestTimeout time.Duration
	// MaxResponseBytes caps a response's data (8 MiB).
	MaxResponseBytes int
	// ExpensiveComplexity is the complexity from which an operation is
	// expensive (1,000: a trend over three dimensions, a page of a hundred
	// organisations is not): at most MaxExpensivePerKey of those run at
	// once for one key or address (2), and MaxExpensive in all (4), so
	// that no one caller holds every database connection; the others wait
	// up to 2 s for a slot, then are refused (429).
	ExpensiveComplexity int
	MaxExpensivePerKey  int
	MaxExpensive        int
	// MaxAnonymousInFlight bounds the anonymous requests being served at
	// once, all addresses together (2 per CPU); the next waits up to a
	// second, then is refused (429). Callers with keys are not counted.
	MaxAnonymousInFlight int
	// RatePerSecond and RateBurst bound each API key's (or anonymous
	// address's) requests (20 a second, bursts of 40).
	RatePerSecond float64
	RateBurst     int
	// WaitTimeout bounds how long a read waits for the read models to
	// reach the position the client asked for (5s).
	WaitTimeout time.Duration
	// PublicIntrospection lets anonymous callers read the schema.
	PublicIntrospection bool
	// noPolicy leaves the visibility policy out, so a benchmark can
	// measure what it costs (export_test.go); nothing else sets it.
	noPolicy bool
	// noAnswerCache leaves the anonymous answer cache out, so a benchmark
	// of the GraphQL layer measures it rather than the cache.
	noAnswerCache bool
	// InitTimeout is how long a WebSocket may stay open without sending
	// connection_init (3s).
	InitTimeout time.Duration
	// KeepAlive is how often the server pings a WebSocket; one silent for
	// two intervals is taken for dead and closed (15s).
	KeepAlive time.Duration
	// MaxOperationsPerSocket bounds the operations running at once on one
	// WebSocket (32).
	MaxOperationsPerSocket int
	// MaxSocketsPerKey and MaxSocketsPerAddress bound the WebSockets open
	// at once with one API key (16) and from one client address, signed
	// in or not (64).
	MaxSocketsPerKey     int
	MaxSocketsPerAddress int
	// TrustedProxies are the addresses of the reverse proxies in front of
	// the server, whose X-Forwarded-For names the client an anonymous
	// caller's limits apply to; none: the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// Witnesses are the witnesses whose co-signatures of the log's
	// checkpoints POST /log/cosignature takes; none: it takes none.
	Witnesses []note.Verifier
}

func (c *Config) defaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 12
	}
	if c.MaxComplexity <= 0 {
		c.MaxComplexity = 5000
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = 10_000
	}
	if c.MaxFields <= 0 {
		c.MaxFields = 1000
	}
	if c.MaxDirectives <= 0 {
		c.MaxDirectives = 5
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 8 << 20
	}
	if c.ExpensiveComplexity <= 0 {
		c.ExpensiveComplexity = 1000
	}
	if c.MaxExpensivePerKey <= 0 {
		c.MaxExpensivePerKey = 2
	}
	if c.MaxExpensive <= 0 {
		c.MaxExpensive = 4
	}
	if c.MaxAnonymousInFlight <= 0 {
		c.MaxAnonymousInFlight = 2 * runtime.GOMAXPROCS(0)
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = 20
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 40
	}
	if c.WaitTimeout <= 0 {
		c.WaitTimeout = 5 * time.Second
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = 3 * time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.MaxOperationsPerSocket <= 0 {
		c.MaxOperationsPerSocket = 32
	}
	if c.MaxSocketsPerKey <= 0 {
		c.MaxSocketsPerKey = 16
	}
	if c.MaxSocketsPerAddress <= 0 {
		c.MaxSocketsPerAddress = 64
	}
}

// Deps are what the resolvers work with.
type Deps struct {
	Store    eventstore.Store
	Registry *registry.Service
	// Certification handles the certification workflow's commands.
	Certification *certification.Service
	// Networks handles the commands on networks and their memberships.
	Networks *network.Service
	// Projects handles the commands on donor projects.
	Projects *project.Service
	// Activities handles the commands on activities and their attendance.
	Activities *activity.Service
	// Budgeting handles the commands on participatory budgets and counts
	// them again (recountCycle).
	Budgeting *budgeting.Service
	// Benchmark handles the benchmark's commands and replays its scores;
	// its Ledger reads the figures of computed indicators.
	Benchmark *benchmark.Service
	// Privacy erases personal data.
	Privacy *privacy.Service
	// Keyring opens the personal data the log holds sealed, for the read
	// paths that read the log itself (subscriptions, audits, replays).
	Keyring domain.Keyring
	// Reads queries the read models; give it a pool whose connections have
	// a statement_timeout, so no query can run away.
	Reads  *projections.Reads
	Runner *projections.Runner
	Keys   KeyLookup
	Logger *slog.Logger
	// Now is the clock of commands (time.Now when nil).
	Now func() time.Time
}

// GCPercent is the garbage collector setting civic serve runs the API
// with, unless the GOGC environment variable says otherwise; benchmarks of
// the API run with it too.
const GCPercent = 400

// Server is the GraphQL HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	keys    *keyCache
	limiter *limiter
	reads   *projections.Reads
	exec    *handler.Server
	// store and runner are what WatchRevocations follows and waits for.
	store   eventstore.Store
	runner  *projections.Runner
	sockets sockets
	// expensive holds the slots of the expensive operations running.
	expensive *gate
	// resolver is the root resolver, for its caches' figures.
	resolver *Resolver
	// anonymous holds a token for each anonymous request being served.
	anonymous chan struct{}
	// logs serves the log's checkpoints and proofs (logRoutes).
	logs http.Handler
	// places caches the regions and municipalities every request's
	// lookups read; nil without a projection runner to say when they move.
	places *placeCache
	// answers is the anonymous answer cache (http.go), nil without a
	// store and runner to key it by; answerHits and answerMisses count
	// its lookups.
	answers                  *expirable.LRU[string, []byte]
	answerHits, answerMisses atomic.Int64
}

// NewServer builds the API.
func NewServer(deps Deps, cfg Config) *Server {
	cfg.defaults()
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{
		cfg:       cfg,
		log:       deps.Logger,
		keys:      newKeyCache(deps.Keys),
		limiter:   newLimiter(cfg.RatePerSecond, cfg.RateBurst),
		reads:     deps.Reads,
		expensive: newGate(cfg.MaxExpensive, cfg.MaxExpensivePerKey),
		anonymous: make(chan struct{}, cfg.MaxAnonymousInFlight),
	}
	r := &Resolver{deps: deps, cfg: cfg, views: catalog.Views, trends: newTrendCache()}
	s.resolver = r
	gc := generated.Config{Resolvers: r}
	pol := &policy{views: catalog.Views}
	gc.Directives.See = pol.see
	if cfg.noPolicy {
		gc.Directives.See = passThrough
	}
	setComplexity(&gc.Complexity)
	es := generated.NewExecutableSchema(gc)
	// A schema the visibility rules do not cover whole is a programming
	// error: caught at start, before any request is served.
	if err := pol.Validate(es); err != nil {
		panic(err)
	}
	h := handler.New(es)
	s.store, s.runner = deps.Store, deps.Runner
	if deps.Runner != nil {
		s.places = &placeCache{reads: deps.Reads, runner: deps.Runner}
		if deps.Store != nil && !cfg.noAnswerCache {
			s.answers = expirable.NewLRU[string, []byte](answerCacheSize, nil, answerCacheTTL)
		}
	}
	h.AddTransport(websocketTransport{s: s})
	h.AddTransport(getTransport{s})
	h.AddTransport(postTransport{s})
	docs := lru.New[*ast.QueryDocument](1000)
	h.SetQueryCache(docs)
	h.SetParserTokenLimit(cfg.MaxTokens)
	h.Use(introspection{public: cfg.PublicIntrospection})
	h.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	// After the persisted query's text is known, before gqlgen parses it.
	h.Use(documentLimits{maxTokens: cfg.MaxTokens, maxFields: cfg.MaxFields, maxDepth: cfg.MaxDepth,
		maxDirectives: cfg.MaxDirectives, cache: docs})
	h.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	h.Use(inputHygiene{places: s.unknownPlaces})
	h.SetErrorPresenter(presentError(s.log))
	h.SetRecoverFunc(recoverPanic(s.log))
	s.exec = h
	s.logs = s.logRoutes(r)
	return s
}

// Handler returns the HTTP handler: the API at /graphql and GraphiQL at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Answers of a packet or more are gzipped for clients that accept it
	// (gzipAnswers; WebSockets pass through it): the
	// schema GraphiQL fetches is 400 KB of JSON, a trend or a page of
	// organisations tens of KB, and a closed network is often a slow one.
	// Keys travel in headers, never cookies, so a page elsewhere cannot
	// make a browser send a compressed secret beside input of its own.
	mux.Handle("/graphql", gzipAnswers(s.authenticate(s.limitBody(s.withMinPosition(s.withLoaders(s.exec))))))
	mux.Handle("/log/", gzipAnswers(s.authenticate(s.limitBody(s.logs))))
	// GraphiQL, embedded (package web): nothing it loads comes from
	// elsewhere, so it works offline. It opens on the anonymous role's
	// first example (web/graphiql/examples).
	graphiql := web.GraphiQL()
	mux.Handle("GET /{$}", graphiql)
	mux.Handle("GET "+web.GraphiQLPrefix, graphiql)
	return mux
}

// gzipAnswers compresses answers of 1,400 bytes or more (more than one
// packet) for clients that accept gzip, with klauspost/compress's gzhttp
// at its fastest level: on a slow network a JSON answer shrinks to a
// fifth or less, and on a fast one the compression costs microseconds per
// answer, not the milliseconds a better ratio would.
var gzipAnswers = func() func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1400), gzhttp.CompressionLevel(gzip.BestSpeed))
	if err != nil {
		panic(err) // fixed, valid options
	}
	return wrap
}()

// limitBody caps the request body; the transport reports an overflow as 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
