package privacy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

func meta(role domain.Role) domain.Meta {
	return domain.Meta{Actor: domain.Actor{ID: "key:" + string(role), Role: role}, Now: time.Date(2026, 12, 6, 12, 0, 0, 0, domain.Tbilisi)}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	keys := &domain.MemoryKeyring{}
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: keys}
	regs := &registry.Service{Repo: repo}
	svc := &privacy.Service{Repo: repo}
	if _, err := regs.RegisterRegion(ctx, meta(domain.System), registry.RegisterRegion{Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი"}, Kind: registry.OrdinaryRegion}); err != nil {
		t.Fatal(err)
	}
	id, _, err := regs.RegisterOrganisation(ctx, meta(domain.Admin), registry.RegisterOrganisation{Kind: registry.CSO,
		Name: domain.LocalizedText{Ka: "სამოქალაქო ინტეგრაციის ფონდი"}, Region: "kvemo-kartli",
		Contact: registry.Contact{Email: "cif@example.org", Person: "Nino Beridze"}})
	if err != nil {
		t.Fatal(err)
	}
	subject := registry.ContactSubject(id)
	keys.RecordPlain("organisation:old:contact")

	steps := []struct {
		name string
		role domain.Role
		cmd  privacy.Erase
		kind domain.Kind
		text string
		keys int
	}{
		{"anonymous", domain.Anonymous, privacy.Erase{Subject: subject, Reason: "request"}, domain.Unauthenticated, "needs an API key", 0},
		{"an analyst", domain.Analyst, privacy.Erase{Subject: subject, Reason: "request"}, domain.Forbidden, "not allowed", 0},
		{"no subject", domain.Admin, privacy.Erase{Reason: "request"}, domain.Invalid, "subject", 0},
		{"a malformed subject", domain.Admin, privacy.Erase{Subject: "nino beridze", Reason: "request"}, domain.Invalid, "subject", 0},
		{"no reason", domain.Admin, privacy.Erase{Subject: subject, Reason: "  "}, domain.Invalid, "reason", 0},
		{"a long reason", domain.Admin, privacy.Erase{Subject: subject, Reason: strings.Repeat("x", 501)}, domain.Invalid, "reason", 0},
		{"an unknown subject", domain.Admin, privacy.Erase{Subject: "organisation:404:contact", Reason: "request"}, domain.NotFound, "no personal data", 0},
		{"erased", domain.Admin, privacy.Erase{Subject: subject, Reason: "the person asked, under the Law on Personal Data Protection"}, "", "", 1},
		{"twice", domain.Admin, privacy.Erase{Subject: subject, Reason: "again"}, domain.Conflict, "erased already", 0},
		{"plain text from before sealing", domain.System, privacy.Erase{Subject: "organisation:old:contact", Reason: "request"}, "", "", 0},
		{"plain text twice", domain.Admin, privacy.Erase{Subject: "organisation:old:contact", Reason: "request"}, domain.Conflict, "erased already", 0},
	}
	for _, s := range steps {
		before, _ := store.Head(ctx)
		er, err := svc.Erase(ctx, meta(s.role), s.cmd)
		after, _ := store.Head(ctx)
		if s.kind != "" {
			if domain.KindOf(err) != s.kind || !strings.Contains(domain.MessageOf(err), s.text) || after != before {
				t.Errorf("%s: %v (kind %s), %d events written; want kind %s containing %q and nothing written", s.name, err, domain.KindOf(err), after-before, s.kind, s.text)
			}
			continue
		}
		if err != nil || er.KeysDestroyed != s.keys || after != before+1 {
			t.Errorf("%s: %+v, %v, %d events written; want %d keys destroyed and one event", s.name, er, err, after-before, s.keys)
		}
	}

	// The organisation's contact person is gone from the aggregate; the
	// address (not personal) stays.
	var o registry.Organisation
	if _, err := repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
		t.Fatal(err)
	}
	if c := o.Contact(); c.Person != "" || c.Email != "" {
		t.Errorf("contact after erasure = %+v, want the person and e-mail gone", c)
	}

	// A new contact person is sealed under a new key, and can be erased in
	// turn.
	if _, err := regs.ChangeOrganisationContact(ctx, meta(domain.Admin), registry.ChangeOrganisationContact{ID: id,
		Contact: registry.Contact{Person: "Levan Kapanadze"}}); err != nil {
		t.Fatal(err)
	}
	if er, err := svc.Erase(ctx, meta(domain.Admin), privacy.Erase{Subject: subject, Reason: "the new contact left"}); err != nil || er.KeysDestroyed != 1 {
		t.Errorf("erasing the new contact = %+v, %v; want its key destroyed", er, err)
	}

	// A failure between destroying the keys and recording the erasure is
	// mended by erasing again.
	if _, err := regs.ChangeOrganisationContact(ctx, meta(domain.Admin), registry.ChangeOrganisationContact{ID: id,
		Contact: registry.Contact{Person: "Tamar"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Erase(ctx, subject); err != nil {
		t.Fatal(err)
	}
	if er, err := svc.Erase(ctx, meta(domain.Admin), privacy.Erase{Subject: subject, Reason: "retry"}); err != nil || er.KeysDestroyed != 0 {
		t.Errorf("erasing after an interrupted erasure = %+v, %v; want the erasure recorded", er, err)
	}
	events, _ := store.ReadStream(ctx, privacy.Stream(subject), eventstore.ReadOptions{})
	if len(events) != 3 {
		t.Errorf("the subject's erasure stream holds %d events, want 3", len(events))
	}
}
