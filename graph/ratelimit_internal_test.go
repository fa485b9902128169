package graph

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// TestClientAddress: behind a trusted proxy the client is the rightmost
// forwarded address that is not a proxy; a peer that is not trusted is
// the client whatever it claims.
func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		peer, xff string
		want      string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"}, // not a proxy of ours: ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // the client wrote 6.6.6.6
		{"10.1.2.3:5000", "", "10.1.2.3"},
		{"10.1.2.3:5000", "not-an-address", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", "198.51.100.1", "198.51.100.1"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := clientAddress(r, trusted); got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
}

// TestLimiterRetryAfter: a refused request is told when the next token
// comes, and a refusal takes no token.
func TestLimiterRetryAfter(t *testing.T) {
	l := newLimiter(2, 2)
	now := time.Unix(1000, 0)
	for i := range 2 {
		if ok, _ := l.allow("k", now); !ok {
			t.Fatalf("request %d of a burst of 2 refused", i+1)
		}
	}
	ok, wait := l.allow("k", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("the third: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if retryAfter(wait) != "1" {
		t.Errorf("Retry-After %q, want 1", retryAfter(wait))
	}
	if ok, _ := l.allow("k", now.Add(500*time.Millisecond)); !ok {
		t.Error("refused once the token came: the refusal took a token")
	}
}
