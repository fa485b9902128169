// Package privacy erases personal data. The fields areas declare Personal
// are stored in the log sealed under a key of their data subject (see
// domain.Keyring); erasing the subject destroys its keys and records the
// erasure as an event, which the read models follow by dropping the
// subject's values. The log's stored bytes do not change, so its hash
// chain and every replay still verify.
//
// Subjects are named by the areas: organisation:<id>:contact (a contact
// person's name, e-mail and phone), project:<id>:lead (a project lead's
// name), expert:<actor> (an expert's name).
//
// Streams: erasure-<hash of the subject>, one per subject, holding each
// of its erasures.
package privacy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// SubjectErased: a data subject's personal data was erased: its keys were
// destroyed, so what the log holds of it sealed can no longer be read.
type SubjectErased struct {
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
	// Through is the last generation of the subject's keys now destroyed
	// (0: the subject's only data was recorded before the log sealed
	// personal data, and is withheld from every read path instead).
	Through int `json:"through"`
	// Keys is how many keys this erasure destroyed.
	Keys int `json:"keys"`
}

// EventType implements domain.Event.
func (SubjectErased) EventType() string { return "privacy.subject_erased" }

// RegisterEvents adds the package's events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[SubjectErased](types)
	// That a subject was erased, and why, is for those who answer for the
	// data: admins and auditors.
	domain.Declare[SubjectErased](types, domain.AnyRole(domain.Admin, domain.Auditor), nil).
		Show("subject", "reason", "through", "keys")
}

// DeclareViews declares who sees erasures in the API.
func DeclareViews(v *domain.Views) {
	v.View("Mutation", domain.Everyone, "eraseSubject")
	v.View("ErasurePayload", domain.Enclosing, "position subject keysDestroyed")
}

// Stream is the stream of a subject's erasures: named by a hash, since a
// subject's name may hold characters a stream ID may not.
func Stream(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "erasure-" + hex.EncodeToString(sum[:16])
}

// Erase is the command to erase a data subject's personal data.
type Erase struct {
	Subject string
	// Reason says why (a request under the data protection law, say): at
	// most 500 characters, and no personal data of its own.
	Reason string
}

var subjectPattern = regexp.MustCompile(`^[a-z]+:\S{1,190}$`)

// Service handles erasures.
type Service struct {
	// Repo appends the erasure events; its Keys is the keyring whose keys
	// an erasure destroys.
	Repo *domain.Repository
}

// Erase destroys the keys of cmd.Subject and records the erasure. Admins
// and the platform (civic erase) may. An unknown subject is NotFound;
// one erased already, with nothing recorded under it since, a Conflict;
// both write nothing. A retry after a failure between destroying the
// keys and recording the erasure records it.
func (s *Service) Erase(ctx context.Context, meta domain.Meta, cmd Erase) (Erasure, error) {
	if err := meta.Actor.Require("erase personal data", domain.System, domain.Admin); err != nil {
		return Erasure{}, err
	}
	subject := strings.TrimSpace(cmd.Subject)
	if !subjectPattern.MatchString(subject) {
		return Erasure{}, domain.InvalidField("subject", "%q is not a data subject (such as organisation:<id>:contact, project:<id>:lead or expert:<actor>)", cmd.Subject)
	}
	reason := strings.TrimSpace(cmd.Reason)
	switch {
	case reason == "":
		return Erasure{}, domain.InvalidField("reason", "required: say why the data is erased")
	case utf8.RuneCountInString(reason) > 500:
		return Erasure{}, domain.InvalidField("reason", "over 500 characters")
	}
	if s.Repo.Keys == nil {
		return Erasure{}, domain.Wrap(nil, "erase: no keyring is configured")
	}
	var past history
	version, err := s.Repo.Load(ctx, Stream(subject), &past)
	if err != nil {
		return Erasure{}, err
	}
	er, err := s.Repo.Keys.Erase(ctx, subject)
	if err != nil {
		return Erasure{}, domain.Wrap(err, "erase "+subject)
	}
	switch {
	case !er.Known:
		return Erasure{}, domain.Errorf(domain.NotFound, "subject: no personal data is held under %q", subject)
	case er.Destroyed == 0 && version > 0 && past.through >= er.Through:
		return Erasure{}, domain.Errorf(domain.Conflict, "subject: %q is erased already, and nothing was recorded under it since", subject)
	}
	res, err := s.Repo.Save(ctx, Stream(subject), version, meta, SubjectErased{Subject: subject, Reason: reason, Through: er.Through, Keys: er.Destroyed})
	if err != nil {
		return Erasure{}, err
	}
	return Erasure{Subject: subject, KeysDestroyed: er.Destroyed, Result: res}, nil
}

// Erasure is what Erase did.
type Erasure struct {
	Subject       string
	KeysDestroyed int
	Result        eventstore.AppendResult
}

// history is a subject's past erasures.
type history struct{ through int }

// Apply implements domain.Aggregate.
func (h *history) Apply(e domain.Event) error {
	switch e := e.(type) {
	case SubjectErased:
		h.through = max(h.through, e.Through)
	default:
		return domain.Errorf(domain.Internal, "privacy: unknown event %T", e)
	}
	return nil
}
