package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"golang.org/x/mod/sumdb/note"
)

// MaxProofs bounds the positions of one logProof: a proof reads a few
// dozen hashes, so a hundred are a few thousand, the most one request may
// make the database find.
const MaxProofs = 100

// Witnessed is what the log offers witnesses beyond eventstore.Prover:
// its verifier key, and their co-signatures to keep. The postgres store
// and the dense log over KurrentDB implement it.
type Witnessed interface {
	// VerifierKey is the note verifier key of the log's checkpoints.
	VerifierKey(ctx context.Context) (string, error)
	// AddCosignatures keeps the signatures of witnesses (each checked
	// with witnesses) on a checkpoint note of the log.
	AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error)
}

// prover is the store's tree, or an error when it keeps none.
func (r *Resolver) prover() (eventstore.Prover, error) {
	p, ok := r.deps.Store.(eventstore.Prover)
	if !ok {
		return nil, domain.Errorf(domain.NotFound, "this server's event store keeps no Merkle tree")
	}
	return p, nil
}

// proofError turns a store's refusal of a proof into the caller's error,
// naming the argument.
func proofError(err error, arg string) error {
	if errors.Is(err, eventstore.ErrBeyondTree) {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "+eventstore.ErrBeyondTree.Error()); i >= 0 {
			msg = msg[:i]
		}
		return domain.Errorf(domain.Invalid, "%s: %s", arg, msg)
	}
	return domain.Wrap(err, "log proof")
}

func checkpointOf(c *eventstore.Checkpoint) *model.LogCheckpoint {
	if c == nil {
		return nil
	}
	return &model.LogCheckpoint{Origin: c.Origin, TreeSize: scalar.Position(c.Size), RootHash: b64(c.Root),
		SignedAt: c.SignedAt, Note: c.Note, Witnesses: nonNil(c.Witnesses)}
}

func proofOf(p eventstore.InclusionProof) model.InclusionProof {
	return model.InclusionProof{Position: scalar.Position(p.Position), TreeSize: scalar.Position(p.TreeSize),
		LeafHash: b64(p.LeafHash), Hashes: b64s(p.Hashes)}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func b64s(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}

// logCheckpoint is the latest checkpoint, or the one of size.
func (r *Resolver) logCheckpoint(ctx context.Context, size *scalar.Position) (*model.LogCheckpoint, error) {
	p, err := r.prover()
	if err != nil {
		return nil, err
	}
	var n int64
	if size != nil {
		if n = int64(*size); n < 1 {
			return nil, domain.Errorf(domain.Invalid, "size: %d is not a tree size (1 or more)", n)
		}
	}
	c, err := p.Checkpoint(ctx, n)
	if err != nil {
		return nil, domain.Wrap(err, "read the checkpoint")
	}
	return checkpointOf(c), nil
}

// logProof proves positions against the checkpoint of size checkpoint,
// the latest by default.
func (r *Resolver) logProof(ctx context.Context, positions []scalar.Position, checkpoint *scalar.Position) (*model.LogInclusion, error) {
	p, err := r.prover()
	if err != nil {
		return nil, err
	}
	if len(positions) == 0 || len(positions) > MaxProofs {
		return nil, domain.Errorf(domain.Invalid, "positions: %d given, want 1 to %d", len(positions), MaxProofs)
	}
	var size int64
	if checkpoint != nil {
		if size = int64(*checkpoint); size < 1 {
			return nil, domain.Errorf(domain.Invalid, "checkpoint: %d is not a tree size (1 or more)", size)
		}
	}
	c, err := p.Checkpoint(ctx, size)
	switch {
	case err != nil:
		return nil, domain.Wrap(err, "read the checkpoint")
	case c == nil && size > 0:
		return nil, domain.Errorf(domain.Invalid, "checkpoint: the log signed no checkpoint of size %d", size)
	case c == nil:
		return nil, domain.Errorf(domain.NotFound, "the log has no signed checkpoint yet")
	}
	ps := make([]int64, len(positions))
	for i, pos := range positions {
		ps[i] = int64(pos)
		if ps[i] < 1 || ps[i] > c.Size {
			return nil, domain.Errorf(domain.Invalid, "positions: %d is not in the tree of the checkpoint of size %d", ps[i], c.Size)
		}
	}
	proofs, err := p.InclusionProofs(ctx, ps, c.Size)
	if err != nil {
		return nil, proofError(err, "positions")
	}
	out := &model.LogInclusion{Checkpoint: checkpointOf(c), Proofs: make([]model.InclusionProof, len(proofs))}
	for i, pr := range proofs {
		out.Proofs[i] = proofOf(pr)
	}
	return out, nil
}

// logConsistency proves the tree of to extends the tree of from.
func (r *Resolver) logConsistency(ctx context.Context, from, to scalar.Position) (*model.ConsistencyProof, error) {
	p, err := r.prover()
	if err != nil {
		return nil, err
	}
	if from < 1 {
		return nil, domain.Errorf(domain.Invalid, "fromSize: %d is not a tree size (1 or more)", from)
	}
	if to < from {
		return nil, domain.Errorf(domain.Invalid, "toSize: %d is smaller than fromSize %d: a tree extends only a smaller one", to, from)
	}
	hashes, err := p.ConsistencyProof(ctx, int64(from), int64(to))
	if err != nil {
		return nil, proofError(err, "toSize")
	}
	return &model.ConsistencyProof{FromSize: from, ToSize: to, Hashes: b64s(hashes)}, nil
}

// inclusionFor is an audit's inclusion proofs, for the events the
// caller may see; nil when there are none.
func inclusionFor(in *certification.Inclusion, shown func(eventstore.Event) (bool, error)) (*model.LogInclusion, error) {
	if in == nil {
		return nil, nil
	}
	out := &model.LogInclusion{Checkpoint: checkpointOf(&in.Checkpoint), Proofs: []model.InclusionProof{}}
	for i, p := range in.Proofs {
		ok, err := shown(in.Events[i])
		if err != nil {
			return nil, err
		}
		if ok {
			out.Proofs = append(out.Proofs, proofOf(p))
		}
	}
	return out, nil
}

// logRoutes serves the log over plain HTTP, as the transparency-log
// tools expect it: GET /log/checkpoint (the note, text/plain), /log/key
// (the log's verifier key), /log/proof/inclusion?position=P&size=N,
// /log/proof/consistency?from=M&to=N (JSON), and POST /log/cosignature
// (a witness's co-signed checkpoint). Errors are GraphQL-shaped, with a
// code and the argument at fault.
func (s *Server) logRoutes(r *Resolver) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /log/checkpoint", func(w http.ResponseWriter, req *http.Request) {
		c, err := r.logCheckpoint(req.Context(), nil)
		if err == nil && c == nil {
			err = domain.Errorf(domain.NotFound, "the log has no signed checkpoint yet")
		}
		if err != nil {
			s.logError(w, req, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, c.Note)
	})
	mux.HandleFunc("GET /log/key", func(w http.ResponseWriter, req *http.Request) {
		wd, ok := r.deps.Store.(Witnessed)
		if !ok {
			s.logError(w, req, domain.Errorf(domain.NotFound, "this server's event store signs no checkpoints"))
			return
		}
		k, err := wd.VerifierKey(req.Context())
		if err != nil {
			s.logError(w, req, domain.Wrap(err, "the log's key"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, k+"\n")
	})
	mux.HandleFunc("GET /log/proof/inclusion", func(w http.ResponseWriter, req *http.Request) {
		pos, err := positionArg(req, "position", true)
		if err != nil {
			s.logError(w, req, err)
			return
		}
		size, err := positionArg(req, "size", false)
		if err != nil {
			s.logError(w, req, err)
			return
		}
		var cp *scalar.Position
		if size > 0 {
			cp = &size
		}
		in, err := r.logProof(req.Context(), []scalar.Position{pos}, cp)
		if err != nil {
			s.logError(w, req, renameArg(err, map[string]string{"positions": "position", "checkpoint": "size"}))
			return
		}
		writeJSON(w, map[string]any{"position": pos, "treeSize": in.Proofs[0].TreeSize, "leafHash": in.Proofs[0].LeafHash,
			"hashes": in.Proofs[0].Hashes, "checkpoint": in.Checkpoint.Note})
	})
	mux.HandleFunc("GET /log/proof/consistency", func(w http.ResponseWriter, req *http.Request) {
		from, err := positionArg(req, "from", true)
		if err != nil {
			s.logError(w, req, err)
			return
		}
		to, err := positionArg(req, "to", true)
		if err != nil {
			s.logError(w, req, err)
			return
		}
		p, err := r.logConsistency(req.Context(), from, to)
		if err != nil {
			s.logError(w, req, renameArg(err, map[string]string{"fromSize": "from", "toSize": "to"}))
			return
		}
		writeJSON(w, map[string]any{"from": from, "to": to, "hashes": p.Hashes})
	})
	mux.HandleFunc("POST /log/cosignature", func(w http.ResponseWriter, req *http.Request) {
		wd, ok := r.deps.Store.(Witnessed)
		if !ok || len(s.cfg.Witnesses) == 0 {
			s.logError(w, req, domain.Errorf(domain.Forbidden, "this log accepts no witnesses (CIVIC_WITNESSES)"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 16<<10))
		if err != nil {
			s.logError(w, req, domain.Errorf(domain.Invalid, "body: over 16 KiB, or unreadable: %v", err))
			return
		}
		names, err := wd.AddCosignatures(req.Context(), body, s.cfg.Witnesses)
		switch {
		case errors.Is(err, eventstore.ErrInvalid):
			err = domain.Errorf(domain.Invalid, "body: %s", strings.TrimSuffix(err.Error(), ": "+eventstore.ErrInvalid.Error()))
		case errors.Is(err, eventstore.ErrUnknownWitness) || errors.Is(err, eventstore.ErrNotCheckpoint):
			err = domain.Errorf(domain.Forbidden, "body: %v", err)
		}
		if err != nil {
			s.logError(w, req, err)
			return
		}
		writeJSON(w, map[string]any{"witnesses": names})
	})
	return mux
}

// positionArg reads a query parameter that is a position or tree size.
func positionArg(req *http.Request, name string, required bool) (scalar.Position, error) {
	v := req.URL.Query().Get(name)
	if v == "" {
		if required {
			return 0, domain.Errorf(domain.Invalid, "%s: required", name)
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, domain.Errorf(domain.Invalid, "%s: %q is not a position (a whole number, 1 or more)", name, v)
	}
	return scalar.Position(n), nil
}

// renameArg renames the argument an error names, for the HTTP endpoints'
// parameters that the GraphQL arguments go by other names.
func renameArg(err error, names map[string]string) error {
	var derr *domain.Error
	if !errors.As(err, &derr) || derr.Kind == domain.Internal {
		return err
	}
	for from, to := range names {
		if rest, ok := strings.CutPrefix(derr.Message, from+": "); ok {
			return domain.Errorf(derr.Kind, "%s: %s", to, rest)
		}
	}
	return err
}

// logError answers an /log/ request with its error, as GraphQL would:
// a code, and a message that names the argument at fault; an internal
// error's text is logged, not shown.
func (s *Server) logError(w http.ResponseWriter, req *http.Request, err error) {
	e := presentError(s.log)(req.Context(), err)
	status := http.StatusInternalServerError
	switch e.Extensions["code"] {
	case "BAD_USER_INPUT":
		status = http.StatusBadRequest
	case "NOT_FOUND":
		status = http.StatusNotFound
	case "FORBIDDEN":
		status = http.StatusForbidden
	case "TIMEOUT":
		status = http.StatusServiceUnavailable
	}
	writeErrors(w, mediaJSON, status, e)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("log route: %v", err)) // of values made here
	}
}
