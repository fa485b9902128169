package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// actorNamed is the world's caller of that name.
func (w *world) actorNamed(t testing.TB, name string) matrixActor {
	t.Helper()
	for _, a := range w.actors {
		if a.name == name {
			return a
		}
	}
	t.Fatalf("no caller %s", name)
	return matrixActor{}
}

// subscribeAll returns what a subscription of the whole log gives a
// caller, up to the world's head.
func (w *world) subscribeAll(t *testing.T, a matrixActor, query string) string {
	t.Helper()
	conn := dialWS(t, w.e.wsURL(), nil)
	ackWS(t, conn, a.key)
	writeWS(t, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}})
	// A public event after everything else marks the end.
	marker := w.e.mutateKey(w.actorNamed(t, "admin").key, registerOrg, orgInput(999))
	end := fmt.Sprint(marker.get("registerOrganisation.position"))
	var b strings.Builder
	for {
		raw, m := readWS(t, conn)
		if m["type"] == "ping" {
			continue
		}
		if m["type"] != "next" {
			t.Fatalf("%s: %s", a.name, raw)
		}
		b.WriteString(raw + "\n")
		if strings.Contains(raw, `"position":`+end+`,`) || strings.Contains(raw, `"position":`+end+`}`) {
			return b.String()
		}
	}
}

// TestApplicantSubscriptionSeesOnlyItsOwn is the reproduction of issue
// 10: an applicant's key bound to Gori, subscribed to the experts' scores
// from the start of the log, received every municipality's scores,
// rationales and experts, and with other types decisions, contacts and the
// API keys' events. Now it gets its own municipality's score events
// without who scored or what, nothing of any other municipality, no
// contact person, and is refused the key events outright.
func TestApplicantSubscriptionSeesOnlyItsOwn(t *testing.T) {
	w := newWorld(t)
	gori := w.actorNamed(t, "applicant-gori")
	got := w.subscribeAll(t, gori, `subscription { events(after: 0, filter: {types: ["certification.score_recorded", "registry.organisation_registered", "certification.decision_taken"]}) {
		position stream type data actor withheld } }`)
	scores := 0
	for _, line := range strings.Split(got, "\n") {
		if !strings.Contains(line, "certification.score_recorded") {
			continue
		}
		scores++
		if !strings.Contains(line, "application-2019-gori") && !strings.Contains(line, "application-2030-gori") {
			t.Errorf("Gori's applicant got another municipality's score: %s", line)
		}
		var m struct {
			Payload struct {
				Data struct {
					Events struct {
						Data  map[string]any `json:"data"`
						Actor *string        `json:"actor"`
					} `json:"events"`
				} `json:"data"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		ev := m.Payload.Data.Events
		for _, f := range []string{"rationale", "expert", "score"} {
			if _, ok := ev.Data[f]; ok {
				t.Errorf("Gori's applicant got the %s of a score: %s", f, line)
			}
		}
		if ev.Actor != nil || strings.Contains(line, "expert-demo") || strings.Contains(line, "expert-x") || strings.Contains(line, "RATIONALE") {
			t.Errorf("Gori's applicant learned who scored or why: %s", line)
		}
	}
	if scores == 0 {
		t.Error("Gori's applicant got none of its own municipality's score events (redacted)")
	}
	for _, leak := range []string{"cifgeo@gmail.com", "+995 032 2182266", "application-2019-akhaltsikhe", "application-2030-akhaltsikhe"} {
		if strings.Contains(got, leak) {
			t.Errorf("Gori's applicant got %q", leak)
		}
	}
	if !strings.Contains(got, "application-2019-gori") || !strings.Contains(got, "certification.decision_taken") {
		t.Error("Gori's applicant did not get its own decision")
	}

	conn := dialWS(t, w.e.wsURL(), nil)
	ackWS(t, conn, gori.key)
	writeWS(t, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { events(after: 0, filter: {types: ["access.key_created"]}) { data } }`}})
	// The refusal is the operation's one result, then it completes.
	if raw, _ := readWS(t, conn); !strings.Contains(raw, `"code":"FORBIDDEN"`) || !strings.Contains(raw, "filter.types") || strings.Contains(raw, `"data":{`) {
		t.Errorf("Gori's applicant subscribing to the key events: %s, want a FORBIDDEN error naming filter.types", raw)
	}
	if raw, m := readWS(t, conn); m["type"] != "complete" {
		t.Errorf("after the refusal: %s, want complete", raw)
	}
	writeWS(t, conn, map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { events(filter: {types: ["certification.no_such_event"]}) { data } }`}})
	if raw, _ := readWS(t, conn); !strings.Contains(raw, `"code":"BAD_USER_INPUT"`) {
		t.Errorf("a subscription naming an unknown type: %s, want BAD_USER_INPUT", raw)
	}
}

// TestErasure: after an admin erases a contact person and an expert's
// name, they are gone from the read models, the subscriptions, the
// application rebuilt as of any moment and the audit, while the log's
// stored bytes, its verification and the replay of every decision are as
// they were; a rebuild of every read model does not bring them back; and
// bad erasures change nothing.
func TestErasure(t *testing.T) {
	w := newWorld(t)
	e := w.e
	ctx := context.Background()
	admin, auditor, x := w.actorNamed(t, "admin"), w.actorNamed(t, "auditor"), w.actorNamed(t, "expert-x")
	before, err := e.store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}

	demo := []string{"2019-batumi", "2019-gori", "2019-akhaltsikhe", "2019-kutaisi", "2019-ozurgeti", "2019-sighnaghi", "2019-telavi", "2019-tskaltubo", "2019-zugdidi", "2030-gori"}
	verdicts := map[string]any{}
	for _, id := range demo {
		r := e.doKey(auditor.key, `{ replayDecision(applicationId: "`+id+`") { verdict } }`, nil).ok(t)
		verdicts[id] = r.get("replayDecision.verdict")
	}

	const erase = `mutation($s: ID!, $r: String!) { eraseSubject(subject: $s, reason: $r) { position subject keysDestroyed } }`
	contact := registry.ContactSubject(w.cif)
	expert := certification.ExpertSubject(x.actor.ID)
	for _, bad := range []struct {
		key, subject, reason, code string
	}{
		{"", contact, "asked", "UNAUTHENTICATED"},
		{w.actorNamed(t, "analyst").key, contact, "asked", "FORBIDDEN"},
		{auditor.key, contact, "asked", "FORBIDDEN"},
		{admin.key, "organisation:no-such:contact", "asked", "NOT_FOUND"},
		{admin.key, "not a subject", "asked", "BAD_USER_INPUT"},
		{admin.key, contact, "", "BAD_USER_INPUT"},
	} {
		head := e.head()
		if r := e.doKey(bad.key, erase, map[string]any{"s": bad.subject, "r": bad.reason}); r.code() != bad.code || e.head() != head {
			t.Errorf("erase %q with reason %q: %+v, want %s and nothing written", bad.subject, bad.reason, r.Errors, bad.code)
		}
	}
	for _, s := range []string{contact, expert} {
		r := e.mutateKey(admin.key, erase, map[string]any{"s": s, "r": "the person asked, under the Law on Personal Data Protection"})
		if r.get("eraseSubject.keysDestroyed") != 1.0 {
			t.Fatalf("erase %s: %+v, want one key destroyed", s, r.Data)
		}
	}
	if r := e.doKey(admin.key, erase, map[string]any{"s": contact, "r": "again"}); r.code() != "CONFLICT" {
		t.Errorf("erasing twice: %+v, want CONFLICT", r.Errors)
	}

	// The log's bytes are as they were, and verify.
	after, err := e.store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if !bytes.Equal(before[i].Data, after[i].Data) || !bytes.Equal(before[i].Hash, after[i].Hash) {
			t.Fatalf("event %d changed when erasing", before[i].Position)
		}
	}
	head := e.head()
	if v, err := e.store.VerifyRange(ctx, 1, head); err != nil || !v.Intact() {
		t.Fatalf("verify 1..%d after the erasure: %+v, %v", head, v, err)
	}

	// What may still be read shows the data erased, everywhere.
	check := func(when string) {
		t.Helper()
		for _, secret := range []string{"cifgeo@gmail.com", "+995 032 2182266", "ნათელა"} {
			for _, q := range []string{
				`{ organisation(id: "` + w.cif + `") { contact { email phone person address erased } } }`,
				`{ application(id: "2030-gori") { assignments { expert name nameErased } } }`,
				`{ application(id: "2030-gori", asOf: {position: ` + fmt.Sprint(head-3) + `}) { assignments { name nameErased } } }`,
				`{ certificationAudit(applicationId: "2030-gori") { events { type data erased } verification { intact } } }`,
			} {
				r := e.doKey(admin.key, q, nil).ok(t)
				if strings.Contains(fmt.Sprint(r.Data), secret) {
					t.Errorf("%s: %q still in %s", when, secret, q)
				}
			}
		}
		r := e.doKey(admin.key, `{ organisation(id: "`+w.cif+`") { contact { email person erased } } }`, nil).ok(t)
		if got := fmt.Sprint(r.get("organisation.contact")); got != "map[email:<nil> erased:true person:<nil>]" {
			t.Errorf("%s: the contact reads %s, want it erased", when, got)
		}
		r = e.doKey(admin.key, `{ application(id: "2030-gori") { assignments { expert name nameErased } } }`, nil).ok(t)
		if got := fmt.Sprint(r.get("application.assignments")); got != "[map[expert:"+x.actor.ID+" name:<nil> nameErased:true]]" {
			t.Errorf("%s: the assignment reads %s, want the name erased", when, got)
		}
		r = e.doKey(auditor.key, `{ certificationAudit(applicationId: "2030-gori") { events { type erased } verification { intact } } }`, nil).ok(t)
		if !strings.Contains(fmt.Sprint(r.Data), "certification.expert_assigned erased:[name]") && !strings.Contains(fmt.Sprint(r.Data), "erased:[name] type:certification.expert_assigned") {
			t.Errorf("%s: the audit does not mark the name erased: %v", when, r.Data)
		}
		if r.get("certificationAudit.verification.intact") != true {
			t.Errorf("%s: the audit's verification: %v", when, r.get("certificationAudit.verification"))
		}
		// Every decision still replays as it did before the erasure.
		for _, id := range demo {
			r := e.doKey(auditor.key, `{ replayDecision(applicationId: "`+id+`") { verdict verification { intact } } }`, nil).ok(t)
			if v := r.get("replayDecision.verdict"); v != verdicts[id] || r.get("replayDecision.verification.intact") != true {
				t.Errorf("%s: replay of %s: %v, want verdict %v and the log intact", when, id, r.Data, verdicts[id])
			}
		}
	}
	for id, v := range verdicts {
		if strings.HasPrefix(id, "2019-") && v != "FOLLOWED" {
			t.Errorf("before the erasure, the demo's %s replays %v; want FOLLOWED", id, v)
		}
	}
	check("after the erasure")

	// The subscription from the start of the log: the fields are empty,
	// and listed as erased.
	got := w.subscribeAll(t, admin, `subscription { events(after: 0) { position type stream data erased } }`)
	for _, secret := range []string{"cifgeo@gmail.com", "+995 032 2182266", "ნათელა"} {
		if strings.Contains(got, secret) {
			t.Errorf("the subscription still delivers %q", secret)
		}
	}
	if !strings.Contains(got, `"erased":["contact.email","contact.phone"]`) && !strings.Contains(got, `"erased":["contact.person","contact.email","contact.phone"]`) {
		t.Errorf("no event of the subscription lists the contact as erased")
	}

	// Rebuilt from the log, every read model still has it erased.
	for _, name := range []string{"organisations", "projects", "certification"} {
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if err := e.runner.Rebuild(rctx, name); err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
		cancel()
	}
	check("after rebuilding the read models")

	// New personal data for an erased subject is sealed under a new key.
	r := e.mutateKey(admin.key, `mutation($id: ID!) { changeOrganisationContact(input: {id: $id, contact: {person: "Tamar", email: "tamar@example.ge"}}) {
		organisation { contact { person email erased } } } }`, map[string]any{"id": w.cif})
	if got := fmt.Sprint(r.get("changeOrganisationContact.organisation.contact")); got != "map[email:tamar@example.ge erased:false person:Tamar]" {
		t.Errorf("a new contact after the erasure: %s", got)
	}
}

// TestAsOfBusinessAndLogTime: the demo's 2019 cycle occurred in 2019 and
// was recorded when the server first started. Asked what had happened by
// 2019-04-01 (occurredAt), the application is there; asked what the
// ledger knew then (recordedAt), the answer is an error that says the
// events were recorded later and how to ask instead, never a silent null.
func TestAsOfBusinessAndLogTime(t *testing.T) {
	w := newWorld(t)
	e := w.e
	admin := w.actorNamed(t, "admin")
	q := func(asOf string) response {
		return e.doKey(admin.key, `{ application(id: "2019-akhaltsikhe", asOf: `+asOf+`) { status version } }`, nil)
	}
	// Drafted on 2019-03-06 and submitted on 2019-03-27 (Tbilisi time).
	if got := fmt.Sprint(q(`{occurredAt: "2019-03-20T00:00:00Z"}`).ok(t).get("application.status")); got != "DRAFT" {
		t.Errorf("as it stood on 2019-03-20: %s, want DRAFT", got)
	}
	if got := fmt.Sprint(q(`{occurredAt: "2019-04-01T00:00:00Z"}`).ok(t).get("application.status")); got != "SUBMITTED" {
		t.Errorf("as it stood on 2019-04-01: %s, want SUBMITTED", got)
	}
	r := q(`{recordedAt: "2019-04-01T00:00:00Z"}`)
	if r.code() != "NOT_FOUND" || !strings.Contains(r.Errors[0].Message, "asOf.occurredAt") || !strings.Contains(r.Errors[0].Message, "recorded at") {
		t.Errorf("what the ledger knew on 2019-04-01: %+v, want NOT_FOUND saying it was recorded later and to ask by occurredAt", r.Errors)
	}
	r = q(`{occurredAt: "2018-01-01T00:00:00Z"}`)
	if r.code() != "NOT_FOUND" || !strings.Contains(r.Errors[0].Message, "had not begun") {
		t.Errorf("before it began: %+v, want NOT_FOUND saying when it began", r.Errors)
	}
	for _, bad := range []string{`{}`, `{position: 1, occurredAt: "2019-01-01T00:00:00Z"}`, `{position: 0}`} {
		if r := q(bad); r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "asOf") {
			t.Errorf("asOf %s: %+v, want BAD_USER_INPUT naming asOf", bad, r.Errors)
		}
	}
	if r := e.doKey(admin.key, `{ application(id: "2019-akhaltsikhe", asOf: {recordedAt: "yesterday"}) { status } }`, nil); r.code() != "GRAPHQL_VALIDATION_FAILED" && r.code() != "BAD_USER_INPUT" {
		t.Errorf("a malformed recordedAt: %+v", r.Errors)
	}
	// One who may not see the application learns nothing of when it
	// existed: refused alike whether it had begun or not.
	gori := w.actorNamed(t, "applicant-gori")
	for _, asOf := range []string{`{occurredAt: "2018-01-01T00:00:00Z"}`, `{occurredAt: "2020-01-01T00:00:00Z"}`} {
		if r := e.doKey(gori.key, `{ application(id: "2019-akhaltsikhe", asOf: `+asOf+`) { status } }`, nil); r.code() != "FORBIDDEN" {
			t.Errorf("Gori's applicant asking for Akhaltsikhe's as of %s: %+v, want FORBIDDEN", asOf, r.Errors)
		}
	}
}
