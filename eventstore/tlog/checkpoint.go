package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a signed statement of the log's tree: what the C2SP
// tlog-checkpoint format says (origin, size, root hash), and three lines of
// its own after them, which readers of the format skip as extension data:
//
//	civicledger chain <base64 hash chain at size>
//	civicledger previous <size> <base64 SHA-256 of the previous checkpoint's body>
//	civicledger time <RFC 3339 signing time>
//
// The chain line signs the older hash chain too; the previous line links
// the checkpoints, so one deleted between two others is missed by name; the
// time says how fresh it is.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	// Chain is the hash chain's link at Size (eventstore.ChainHash); nil
	// for a log that keeps no chain (eventstore/dense), whose body then
	// has no chain line.
	Chain []byte
	// PreviousSize and PreviousHash name the checkpoint signed before this
	// one: its size and the SHA-256 of its body. Both zero for the first.
	PreviousSize uint64
	PreviousHash []byte
	// Time is when the log signed it.
	Time time.Time
}

const extPrefix = "civicledger "

// Body is the note text the signatures cover.
func (c Checkpoint) Body() []byte {
	var b bytes.Buffer
	b.Write(tlogfmt.Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Root}.Marshal())
	if c.Chain != nil {
		// Only the PostgreSQL log keeps the chain from before the tree;
		// the dense log over KurrentDB has none to sign.
		fmt.Fprintf(&b, "%schain %s\n", extPrefix, base64.StdEncoding.EncodeToString(c.Chain))
	}
	if c.PreviousHash != nil {
		fmt.Fprintf(&b, "%sprevious %d %s\n", extPrefix, c.PreviousSize, base64.StdEncoding.EncodeToString(c.PreviousHash))
	}
	fmt.Fprintf(&b, "%stime %s\n", extPrefix, c.Time.UTC().Format(time.RFC3339Nano))
	return b.Bytes()
}

// BodyHash is what the next checkpoint's previous line names.
func BodyHash(body []byte) []byte {
	sum := sha256.Sum256(body)
	return sum[:]
}

// ParseBody reads a checkpoint's body (a note's text). It checks the form
// only: Open checks the signatures.
func ParseBody(text []byte) (Checkpoint, error) {
	var tc tlogfmt.Checkpoint
	rest, err := tc.Unmarshal(text)
	if err != nil {
		return Checkpoint{}, err
	}
	c := Checkpoint{Origin: tc.Origin, Size: tc.Size, Root: tc.Hash}
	if len(c.Root) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("checkpoint: the root hash is %d bytes, want %d", len(c.Root), sha256.Size)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(rest), "\n"), "\n") {
		ext, ok := strings.CutPrefix(line, extPrefix)
		if !ok {
			continue // another party's extension
		}
		f := strings.Fields(ext)
		switch {
		case len(f) == 2 && f[0] == "chain":
			c.Chain, err = base64.StdEncoding.DecodeString(f[1])
		case len(f) == 3 && f[0] == "previous":
			if c.PreviousSize, err = strconv.ParseUint(f[1], 10, 64); err == nil {
				c.PreviousHash, err = base64.StdEncoding.DecodeString(f[2])
			}
		case len(f) == 2 && f[0] == "time":
			c.Time, err = time.Parse(time.RFC3339Nano, f[1])
		default:
			err = fmt.Errorf("unknown line %q", line)
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return c, nil
}

// Origin returns the origin a signed checkpoint names (its first line),
// before anything is verified: to pick the verifiers for it.
func Origin(signed []byte) string {
	line, _, _ := bytes.Cut(signed, []byte("\n"))
	return string(line)
}

// KeyName is the name a note key of the log goes by: its origin, which
// notes allow as a key name only without '+' or white space.
func keyName(origin string) (string, error) {
	if origin == "" || strings.ContainsAny(origin, "+ \t\n") {
		return "", fmt.Errorf("log origin %q: want a name without '+' or white space, such as civic-ledger.example.ge/log", origin)
	}
	return origin, nil
}

// VerifierKey is the note verifier key of the log's public key under its
// origin, "<origin>+<hash>+<key>": what auditors and witnesses configure
// to check the log's checkpoints.
func VerifierKey(origin string, pub ed25519.PublicKey) (string, error) {
	name, err := keyName(origin)
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(name, pub)
}

// NewSigner is the note signer of the log's Ed25519 key under its origin.
func NewSigner(origin string, key ed25519.PrivateKey) (note.Signer, error) {
	vkey, err := VerifierKey(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	// "<name>+<hash>+<key>": the signer key has the same name and hash.
	parts := strings.Split(vkey, "+")
	skey := "PRIVATE+KEY+" + parts[0] + "+" + parts[1] + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, key.Seed()...)) // 1: Ed25519
	return note.NewSigner(skey)
}

// NewVerifier is the note verifier of a public key under origin.
func NewVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := VerifierKey(origin, pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// Sign returns the signed note of c.
func Sign(c Checkpoint, signer note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(c.Body())}, signer)
}

// ErrUntrusted is Open's error for a checkpoint no trusted key signed.
var ErrUntrusted = errors.New("the checkpoint is not signed by a trusted key of the log")

// Open checks a signed checkpoint against the log's keys (verifiers, all
// under origin) and returns it with its note; others verify further
// signatures (witnesses'), which are kept in the note when they hold. It
// fails with ErrUntrusted when no log key signed it, and with a
// description of what is wrong when it is malformed. The body is read by
// transparency-dev/formats' log.Checkpoint (ParseBody), as its
// ParseCheckpoint does, but with these errors told apart.
func Open(signed []byte, origin string, verifiers []note.Verifier, others ...note.Verifier) (Checkpoint, *note.Note, error) {
	if len(signed) > maxNote {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: %d bytes, over the limit of %d", len(signed), maxNote)
	}
	n, err := note.Open(signed, note.VerifierList(append(append([]note.Verifier(nil), verifiers...), others...)...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		return Checkpoint{}, nil, ErrUntrusted
	case err != nil:
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	byLog := false
	for _, s := range n.Sigs {
		for _, v := range verifiers {
			byLog = byLog || s.Name == v.Name() && s.Hash == v.KeyHash()
		}
	}
	if !byLog {
		return Checkpoint{}, nil, ErrUntrusted
	}
	c, err := ParseBody([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint: of log %q, not %q", c.Origin, origin)
	}
	return c, n, nil
}

// maxNote bounds a checkpoint note a reader takes in: a body and a few
// dozen signatures.
const maxNote = 16 << 10

// Cosigned is a checkpoint note a witness co-signed, as OpenCosigned
// checked it.
type Cosigned struct {
	// Text is the note's body, Size the checkpoint's size.
	Text string
	Size uint64
	// Lines are the witnesses' signature lines to keep, by witness name,
	// as a note carries them ("— <name> <base64>").
	Lines map[string]string
}

// OpenCosigned checks a co-signed checkpoint a witness gives the log:
// its signatures by witnesses are kept, others ignored. It fails with
// eventstore.ErrUnknownWitness when none is a witness's, and with
// eventstore.ErrInvalid when the note is malformed or over the limit. The
// caller checks that the body is one of its own checkpoints'. Every
// backend with a tree takes co-signatures so.
func OpenCosigned(signed []byte, witnesses []note.Verifier) (Cosigned, error) {
	if len(signed) > maxNote {
		return Cosigned{}, fmt.Errorf("co-signature: %d bytes, over the limit of %d: %w", len(signed), maxNote, eventstore.ErrInvalid)
	}
	n, err := note.Open(signed, note.VerifierList(witnesses...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		return Cosigned{}, fmt.Errorf("co-signature: %w", eventstore.ErrUnknownWitness)
	case err != nil:
		return Cosigned{}, fmt.Errorf("co-signature: %v: %w", err, eventstore.ErrInvalid)
	}
	c, err := ParseBody([]byte(n.Text))
	if err != nil {
		return Cosigned{}, fmt.Errorf("co-signature: %v: %w", err, eventstore.ErrInvalid)
	}
	out := Cosigned{Text: n.Text, Size: c.Size, Lines: make(map[string]string, len(n.Sigs))}
	for _, sig := range n.Sigs {
		out.Lines[sig.Name] = "\u2014 " + sig.Name + " " + sig.Base64
	}
	return out, nil
}
