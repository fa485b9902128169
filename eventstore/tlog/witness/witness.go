// Package witness is a witness of the log, as the transparency-dev
// witnesses are for Go's checksum database and Sigstore: a small program
// that someone other than the log's operator runs (an auditor, a civic
// organisation), which remembers the last checkpoint it saw of the log,
// accepts a newer one only with a consistency proof that it extends it,
// and co-signs it (C2SP tlog-cosignature, cosignature/v1). A history
// rewritten or truncated in the log's database, by anyone, no longer
// extends what the witness saw: the witness refuses it, and keeps the
// checkpoints it saw, which civic verify --against checks the database
// against.
package witness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/eventstore/tlog"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Verifier returns the verifier of a witness's co-signatures from its note
// verifier key (Ed25519, as GenerateKey gives it or in the plain note
// form): what the log's operator configures to accept its co-signatures.
func Verifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness key %q: %w (want <name>+<hash>+<key>, as civic witness init prints)", vkey, err)
	}
	return v, nil
}

// GenerateKey makes a witness's key pair under name: the signer key, to
// keep secret, and the verifier key to give the log's operator.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", err
	}
	vkey, err = fnote.VKeyToCosignatureV1(vkey)
	return skey, vkey, err
}

// The files of a witness's directory.
const (
	keyFile    = "witness.key" // the signer key, mode 0600
	pubFile    = "witness.pub" // the verifier key, to give the log's operator
	logKeyFile = "log.pub"     // the log's verifier key, <origin>+<hash>+<key>
	latestFile = "latest"      // the last checkpoint co-signed
	// SeenDir holds every checkpoint the witness co-signed, <size>.note:
	// what civic verify --against takes.
	SeenDir = "checkpoints"
)

// Init creates a witness's directory: its key pair under name, and the
// log's verifier key it will trust. It returns the witness's verifier key.
func Init(dir, name, logKey string) (string, error) {
	if _, err := note.NewVerifier(logKey); err != nil {
		return "", fmt.Errorf("the log's key %q: %w (want <origin>+<hash>+<key>, as GET /log/key gives it)", logKey, err)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		return "", fmt.Errorf("%s already holds a witness key: a witness keeps one key", dir)
	}
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, SeenDir), 0o700); err != nil {
		return "", err
	}
	for _, f := range []struct {
		name, text string
		mode       os.FileMode
	}{{keyFile, skey, 0o600}, {pubFile, vkey, 0o644}, {logKeyFile, logKey, 0o644}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text+"\n"), f.mode); err != nil {
			return "", err
		}
	}
	return vkey, nil
}

// Witness is a witness over its directory.
type Witness struct {
	dir    string
	signer note.Signer
	log    note.Verifier
	origin string
}

// Open opens the witness whose directory Init made.
func Open(dir string) (*Witness, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("witness: %w (run civic witness init first)", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	skey, err := read(keyFile)
	if err != nil {
		return nil, err
	}
	logKey, err := read(logKeyFile)
	if err != nil {
		return nil, err
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	lv, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("the log's key: %w", err)
	}
	return &Witness{dir: dir, signer: signer, log: lv, origin: lv.Name()}, nil
}

// Name is the witness's name, as its co-signatures carry it.
func (w *Witness) Name() string { return w.signer.Name() }

// Source is where a witness gets a log's checkpoints and proofs.
type Source interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	Consistency(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Errors of Step when the log is not what the witness saw: each means its
// history was rewritten or cut, by whoever could.
var (
	ErrRolledBack   = errors.New("the log is smaller than it was")
	ErrForked       = errors.New("the log's tree of the same size has another root")
	ErrInconsistent = errors.New("the log's new tree does not extend the one seen before")
)

// Result is what a Step did.
type Result struct {
	// Previous is the size of the checkpoint seen before, 0 at the first.
	Previous uint64
	// Size is the size of the checkpoint fetched.
	Size uint64
	// Cosigned is the checkpoint as the witness co-signed it (the log's
	// note with the witness's signature added); nil when there was nothing
	// new to sign.
	Cosigned []byte
}

// Step fetches the log's latest checkpoint, checks it is signed by the
// log and extends the last one the witness co-signed (a consistency
// proof, checked with transparency-dev/merkle), and co-signs and stores
// it. The first checkpoint is taken on trust, as any first contact is.
func (w *Witness) Step(ctx context.Context, src Source) (Result, error) {
	text, err := src.Checkpoint(ctx)
	if err != nil {
		return Result{}, err
	}
	c, n, err := tlog.Open(text, w.origin, []note.Verifier{w.log})
	if err != nil {
		return Result{}, fmt.Errorf("the log's checkpoint: %w", err)
	}
	res := Result{Size: c.Size}
	last, err := w.Latest()
	if err != nil {
		return res, err
	}
	if last != nil {
		res.Previous = last.Size
		switch {
		case c.Size < last.Size:
			return res, fmt.Errorf("its checkpoint is of size %d, and this witness co-signed one of size %d: %w", c.Size, last.Size, ErrRolledBack)
		case c.Size == last.Size && !bytes.Equal(c.Root, last.Root):
			return res, fmt.Errorf("size %d: %w", c.Size, ErrForked)
		case c.Size == last.Size:
			return res, nil // nothing new
		}
		p, err := src.Consistency(ctx, last.Size, c.Size)
		if err != nil {
			return res, err
		}
		if err := proof.VerifyConsistency(tlog.Hasher, last.Size, c.Size, p, last.Root, c.Root); err != nil {
			return res, fmt.Errorf("from size %d to %d: %v: %w", last.Size, c.Size, err, ErrInconsistent)
		}
	}
	// The witness signs the log's note as the log signed it: the body and
	// the log's signature, not any other co-signer's.
	own, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return res, err
	}
	line := own[len(n.Text)+1:] // "— name sig\n", after the blank line
	var logSig []byte
	for _, s := range n.Sigs {
		if s.Name == w.log.Name() && s.Hash == w.log.KeyHash() {
			logSig = fmt.Appendf(nil, "\u2014 %s %s\n", s.Name, s.Base64)
		}
	}
	res.Cosigned = append(append(append([]byte(n.Text), '\n'), logSig...), line...)
	if err := w.save(c.Size, res.Cosigned); err != nil {
		return res, err
	}
	return res, nil
}

// Latest is the last checkpoint the witness co-signed; nil before the
// first.
func (w *Witness) Latest() (*tlog.Checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(w.dir, latestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, _, err := tlog.Open(b, w.origin, []note.Verifier{w.log})
	if err != nil {
		return nil, fmt.Errorf("the witness's own latest checkpoint: %w", err)
	}
	return &c, nil
}

// save keeps a co-signed checkpoint, then makes it the latest (by
// renaming, so a crash leaves the one before or this one, never half).
func (w *Witness) save(size uint64, cosigned []byte) error {
	seen := filepath.Join(w.dir, SeenDir, strconv.FormatUint(size, 10)+".note")
	if err := os.WriteFile(seen, cosigned, 0o644); err != nil {
		return err
	}
	tmp := filepath.Join(w.dir, latestFile+".tmp")
	if err := os.WriteFile(tmp, cosigned, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(w.dir, latestFile))
}

// Client reaches a log's HTTP endpoints (/log/...) at Base, such as
// https://civic-ledger.example.ge.
type Client struct {
	Base string
	HTTP *http.Client
}

func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := strings.TrimSuffix(c.Base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

func (c *Client) do(req *http.Request) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// Checkpoint implements Source: GET /log/checkpoint.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/log/checkpoint", nil)
}

// Key is the log's verifier key, as it serves it: GET /log/key. A
// witness that takes it so trusts the log on first use; one its operator
// published elsewhere is better.
func (c *Client) Key(ctx context.Context) (string, error) {
	b, err := c.get(ctx, "/log/key", nil)
	return strings.TrimSpace(string(b)), err
}

// Consistency implements Source: GET /log/proof/consistency.
func (c *Client) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	body, err := c.get(ctx, "/log/proof/consistency", url.Values{
		"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}})
	if err != nil {
		return nil, err
	}
	var p struct{ Hashes []string }
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	out := make([][]byte, len(p.Hashes))
	for i, h := range p.Hashes {
		if out[i], err = base64.StdEncoding.DecodeString(h); err != nil {
			return nil, fmt.Errorf("consistency proof: %w", err)
		}
	}
	return out, nil
}

// Submit gives the log a co-signed checkpoint: POST /log/cosignature.
func (c *Client) Submit(ctx context.Context, cosigned []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Base, "/")+"/log/cosignature", bytes.NewReader(cosigned))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	_, err = c.do(req)
	return err
}
