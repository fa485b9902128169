package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/civicledger/civicledger/domain"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// wsSubprotocol is the only WebSocket subprotocol served: the
// graphql-transport-ws protocol of the graphql-ws library, which GraphiQL
// and most dashboards' clients speak.
const wsSubprotocol = "graphql-transport-ws"

// The close codes of graphql-transport-ws. The graphql-ws client retries
// 4403 and 4408, as it does 1001 and 1013, and gives up on the others, so
// each refusal picks the code that tells it whether trying again can work.
const (
	closeBadRequest       = 4400
	closeUnauthorized     = 4401
	closeForbidden        = 4403
	closeNotAcceptable    = 4406
	closeInitTimeout      = 4408
	closeSubscriberExists = 4409
	// closeTooMany is the protocol's "too many initialisation requests",
	// used for every limit too: retrying at once would not help.
	closeTooMany = 4429
)

const (
	// closeGrace is how long a closing socket waits for the client's
	// close frame: closing the connection on unread data would reset it,
	// and the client could lose the close code with the data.
	closeGrace = time.Second
	// wsWriteTimeout bounds one message's write, so a client that stops
	// reading cannot hold an operation, and its key's sockets, forever.
	wsWriteTimeout = 10 * time.Second
	// maxCloseReason is what fits in a close frame beside its code.
	maxCloseReason = 123
	// keyRevokedType is the event a revocation appends (domain/access).
	keyRevokedType = "access.key_revoked"
)

// websocketTransport serves GraphQL over WebSocket with the
// graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md):
// subscriptions, and queries and mutations too.
//
// It replaces gqlgen's transport.Websocket, whose close codes are fixed and
// wrong for the graphql-ws client: it closes a refused connection_init with
// 1000, a normal closure the client answers by reconnecting at once
// (measured: 96 reconnects in 3 s against it with a bad key), and an init
// timeout with 1002 instead of 4408. It also echoes the connection_init
// payload, the caller's API key with it, in connection_ack, bounds no
// sockets, and leaves a revoked key working on a socket opened before the
// revocation.
type websocketTransport struct{ s *Server }

var _ graphql.Transport = websocketTransport{}

// Supports implements graphql.Transport: every WebSocket upgrade.
func (websocketTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Do implements graphql.Transport: it upgrades the connection and serves
// it until either side closes it.
func (t websocketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.s.serveSocket(w, r, exec)
}

// wsMessage is a graphql-transport-ws message, either way.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// socket is one WebSocket and the operations running on it. Its read loop
// handles the client's messages one at a time; operations write from their
// own goroutines.
type socket struct {
	s    *Server
	conn *websocket.Conn
	exec graphql.GraphExecutor
	req  *http.Request
	addr string
	// ctx ends when the socket starts closing, and ends its operations.
	ctx    context.Context
	cancel context.CancelFunc
	// lastRead is when the client last sent anything (Unix nanoseconds):
	// a socket silent through two pings is taken for dead.
	lastRead atomic.Int64

	// overAddress is set at the upgrade when the client's address has
	// more sockets open than it may; the socket is refused at its
	// connection_init, when a client is listening for the reason.
	overAddress bool
	// base is the context operations start from, with the caller and a
	// correlation ID; set once the connection is acknowledged.
	base context.Context

	mu       sync.Mutex
	initSeen bool
	acked    bool
	closing  bool
	ops      map[string]*operation
	keyID    string // the key the socket is counted against; guarded by sockets.mu

	writeMu sync.Mutex
	running sync.WaitGroup
}

// operation is one subscribe's execution.
type operation struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	// stopped is set when the client completes the operation: nothing
	// more may be sent for it, not even a result already on its way.
	stopped bool
}

// stop ends the operation without another message.
func (op *operation) stop() {
	op.mu.Lock()
	op.stopped = true
	op.mu.Unlock()
	op.cancel()
}

// serveSocket upgrades the request and serves the socket until it ends,
// then releases its place in the bounds and waits for its operations.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	up := websocket.Upgrader{
		Subprotocols: []string{wsSubprotocol},
		// Dashboards run on other origins; the key, not a cookie, is what
		// authenticates, so any origin may connect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	ctx, cancel := context.WithCancel(r.Context())
	c := &socket{s: s, conn: conn, exec: exec, req: r, addr: clientAddress(r, s.cfg.TrustedProxies), ctx: ctx, cancel: cancel, ops: map[string]*operation{}}
	c.lastRead.Store(time.Now().UnixNano())
	conn.SetReadLimit(s.cfg.MaxBodyBytes)
	conn.SetCloseHandler(c.closeReceived)

	open, over := s.sockets.add(c, s.cfg.MaxSocketsPerAddress)
	if open {
		defer s.sockets.wg.Done()
	}
	defer func() {
		c.cancel()
		conn.Close()
		s.sockets.remove(c)
		c.running.Wait()
	}()
	switch {
	case !open:
		c.close(websocket.CloseGoingAway, "the server is shutting down")
	case conn.Subprotocol() != wsSubprotocol:
		c.close(closeNotAcceptable, "the subprotocol must be "+wsSubprotocol)
	default:
		c.overAddress = over
		go c.keepAlive()
	}
	c.readLoop()
}

// readLoop reads until the connection ends: the client closed it, it
// broke, or the grace after our close frame ran out.
func (c *socket) readLoop() {
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if !closing {
			c.handle(data)
		}
	}
}

// handle acts on one message from the client.
func (c *socket) handle(data []byte) {
	if !json.Valid(data) {
		c.close(closeBadRequest, "the message is not valid JSON")
		return
	}
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.close(closeBadRequest, "the message is not a graphql-transport-ws message")
		return
	}
	switch m.Type {
	case "connection_init":
		c.init(m.Payload)
	case "ping":
		if !objectOrNull(m.Payload) {
			c.close(closeBadRequest, "a ping's payload must be an object")
			return
		}
		c.send(wsMessage{Type: "pong", Payload: m.Payload})
	case "pong":
	case "subscribe":
		c.subscribe(m)
	case "complete":
		c.complete(m.ID)
	default:
		c.close(closeBadRequest, fmt.Sprintf("unexpected message type %q", m.Type))
	}
}

// objectOrNull reports whether a payload is absent, null or an object, as
// the protocol wants of connection_init's, ping's and pong's.
func objectOrNull(p json.RawMessage) bool {
	p = bytes.TrimSpace(p)
	return len(p) == 0 || bytes.Equal(p, []byte("null")) || p[0] == '{'
}

// init authenticates the socket from its connection_init payload
// ({"Authorization": "Bearer <key>"}, since browsers cannot set headers on
// a WebSocket), checks its bounds and acknowledges it, without a payload:
// echoing the init payload would send the key back.
func (c *socket) init(payload json.RawMessage) {
	c.mu.Lock()
	again := c.initSeen
	c.initSeen = true
	c.mu.Unlock()
	if again {
		c.close(closeTooMany, "too many connection_init messages")
		return
	}
	if !objectOrNull(payload) {
		c.close(closeBadRequest, "the connection_init payload must be an object")
		return
	}
	var p map[string]any
	if err := json.Unmarshal(payload, &p); len(payload) > 0 && err != nil {
		c.close(closeBadRequest, "the connection_init payload must be an object")
		return
	}
	ctx := context.WithValue(c.ctx, correlationKey, newCorrelationID())
	actor, code, reason := c.authenticate(ctx, p)
	if code != 0 {
		c.close(code, reason)
		return
	}
	s := c.s
	// The socket limit first: a socket refused for it takes no token from
	// the address's rate, or a flood of surplus sockets would use up the
	// tokens of the ones within the limit.
	if c.overAddress {
		c.close(closeTooMany, fmt.Sprintf("over the limit of %d open sockets from this address", s.cfg.MaxSocketsPerAddress))
		return
	}
	if ok, _ := s.limiter.allow(s.principal(actor, c.req), time.Now()); !ok {
		c.close(closeTooMany, fmt.Sprintf("over the limit of %g requests a second; slow down", s.cfg.RatePerSecond))
		return
	}
	switch s.sockets.signIn(c, actor.KeyID, s.cfg.MaxSocketsPerKey) {
	case signInRevoked:
		c.close(closeUnauthorized, "the API key is not valid")
		return
	case signInOver:
		c.close(closeTooMany, fmt.Sprintf("over the limit of %d open sockets for this key", s.cfg.MaxSocketsPerKey))
		return
	}
	c.base = WithActor(ctx, actor)
	c.mu.Lock()
	c.acked = true
	c.mu.Unlock()
	c.send(wsMessage{Type: "connection_ack"})
}

// authenticate returns the caller a connection_init payload names, or the
// close code and reason that refuse it. Without an Authorization the
// caller is the upgrade request's: anonymous, unless it carried the header.
func (c *socket) authenticate(ctx context.Context, payload map[string]any) (domain.Actor, int, string) {
	h, ok := payload["Authorization"]
	if !ok {
		h = payload["authorization"]
	}
	if h == nil || h == "" {
		// Clients that can set headers may send the key on the upgrade
		// request instead; the HTTP middleware leaves it to the socket,
		// so that a bad key is a close code the client heeds.
		h = c.req.Header.Get("Authorization")
	}
	if h == nil || h == "" {
		return ActorFrom(c.req.Context()), 0, ""
	}
	hs, ok := h.(string)
	if !ok {
		return domain.Actor{}, closeBadRequest, `Authorization must be "Bearer <API key>"`
	}
	key, ok := bearer(hs)
	if !ok {
		return domain.Actor{}, closeBadRequest, `Authorization must be "Bearer <API key>"`
	}
	a, err := c.s.keys.actor(ctx, key)
	switch {
	case err == nil:
		return a, 0, ""
	case domain.KindOf(err) == domain.Unauthenticated:
		return domain.Actor{}, closeUnauthorized, domain.MessageOf(err)
	default:
		c.s.log.ErrorContext(ctx, "key lookup", "err", err, "correlation_id", correlationID(ctx))
		return domain.Actor{}, websocket.CloseTryAgainLater, "the API key could not be checked; try again later"
	}
}

// subscribe starts an operation.
func (c *socket) subscribe(m wsMessage) {
	c.mu.Lock()
	acked := c.acked
	c.mu.Unlock()
	if !acked {
		c.close(closeUnauthorized, "subscribe before connection_ack: send connection_init first")
		return
	}
	if m.ID == "" {
		c.close(closeBadRequest, "a subscribe message needs an id")
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(m.Payload))
	// Numbers kept as written, so large integer variables stay exact.
	dec.UseNumber()
	if p := bytes.TrimSpace(m.Payload); len(p) == 0 || p[0] != '{' || dec.Decode(&params) != nil {
		c.close(closeBadRequest, "a subscribe payload must be {query, variables, operationName, extensions}")
		return
	}
	params.Headers = c.req.Header
	s := c.s
	c.mu.Lock()
	_, dup := c.ops[m.ID]
	running := len(c.ops)
	c.mu.Unlock()
	switch {
	case dup:
		c.close(closeSubscriberExists, fmt.Sprintf("an operation with id %q is running already", m.ID))
		return
	case !s.allowed(s.principal(ActorFrom(c.base), c.req)):
		c.close(closeTooMany, fmt.Sprintf("over the limit of %g requests a second; slow down", s.cfg.RatePerSecond))
		return
	case running >= s.cfg.MaxOperationsPerSocket:
		e := gqlerror.Errorf("over the limit of %d operations running on one socket; complete one first", s.cfg.MaxOperationsPerSocket)
		e.Extensions = map[string]any{"code": codeRateLimited}
		c.sendPayload(nil, m.ID, "error", gqlerror.List{e})
		return
	}
	// Only this loop adds operations, so the checks above still hold.
	ctx, cancel := context.WithCancel(c.base)
	op := &operation{cancel: cancel}
	c.mu.Lock()
	c.ops[m.ID] = op
	c.mu.Unlock()
	c.running.Add(1)
	go c.run(ctx, m.ID, op, &params)
}

// run executes an operation: each result a next message, then complete;
// an operation that cannot start, one error message.
func (c *socket) run(ctx context.Context, id string, op *operation, params *graphql.RawParams) {
	defer c.running.Done()
	defer func() {
		c.mu.Lock()
		if c.ops[id] == op {
			delete(c.ops, id)
		}
		c.mu.Unlock()
		op.cancel()
	}()
	defer func() {
		// A panic here would take the whole server down.
		if p := recover(); p != nil {
			resp := c.exec.DispatchError(ctx, gqlerror.List{gqlerror.WrapIfUnwrapped(recoverPanic(c.s.log)(ctx, p))})
			c.sendPayload(op, id, "error", resp.Errors)
		}
	}()
	// Loaders live for one operation, as they do for one HTTP request: a
	// socket's would serve a long subscription stale rows.
	ctx = context.WithValue(ctx, loadersKey{}, &lazyLoaders{reads: c.s.reads, places: c.s.places})
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.sendPayload(op, id, "error", resp.Errors)
		return
	}
	// GraphQL's "single root field" rule, which the validator here does
	// not apply: a subscription of two fields would otherwise fail inside
	// gqlgen as an internal error.
	if rc.Operation.Operation == ast.Subscription {
		if n := len(graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})); n != 1 {
			errs := gqlerror.List{requestError(errcode.ValidationFailed, "a subscription selects exactly one root field, not %d: subscribe once for each", n)}
			resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
			c.sendPayload(op, id, "error", resp.Errors)
			return
		}
	}
	responses, ctx := c.exec.DispatchOperation(graphql.WithOperationContext(ctx, rc), rc)
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		if !c.sendPayload(op, id, "next", resp) {
			return
		}
	}
	c.sendPayload(op, id, "complete", nil)
}

// complete is the client's end of an operation: it stops, and nothing
// more is sent for it. An id not running is no error: the operation may
// have ended as the client completed it.
func (c *socket) complete(id string) {
	if id == "" {
		c.close(closeBadRequest, "a complete message needs an id")
		return
	}
	c.mu.Lock()
	op := c.ops[id]
	delete(c.ops, id)
	c.mu.Unlock()
	if op != nil {
		op.stop()
	}
}

// sendPayload sends an operation's message unless the client has
// completed the operation (op nil: an operation that never ran), reporting
// whether it was sent.
func (c *socket) sendPayload(op *operation, id, typ string, payload any) bool {
	m := wsMessage{ID: id, Type: typ}
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			c.s.log.ErrorContext(c.ctx, "websocket message", "err", err)
			return false
		}
		m.Payload = b
	}
	if op == nil {
		return c.send(m) == nil
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	return !op.stopped && c.send(m) == nil
}

// errSocketClosing refuses a message once the socket is closing.
var errSocketClosing = errors.New("websocket closing")

// send writes a message. A failed write leaves the connection unusable,
// so it is dropped.
func (c *socket) send(m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.ctx.Err() != nil {
		return errSocketClosing
	}
	c.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.cancel()
		c.conn.Close()
		return err
	}
	return nil
}

// close ends the socket with a close code and a reason for the client: it
// sends the close frame, stops the operations, and gives the client
// closeGrace to answer before the read loop gives up on it.
func (c *socket) close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason)
}

// closeLocked is close with c.mu held.
func (c *socket) closeLocked(code int, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.cancel()
	deadline := time.Now().Add(closeGrace)
	if err := c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, truncateReason(reason)), deadline); err != nil {
		c.conn.Close()
		return
	}
	c.conn.SetReadDeadline(deadline)
}

// truncateReason fits a close reason in a close frame, on a character
// boundary.
func truncateReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// closeReceived answers the client's close frame with the same code,
// unless the close is ours and this is the client's answer.
func (c *socket) closeReceived(code int, _ string) error {
	c.mu.Lock()
	answered := c.closing
	c.closing = true
	c.mu.Unlock()
	c.cancel()
	if !answered {
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(closeGrace))
	}
	return nil
}

// keepAlive closes a socket that sends no connection_init in time, then
// pings the client every KeepAlive and closes the socket once it has been
// silent for two intervals: a client gone without a close frame would
// otherwise hold one of its key's sockets for good.
func (c *socket) keepAlive() {
	cfg := c.s.cfg
	initTimer := time.NewTimer(cfg.InitTimeout)
	defer initTimer.Stop()
	ping := time.NewTicker(cfg.KeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-initTimer.C:
			c.mu.Lock()
			if !c.initSeen {
				c.closeLocked(closeInitTimeout, fmt.Sprintf("no connection_init within %s", cfg.InitTimeout))
			}
			c.mu.Unlock()
		case <-ping.C:
			if time.Since(time.Unix(0, c.lastRead.Load())) > 2*cfg.KeepAlive {
				c.close(websocket.CloseGoingAway, fmt.Sprintf("nothing received for %s, not even a pong", 2*cfg.KeepAlive))
				return
			}
			c.mu.Lock()
			acked := c.acked
			c.mu.Unlock()
			if acked {
				c.send(wsMessage{Type: "ping"})
			}
		}
	}
}

// sockets are the open WebSockets: counted per client address and per
// key for their bounds, and listed per key so that a revocation can close
// them.
type sockets struct {
	mu     sync.Mutex
	shut   bool
	all    map[*socket]struct{}
	byKey  map[string]map[*socket]struct{}
	byAddr map[string]int
	// revoked holds the keys revoked while this server ran: a key looked
	// up just before its revocation cannot open a socket just after it.
	revoked map[string]bool
	// wg counts the sockets being served, for Close to wait for.
	wg sync.WaitGroup
}

// add counts a new socket against its address. It reports whether the
// server still takes sockets (if not, c is not counted) and whether the
// address is over max with c.
func (ss *sockets) add(c *socket, max int) (open, over bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.shut {
		return false, false
	}
	if ss.all == nil {
		ss.all = map[*socket]struct{}{}
		ss.byKey = map[string]map[*socket]struct{}{}
		ss.byAddr = map[string]int{}
		ss.revoked = map[string]bool{}
	}
	ss.all[c] = struct{}{}
	ss.byAddr[c.addr]++
	ss.wg.Add(1)
	return true, ss.byAddr[c.addr] > max
}

type signInResult int

const (
	signedIn signInResult = iota
	signInOver
	signInRevoked
)

// signIn counts c against its key (none for anonymous callers), unless
// the key was revoked or has max sockets open already.
func (ss *sockets) signIn(c *socket, keyID string, max int) signInResult {
	if keyID == "" {
		return signedIn
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.revoked[keyID]:
		return signInRevoked
	case len(ss.byKey[keyID]) >= max:
		return signInOver
	}
	if ss.byKey[keyID] == nil {
		ss.byKey[keyID] = map[*socket]struct{}{}
	}
	ss.byKey[keyID][c] = struct{}{}
	c.keyID = keyID
	return signedIn
}

// remove releases what c was counted against.
func (ss *sockets) remove(c *socket) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.all[c]; !ok {
		return
	}
	delete(ss.all, c)
	if ss.byAddr[c.addr]--; ss.byAddr[c.addr] <= 0 {
		delete(ss.byAddr, c.addr)
	}
	if c.keyID != "" {
		delete(ss.byKey[c.keyID], c)
		if len(ss.byKey[c.keyID]) == 0 {
			delete(ss.byKey, c.keyID)
		}
	}
}

// revoke marks a key revoked and returns its open sockets.
func (ss *sockets) revoke(keyID string) []*socket {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.revoked == nil {
		ss.revoked = map[string]bool{}
	}
	ss.revoked[keyID] = true
	var out []*socket
	for c := range ss.byKey[keyID] {
		out = append(out, c)
	}
	return out
}

// shutdown stops taking sockets and returns the open ones.
func (ss *sockets) shutdown() []*socket {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.shut = true
	var out []*socket
	for c := range ss.all {
		out = append(out, c)
	}
	return out
}

// Revoked makes a revoked key stop working at once rather than when its
// cached lookup expires: the next HTTP request with it is checked afresh,
// and its open WebSockets close with 4403. Call it once the key read
// model shows the revocation (WatchRevocations does), or the fresh check
// may still find the key valid.
func (s *Server) Revoked(keyID string) {
	if keyID == "" {
		return
	}
	s.keys.forget(keyID)
	for _, c := range s.sockets.revoke(keyID) {
		c.close(closeForbidden, "the API key was revoked")
	}
}

// WatchRevocations follows the log from its head and calls Revoked for
// each key revoked, after the key read model has it, until ctx ends. It
// returns nil when ctx ends, and the error that stopped it otherwise.
func (s *Server) WatchRevocations(ctx context.Context) error {
	head, err := s.store.Head(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("log head: %w", err)
	}
	for e, err := range s.store.SubscribeAll(ctx, head) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow the log: %w", err)
		}
		if e.Type != keyRevokedType {
			continue
		}
		var rev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &rev); err != nil || rev.ID == "" {
			s.log.ErrorContext(ctx, "revocation without a key ID", "position", e.Position, "err", err)
			continue
		}
		s.awaitKeys(ctx, e.Position)
		if ctx.Err() != nil {
			return nil
		}
		s.Revoked(rev.ID)
	}
	return nil
}

// awaitKeys waits, for as long as a cached lookup would have lasted, for
// the key read model to reach a revocation: until it does, a fresh
// lookup still finds the key valid.
func (s *Server) awaitKeys(ctx context.Context, position int64) {
	if s.runner == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, keyCacheTTL)
	defer cancel()
	if err := s.runner.WaitFor(wctx, position, "keys"); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "the key read model has not reached a revocation; closing the key's sockets anyway",
			"position", position, "err", err)
	}
}

// Close closes every open WebSocket with 1001 (going away) and waits a
// few seconds at most for their operations to end. http.Server.Shutdown
// does not: it leaves hijacked connections alone.
func (s *Server) Close() {
	for _, c := range s.sockets.shutdown() {
		c.close(websocket.CloseGoingAway, "the server is shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.sockets.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
