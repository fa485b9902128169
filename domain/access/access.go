// Package access is who may call Civic Ledger: API keys, each with a role
// (and, for applicants and officers, the municipality they act for; for
// hubs, the region; for ballot boxes, the budgeting cycle). A key's secret
// is shown once, when it is created; the log keeps only its SHA-256, which
// is enough to check a presented key and useless to an attacker, since the
// secret is 256 random bits.
//
// Keys are events like everything else, so an auditor can see who was
// given which role, by whom and when.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// KeyCreated records a new API key.
type KeyCreated struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Role         domain.Role `json:"role"`
	Municipality string      `json:"municipality,omitempty"`
	// Region is the region a hub key acts for; empty for other roles.
	Region string `json:"region,omitempty"`
	// Cycle is the budgeting cycle a ballot-box key is bound to, such as
	// keda-2023; empty for other roles. The key's Municipality is then
	// the cycle's, recorded too so that readers of the key need not parse
	// the cycle's ID.
	Cycle string `json:"cycle,omitempty"`
	// Hash is the hex SHA-256 of the whole key.
	Hash string `json:"hash"`
}

// EventType implements domain.Event.
func (KeyCreated) EventType() string { return "access.key_created" }

// KeyRevoked records that a key no longer works.
type KeyRevoked struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// EventType implements domain.Event.
func (KeyRevoked) EventType() string { return "access.key_revoked" }

// RegisterEvents adds the package's events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[KeyCreated](types)
	domain.Register[KeyRevoked](types)
	// A key's events never leave the server: who holds which key, and the
	// hashes that check them, are nobody's business but the operator's.
	domain.Declare[KeyCreated](types, domain.Nobody, nil).Show("id", "name", "role", "municipality", "region", "cycle", "hash")
	domain.Declare[KeyRevoked](types, domain.Nobody, nil).Show("id", "reason")
}

// Stream returns the stream of a key.
func Stream(id string) string { return "apikey-" + id }

// Key is the state of one API key.
type Key struct {
	ID, Name     string
	Role         domain.Role
	Municipality string
	Region       string
	// Cycle is the budgeting cycle of a ballot-box key (KeyCreated.Cycle).
	Cycle   string
	Hash    string
	Revoked bool
}

// Apply implements domain.Aggregate.
func (k *Key) Apply(e domain.Event) error {
	switch e := e.(type) {
	case KeyCreated:
		*k = Key{ID: e.ID, Name: e.Name, Role: e.Role, Municipality: e.Municipality, Region: e.Region, Cycle: e.Cycle, Hash: e.Hash}
	case KeyRevoked:
		k.Revoked = true
	default:
		return fmt.Errorf("access: key: unknown event %T", e)
	}
	return nil
}

// Actor is the actor a key stands for: the name says whose key it is, the
// ID which of their keys.
func (k Key) Actor() domain.Actor {
	return domain.Actor{ID: "key:" + k.Name + "#" + k.ID, Role: k.Role, Municipality: k.Municipality, Region: k.Region, Cycle: k.Cycle, KeyID: k.ID}
}

// Service handles key commands.
type Service struct{ Repo *domain.Repository }

// Actor returns the actor a presented key stands for, read from the key's
// own stream rather than a read model: a key works the moment the command
// that created it returns, before any read model has caught up. It
// returns an Unauthenticated error for a key that is malformed, unknown,
// revoked or does not match, without saying which.
func (s *Service) Actor(ctx context.Context, key string) (domain.Actor, error) {
	id, err := ParseKey(key)
	if err != nil {
		return domain.Actor{}, err
	}
	var k Key
	version, err := s.Repo.Load(ctx, Stream(id), &k)
	if err != nil {
		return domain.Actor{}, err
	}
	if version == 0 || k.Revoked || !Matches(key, k.Hash) {
		return domain.Actor{}, domain.Errorf(domain.Unauthenticated, "the API key is not valid")
	}
	return k.Actor(), nil
}

// CreateKey is the command to issue a key.
type CreateKey struct {
	Name         string
	Role         domain.Role
	Municipality string // required for applicants and officers, refused for others
	Region       string // required for hubs, refused for others
	// Cycle is required for ballot-box keys and refused for others: the
	// budgeting cycle's ID, "<municipality code>-<year>" (keda-2023). The
	// key's municipality is the cycle's, which the service sets.
	Cycle string
}

var (
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	codePattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	idPattern   = regexp.MustCompile(`^[0-9a-f]{12}$`)
	hexPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// keyPrefix marks Civic Ledger keys, so a leaked one is recognisable in a
// log or a repository scan.
const keyPrefix = "civ_"

// CreateKey issues a key and returns it whole: the only time the secret is
// visible. Only the platform itself (the `civic keys` command, run by whoever
// operates the server) and admins may issue keys.
func (s *Service) CreateKey(ctx context.Context, meta domain.Meta, cmd CreateKey) (key string, id string, res eventstore.AppendResult, err error) {
	if err := meta.Actor.Require("create an API key", domain.System, domain.Admin); err != nil {
		return "", "", res, err
	}
	cmd.Name = strings.TrimSpace(cmd.Name)
	if !namePattern.MatchString(cmd.Name) {
		return "", "", res, domain.Errorf(domain.Invalid, "name %q: want 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", cmd.Name)
	}
	role, err := domain.ParseRole(string(cmd.Role))
	if err != nil {
		return "", "", res, err
	}
	if role == domain.Anonymous || role == domain.System {
		return "", "", res, domain.InvalidField("role", "a key stands for someone signed in: %s is not a role a key can have", role)
	}
	cmd.Role = role
	cmd.Municipality = strings.TrimSpace(cmd.Municipality)
	cmd.Region = strings.TrimSpace(cmd.Region)
	cmd.Cycle = strings.TrimSpace(cmd.Cycle)
	forMunicipality := cmd.Role == domain.Applicant || cmd.Role == domain.Officer
	switch {
	case forMunicipality && cmd.Municipality == "":
		return "", "", res, domain.InvalidField("municipality", "an %s key acts for one municipality; give its code", cmd.Role)
	case cmd.Role == domain.BallotBox && cmd.Municipality != "":
		return "", "", res, domain.InvalidField("municipality", "a ballot-box key acts for its cycle's municipality: give the cycle alone")
	case !forMunicipality && cmd.Municipality != "":
		return "", "", res, domain.InvalidField("municipality", "only applicant and officer keys act for a municipality")
	case cmd.Role == domain.Hub && cmd.Region == "":
		return "", "", res, domain.InvalidField("region", "a hub key acts for one region; give its code")
	case cmd.Role != domain.Hub && cmd.Region != "":
		return "", "", res, domain.InvalidField("region", "only hub keys act for a region")
	case cmd.Role == domain.BallotBox && cmd.Cycle == "":
		return "", "", res, domain.InvalidField("cycle", "a ballot-box key is bound to one budgeting cycle; give its ID, such as keda-2023")
	case cmd.Role != domain.BallotBox && cmd.Cycle != "":
		return "", "", res, domain.InvalidField("cycle", "only ballot-box keys are bound to a budgeting cycle")
	}
	if cmd.Cycle != "" {
		municipality, err := cycleMunicipality(cmd.Cycle)
		if err != nil {
			return "", "", res, err
		}
		ok, err := s.registered(ctx, registry.MunicipalityStream(municipality))
		if err != nil {
			return "", "", res, err
		}
		if !ok {
			return "", "", res, domain.Errorf(domain.NotFound, "cycle %q: municipality %q is not registered", cmd.Cycle, municipality)
		}
		cmd.Municipality = municipality
	} else if cmd.Municipality != "" {
		if err := s.checkPlace(ctx, "municipality", cmd.Municipality, "rustavi", registry.MunicipalityStream); err != nil {
			return "", "", res, err
		}
	}
	if cmd.Region != "" {
		if err := s.checkPlace(ctx, "region", cmd.Region, "kvemo-kartli", registry.RegionStream); err != nil {
			return "", "", res, err
		}
	}
	var raw [6 + 32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", res, domain.Wrap(err, "create key")
	}
	id = hex.EncodeToString(raw[:6])
	key = keyPrefix + id + "_" + hex.EncodeToString(raw[6:])
	res, err = s.Repo.Save(ctx, Stream(id), 0, meta, KeyCreated{
		ID: id, Name: cmd.Name, Role: cmd.Role, Municipality: cmd.Municipality, Region: cmd.Region, Cycle: cmd.Cycle, Hash: HashKey(key),
	})
	if err != nil {
		return "", "", res, err
	}
	return key, id, res, nil
}

// checkPlace checks that code, given as field, names a registered place
// (a municipality or a region, by stream). It reads the place's stream, not
// a read model, so that a key can be issued for a place registered a moment
// ago, before the read models have caught up. example is a good code, for
// the error.
func (s *Service) checkPlace(ctx context.Context, field, code, example string, stream func(code string) string) error {
	if !codePattern.MatchString(code) {
		return domain.InvalidField(field, "%q: want a %s code such as %s", code, field, example)
	}
	ok, err := s.registered(ctx, stream(code))
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.NotFound, "%s %q is not registered", field, code)
	}
	return nil
}

// registered reports whether a place's stream has begun: whether the
// place was ever registered.
func (s *Service) registered(ctx context.Context, stream string) (bool, error) {
	events, err := s.Repo.Store.ReadStream(ctx, stream, eventstore.ReadOptions{Limit: 1})
	if err != nil {
		return false, domain.Wrap(err, "create key")
	}
	return len(events) > 0, nil
}

// cycleMunicipality returns the municipality of a budgeting cycle's ID,
// "<municipality code>-<year>": the part before the last '-', a code as
// the registry writes them, and after it a year of four digits from 2000
// to 2100 (the years certification's cycles may have too). It does not
// ask whether the cycle exists: the cycles are budgeting's, not access's
// to read, and a municipality's ballot box may be set up before its cycle
// opens.
func cycleMunicipality(cycle string) (string, error) {
	bad := func(why string) error {
		return domain.InvalidField("cycle", "%q: %s; want <municipality code>-<year>, such as keda-2023", cycle, why)
	}
	i := strings.LastIndexByte(cycle, '-')
	if i < 0 {
		return "", bad("no '-' before the year")
	}
	municipality, year := cycle[:i], cycle[i+1:]
	if !codePattern.MatchString(municipality) {
		return "", bad("the municipality code is not lower-case letters, digits and hyphens (1 to 64)")
	}
	if len(year) != 4 || strings.Trim(year, "0123456789") != "" {
		return "", bad("the year is not 4 digits")
	}
	if y, _ := strconv.Atoi(year); y < 2000 || y > 2100 {
		return "", bad("the year is not from 2000 to 2100")
	}
	return municipality, nil
}

// RevokeKey is the command to withdraw a key.
type RevokeKey struct {
	ID     string
	Reason string
}

// RevokeKey stops a key from working.
func (s *Service) RevokeKey(ctx context.Context, meta domain.Meta, cmd RevokeKey) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("revoke an API key", domain.System, domain.Admin); err != nil {
		return eventstore.AppendResult{}, err
	}
	if !idPattern.MatchString(cmd.ID) {
		return eventstore.AppendResult{}, domain.Errorf(domain.Invalid, "id %q: want the 12 hexadecimal digits `civic keys create` printed", cmd.ID)
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(cmd.ID), What: fmt.Sprintf("API key %q", cmd.ID)},
		func(k *Key) ([]domain.Event, error) {
			if k.Revoked {
				return nil, domain.Errorf(domain.Conflict, "API key %q (%s) is revoked already", cmd.ID, k.Name)
			}
			return []domain.Event{KeyRevoked{ID: cmd.ID, Reason: strings.TrimSpace(cmd.Reason)}}, nil
		})
}

// HashKey returns the hex SHA-256 of a presented key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ParseKey returns the ID of a presented key, or an Unauthenticated error
// when it is not shaped like one of ours.
func ParseKey(key string) (id string, err error) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || !idPattern.MatchString(id) || !hexPattern.MatchString(secret) {
		return "", domain.Errorf(domain.Unauthenticated, "the API key is malformed (want civ_<id>_<secret>)")
	}
	return id, nil
}

// Matches reports whether a presented key is the one whose hash is stored,
// in constant time.
func Matches(key, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(hash)) == 1
}

// SystemMeta is the Meta of a command the platform runs itself, such as an
// import or a key created at the command line.
func SystemMeta(process string, now time.Time) domain.Meta {
	return domain.Meta{Actor: domain.Actor{ID: "system:" + process, Role: domain.System}, Now: now.In(domain.Tbilisi)}
}
