package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/graph"
	"github.com/gorilla/websocket"
)

// unknownKey is shaped like a key but was never issued.
var unknownKey = "civ_000000000000_" + strings.Repeat("0", 64)

// wsURL is the env's GraphQL endpoint as a WebSocket URL.
func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.url, "http") + "/graphql" }

// dialWS opens a WebSocket offering protocols; nil offers
// graphql-transport-ws, an empty list nothing.
func dialWS(t testing.TB, url string, protocols []string) *websocket.Conn {
	t.Helper()
	if protocols == nil {
		protocols = []string{"graphql-transport-ws"}
	}
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// writeWS sends a message: a string as it is, anything else as JSON.
func writeWS(t testing.TB, conn *websocket.Conn, m any) {
	t.Helper()
	b, ok := m.(string)
	if !ok {
		j, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = string(j)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(b)); err != nil {
		t.Fatalf("write %s: %v", b, err)
	}
}

// initMessage is a connection_init signed in with key (none: anonymous).
func initMessage(key string) map[string]any {
	if key == "" {
		return map[string]any{"type": "connection_init"}
	}
	return map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}}
}

// readWS returns the next message, raw and decoded; it fails the test if
// the socket closes instead.
func readWS(t testing.TB, conn *websocket.Conn) (string, map[string]any) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s is not JSON: %v", b, err)
	}
	return string(b), m
}

// ackWS sends connection_init with key and fails unless it is
// acknowledged.
func ackWS(t testing.TB, conn *websocket.Conn, key string) {
	t.Helper()
	writeWS(t, conn, initMessage(key))
	if raw, m := readWS(t, conn); m["type"] != "connection_ack" {
		t.Fatalf("connection_init: got %s, want connection_ack", raw)
	}
}

// untilClose reads until the server closes the socket, within a deadline,
// and returns the close code and reason and the messages before them.
func untilClose(t testing.TB, conn *websocket.Conn, within time.Duration) (int, string, []string) {
	t.Helper()
	var got []string
	conn.SetReadDeadline(time.Now().Add(within))
	for {
		_, b, err := conn.ReadMessage()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return ce.Code, ce.Text, got
		case err != nil:
			t.Fatalf("no close frame within %s: %v (messages before: %q)", within, err, got)
		}
		got = append(got, string(b))
	}
}

// pingPong fails unless the socket answers a ping with a pong, skipping
// the messages before it; it returns those.
func pingPong(t testing.TB, conn *websocket.Conn) []string {
	t.Helper()
	writeWS(t, conn, map[string]any{"type": "ping"})
	var before []string
	for {
		raw, m := readWS(t, conn)
		if m["type"] == "pong" {
			return before
		}
		before = append(before, raw)
	}
}

// closeWS closes the socket as a client should: a close frame, then the
// server's answer.
func closeWS(t testing.TB, conn *websocket.Conn) {
	t.Helper()
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	if code, _, _ := untilClose(t, conn, 5*time.Second); code != websocket.CloseNormalClosure {
		t.Fatalf("closing: the server answered %d, want 1000", code)
	}
	conn.Close()
}

// tryInit opens a socket and sends connection_init with key: acked, or
// the close code it got instead. It does not fail the test, for use in
// goroutines.
func tryInit(url, key string) (conn *websocket.Conn, acked bool, code int, err error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, _, err = d.Dial(url, nil)
	if err != nil {
		return nil, false, 0, err
	}
	b, _ := json.Marshal(initMessage(key))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		conn.Close()
		return nil, false, 0, err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := conn.ReadMessage()
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		conn.Close()
		return nil, false, ce.Code, nil
	case err != nil:
		conn.Close()
		return nil, false, 0, err
	case !strings.Contains(string(msg), `"connection_ack"`):
		conn.Close()
		return nil, false, 0, fmt.Errorf("connection_init answered with %s", msg)
	}
	return conn, true, 0, nil
}

// eventuallyAcked opens sockets with key until one is acknowledged: a
// closed socket's place is freed once the server has seen it close.
func eventuallyAcked(t testing.TB, url, key string) *websocket.Conn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, acked, code, err := tryInit(url, key)
		if err != nil {
			t.Fatal(err)
		}
		if acked {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused with %d 5s after a socket closed", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebSocketCloseCodes(t *testing.T) {
	const initTimeout = 500 * time.Millisecond
	e := newEnv(t, graph.Config{RatePerSecond: -1, InitTimeout: initTimeout})
	analyst := e.keys[domain.Analyst]
	status := map[string]any{"query": "subscription { projectionStatus { name } }"}
	tests := []struct {
		name      string
		protocols []string
		send      func(t *testing.T, conn *websocket.Conn)
		code      int
		reason    string
		// ackFirst cases get their acknowledgement in send; the others
		// must get none.
		ackFirst bool
	}{
		{name: "unknown key", code: 4401, reason: "not valid", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, initMessage(unknownKey))
		}},
		{name: "malformed key", code: 4401, reason: "malformed", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, initMessage("hunter2"))
		}},
		{name: "Authorization not a bearer", code: 4400, reason: "Bearer <API key>", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Basic " + analyst}})
		}},
		{name: "Authorization not a string", code: 4400, reason: "Bearer <API key>", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": 42}})
		}},
		{name: "init payload not an object", code: 4400, reason: "object", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, `{"type":"connection_init","payload":"Bearer x"}`)
		}},
		{name: "no connection_init", code: 4408, reason: "connection_init", send: func(*testing.T, *websocket.Conn) {}},
		{name: "second connection_init", code: 4429, reason: "connection_init", ackFirst: true, send: func(t *testing.T, c *websocket.Conn) {
			ackWS(t, c, analyst)
			writeWS(t, c, initMessage(analyst))
		}},
		{name: "subscribe before the ack", code: 4401, reason: "connection_init", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, map[string]any{"id": "1", "type": "subscribe", "payload": status})
		}},
		{name: "duplicate id", code: 4409, reason: `"1"`, ackFirst: true, send: func(t *testing.T, c *websocket.Conn) {
			ackWS(t, c, "")
			writeWS(t, c, map[string]any{"id": "1", "type": "subscribe", "payload": status})
			writeWS(t, c, map[string]any{"id": "1", "type": "subscribe", "payload": status})
		}},
		{name: "subscribe without an id", code: 4400, reason: "id", ackFirst: true, send: func(t *testing.T, c *websocket.Conn) {
			ackWS(t, c, "")
			writeWS(t, c, map[string]any{"type": "subscribe", "payload": status})
		}},
		{name: "subscribe without a payload", code: 4400, reason: "payload", ackFirst: true, send: func(t *testing.T, c *websocket.Conn) {
			ackWS(t, c, "")
			writeWS(t, c, map[string]any{"id": "1", "type": "subscribe"})
		}},
		{name: "not JSON", code: 4400, reason: "JSON", send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, "hello")
		}},
		{name: "legacy Apollo message", code: 4400, reason: `"start"`, send: func(t *testing.T, c *websocket.Conn) {
			writeWS(t, c, map[string]any{"id": "1", "type": "start", "payload": status})
		}},
		{name: "no subprotocol", protocols: []string{}, code: 4406, reason: "graphql-transport-ws", send: func(*testing.T, *websocket.Conn) {}},
		{name: "legacy graphql-ws subprotocol", protocols: []string{"graphql-ws"}, code: 4406, reason: "graphql-transport-ws", send: func(*testing.T, *websocket.Conn) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialWS(t, e.wsURL(), tt.protocols)
			start := time.Now()
			tt.send(t, conn)
			code, reason, before := untilClose(t, conn, 5*time.Second)
			if code != tt.code || !strings.Contains(reason, tt.reason) {
				t.Errorf("closed with %d %q, want %d and a reason with %q", code, reason, tt.code, tt.reason)
			}
			if !tt.ackFirst && slices.ContainsFunc(before, func(m string) bool { return strings.Contains(m, `"connection_ack"`) }) {
				t.Errorf("acknowledged before the close (messages: %q)", before)
			}
			if strings.Contains(reason, analyst) {
				t.Errorf("the close reason %q gives the key back", reason)
			}
			if tt.code == 4408 && time.Since(start) < initTimeout {
				t.Errorf("closed for no connection_init after %s, before the %s timeout", time.Since(start), initTimeout)
			}
		})
	}
}

// failingKeys is a key lookup whose database is down.
type failingKeys struct{}

func (failingKeys) Actor(context.Context, string) (domain.Actor, error) {
	return domain.Actor{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// TestWebSocketKeyCheckUnavailable: a key that could not be checked is
// "try again later" (1013), which clients retry, not "unauthorized".
func TestWebSocketKeyCheckUnavailable(t *testing.T) {
	srv := graph.NewServer(graph.Deps{Keys: failingKeys{}, Logger: slog.New(slog.DiscardHandler)}, graph.Config{})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	conn := dialWS(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/graphql", nil)
	writeWS(t, conn, initMessage(unknownKey))
	code, reason, before := untilClose(t, conn, 5*time.Second)
	if code != websocket.CloseTryAgainLater || len(before) > 0 {
		t.Fatalf("closed with %d %q after %q, want 1013 and nothing before", code, reason, before)
	}
	if strings.Contains(reason, "refused") || strings.Contains(reason, unknownKey) {
		t.Errorf("the close reason %q tells more than that the key could not be checked", reason)
	}
}

// TestWebSocketAckCarriesNoPayload: the acknowledgement never echoes the
// init payload, which carries the key.
func TestWebSocketAckCarriesNoPayload(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	key := e.keys[domain.Analyst]
	conn := dialWS(t, e.wsURL(), nil)
	writeWS(t, conn, initMessage(key))
	raw, m := readWS(t, conn)
	if m["type"] != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", raw)
	}
	if p, ok := m["payload"]; ok && p != nil && fmt.Sprint(p) != "map[]" {
		t.Errorf("connection_ack %s has a payload", raw)
	}
	if strings.Contains(raw, key) || strings.Contains(raw, "Bearer") {
		t.Errorf("connection_ack %s gives the key back", raw)
	}
}

// TestWebSocketOperations: pings, queries, mutations, errors, the client's
// complete, and the bound on operations per socket.
func TestWebSocketOperations(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1, MaxOperationsPerSocket: 2})
	conn := dialWS(t, e.wsURL(), nil)
	ackWS(t, conn, e.keys[domain.Admin])
	sub := func(id, query string, vars map[string]any) {
		writeWS(t, conn, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	}

	writeWS(t, conn, `{"type":"ping","payload":{"n":7}}`)
	if raw, m := readWS(t, conn); m["type"] != "pong" || fmt.Sprint(m["payload"]) != "map[n:7]" {
		t.Errorf("ping answered with %s, want a pong with its payload", raw)
	}

	t.Run("query: next, then complete", func(t *testing.T) {
		sub("q", `{ viewer { role } }`, nil)
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != "q" || !strings.Contains(raw, `"role":"ADMIN"`) {
			t.Fatalf("got %s, want the query's result", raw)
		}
		if raw, m := readWS(t, conn); m["type"] != "complete" || m["id"] != "q" {
			t.Fatalf("got %s, want complete", raw)
		}
	})
	t.Run("invalid query: one error, no complete", func(t *testing.T) {
		sub("bad", `{ regions { nonsense } }`, nil)
		raw, m := readWS(t, conn)
		errs, _ := m["payload"].([]any)
		if m["type"] != "error" || m["id"] != "bad" || len(errs) == 0 || !strings.Contains(raw, "GRAPHQL_VALIDATION_FAILED") {
			t.Fatalf("got %s, want an error message with the validation error", raw)
		}
		if before := pingPong(t, conn); len(before) > 0 {
			t.Fatalf("after the error: %q, want nothing (no complete)", before)
		}
	})
	t.Run("complete stops a subscription; its id is free again", func(t *testing.T) {
		sub("s", `subscription { projectionStatus { name } }`, nil)
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != "s" {
			t.Fatalf("got %s, want the current status", raw)
		}
		writeWS(t, conn, map[string]any{"id": "s", "type": "complete"})
		if before := pingPong(t, conn); len(before) > 0 {
			t.Fatalf("after the client's complete: %q, want nothing for s", before)
		}
		sub("s", `subscription { projectionStatus { name } }`, nil)
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != "s" {
			t.Fatalf("resubscribing with the completed id: %s, want a result", raw)
		}
	})
	t.Run("over the operations bound: an error, the socket stays", func(t *testing.T) {
		// s runs; one more makes the bound of 2.
		sub("t", `subscription { projectionStatus { name } }`, nil)
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != "t" {
			t.Fatalf("got %s, want the current status", raw)
		}
		sub("u", `subscription { projectionStatus { name } }`, nil)
		raw, m := readWS(t, conn)
		if m["type"] != "error" || m["id"] != "u" || !strings.Contains(raw, "limit of 2 operations") {
			t.Fatalf("a third operation: %s, want an error about the limit of 2", raw)
		}
		pingPong(t, conn)
		writeWS(t, conn, map[string]any{"id": "t", "type": "complete"})
		sub("u", `subscription { projectionStatus { name } }`, nil)
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != "u" {
			t.Fatalf("after completing one: %s, want u's result", raw)
		}
	})
	// Last, with the status subscriptions completed: the projections it
	// moves would send them more results.
	t.Run("mutation: next, then complete", func(t *testing.T) {
		writeWS(t, conn, map[string]any{"id": "s", "type": "complete"})
		writeWS(t, conn, map[string]any{"id": "u", "type": "complete"})
		sub("m", registerOrg, orgInput(7))
		if raw, m := readWS(t, conn); m["type"] != "next" || !strings.Contains(raw, "Civic Integration Foundation 7") || strings.Contains(raw, `"errors"`) {
			t.Fatalf("got %s, want the registered organisation", raw)
		}
		if raw, m := readWS(t, conn); m["type"] != "complete" || m["id"] != "m" {
			t.Fatalf("got %s, want complete", raw)
		}
	})
}

// TestWebSocketRateLimit: connection_init and each subscribe take a
// token from the caller's bucket; an empty bucket closes with 4429.
func TestWebSocketRateLimit(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: 0.001, RateBurst: 3})
	key := e.keys[domain.Analyst]
	conn := dialWS(t, e.wsURL(), nil)
	// connection_init takes the first token, the two queries the others.
	ackWS(t, conn, key)
	for _, id := range []string{"a", "b"} {
		writeWS(t, conn, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "{ viewer { role } }"}})
		if raw, m := readWS(t, conn); m["type"] != "next" || m["id"] != id {
			t.Fatalf("query %s within the burst: %s, want its result", id, raw)
		}
		if raw, m := readWS(t, conn); m["type"] != "complete" {
			t.Fatalf("query %s within the burst: %s, want complete", id, raw)
		}
	}
	writeWS(t, conn, map[string]any{"id": "c", "type": "subscribe", "payload": map[string]any{"query": "{ viewer { role } }"}})
	code, reason, _ := untilClose(t, conn, 5*time.Second)
	if code != 4429 || !strings.Contains(reason, "requests a second") {
		t.Fatalf("a fourth request with a burst of 3: closed with %d %q, want 4429 for the rate", code, reason)
	}
	// The bucket is the key's: a new socket with it is refused at init.
	other := dialWS(t, e.wsURL(), nil)
	writeWS(t, other, initMessage(key))
	if code, _, _ := untilClose(t, other, 5*time.Second); code != 4429 {
		t.Fatalf("connection_init with an empty bucket: %d, want 4429", code)
	}
}

// TestWebSocketSocketsPerKey: a key may have MaxSocketsPerKey sockets
// open; one more is refused with 4429 until one of them closes.
func TestWebSocketSocketsPerKey(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1, MaxSocketsPerKey: 2})
	key := e.keys[domain.Analyst]
	first := dialWS(t, e.wsURL(), nil)
	ackWS(t, first, key)
	ackWS(t, dialWS(t, e.wsURL(), nil), key)
	over := dialWS(t, e.wsURL(), nil)
	writeWS(t, over, initMessage(key))
	code, reason, before := untilClose(t, over, 5*time.Second)
	if code != 4429 || !strings.Contains(reason, "2 open sockets for this key") || len(before) > 0 {
		t.Fatalf("a third socket: %d %q after %q, want 4429 about the key's 2 sockets, and no ack", code, reason, before)
	}
	// Another key has its own count.
	ackWS(t, dialWS(t, e.wsURL(), nil), e.keys[domain.Auditor])
	closeWS(t, first)
	eventuallyAcked(t, e.wsURL(), key)
}

// TestWebSocketSocketsPerAddress: every socket counts against its client
// address, signed in or not; over the bound, connection_init gets 4429,
// however many arrive at once.
func TestWebSocketSocketsPerAddress(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1, MaxSocketsPerAddress: 3})
	first := dialWS(t, e.wsURL(), nil)
	ackWS(t, first, "")
	ackWS(t, dialWS(t, e.wsURL(), nil), "")
	ackWS(t, dialWS(t, e.wsURL(), nil), e.keys[domain.Analyst])
	for _, key := range []string{"", e.keys[domain.Auditor]} {
		over := dialWS(t, e.wsURL(), nil)
		writeWS(t, over, initMessage(key))
		code, reason, before := untilClose(t, over, 5*time.Second)
		if code != 4429 || !strings.Contains(reason, "3 open sockets from this address") || len(before) > 0 {
			t.Fatalf("a fourth socket (key %t): %d %q after %q, want 4429 about the address's 3 sockets, and no ack", key != "", code, reason, before)
		}
	}
	closeWS(t, first)
	eventuallyAcked(t, e.wsURL(), "")
}

// TestWebSocketFlood: many sockets at once from one address, each sending
// connection_init. Exactly the bound are acknowledged; every other one is
// closed with 4429, not some other failure.
func TestWebSocketFlood(t *testing.T) {
	const bound, sockets = 8, 60
	e := newEnv(t, graph.Config{RatePerSecond: -1, MaxSocketsPerAddress: bound})
	type outcome struct {
		conn  *websocket.Conn
		acked bool
		code  int
		err   error
	}
	out := make([]outcome, sockets)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			var o outcome
			o.conn, o.acked, o.code, o.err = tryInit(e.wsURL(), "")
			out[i] = o
		})
	}
	wg.Wait()
	acked, refused := 0, 0
	for _, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("socket failed: %v", o.err)
		case o.acked:
			acked++
			o.conn.Close()
		case o.code == 4429:
			refused++
		default:
			t.Errorf("socket closed with %d, want 4429", o.code)
		}
	}
	if acked != bound || refused != sockets-bound {
		t.Errorf("%d acknowledged and %d refused with 4429, want %d and %d", acked, refused, bound, sockets-bound)
	}
}

// TestWebSocketFloodWithDefaults: 200 sockets from one address sending
// connection_init at once, with the server's default limits: each is
// acknowledged or closed with 4429 (the rate, then the sockets per
// address), never a protocol error.
func TestWebSocketFloodWithDefaults(t *testing.T) {
	e := newEnv(t, graph.Config{})
	var mu sync.Mutex
	codes := map[int]int{}
	reasons := map[string]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			conn, acked, code, reason, err := tryInitWhy(e.wsURL())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("socket failed: %v", err)
			case acked:
				codes[0]++
				conn.Close()
			default:
				codes[code]++
				reasons[reason]++
			}
		})
	}
	wg.Wait()
	if codes[0]+codes[4429] != 200 || codes[0] == 0 || codes[4429] == 0 {
		t.Errorf("outcomes %v (0: acknowledged), want each acknowledged or 4429, some of each; reasons %v", codes, reasons)
	}
}

// TestWebSocketRevocation: revoking a key through the domain closes its
// open sockets with 4403 at once, and the key stops working on new sockets
// and over HTTP at once too, not when its cached lookup expires.
func TestWebSocketRevocation(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	key := e.keys[domain.Analyst]
	// The key's lookup is now cached, for 10 seconds unless forgotten.
	e.do(domain.Analyst, `{ viewer { role } }`, nil).ok(t)
	sub := e.subscribe(domain.Analyst, `subscription { events { type } }`, nil)
	other := dialWS(t, e.wsURL(), nil)
	ackWS(t, other, e.keys[domain.Auditor])

	id, err := access.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keys := &access.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types}}
	if _, err := keys.RevokeKey(context.Background(), access.SystemMeta("test", time.Now()), access.RevokeKey{ID: id, Reason: "leaked"}); err != nil {
		t.Fatal(err)
	}
	code, reason, _ := untilClose(t, sub.conn, 5*time.Second)
	if code != 4403 || !strings.Contains(reason, "revoked") {
		t.Fatalf("the revoked key's socket closed with %d %q, want 4403", code, reason)
	}
	again := dialWS(t, e.wsURL(), nil)
	writeWS(t, again, initMessage(key))
	if code, reason, _ := untilClose(t, again, 5*time.Second); code != 4401 {
		t.Errorf("connection_init with the revoked key: %d %q, want 4401", code, reason)
	}
	if r := e.do(domain.Analyst, `{ viewer { role } }`, nil); r.Status != 401 || r.code() != "UNAUTHENTICATED" {
		t.Errorf("HTTP with the revoked key right after: %d %q, want 401 UNAUTHENTICATED", r.Status, r.code())
	}
	// Other keys' sockets stay open.
	pingPong(t, other)
}

// TestWebSocketKeepAlive: the server pings every KeepAlive; a client that
// answers stays, one silent for two intervals is taken for dead and closed
// with 1001.
func TestWebSocketKeepAlive(t *testing.T) {
	const every = 200 * time.Millisecond
	e := newEnv(t, graph.Config{RatePerSecond: -1, KeepAlive: every})
	live := dialWS(t, e.wsURL(), nil)
	ackWS(t, live, "")
	silent := dialWS(t, e.wsURL(), nil)
	ackWS(t, silent, "")

	// Six intervals, three times what the silent socket is given.
	for range 6 {
		raw, m := readWS(t, live)
		if m["type"] != "ping" {
			t.Fatalf("got %s, want a ping", raw)
		}
		writeWS(t, live, map[string]any{"type": "pong"})
	}
	pingPong(t, live)

	code, _, before := untilClose(t, silent, 10*every)
	if code != websocket.CloseGoingAway || len(before) == 0 || !strings.Contains(before[0], `"ping"`) {
		t.Fatalf("a silent socket: closed with %d after %q, want pings, then 1001", code, before)
	}
}

// TestWebSocketServerClose: Close ends every socket with 1001 (going
// away), which clients retry, and takes no more.
func TestWebSocketServerClose(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	sub := e.subscribe(domain.Analyst, `subscription { projectionStatus { name } }`, nil)
	e.srv.Close()
	if code, _, _ := untilClose(t, sub.conn, 5*time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("an open socket at Close: %d, want 1001", code)
	}
	late := dialWS(t, e.wsURL(), nil)
	if code, _, _ := untilClose(t, late, 5*time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("a socket after Close: %d, want 1001", code)
	}
}

// clientReport is what graph/testdata/graphql-ws/client.mjs prints.
type clientReport struct {
	Connecting   int               `json:"connecting"`
	Opened       int               `json:"opened"`
	Connected    int               `json:"connected"`
	Closes       int               `json:"closes"`
	CloseCodes   []int             `json:"closeCodes"`
	CloseReasons []string          `json:"closeReasons"`
	Results      []json.RawMessage `json:"results"`
	Completed    bool              `json:"completed"`
	Error        json.RawMessage   `json:"error"`
	TimedOut     bool              `json:"timedOut"`
}

var (
	npmOnce sync.Once
	npmErr  error
)

// graphqlWSDir holds the npm graphql-ws client and its lock file.
const graphqlWSDir = "testdata/graphql-ws"

// nodeClient returns node's path once the npm client is installed: npm ci
// installs it when node_modules is missing or older than the lock file.
func nodeClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: install Node.js 20 or later, with npm (on Debian or Ubuntu: apt-get install nodejs npm), to run the graphql-ws client test")
	}
	npmOnce.Do(func() {
		lock, err := os.Stat(filepath.Join(graphqlWSDir, "package-lock.json"))
		if err != nil {
			npmErr = err
			return
		}
		if inst, err := os.Stat(filepath.Join(graphqlWSDir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmErr = errors.New("npm is not on PATH: install Node.js 20 or later, with npm (on Debian or Ubuntu: apt-get install nodejs npm), to run the graphql-ws client test")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = graphqlWSDir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", graphqlWSDir, err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return node
}

// runClient runs the npm client against url with key; take > 0 completes
// the operation after that many results.
func runClient(t *testing.T, url, key, query string, vars map[string]any, take int) clientReport {
	t.Helper()
	node := nodeClient(t)
	if vars == nil {
		vars = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", url, query, mustJSON(vars), fmt.Sprint(take))
	cmd.Dir = graphqlWSDir
	cmd.Env = append(os.Environ(), "CIVIC_KEY="+key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var r clientReport
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		t.Fatalf("the client printed %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}
	if r.TimedOut {
		t.Fatalf("the client timed out: %+v", r)
	}
	return r
}

// TestGraphQLWSClient runs the npm graphql-ws client, as dashboards do,
// against the server: a bad key is one socket and no retry; a good key
// subscribes, gets its event, and ends cleanly.
func TestGraphQLWSClient(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})

	t.Run("bad key: one socket, 4401, no reconnect", func(t *testing.T) {
		r := runClient(t, e.wsURL(), unknownKey, `subscription { projectionStatus { name } }`, nil, 0)
		var failure struct {
			Code int `json:"code"`
		}
		json.Unmarshal(r.Error, &failure)
		if r.Connecting != 1 || r.Opened != 1 || r.Connected != 0 || r.Closes != 1 || !slices.Equal(r.CloseCodes, []int{4401}) || failure.Code != 4401 || len(r.Results) > 0 {
			t.Fatalf("client report %+v (error %s), want 1 socket opened, never acknowledged, closed with 4401, delivered as the error", r, r.Error)
		}
	})

	t.Run("analyst: an event after a mutation", func(t *testing.T) {
		head, err := e.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		reg := e.do(domain.Admin, registerOrg, orgInput(3)).ok(t)
		id := reg.get("registerOrganisation.organisation.id").(string)
		r := runClient(t, e.wsURL(), e.keys[domain.Analyst],
			`subscription($after: Position) { events(after: $after, filter: {types: ["registry.organisation_registered"]}) { type stream } }`,
			map[string]any{"after": head}, 1)
		if len(r.Results) != 1 || string(r.Error) != "null" || !r.Completed || r.Opened != 1 || r.Connected != 1 {
			t.Fatalf("client report %+v (error %s), want one result and a clean completion on one socket", r, r.Error)
		}
		var got struct {
			Data struct {
				Events struct{ Type, Stream string }
			}
		}
		json.Unmarshal(r.Results[0], &got)
		if got.Data.Events.Type != "registry.organisation_registered" || got.Data.Events.Stream != "organisation-"+id {
			t.Errorf("result %s, want the registration of %s", r.Results[0], id)
		}
		if r.Closes != 1 || !slices.Equal(r.CloseCodes, []int{1000}) {
			t.Errorf("close codes %v, want the client's own 1000 only", r.CloseCodes)
		}
	})

	t.Run("analyst: a query, completed by the server", func(t *testing.T) {
		r := runClient(t, e.wsURL(), e.keys[domain.Analyst], `{ viewer { role } }`, nil, 0)
		if len(r.Results) != 1 || !strings.Contains(string(r.Results[0]), `"ANALYST"`) || !r.Completed || string(r.Error) != "null" || r.Opened != 1 {
			t.Fatalf("client report %+v (error %s), want the viewer's role, then completion, on one socket", r, r.Error)
		}
	})
}

// TestWebSocketKeyInUpgradeHeader: a client that sends its key on the
// upgrade request, as non-browser clients can, is authenticated at its
// connection_init like one that sends it in the payload: a bad key is 4401
// after the upgrade, not an HTTP 401 the client would retry.
func TestWebSocketKeyInUpgradeHeader(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	for _, tc := range []struct {
		key  string
		code int
	}{
		{unknownKey, 4401},
		{e.keys[domain.Analyst], 0},
	} {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
		conn, resp, err := d.Dial(e.wsURL(), map[string][]string{"Authorization": {"Bearer " + tc.key}})
		if err != nil {
			t.Fatalf("upgrade with a key in the header: %v (%v)", err, resp)
		}
		writeWS(t, conn, initMessage(""))
		if tc.code == 0 {
			if raw, m := readWS(t, conn); m["type"] != "connection_ack" {
				t.Fatalf("a good key in the header: %s, want connection_ack", raw)
			}
			writeWS(t, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ viewer { role } }"}})
			if raw, _ := readWS(t, conn); !strings.Contains(raw, "ANALYST") {
				t.Fatalf("viewer over a socket signed in by header: %s, want ANALYST", raw)
			}
		} else if code, _, _ := untilClose(t, conn, 5*time.Second); code != tc.code {
			t.Fatalf("a bad key in the header: close %d, want %d", code, tc.code)
		}
		conn.Close()
	}
}

// tryInitWhy is tryInit for an anonymous socket, with the close reason.
func tryInitWhy(url string) (conn *websocket.Conn, acked bool, code int, reason string, err error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, _, err = d.Dial(url, nil)
	if err != nil {
		return nil, false, 0, "", err
	}
	b, _ := json.Marshal(initMessage(""))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		conn.Close()
		return nil, false, 0, "", err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := conn.ReadMessage()
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		conn.Close()
		return nil, false, ce.Code, ce.Text, nil
	case err != nil:
		conn.Close()
		return nil, false, 0, "", err
	case !strings.Contains(string(msg), `"connection_ack"`):
		conn.Close()
		return nil, false, 0, "", fmt.Errorf("connection_init answered with %s", msg)
	}
	return conn, true, 0, "", nil
}
