package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore/kurrent"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/notify"
	"golang.org/x/mod/sumdb/note"
)

// config is the process configuration, read from the environment once.
type config struct {
	databaseURL string
	// eventStore is where events live: "postgres" (the default, beside
	// the read models) or "kurrent" (a KurrentDB at kurrentURL, with the
	// dense index and the tree in PostgreSQL; see eventstore/dense).
	eventStore string
	kurrentURL string
	// kurrentNamespace is the ledger's view inside a KurrentDB it shares
	// with others (KURRENTDB_NAMESPACE; see kurrent.Options.Namespace).
	kurrentNamespace string
	addr             string
	dataDir          string
	signingKey       string // path; "" means dataDir/signing-key.pem
	trustedKeys      []string
	// origin names the log in its checkpoints ("": the name its
	// checkpoints carry, or one made from the signing key).
	origin string
	// checkpointEvery and checkpointInterval are how often the log is
	// signed; verify holds the log to them.
	checkpointEvery    int64
	checkpointInterval time.Duration
	// trustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (CIVIC_TRUSTED_PROXIES).
	trustedProxies []netip.Prefix
	// witnesses are the witnesses whose co-signatures the server takes
	// and verify counts (CIVIC_WITNESSES: their note verifier keys).
	witnesses []note.Verifier
	logLevel  slog.Level
	logJSON   bool

	statementTimeout time.Duration
	waitTimeout      time.Duration
	ratePerSecond    float64
	maxDepth         int
	maxComplexity    int
	// maxFields, maxTokens, requestTimeout and maxResponseBytes bound a
	// request before and while it runs (graph.Config).
	maxFields, maxTokens, maxResponseBytes int
	requestTimeout                         time.Duration
	// socketsPerKey and socketsPerAddress bound the open WebSockets.
	socketsPerKey, socketsPerAddress int
	maxBodyBytes                     int64
	// introspection is "public", "signed-in" or "" (public on a loopback
	// address, where only the machine's own users reach the server).
	introspection string
	// demo says whether serve loads the demo certification cycle: "on",
	// "off", or "" (on for the embedded database, off with DATABASE_URL,
	// so a production database never gets invented data by default).
	demo string
	// notify is how serve sends the certification workflow's
	// notifications (SMTP, or the log), and how old an event may be and
	// still be announced.
	notify notify.Settings
}

// loadDemo reports whether serve loads the demo data.
func (c config) loadDemo() bool {
	if c.demo == "" {
		// Off over KurrentDB: a cluster is never a newcomer's trial.
		return c.databaseURL == "" && c.eventStore == "postgres"
	}
	return c.demo == "on"
}

func (m *Main) config() (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(m.Getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		databaseURL:      get("DATABASE_URL", ""),
		eventStore:       get("CIVIC_EVENTSTORE", "postgres"),
		kurrentURL:       get("KURRENTDB_URL", ""),
		kurrentNamespace: get("KURRENTDB_NAMESPACE", ""),
		addr:             get("CIVIC_ADDR", "127.0.0.1:8080"),
		dataDir:          get("CIVIC_DATA_DIR", ".civic"),
		signingKey:       get("CIVIC_SIGNING_KEY", ""),
		introspection:    get("CIVIC_INTROSPECTION", ""),
		demo:             get("CIVIC_DEMO", ""),
	}
	switch {
	case c.eventStore != "postgres" && c.eventStore != "kurrent":
		return c, fmt.Errorf("CIVIC_EVENTSTORE %q: want postgres or kurrent", c.eventStore)
	case c.eventStore == "kurrent" && c.kurrentURL == "":
		return c, errors.New("CIVIC_EVENTSTORE=kurrent needs KURRENTDB_URL: the cluster's connection string, such as kurrentdb://localhost:2113?tls=false")
	case c.eventStore == "postgres" && c.kurrentURL != "":
		return c, errors.New("KURRENTDB_URL is set but CIVIC_EVENTSTORE is not kurrent: say CIVIC_EVENTSTORE=kurrent to keep events in KurrentDB, or unset KURRENTDB_URL")
	}
	if c.kurrentURL != "" {
		if err := kurrent.CheckOptions(c.kurrentURL, c.kurrentOptions()); err != nil {
			return c, err
		}
	}
	if c.origin = get("CIVIC_LOG_ORIGIN", ""); c.origin != "" {
		if err := postgres.CheckOrigin(c.origin); err != nil {
			return c, fmt.Errorf("CIVIC_LOG_ORIGIN: %w", err)
		}
	}
	for _, k := range strings.Split(get("CIVIC_WITNESSES", ""), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		v, err := witness.Verifier(k)
		if err != nil {
			return c, fmt.Errorf("CIVIC_WITNESSES: %w", err)
		}
		c.witnesses = append(c.witnesses, v)
	}
	for _, p := range strings.Split(get("CIVIC_TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return c, fmt.Errorf("CIVIC_TRUSTED_PROXIES: %q is neither an address nor a CIDR prefix (such as 10.0.0.0/8)", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, prefix.Masked())
	}
	for _, p := range strings.Split(get("CIVIC_TRUSTED_KEYS", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.trustedKeys = append(c.trustedKeys, p)
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(get("CIVIC_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("CIVIC_LOG_LEVEL: %w (want debug, info, warn or error)", err)
	}
	switch f := get("CIVIC_LOG_FORMAT", "text"); f {
	case "text":
	case "json":
		c.logJSON = true
	default:
		return c, fmt.Errorf("CIVIC_LOG_FORMAT %q: want text or json", f)
	}
	switch c.demo {
	case "", "on", "off":
	default:
		return c, fmt.Errorf("CIVIC_DEMO %q: want on or off", c.demo)
	}
	switch c.introspection {
	case "", "public", "signed-in":
	default:
		return c, fmt.Errorf("CIVIC_INTROSPECTION %q: want public or signed-in", c.introspection)
	}
	durations := []struct {
		name string
		def  string
		dst  *time.Duration
	}{
		{"CIVIC_STATEMENT_TIMEOUT", "5s", &c.statementTimeout},
		{"CIVIC_WAIT_TIMEOUT", "5s", &c.waitTimeout},
		{"CIVIC_CHECKPOINT_INTERVAL", "1s", &c.checkpointInterval},
		{"CIVIC_REQUEST_TIMEOUT", "15s", &c.requestTimeout},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(get(d.name, d.def))
		if err != nil || v <= 0 {
			return c, fmt.Errorf("%s %q: want a positive duration such as 5s", d.name, get(d.name, d.def))
		}
		*d.dst = v
	}
	ints := []struct {
		name string
		def  string
		dst  *int
	}{
		{"CIVIC_MAX_DEPTH", "12", &c.maxDepth},
		{"CIVIC_MAX_COMPLEXITY", "5000", &c.maxComplexity},
		{"CIVIC_MAX_FIELDS", "1000", &c.maxFields},
		{"CIVIC_MAX_TOKENS", "10000", &c.maxTokens},
		{"CIVIC_MAX_RESPONSE_BYTES", "8388608", &c.maxResponseBytes},
		{"CIVIC_MAX_SOCKETS_PER_KEY", "16", &c.socketsPerKey},
		{"CIVIC_MAX_SOCKETS_PER_ADDRESS", "64", &c.socketsPerAddress},
	}
	for _, n := range ints {
		v, err := strconv.Atoi(get(n.name, n.def))
		if err != nil || v <= 0 {
			return c, fmt.Errorf("%s %q: want a positive whole number", n.name, get(n.name, n.def))
		}
		*n.dst = v
	}
	var err error
	if c.checkpointEvery, err = strconv.ParseInt(get("CIVIC_CHECKPOINT_EVERY", "1000"), 10, 64); err != nil || c.checkpointEvery <= 0 {
		return c, fmt.Errorf("CIVIC_CHECKPOINT_EVERY %q: want a positive number of log entries", get("CIVIC_CHECKPOINT_EVERY", ""))
	}
	if c.maxBodyBytes, err = strconv.ParseInt(get("CIVIC_MAX_BODY_BYTES", "1048576"), 10, 64); err != nil || c.maxBodyBytes <= 0 {
		return c, fmt.Errorf("CIVIC_MAX_BODY_BYTES %q: want a positive number of bytes", get("CIVIC_MAX_BODY_BYTES", ""))
	}
	if c.ratePerSecond, err = strconv.ParseFloat(get("CIVIC_RATE_LIMIT", "20"), 64); err != nil || c.ratePerSecond < 0 {
		return c, fmt.Errorf("CIVIC_RATE_LIMIT %q: want requests a second per key (0: no limit)", get("CIVIC_RATE_LIMIT", ""))
	}
	if c.notify, err = notify.ReadSettings(m.Getenv); err != nil {
		return c, err
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return c, fmt.Errorf("CIVIC_DATA_DIR: %w", err)
	}
	c.dataDir = abs
	return c, nil
}

// graph returns the API's limits for a server listening on addr.
func (c config) graph(addr net.Addr) graph.Config {
	public := c.introspection == "public"
	if c.introspection == "" {
		if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
			public = true
		}
	}
	rate := c.ratePerSecond
	if rate == 0 {
		rate = -1 // graph.Config reads 0 as "default"
	}
	return graph.Config{
		MaxBodyBytes: c.maxBodyBytes, MaxDepth: c.maxDepth, MaxComplexity: c.maxComplexity,
		MaxFields: c.maxFields, MaxTokens: c.maxTokens, MaxResponseBytes: c.maxResponseBytes, RequestTimeout: c.requestTimeout,
		RatePerSecond: rate, RateBurst: int(2 * c.ratePerSecond),
		WaitTimeout: c.waitTimeout, PublicIntrospection: public,
		MaxSocketsPerKey: c.socketsPerKey, MaxSocketsPerAddress: c.socketsPerAddress,
		Witnesses: c.witnesses, TrustedProxies: c.trustedProxies,
	}
}

// kurrentOptions are the KurrentDB client's options.
func (c config) kurrentOptions() kurrent.Options {
	return kurrent.Options{Namespace: c.kurrentNamespace}
}

// storeOptions are the event store's options: key signs checkpoints (nil
// for a process that runs no sequencer, or runs one without signing);
// the log's earlier keys (CIVIC_TRUSTED_KEYS) are trusted beside it.
func (c config) storeOptions(key ed25519.PrivateKey, log *slog.Logger) (postgres.Options, error) {
	var trusted []ed25519.PublicKey
	for _, p := range c.trustedKeys {
		k, err := loadPublicKey(p)
		if err != nil {
			return postgres.Options{}, fmt.Errorf("CIVIC_TRUSTED_KEYS: %w", err)
		}
		trusted = append(trusted, k)
	}
	return postgres.Options{SigningKey: key, Origin: c.origin, TrustedKeys: trusted, CheckpointEvery: c.checkpointEvery,
		CheckpointInterval: c.checkpointInterval, Logger: log}, nil
}

// signingKeyPath is where the checkpoint signing key is read from, and
// where serve creates one when it is the default path.
func (c config) signingKeyPath() string {
	if c.signingKey != "" {
		return c.signingKey
	}
	return filepath.Join(c.dataDir, "signing-key.pem")
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
