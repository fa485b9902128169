package kurrent

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// schemes maps the connection-string schemes a KurrentDB user may write to
// the two the v4 client parses: KurrentDB's documentation and its newer
// clients say kurrentdb:// (and kurrent://, kdb://), the v4 client only
// knows EventStoreDB's esdb://.
var schemes = map[string]string{
	"kurrentdb":          "esdb",
	"kurrentdb+discover": "esdb+discover",
	"kurrent":            "esdb",
	"kurrent+discover":   "esdb+discover",
	"kdb":                "esdb",
	"kdb+discover":       "esdb+discover",
	"esdb":               "esdb",
	"esdb+discover":      "esdb+discover",
}

// settings are the query settings the v4 client understands, lower-cased
// as it compares them. The client only logs a warning for any other
// setting, so a misspelt tlsVerifyCert would silently leave certificate
// checks as they were: an unknown setting is refused instead.
var settings = []string{
	"defaultdeadline", "discoveryinterval", "gossiptimeout", "keepaliveinterval",
	"keepalivetimeout", "maxdiscoverattempts", "nodepreference", "tls", "tlscafile",
	"tlsverifycert", "usercertfile", "userkeyfile",
}

// translateScheme rewrites the scheme of a KurrentDB connection string into
// the one the v4 client parses, leaving the rest as written. The scheme is
// case-insensitive, as in any URL.
func translateScheme(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return "", fmt.Errorf("no scheme: want kurrentdb://host:2113 (or kurrentdb+discover://, esdb://, esdb+discover://)")
	}
	to, ok := schemes[strings.ToLower(scheme)]
	if !ok {
		return "", fmt.Errorf("unknown scheme %q: want kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://", scheme)
	}
	return to + "://" + rest, nil
}

// userinfo returns the user and password written in a connection string,
// as written (percent-encoded or not). It cuts the string by hand rather
// than with net/url so that it finds them even in a string net/url refuses,
// which is when an error is likeliest to quote the string.
func userinfo(raw string) (user, password string, ok bool) {
	_, rest, found := strings.Cut(raw, "://")
	if !found {
		rest = raw
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return "", "", false
	}
	user, password, _ = strings.Cut(rest[:at], ":")
	return user, password, true
}

// redact returns raw with its password replaced, fit for an error message
// or a log line.
func redact(raw string) string {
	if _, password, ok := userinfo(raw); ok && password != "" {
		return scrub(raw, raw)
	}
	return raw
}

// scrub removes raw's password from msg, in the form it was written and
// decoded, since the errors of net/url and of the client quote the string
// they were given.
func scrub(msg, raw string) string {
	_, password, ok := userinfo(raw)
	if !ok || password == "" {
		return msg
	}
	forms := []string{password}
	if dec, err := url.PathUnescape(password); err == nil && dec != password {
		forms = append(forms, dec)
	}
	if enc := url.QueryEscape(password); enc != password {
		forms = append(forms, enc)
	}
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, ":"+f+"@", ":xxxxx@")
		msg = strings.ReplaceAll(msg, f, "xxxxx")
	}
	return msg
}

// parseURL turns a KurrentDB connection string into the client's
// configuration, and returns the address it names for messages. source
// names the setting the string came from (KURRENTDB_URL), so that an
// operator knows what to fix; no error quotes the password.
func parseURL(source, raw string) (*esdb.Configuration, string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, "", fmt.Errorf("%s is empty: want kurrentdb://host:2113?tls=false, or kurrentdb://user:password@host:2113 with TLS", source)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s (in %s)", source, scrub(fmt.Sprintf(format, args...), raw), redact(raw))
	}
	translated, err := translateScheme(raw)
	if err != nil {
		return nil, "", bad("%v", err)
	}
	_, rest, _ := strings.Cut(translated, "://")
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		query, _, _ = strings.Cut(rest[i+1:], "#")
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if strings.HasPrefix(authority, ":") || at == 0 {
			return nil, "", bad("credentials without a user name")
		}
		authority = authority[at+1:]
	}
	if strings.Trim(authority, ",") == "" {
		return nil, "", bad("no host: want kurrentdb://host:2113")
	}
	if err := checkSettings(query); err != nil {
		return nil, "", bad("%v", err)
	}
	conf, err := esdb.ParseConnectionString(translated)
	if err != nil {
		return nil, "", bad("%v", err)
	}
	if err := conf.Validate(); err != nil {
		return nil, "", bad("%v", err)
	}
	return conf, address(conf), nil
}

// checkSettings refuses what the client would ignore or misread: an
// unknown setting, and a defaultDeadline that is not a positive number of
// milliseconds (the client drops that error and keeps a zero deadline).
func checkSettings(query string) error {
	if query == "" {
		return nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("malformed settings after '?': %v", err)
	}
	for key, vals := range values {
		k := strings.ToLower(key)
		if !slices.Contains(settings, k) {
			return fmt.Errorf("unknown setting %q (known: tls, tlsVerifyCert, tlsCAFile, userCertFile, userKeyFile, nodePreference, defaultDeadline, keepAliveInterval, keepAliveTimeout, discoveryInterval, gossipTimeout, maxDiscoverAttempts)", key)
		}
		if k == "defaultdeadline" && len(vals) > 0 {
			if n, err := strconv.Atoi(vals[0]); err != nil || n < 1 {
				return fmt.Errorf("setting %s=%q: want a positive number of milliseconds", key, vals[0])
			}
		}
	}
	return nil
}

// address names the node or the gossip seeds a configuration connects to.
func address(conf *esdb.Configuration) string {
	if len(conf.GossipSeeds) == 0 {
		return conf.Address
	}
	seeds := make([]string, len(conf.GossipSeeds))
	for i, s := range conf.GossipSeeds {
		seeds[i] = s.String()
	}
	return strings.Join(seeds, ",")
}

// CheckOptions checks a connection string and the options as Open would,
// without connecting: a server checks its configuration before it starts
// anything else, so that a typo is refused at once and by name.
func CheckOptions(url string, opts Options) error {
	if opts.Source == "" {
		opts.Source = defaultSource
	}
	if err := checkNamespace(opts.Namespace); err != nil {
		return err
	}
	_, _, err := parseURL(opts.Source, url)
	return err
}
