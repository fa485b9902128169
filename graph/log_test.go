package graph_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
	"github.com/civicledger/civicledger/graph"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// fetch GETs path from url and returns the status and body.
func fetch(t *testing.T, url, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// logVerifier is the verifier of the log's checkpoints as an outsider
// makes it: from the key GET /log/key gives, checked against the public
// key it was told out of band.
func logVerifier(t *testing.T, e *env) note.Verifier {
	t.Helper()
	status, vkey := fetch(t, e.url, "/log/key")
	if status != http.StatusOK {
		t.Fatalf("GET /log/key: %d %s", status, vkey)
	}
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		t.Fatalf("GET /log/key gave %q: %v", vkey, err)
	}
	want := "civic-ledger/" + postgres.KeyID(e.signing.Public().(ed25519.PublicKey))
	if v.Name() != want {
		t.Fatalf("the log's key is named %q; want %q", v.Name(), want)
	}
	return v
}

func unb64(t *testing.T, v any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("%v is not base64: %v", v, err)
	}
	return b
}

func unb64s(t *testing.T, v any) [][]byte {
	t.Helper()
	var out [][]byte
	for _, h := range v.([]any) {
		out = append(out, unb64(t, h))
	}
	return out
}

// TestLogProofs checks what the API serves of the log's tree with the
// field's own libraries only: the checkpoint note with x/mod's note, the
// proofs with transparency-dev/merkle, the leaf rebuilt from the event as
// read from the store.
func TestLogProofs(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	ctx := context.Background()
	first, err := e.store.RequestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		e.do(domain.Admin, registerOrg, orgInput(i)).ok(t)
	}
	latest, err := e.store.RequestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, e)

	// The checkpoint, over HTTP as the format says and in GraphQL.
	status, text := fetch(t, e.url, "/log/checkpoint")
	if status != http.StatusOK {
		t.Fatalf("GET /log/checkpoint: %d %s", status, text)
	}
	n, err := note.Open([]byte(text), note.VerifierList(v))
	if err != nil {
		t.Fatalf("the checkpoint does not open with the log's key: %v\n%s", err, text)
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != v.Name() || lines[1] != fmt.Sprint(latest.Size) || lines[2] != base64.StdEncoding.EncodeToString(latest.Root) {
		t.Fatalf("checkpoint body %q; want origin, size %d and root", n.Text, latest.Size)
	}
	r := e.do(domain.Anonymous, `{ logCheckpoint { origin treeSize rootHash note witnesses } }`, nil).ok(t)
	if r.get("logCheckpoint.note") != text || r.get("logCheckpoint.treeSize") != float64(latest.Size) {
		t.Fatalf("logCheckpoint = %v; want the note GET /log/checkpoint gave", r.Data)
	}
	root := unb64(t, r.get("logCheckpoint.rootHash"))

	// Inclusion: each proof verifies, for a leaf the test rebuilds from
	// the event itself.
	events, err := e.store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	byPosition := map[int64]eventstore.Event{}
	for _, ev := range events {
		byPosition[ev.Position] = ev
	}
	positions := []int64{1, 2, 17, latest.Size / 2, latest.Size}
	r = e.do(domain.Anonymous, `query($p: [Position!]!) { logProof(positions: $p) { checkpoint { treeSize } proofs { position treeSize leafHash hashes } } }`,
		map[string]any{"p": positions}).ok(t)
	proofs := r.get("logProof.proofs").([]any)
	if len(proofs) != len(positions) {
		t.Fatalf("%d proofs for %d positions", len(proofs), len(positions))
	}
	for i, p := range proofs {
		m := p.(map[string]any)
		ev := byPosition[positions[i]]
		leaf := rfc6962.DefaultHasher.HashLeaf(eventstore.LeafBytes(&ev))
		if got := unb64(t, m["leafHash"]); string(got) != string(leaf) {
			t.Fatalf("position %d: leaf %x; the event's is %x", positions[i], got, leaf)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(positions[i]-1), uint64(latest.Size), leaf, unb64s(t, m["hashes"]), root); err != nil {
			t.Fatalf("position %d: inclusion proof: %v", positions[i], err)
		}
	}
	// Over HTTP, against a named checkpoint.
	status, body := fetch(t, e.url, fmt.Sprintf("/log/proof/inclusion?position=3&size=%d", first.Size))
	var hp struct {
		TreeSize int64
		LeafHash string
		Hashes   []string
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &hp) != nil || hp.TreeSize != first.Size {
		t.Fatalf("GET /log/proof/inclusion: %d %s", status, body)
	}
	hashes := make([][]byte, len(hp.Hashes))
	for i, h := range hp.Hashes {
		hashes[i] = unb64(t, h)
	}
	ev3 := byPosition[3]
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 2, uint64(first.Size), rfc6962.DefaultHasher.HashLeaf(eventstore.LeafBytes(&ev3)), hashes, first.Root); err != nil {
		t.Fatalf("GET /log/proof/inclusion: the proof does not verify: %v", err)
	}

	// Consistency between the two checkpoints.
	r = e.do(domain.Anonymous, `query($a: Position!, $b: Position!) { logConsistency(fromSize: $a, toSize: $b) { fromSize toSize hashes } }`,
		map[string]any{"a": first.Size, "b": latest.Size}).ok(t)
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(first.Size), uint64(latest.Size), unb64s(t, r.get("logConsistency.hashes")), first.Root, latest.Root); err != nil {
		t.Fatalf("consistency proof: %v", err)
	}
	status, body = fetch(t, e.url, fmt.Sprintf("/log/proof/consistency?from=%d&to=%d", first.Size, latest.Size))
	if status != http.StatusOK || !strings.Contains(body, `"hashes"`) {
		t.Fatalf("GET /log/proof/consistency: %d %s", status, body)
	}
}

// TestLogProofBadInput: every malformed or impossible request is refused
// with a code and the argument named, never INTERNAL.
func TestLogProofBadInput(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	c, err := e.store.RequestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	size := c.Size
	many := make([]string, graph.MaxProofs+1)
	for i := range many {
		many[i] = "1"
	}
	for _, tc := range []struct {
		query, code, arg string
	}{
		{`{ logProof(positions: [0]) { checkpoint { treeSize } } }`, "BAD_USER_INPUT", "positions"},
		{fmt.Sprintf(`{ logProof(positions: [%d]) { checkpoint { treeSize } } }`, size+1), "BAD_USER_INPUT", "positions"},
		{`{ logProof(positions: []) { checkpoint { treeSize } } }`, "BAD_USER_INPUT", "positions"},
		{`{ logProof(positions: [` + strings.Join(many, ",") + `]) { checkpoint { treeSize } } }`, "BAD_USER_INPUT", "positions"},
		{fmt.Sprintf(`{ logProof(positions: [1], checkpoint: %d) { checkpoint { treeSize } } }`, size+7), "BAD_USER_INPUT", "checkpoint"},
		{`{ logProof(positions: [1], checkpoint: 0) { checkpoint { treeSize } } }`, "BAD_USER_INPUT", "checkpoint"},
		{`{ logConsistency(fromSize: 5, toSize: 2) { hashes } }`, "BAD_USER_INPUT", "toSize"},
		{`{ logConsistency(fromSize: 0, toSize: 2) { hashes } }`, "BAD_USER_INPUT", "fromSize"},
		{fmt.Sprintf(`{ logConsistency(fromSize: 1, toSize: %d) { hashes } }`, size+1000), "BAD_USER_INPUT", "toSize"},
		{`{ logCheckpoint(size: 0) { note } }`, "BAD_USER_INPUT", "size"},
	} {
		r := e.do(domain.Anonymous, tc.query, nil)
		if r.code() != tc.code || !strings.HasPrefix(r.Errors[0].Message, tc.arg+":") {
			t.Errorf("%s: %d %+v; want %s naming %s", tc.query, r.Status, r.Errors, tc.code, tc.arg)
		}
	}
	if r := e.do(domain.Anonymous, `{ logCheckpoint(size: 999999) { note } }`, nil).ok(t); r.get("logCheckpoint") != nil {
		t.Errorf("logCheckpoint of a size never signed = %v; want null", r.get("logCheckpoint"))
	}
	for _, tc := range []struct {
		path   string
		status int
		arg    string
	}{
		{"/log/proof/inclusion", 400, "position"},
		{"/log/proof/inclusion?position=abc", 400, "position"},
		{fmt.Sprintf("/log/proof/inclusion?position=%d", size+1), 400, "position"},
		{"/log/proof/inclusion?position=1&size=0", 400, "size"},
		{"/log/proof/consistency?from=3&to=1", 400, "to"},
		{fmt.Sprintf("/log/proof/consistency?from=1&to=%d", size+1000), 400, "to"},
		{"/log/proof/consistency?to=1", 400, "from"},
	} {
		status, body := fetch(t, e.url, tc.path)
		var r response
		if err := json.Unmarshal([]byte(body), &r); err != nil || status != tc.status || r.code() != "BAD_USER_INPUT" || !strings.HasPrefix(r.Errors[0].Message, tc.arg+":") {
			t.Errorf("GET %s: %d %s; want %d BAD_USER_INPUT naming %s", tc.path, status, body, tc.status, tc.arg)
		}
	}
	// Co-signatures: refused where no witness is configured, and from a
	// witness that is not, and malformed.
	post := func(url, body string) (int, string) {
		resp, err := http.Post(url+"/log/cosignature", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post(e.url, c.Note); status != http.StatusForbidden || !strings.Contains(body, "FORBIDDEN") {
		t.Errorf("a co-signature to a log without witnesses: %d %s; want 403", status, body)
	}
	_, vkey, err := witness.GenerateKey("witness.example")
	if err != nil {
		t.Fatal(err)
	}
	wv, err := witness.Verifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	url := e.serve(graph.Config{RatePerSecond: -1, Witnesses: []note.Verifier{wv}})
	if status, body := post(url, c.Note); status != http.StatusForbidden || !strings.Contains(body, "not co-signed by a witness this log accepts") {
		t.Errorf("a checkpoint no witness signed: %d %s; want 403", status, body)
	}
	if status, body := post(url, "not a note"); status != http.StatusBadRequest || !strings.Contains(body, "body:") {
		t.Errorf("a malformed note: %d %s; want 400 naming the body", status, body)
	}
}

// TestWitness: a witness co-signs the log's checkpoints over HTTP,
// checking each extends the last it saw; the server keeps and shows its
// co-signatures.
func TestWitness(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	ctx := context.Background()
	dir := t.TempDir()
	v := logVerifier(t, e)
	_, vkey := fetch(t, e.url, "/log/key")
	wkey, err := witness.Init(dir, "auditor.example/witness", strings.TrimSpace(vkey))
	if err != nil {
		t.Fatal(err)
	}
	wv, err := witness.Verifier(wkey)
	if err != nil {
		t.Fatal(err)
	}
	url := e.serve(graph.Config{RatePerSecond: -1, Witnesses: []note.Verifier{wv}})
	w, err := witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	client := &witness.Client{Base: url}
	if _, err := e.store.RequestCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := w.Step(ctx, client)
	if err != nil || res.Previous != 0 || res.Cosigned == nil {
		t.Fatalf("first step = %+v, %v", res, err)
	}
	if err := client.Submit(ctx, res.Cosigned); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.do(domain.Admin, registerOrg, orgInput(i)).ok(t)
	}
	if _, err := e.store.RequestCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	res2, err := w.Step(ctx, client)
	if err != nil || res2.Previous != res.Size || res2.Size <= res.Size {
		t.Fatalf("second step = %+v, %v; want it to extend size %d", res2, err, res.Size)
	}
	if err := client.Submit(ctx, res2.Cosigned); err != nil {
		t.Fatal(err)
	}
	r := e.do(domain.Anonymous, `{ logCheckpoint { treeSize witnesses note } }`, nil).ok(t)
	if fmt.Sprint(r.get("logCheckpoint.witnesses")) != "[auditor.example/witness]" {
		t.Fatalf("logCheckpoint.witnesses = %v", r.get("logCheckpoint.witnesses"))
	}
	n, err := note.Open([]byte(fmt.Sprint(r.get("logCheckpoint.note"))), note.VerifierList(v, wv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("the co-signed checkpoint opens with %v, %v; want the log's and the witness's signatures", n, err)
	}
}

// TestAuditProofs: certificationAudit and replayDecision prove each event
// they show against the checkpoint named, which an auditor checks without
// the rest of the log.
func TestAuditProofs(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	ctx := context.Background()
	e.clock.Set(day(t, "2030-02-10"))
	early, err := e.store.RequestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.mutate(domain.Admin, "openCertificationCycle", openCycle, cycle2030())
	e.mutate(domain.Applicant, "draftApplication", `mutation { draftApplication(year: 2030, municipality: "rustavi") { position } }`, nil)
	e.mutate(domain.Applicant, "saveApplicationAnswers", `mutation { saveApplicationAnswers(applicationId: "2030-rustavi",
		answers: [{question: "q1", answer: "2% of the budget"}]) { position } }`, nil)
	e.mutate(domain.Applicant, "submitApplication", `mutation { submitApplication(applicationId: "2030-rustavi") { position } }`, nil)
	c, err := e.store.RequestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`query($c: Position) { x: certificationAudit(applicationId: "2030-rustavi", checkpoint: $c) { events { position } inclusion { checkpoint { treeSize rootHash } proofs { position treeSize leafHash hashes } } } }`,
		`query($c: Position) { x: replayDecision(applicationId: "2030-rustavi", checkpoint: $c) { inclusion { checkpoint { treeSize rootHash } proofs { position treeSize leafHash hashes } } } }`,
	} {
		r := e.do(domain.Auditor, q, map[string]any{"c": c.Size}).ok(t)
		if r.get("x.inclusion.checkpoint.treeSize") != float64(c.Size) {
			t.Fatalf("inclusion against %v; want the checkpoint of size %d", r.get("x.inclusion.checkpoint"), c.Size)
		}
		root := unb64(t, r.get("x.inclusion.checkpoint.rootHash"))
		proved := map[float64]bool{}
		for _, p := range r.get("x.inclusion.proofs").([]any) {
			m := p.(map[string]any)
			pos := m["position"].(float64)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(pos)-1, uint64(c.Size), unb64(t, m["leafHash"]), unb64s(t, m["hashes"]), root); err != nil {
				t.Fatalf("proof of position %v: %v", pos, err)
			}
			proved[pos] = true
		}
		// The cycle's event and the application's three.
		if len(proved) != 4 {
			t.Fatalf("%d events proven; want the cycle's and the application's 4", len(proved))
		}
		if events, ok := r.get("x.events").([]any); ok {
			for _, ev := range events {
				if pos := ev.(map[string]any)["position"].(float64); !proved[pos] {
					t.Fatalf("audited event at %v has no proof", pos)
				}
			}
		}
		// Against a checkpoint older than the events: refused, naming it.
		r = e.do(domain.Auditor, q, map[string]any{"c": early.Size})
		if r.code() != "BAD_USER_INPUT" || !strings.HasPrefix(r.Errors[0].Message, "checkpoint:") {
			t.Fatalf("against a checkpoint before the events: %+v; want BAD_USER_INPUT naming checkpoint", r.Errors)
		}
	}
}
