package kurrent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

func TestTranslateScheme(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"kurrentdb://localhost:2113", "esdb://localhost:2113", true},
		{"kurrentdb+discover://cluster.example:2113", "esdb+discover://cluster.example:2113", true},
		{"KurrentDB://localhost", "esdb://localhost", true},
		{"kurrent://h", "esdb://h", true},
		{"kdb+discover://h", "esdb+discover://h", true},
		{"esdb://admin:changeit@h:2113?tls=false", "esdb://admin:changeit@h:2113?tls=false", true},
		{"esdb+discover://h", "esdb+discover://h", true},
		{"http://localhost:2113", "", false},
		{"postgres://localhost", "", false},
		{"localhost:2113", "", false},
		{"://localhost", "", false},
	}
	for _, tt := range tests {
		got, err := translateScheme(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("translateScheme(%q) = %q, %v; want %q, ok %t", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url   string
		check func(*esdb.Configuration) bool
		addr  string
	}{
		{"kurrentdb://localhost:2113?tls=false", func(c *esdb.Configuration) bool {
			return c.Address == "localhost:2113" && c.DisableTLS && !c.DnsDiscover && c.Username == ""
		}, "localhost:2113"},
		{"  kurrentdb://db.example  ", func(c *esdb.Configuration) bool { return c.Address == "db.example:2113" && !c.DisableTLS }, "db.example:2113"},
		{"kurrentdb://admin:changeit@db:2113?tlsVerifyCert=false&nodePreference=follower", func(c *esdb.Configuration) bool {
			return c.Username == "admin" && c.Password == "changeit" && c.SkipCertificateVerification && c.NodePreference == esdb.NodePreferenceFollower
		}, "db:2113"},
		{"kurrentdb+discover://cluster.example:2113", func(c *esdb.Configuration) bool { return c.DnsDiscover && c.Address == "cluster.example:2113" }, "cluster.example:2113"},
		{"esdb://n1:2113,n2:2113,n3:2113?tls=false", func(c *esdb.Configuration) bool { return len(c.GossipSeeds) == 3 }, "n1:2113,n2:2113,n3:2113"},
		{"esdb://h:2113?defaultDeadline=5000&keepAliveInterval=20000", func(c *esdb.Configuration) bool {
			return c.DefaultDeadline != nil && *c.DefaultDeadline == 5*time.Second && c.KeepAliveInterval == 20*time.Second
		}, "h:2113"},
	}
	for _, tt := range tests {
		conf, addr, err := parseURL("KURRENTDB_URL", tt.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if !tt.check(conf) || addr != tt.addr {
			t.Errorf("parseURL(%q) = %+v, address %q; not as expected (address %q)", tt.url, conf, addr, tt.addr)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "s3cr3t-Pw"
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "KURRENTDB_URL is empty"},
		{"blank", "   ", "KURRENTDB_URL is empty"},
		{"no scheme", "admin:" + secret + "@localhost:2113", "no scheme"},
		{"unknown scheme", "https://admin:" + secret + "@localhost:2113", `unknown scheme "https"`},
		{"no host", "kurrentdb://", "no host"},
		{"no host after credentials", "kurrentdb://admin:" + secret + "@", "no host"},
		{"no host before settings", "kurrentdb://?tls=false", "no host"},
		{"empty user", "kurrentdb://:" + secret + "@host:2113", "without a user name"},
		{"bad port", "kurrentdb://admin:" + secret + "@host:21x3", "port"},
		{"too many colons", "kurrentdb://admin:" + secret + "@host:1:2", "host"},
		{"path", "kurrentdb://admin:" + secret + "@host:2113/db", "path"},
		{"unknown setting", "kurrentdb://admin:" + secret + "@host:2113?tlsVerifyCerts=false", `unknown setting "tlsVerifyCerts"`},
		{"bad bool", "kurrentdb://admin:" + secret + "@host?tls=maybe", "tls"},
		{"bad node preference", "kurrentdb://admin:" + secret + "@host?nodePreference=boss", "boss"},
		{"zero deadline", "kurrentdb://admin:" + secret + "@host?defaultDeadline=0", "defaultDeadline"},
		{"missing CA file", "kurrentdb://admin:" + secret + "@host?tlsCAFile=/nonexistent/ca.pem", "/nonexistent/ca.pem"},
		{"cert without key", "kurrentdb://admin:" + secret + "@host?userCertFile=/tmp/c.pem", "userKeyFile"},
		{"malformed URL", "kurrentdb://admin:" + secret + "@ho st:2113", "KURRENTDB_URL"},
		{"malformed settings", "kurrentdb://admin:" + secret + "@host?tls=%zz", "malformed settings"},
	}
	for _, tt := range tests {
		_, _, err := parseURL("KURRENTDB_URL", tt.url)
		if err == nil {
			t.Errorf("%s: parseURL(%q) succeeded", tt.name, tt.url)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "KURRENTDB_URL") || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q; want it to start with KURRENTDB_URL and say %q", tt.name, msg, tt.want)
		}
		if strings.Contains(msg, secret) {
			t.Errorf("%s: error %q quotes the password", tt.name, msg)
		}
	}
}

func TestPasswordNeverQuoted(t *testing.T) {
	for _, pw := range []string{"p@ss:w0rd", "p%40ss", "sp ace", "changeit"} {
		raw := "kurrentdb://admin:" + pw + "@ho st:21x3?tls=%zz"
		_, _, err := parseURL("KURRENTDB_URL", raw)
		if err == nil {
			t.Fatalf("parseURL(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error %q quotes password %q", err, pw)
		}
		if r := redact(raw); strings.Contains(r, pw) || !strings.Contains(r, "admin:xxxxx@") {
			t.Errorf("redact(%q) = %q", raw, r)
		}
	}
	if r := redact("kurrentdb://host:2113?tls=false"); r != "kurrentdb://host:2113?tls=false" {
		t.Errorf("redact changed a string without a password: %q", r)
	}
}

func TestSourceNamed(t *testing.T) {
	_, err := Open(context.Background(), "kurrentdb://", Options{Source: "--event-store"})
	if err == nil || !strings.HasPrefix(err.Error(), "--event-store:") {
		t.Errorf("Open error = %v, want it to name --event-store", err)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	url := "kurrentdb://localhost:2113?tls=false"
	for _, o := range []Options{
		{MaxAppendSize: -1},
		{ConnectTimeout: -time.Second},
		{RememberIDs: -1},
		{NewNamespace: true},
		{Namespace: "Test"},
		{Namespace: "t-1"},
		{Namespace: "t.1"},
		{Namespace: "1t"},
		{Namespace: "t_1"},
		{Namespace: strings.Repeat("n", maxNamespace+1)},
	} {
		if s, err := Open(context.Background(), url, o); err == nil {
			s.Close()
			t.Errorf("Open with %+v succeeded", o)
		}
	}
}

// TestOpenUnreachable opens a port nothing listens on: the loopback
// interface refuses the connection at once, and Open must say so plainly,
// within its bound, without the password.
func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), "kurrentdb://admin:hunter22@127.0.0.1:1?tls=false", Options{ConnectTimeout: 20 * time.Second})
	if err == nil {
		t.Fatal("Open of 127.0.0.1:1 succeeded")
	}
	if !strings.Contains(err.Error(), "KurrentDB at 127.0.0.1:1 unreachable") || strings.Contains(err.Error(), "hunter22") {
		t.Errorf("Open error = %q, want it to say KurrentDB at 127.0.0.1:1 is unreachable, without the password", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Open took %s, over its bound", d)
	}
}

func TestOpenBounded(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), "kurrentdb://127.0.0.1:1?tls=false", Options{ConnectTimeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Open error = %v, want unreachable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open took %s with a bound of 1ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, "kurrentdb://127.0.0.1:1?tls=false", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}
