package opendata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// QueryError is a GraphQL query of the export that the API answered with
// errors (or not at all): the export stops rather than publish a table
// with rows missing.
type QueryError struct {
	// Table is the table being built.
	Table string
	// Status is the HTTP status the API answered with.
	Status int
	// Messages are the GraphQL errors' messages, with their codes.
	Messages []string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("open data: table %s: the API answered %d: %s", e.Table, e.Status, strings.Join(e.Messages, "; "))
}

// client asks the GraphQL API in-process, as an anonymous caller: no
// Authorization header, so the API's visibility policy treats it as the
// public and the export can hold nothing the public may not read. Answers
// are kept per query and variables for the length of one build, so tables
// drawn from the same answer (cycles and their pots) cost one query.
type client struct {
	api   http.Handler
	table string
	memo  map[string]any
}

// query runs a GraphQL query and returns its data, decoded with numbers
// kept as json.Number so that figures reach the CSV exactly as the API
// gave them.
func (c *client) query(ctx context.Context, q string, vars map[string]any) (any, error) {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return nil, err
	}
	key := string(body)
	if v, ok := c.memo[key]; ok {
		return v, nil
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// A loopback peer, as a caller on the machine itself would be.
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	c.api.ServeHTTP(rec, req)
	var resp struct {
		Data   any `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return nil, &QueryError{Table: c.table, Status: rec.Code, Messages: []string{"not a GraphQL response: " + err.Error()}}
	}
	if len(resp.Errors) > 0 || rec.Code != http.StatusOK {
		qe := &QueryError{Table: c.table, Status: rec.Code}
		for _, e := range resp.Errors {
			qe.Messages = append(qe.Messages, fmt.Sprintf("%s (%v)", e.Message, e.Extensions["code"]))
		}
		return nil, qe
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if c.memo == nil {
		c.memo = map[string]any{}
	}
	c.memo[key] = resp.Data
	return resp.Data, nil
}

// pages runs a query over a Relay connection page after page: the query
// takes $after, the connection lies at path in its data and selects
// edges { node } and pageInfo { hasNextPage endCursor }. each gets every
// node in order.
func (c *client) pages(ctx context.Context, q string, vars map[string]any, path string, each func(node any) error) error {
	v := map[string]any{}
	for k, x := range vars {
		v[k] = x
	}
	for {
		data, err := c.query(ctx, q, v)
		if err != nil {
			return err
		}
		conn := at(data, path)
		for _, e := range list(conn, "edges") {
			if err := each(at(e, "node")); err != nil {
				return err
			}
		}
		if at(conn, "pageInfo.hasNextPage") != true {
			return nil
		}
		v["after"] = str(conn, "pageInfo.endCursor")
	}
}

// at walks a decoded JSON value along a dotted path of object keys; nil
// where the path leads nowhere (a null on the way).
func at(v any, path string) any {
	if path == "" {
		return v
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// list is the array at path; empty when it is null or absent.
func list(v any, path string) []any {
	l, _ := at(v, path).([]any)
	return l
}

// str is the value at path as a CSV cell: "" for null, numbers as the
// API wrote them, booleans as true and false.
func str(v any, path string) string {
	switch x := at(v, path).(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// joined is the values at path in each element of the list at listPath,
// joined with "; ": the CSV form of a short list (a project's
// implementers), documented as such in the dictionary.
func joined(v any, listPath, path string) string {
	var out []string
	for _, e := range list(v, listPath) {
		out = append(out, str(e, path))
	}
	return strings.Join(out, listSep)
}

// listSep separates the items of a list held in one cell.
const listSep = "; "
