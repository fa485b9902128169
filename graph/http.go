package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/civicledger/civicledger/domain"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Media types of the GraphQL over HTTP specification.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Error codes of failures found before a query runs.
const (
	codeBadRequest           = "BAD_REQUEST"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	codeNotAcceptable        = "NOT_ACCEPTABLE"
	codePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	codeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	codePersistedRequired    = "PERSISTED_QUERY_REQUIRED"
	codeUnauthenticated      = "UNAUTHENTICATED"
	codeRateLimited          = "RATE_LIMITED"
	codeTooManyExpensive     = "TOO_MANY_EXPENSIVE_OPERATIONS"
	codeResponseTooLarge     = "RESPONSE_TOO_LARGE"
)

// statusFor maps the errors of a request that could not run to an HTTP
// status, as GraphQL over HTTP asks: 400 for a request that cannot be
// parsed, 422 for one that parses but is invalid (unknown fields, wrong
// variables, over the depth or complexity limit). A persisted query the
// server does not know yet is not a failure: the client sends it again with
// its text (the automatic persisted queries protocol), so it is 200.
func statusFor(errs gqlerror.List) int {
	status := http.StatusUnprocessableEntity
	for _, e := range errs {
		switch e.Extensions["code"] {
		case errcode.ParseFailed, codeBadRequest:
			return http.StatusBadRequest
		case "PERSISTED_QUERY_NOT_FOUND":
			status = http.StatusOK
		}
	}
	return status
}

// responseType picks the response media type from the Accept header:
// application/graphql-response+json unless the client asks for
// application/json only; "" when it accepts neither.
func responseType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaGraphQLResponse
	}
	json := false
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case mediaGraphQLResponse, "*/*", "application/*":
			return mediaGraphQLResponse
		case mediaJSON:
			json = true
		}
	}
	if json {
		return mediaJSON
	}
	return ""
}

// writeErrors writes a GraphQL response carrying only errors.
func writeErrors(w http.ResponseWriter, mediaType string, status int, errs ...*gqlerror.Error) {
	if mediaType == "" {
		mediaType = mediaJSON
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	// No data entry: the request did not run (GraphQL over HTTP).
	json.NewEncoder(w).Encode(struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
}

// requestError is an error found before the query could run.
func requestError(code, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf(format, args...)
	e.Extensions = map[string]any{"code": code}
	return e
}

// postTransport serves POST /graphql with a JSON body: queries and
// mutations. It replaces gqlgen's so that status codes follow GraphQL over
// HTTP as DESIGN.md lays it out (400 unparseable, 422 invalid, 415 wrong
// content type, 406 unacceptable, 413 too large).
type postTransport struct{ s *Server }

// Supports implements graphql.Transport: every POST except a WebSocket
// upgrade, which the WebSocket transport takes.
func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

// Do implements graphql.Transport: it refuses what it cannot serve with the
// GraphQL over HTTP status (406, 415, 413, 400), then decodes the body with
// numbers kept as written, so large integer variables stay exact, and runs
// the operation.
func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	rt := responseType(r)
	if rt == "" {
		writeErrors(w, mediaJSON, http.StatusNotAcceptable, requestError(codeNotAcceptable,
			"the response can be %s or %s; the Accept header allows neither", mediaGraphQLResponse, mediaJSON))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != mediaJSON {
		writeErrors(w, rt, http.StatusUnsupportedMediaType, requestError(codeUnsupportedMediaType,
			"the request body must be %s, not %q", mediaJSON, r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeErrors(w, rt, http.StatusRequestEntityTooLarge, requestError(codePayloadTooLarge,
				"the request body is over the limit of %d bytes", tooLarge.Limit))
			return
		}
		writeErrors(w, rt, http.StatusBadRequest, requestError(codeBadRequest, "the request body could not be read"))
		return
	}
	params, err := decodeParams(body)
	if err != nil {
		writeErrors(w, rt, http.StatusBadRequest, requestError(codeBadRequest, "%v", err))
		return
	}
	params.Headers = r.Header
	t.s.execute(w, r, exec, rt, params, false)
}

// decodeParams reads a GraphQL-over-HTTP request body: a JSON object with
// query and operationName strings and variables and extensions objects,
// each optional or null. What is wrong is said in terms of the request,
// not of the Go types it is decoded into. Numbers are kept as written, so
// large integer variables stay exact.
func decodeParams(body []byte) (*graphql.RawParams, error) {
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(body, &wire); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || len(bytes.TrimSpace(body)) == 0 {
			return nil, errors.New("the request body is not valid JSON")
		}
		return nil, errors.New("the request body must be a JSON object with a query")
	}
	p := &graphql.RawParams{}
	for name, dst := range map[string]any{"query": &p.Query, "operationName": &p.OperationName, "variables": &p.Variables, "extensions": &p.Extensions} {
		raw, ok := wire[name]
		if !ok || string(raw) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			want := "a JSON object"
			if name == "query" || name == "operationName" {
				want = "a string"
			}
			return nil, fmt.Errorf("%s must be %s (or null), not %s", name, want, jsonKind(raw))
		}
	}
	return p, nil
}

// jsonKind names the kind of a JSON value, for messages.
func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "a string"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// getTransport serves GET /graphql for persisted queries only: a GET is
// cacheable and logged by proxies, which suits a known query named by its
// hash, not arbitrary text.
type getTransport struct{ s *Server }

// Supports implements graphql.Transport: every GET except a WebSocket
// upgrade, so a GET of a query's text gets an error that says to POST it.
func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

// Do implements graphql.Transport: it reads the request from the URL's query
// string and runs it only if it names a persisted query; mutations are
// refused later, in execute, once the operation is known.
func (t getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	rt := responseType(r)
	if rt == "" {
		writeErrors(w, mediaJSON, http.StatusNotAcceptable, requestError(codeNotAcceptable,
			"the response can be %s or %s; the Accept header allows neither", mediaGraphQLResponse, mediaJSON))
		return
	}
	q := r.URL.Query()
	params := graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName"), Headers: r.Header}
	for name, dst := range map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if v := q.Get(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(dst); err != nil {
				writeErrors(w, rt, http.StatusBadRequest, requestError(codeBadRequest, "%s is not valid JSON: %v", name, err))
				return
			}
		}
	}
	if _, ok := params.Extensions["persistedQuery"]; !ok {
		writeErrors(w, rt, http.StatusBadRequest, requestError(codePersistedRequired,
			"GET serves persisted queries only: send extensions.persistedQuery.sha256Hash, or POST the query"))
		return
	}
	t.s.execute(w, r, exec, rt, &params, true)
}

// execute runs a parsed request and writes the response, within the
// request's budget: a wall time after which its resolvers and their SQL
// are cancelled (RequestTimeout), a slot among the expensive operations
// running at once when its complexity makes it one (the expensive gate),
// and a cap on the response's size. A request cut short is logged once,
// here, not once per field that failed with it.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, rt string, params *graphql.RawParams, viaGet bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		if len(errs) > maxErrors {
			more := requestError(errcode.ValidationFailed, "and %d more errors", len(errs)-maxErrors)
			errs = append(errs[:maxErrors:maxErrors], more)
		}
		status := statusFor(errs)
		if rt == mediaGraphQLResponse && status == http.StatusUnprocessableEntity && coercionFailed(errs) {
			// GraphQL over HTTP: with its own media type, a request whose
			// variables cannot be coerced is a bad request.
			status = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", rt)
		w.WriteHeader(status)
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		// GraphQL over HTTP: a request that failed before it ran has no
		// data entry, not a null one.
		json.NewEncoder(w).Encode(struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		return
	}
	switch op := rc.Operation.Operation; {
	case op == ast.Subscription:
		writeErrors(w, rt, http.StatusMethodNotAllowed, requestError(codeMethodNotAllowed,
			"subscriptions run over a WebSocket (graphql-transport-ws) on this path"))
		return
	case op == ast.Mutation && viaGet:
		writeErrors(w, rt, http.StatusMethodNotAllowed, requestError(codeMethodNotAllowed, "mutations must be POSTed"))
		return
	}
	octx := graphql.WithOperationContext(ctx, rc)
	// An anonymous query's answer may come from the answer cache; its
	// key, like an ETag, names everything the answer depends on.
	answerKey := ""
	if rc.Operation.Operation == ast.Query && !ActorFrom(ctx).SignedIn() && minPosition(ctx) == 0 && s.answers != nil {
		var err error
		if answerKey, err = s.etag(ctx, params); err != nil {
			s.log.WarnContext(ctx, "no key for the answer cache", "err", err)
			answerKey = ""
		}
		if answerKey != "" {
			answerKey = rt + "\x00" + answerKey
		}
	}
	etag := ""
	if viaGet {
		if answerKey != "" {
			etag = strings.TrimPrefix(answerKey, rt+"\x00") // the same digest
		} else {
			var err error
			if etag, err = s.etag(ctx, params); err != nil {
				s.log.WarnContext(ctx, "no ETag for a persisted query", "err", err)
				etag = ""
			}
		}
		if etag != "" {
			w.Header().Set("ETag", etag)
			w.Header().Set("Cache-Control", cacheControl(ctx))
			if etagMatches(r.Header.Get("If-None-Match"), etag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	if answerKey != "" {
		if body, ok := s.answers.Get(answerKey); ok {
			s.answerHits.Add(1)
			w.Header().Set("Content-Type", rt)
			w.Write(body)
			return
		}
		s.answerMisses.Add(1)
	}
	if st := extension.GetComplexityStats(octx); st != nil && st.Complexity >= s.cfg.ExpensiveComplexity {
		who := principalFrom(ctx)
		if !s.expensive.enter(ctx, who) {
			w.Header().Set("Retry-After", "1")
			writeErrors(w, rt, http.StatusTooManyRequests, requestError(codeTooManyExpensive,
				"too many expensive operations at once (complexity %d; at most %d at a time for %s, %d in all): wait for one to end",
				st.Complexity, s.cfg.MaxExpensivePerKey, whom(who), s.cfg.MaxExpensive))
			return
		}
		defer s.expensive.leave(who)
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if err := ctx.Err(); err != nil {
		what := "its time budget ran out"
		if r.Context().Err() != nil {
			what = "the client went away"
		}
		s.log.WarnContext(ctx, "request stopped", "why", what, "budget", s.cfg.RequestTimeout,
			"operation", rc.OperationName, "correlation_id", correlationID(ctx))
	}
	if len(resp.Data) > s.cfg.MaxResponseBytes {
		e := requestError(codeResponseTooLarge, "the response would be %d bytes, over the limit of %d: ask for fewer fields or rows", len(resp.Data), s.cfg.MaxResponseBytes)
		resp = &graphql.Response{Errors: gqlerror.List{e}}
	}
	if etag != "" && len(resp.Errors) > 0 {
		// An answer with errors may not be the data's: not to be reused.
		w.Header().Del("ETag")
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Header().Set("Content-Type", rt)
	if answerKey != "" && len(resp.Errors) == 0 && ctx.Err() == nil && len(resp.Data) <= maxCachedAnswer {
		var b bytes.Buffer
		writeResponse(&b, resp)
		s.answers.Add(answerKey, b.Bytes())
		w.Write(b.Bytes())
		return
	}
	writeResponse(w, resp)
}

// The anonymous answer cache: the answers to queries without a key, the
// same for every anonymous caller, kept under the digest of what they
// depend on (Server.etag: the query, its variables, the day in Tbilisi,
// the log's head, every read model's generation and position). A
// dashboard polling a public query then costs a lookup until the data
// moves, not its resolvers and SQL. Only answers without errors are kept,
// of at most maxCachedAnswer bytes, at most answerCacheSize of them (32
// MB at worst), none longer than answerCacheTTL: the few fields that
// change with the clock rather than the data (a read model's lag in
// seconds) are then that stale at most. A request with
// Civic-Min-Position is never answered from it: it asked to wait for a
// position the cache's state may not show yet.
const (
	maxCachedAnswer = 128 << 10
	answerCacheSize = 256
	answerCacheTTL  = 30 * time.Second
)

// AnswerCache reports how many anonymous queries the answer cache
// answered (hits) and how many it passed on to be run (misses), for
// /metrics and tests.
func (s *Server) AnswerCache() (hits, misses int64) {
	return s.answerHits.Load(), s.answerMisses.Load()
}

// coercionFailed reports whether errs are about the request's variables
// (gqlgen's coercion errors have a path starting at "variable").
func coercionFailed(errs gqlerror.List) bool {
	for _, e := range errs {
		if len(e.Path) == 0 || e.Path[0] != ast.PathName("variable") {
			return false
		}
	}
	return len(errs) > 0
}

// maxErrors bounds the errors a refused request is answered with: a
// thousand repeated directives once made a 170 KB answer.
const maxErrors = 20

// whom names a principal in a message.
func whom(who string) string {
	if strings.HasPrefix(who, "ip:") {
		return "this address"
	}
	return "this key"
}

// writeResponse writes a response. Its data is JSON already, written as
// is: encoding the whole response would scan and copy every byte of it
// again, a tenth of a list query's CPU.
func writeResponse(w io.Writer, resp *graphql.Response) {
	if len(resp.Errors) > 0 || len(resp.Extensions) > 0 || resp.Label != "" || resp.Path != nil || resp.HasNext != nil || len(resp.Data) == 0 {
		json.NewEncoder(w).Encode(resp)
		return
	}
	io.WriteString(w, `{"data":`)
	w.Write(resp.Data)
	io.WriteString(w, "}\n")
}

// etag is a persisted query's entity tag: a digest of what its answer
// depends on, known before it runs: the query and its variables, who
// asks (what they may see differs), the day in Tbilisi (certificates
// expire by the calendar), the log's head (reads of the log itself:
// audits, proofs, replays; as the store last heard of it from the
// sequencer, with no query, when it listens) and every read model's
// generation and position. An equal tag means the same answer, so
// If-None-Match is answered 304 without running anything; it is also the
// key of the anonymous answer cache.
func (s *Server) etag(ctx context.Context, params *graphql.RawParams) (string, error) {
	if s.store == nil || s.runner == nil {
		return "", nil
	}
	head, known := int64(0), false
	if k, ok := s.store.(interface{ KnownHead() (int64, bool) }); ok {
		head, known = k.KnownHead()
	}
	if !known {
		var err error
		if head, err = s.store.Head(ctx); err != nil {
			return "", err
		}
	}
	state, err := s.runner.State(ctx)
	if err != nil {
		return "", err
	}
	vars, err := json.Marshal(params.Variables) // map keys sorted: a canonical form
	if err != nil {
		return "", err
	}
	ext, _ := json.Marshal(params.Extensions["persistedQuery"])
	a := ActorFrom(ctx)
	h := sha256.New()
	for _, part := range []string{string(ext), params.Query, params.OperationName, string(vars), a.ID, string(a.Role), domain.DayOf(s.now()),
		strconv.FormatInt(head, 10), state} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`, nil
}

// cacheControl is a persisted answer's Cache-Control: anyone's to keep
// for an anonymous caller (a CDN may serve it to others, who would get
// the same), the caller's alone otherwise; always revalidated, which
// costs a 304 while the data has not moved.
func cacheControl(ctx context.Context) string {
	if ActorFrom(ctx).SignedIn() {
		return "private, no-cache"
	}
	return "public, no-cache"
}

// etagMatches reports whether an If-None-Match header names tag (or is
// "*"), comparing weakly as RFC 9110 asks for If-None-Match.
func etagMatches(header, tag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == "*" || part == tag {
			return true
		}
	}
	return false
}

// now is the commands' clock, which also says what day it is.
func (s *Server) now() time.Time { return s.resolver.deps.Now() }
