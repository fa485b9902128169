package domain

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/civicledger/civicledger/eventstore"
)

// Personal data (crypto-shredding). Georgia's Law on Personal Data
// Protection (2023) and the GDPR give people the right to have their data
// erased, and an append-only, hash-chained log cannot delete. So the
// fields an area declares Personal are stored in the log sealed (AES-256-GCM)
// under a key of their data subject, held in a Keyring outside the log.
// Erasing the subject destroys its keys: every copy of the log, replicas
// and backups of it included, then holds ciphertext nobody can open, while
// the stored bytes, and the hashes over them, stay as they were.
//
// A sealed field is stored as {"subject": S, "key": G, "sealed": B}: the
// subject, the generation of its key (a subject erased and then given new
// data gets a new key), and base64 of the 12-byte nonce followed by the
// ciphertext. The seal is bound (as GCM's additional data) to the subject,
// the event's ID and type and the field's path, so a sealed value copied
// into another event or field does not open.

// KeyRef names one key of a keyring: a data subject's key of one
// generation.
type KeyRef struct {
	Subject    string
	Generation int
}

// Erasure is what Keyring.Erase did.
type Erasure struct {
	// Known: the keyring holds, or held, a key of the subject, or knows of
	// its data recorded before sealing (see Keyring.Erased).
	Known bool
	// Destroyed is how many live keys this erasure destroyed.
	Destroyed int
	// Through is the last generation of the subject's keys now erased, by
	// this erasure or an earlier one (0: only data from before sealing).
	Through int
}

// Keyring holds the keys personal data is sealed with: 256-bit keys, one
// live key per data subject at a time. It lives outside the log (a table
// of its own), so destroying a key erases the data wherever the log is.
type Keyring interface {
	// Current returns the live key of subject, which new personal data is
	// sealed with, creating one when the subject has none (never had one,
	// or was erased since).
	Current(ctx context.Context, subject string) (KeyRef, []byte, error)
	// Keys returns the keys of refs that are still held; an erased key is
	// absent from the map.
	Keys(ctx context.Context, refs []KeyRef) (map[KeyRef][]byte, error)
	// Erased returns which of subjects were ever erased. Data of theirs
	// recorded in plain text, before the log sealed personal data, is then
	// withheld from every read path (the log still holds its bytes).
	Erased(ctx context.Context, subjects []string) (map[string]bool, error)
	// AnyErased reports whether any subject was ever erased: until one
	// is, plain text from before sealing needs no look-up at all.
	AnyErased(ctx context.Context) (bool, error)
	// Erase destroys every live key of subject and marks it erased.
	Erase(ctx context.Context, subject string) (Erasure, error)
}

// sealed is a personal field as the log stores it.
type sealed struct {
	Subject string `json:"subject"`
	Key     int    `json:"key"`
	Sealed  []byte `json:"sealed"`
}

// personalAAD is what a seal is bound to besides its key.
func personalAAD(subject string, e *eventstore.Event, path string) []byte {
	b := make([]byte, 0, 64+len(subject)+len(e.Type)+len(path))
	b = append(b, "civicledger/personal/v1\x00"...)
	b = append(b, subject...)
	b = append(b, 0)
	b = append(b, e.ID[:]...)
	b = append(b, e.Type...)
	b = append(b, 0)
	return append(b, path...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal seals the personal fields of d, the stored form of ev, with keys
// from keys: a field that is empty stays as it is (there is nothing to
// protect, and no key to make).
func (t *Types) seal(ctx context.Context, keys Keyring, ev Event, d *eventstore.EventData) error {
	et := t.byName[d.Type]
	if et.rule == nil || !et.rule.personal() {
		return nil
	}
	doc, err := parseDoc(d.Data)
	if err != nil {
		return fmt.Errorf("seal %s: %w", d.Type, err)
	}
	changed := false
	// One look-up of a subject's key for all of its fields.
	type subjectKey struct {
		ref KeyRef
		gcm cipher.AEAD
	}
	current := map[string]subjectKey{}
	for _, l := range et.rule.limited {
		if l.subject == nil {
			continue
		}
		raw, ok := doc.get(l.path)
		var plain string
		if !ok || json.Unmarshal(raw, &plain) != nil || plain == "" {
			continue
		}
		subject := l.subject(ev)
		if subject == "" {
			return fmt.Errorf("seal %s: field %s has no data subject", d.Type, l.name)
		}
		if keys == nil {
			return fmt.Errorf("seal %s: field %s is personal data and no keyring is configured", d.Type, l.name)
		}
		k, ok := current[subject]
		if !ok {
			ref, key, err := keys.Current(ctx, subject)
			if err != nil {
				return fmt.Errorf("seal %s: key of %s: %w", d.Type, subject, err)
			}
			gcm, err := newGCM(key)
			if err != nil {
				return fmt.Errorf("seal %s: %w", d.Type, err)
			}
			k = subjectKey{ref, gcm}
			current[subject] = k
		}
		ref, gcm := k.ref, k.gcm
		nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plain)+gcm.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return fmt.Errorf("seal %s: %w", d.Type, err)
		}
		e := eventstore.Event{ID: d.ID, Type: d.Type}
		ct := gcm.Seal(nonce, nonce, []byte(plain), personalAAD(subject, &e, l.name))
		blob, err := json.Marshal(sealed{Subject: ref.Subject, Key: ref.Generation, Sealed: ct})
		if err != nil {
			return fmt.Errorf("seal %s: %w", d.Type, err)
		}
		if err := doc.set(l.path, blob); err != nil {
			return fmt.Errorf("seal %s: %w", d.Type, err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	data, err := doc.marshal()
	if err != nil {
		return fmt.Errorf("seal %s: %w", d.Type, err)
	}
	d.Data = data
	return nil
}

// personal reports whether the rule declares personal fields.
func (r *eventRule) personal() bool {
	return slices.ContainsFunc(r.limited, func(l limitedPath) bool { return l.subject != nil })
}

// Personal reports whether events of type typ carry personal data.
func (t *Types) Personal(typ string) bool {
	et, ok := t.byName[typ]
	return ok && et.rule != nil && et.rule.personal()
}

// Unseal opens the personal fields of events, in place: each sealed field
// becomes its text again where its key is held, and "" where the key was
// destroyed (the subject erased); a field recorded in plain text before
// the log sealed personal data stays as it is, unless its subject was
// erased since, when it becomes "" as well. It returns, for each event, the
// personal fields found erased (nil for most). Events without personal
// fields are not touched, and cost nothing but a map lookup.
func (t *Types) Unseal(ctx context.Context, keys Keyring, events []eventstore.Event) ([][]string, error) {
	type field struct {
		event int
		l     *limitedPath
		seal  *sealed // nil: plain text from before sealing
	}
	var fields []field
	docs := map[int]*jsonDoc{}
	var refs []KeyRef
	var legacy []string
	legacySubject := map[int]map[string]string{} // event → path → subject
	var plain []int                              // fields in plain text
	for i := range events {
		e := &events[i]
		et, ok := t.byName[e.Type]
		if !ok || et.rule == nil || !et.rule.personal() {
			continue
		}
		doc, err := parseDoc(e.Data)
		if err != nil {
			return nil, fmt.Errorf("unseal event %s (%s): %w", e.ID, e.Type, err)
		}
		for li := range et.rule.limited {
			l := &et.rule.limited[li]
			if l.subject == nil {
				continue
			}
			raw, ok := doc.get(l.path)
			raw = bytes.TrimSpace(raw)
			switch {
			case !ok || len(raw) == 0 || raw[0] == 'n':
			case raw[0] == '{':
				var s sealed
				if err := json.Unmarshal(raw, &s); err != nil || s.Subject == "" || len(s.Sealed) == 0 {
					return nil, fmt.Errorf("unseal event %s (%s): field %s is neither text nor sealed", e.ID, e.Type, l.name)
				}
				fields = append(fields, field{event: i, l: l, seal: &s})
				if ref := (KeyRef{Subject: s.Subject, Generation: s.Key}); !slices.Contains(refs[max(0, len(refs)-4):], ref) {
					refs = append(refs, ref) // a subject's fields sit together
				}
			case string(raw) != `""`:
				fields = append(fields, field{event: i, l: l})
				plain = append(plain, len(fields)-1)
			}
		}
		docs[i] = doc
	}
	if len(fields) == 0 {
		return nil, nil
	}
	if keys == nil {
		return nil, errors.New("unseal: the log holds personal data and no keyring is configured")
	}
	// Plain text from before sealing is withheld only if its subject was
	// erased, which takes decoding its event to name the subject: not
	// needed while nothing was ever erased, the common case.
	if len(plain) > 0 {
		someErased, err := keys.AnyErased(ctx)
		if err != nil {
			return nil, fmt.Errorf("unseal: %w", err)
		}
		decoded := map[int]Event{}
		for _, fi := range plain {
			f := fields[fi]
			if !someErased {
				break
			}
			ev, ok := decoded[f.event]
			if !ok {
				if ev, err = t.Decode(events[f.event]); err != nil {
					return nil, fmt.Errorf("unseal: %w", err)
				}
				decoded[f.event] = ev
			}
			subject := f.l.subject(ev)
			if legacySubject[f.event] == nil {
				legacySubject[f.event] = map[string]string{}
			}
			legacySubject[f.event][f.l.name] = subject
			legacy = append(legacy, subject)
		}
	}
	held := map[KeyRef][]byte{}
	if len(refs) > 0 {
		var err error
		if held, err = keys.Keys(ctx, refs); err != nil {
			return nil, fmt.Errorf("unseal: %w", err)
		}
	}
	erasedSubjects := map[string]bool{}
	if len(legacy) > 0 {
		var err error
		if erasedSubjects, err = keys.Erased(ctx, legacy); err != nil {
			return nil, fmt.Errorf("unseal: %w", err)
		}
	}
	erased := make([][]string, len(events))
	changed := map[int]bool{}
	gcms := map[KeyRef]cipher.AEAD{}
	for _, f := range fields {
		e := &events[f.event]
		doc := docs[f.event]
		var plain string
		if f.seal == nil {
			if !erasedSubjects[legacySubject[f.event][f.l.name]] {
				continue // plain text whose subject keeps it
			}
			erased[f.event] = append(erased[f.event], f.l.name)
		} else if key, ok := held[KeyRef{Subject: f.seal.Subject, Generation: f.seal.Key}]; ok {
			ref := KeyRef{Subject: f.seal.Subject, Generation: f.seal.Key}
			gcm, ok := gcms[ref]
			if !ok {
				var err error
				if gcm, err = newGCM(key); err != nil {
					return nil, fmt.Errorf("unseal event %s: %w", e.ID, err)
				}
				gcms[ref] = gcm
			}
			ns := gcm.NonceSize()
			if len(f.seal.Sealed) < ns {
				return nil, fmt.Errorf("unseal event %s (%s): field %s is too short to be sealed", e.ID, e.Type, f.l.name)
			}
			pt, err := gcm.Open(nil, f.seal.Sealed[:ns], f.seal.Sealed[ns:], personalAAD(f.seal.Subject, e, f.l.name))
			if err != nil {
				return nil, fmt.Errorf("unseal event %s (%s): field %s does not open with its key: altered, or moved from another event", e.ID, e.Type, f.l.name)
			}
			plain = string(pt)
		} else {
			erased[f.event] = append(erased[f.event], f.l.name)
		}
		v, _ := json.Marshal(plain)
		if err := doc.set(f.l.path, v); err != nil {
			return nil, fmt.Errorf("unseal event %s: %w", e.ID, err)
		}
		changed[f.event] = true
	}
	for i := range changed {
		data, err := docs[i].marshal()
		if err != nil {
			return nil, fmt.Errorf("unseal event %s: %w", events[i].ID, err)
		}
		events[i].Data = data
	}
	return erased, nil
}

// Subjects returns the data subjects of e's personal fields that hold
// data in plain text, recorded before the log sealed personal data: what
// a migration records so that erasing those subjects withholds it.
func (t *Types) Subjects(e eventstore.Event) ([]string, error) {
	et, ok := t.byName[e.Type]
	if !ok || et.rule == nil || !et.rule.personal() {
		return nil, nil
	}
	doc, err := parseDoc(e.Data)
	if err != nil {
		return nil, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	var out []string
	var decoded Event
	for _, l := range et.rule.limited {
		if l.subject == nil {
			continue
		}
		raw, ok := doc.get(l.path)
		raw = bytes.TrimSpace(raw)
		if !ok || len(raw) == 0 || raw[0] != '"' || string(raw) == `""` {
			continue
		}
		if decoded == nil {
			var err error
			if decoded, err = t.Decode(e); err != nil {
				return nil, err
			}
		}
		if s := l.subject(decoded); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// blankSealed returns data with the personal fields of rule that are
// still sealed set to "".
func blankSealed(data json.RawMessage, rule *eventRule) (json.RawMessage, error) {
	if !bytes.Contains(data, []byte(`"sealed"`)) {
		return data, nil
	}
	doc, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, l := range rule.limited {
		if l.subject == nil {
			continue
		}
		if raw, ok := doc.get(l.path); ok && len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{' {
			if err := doc.set(l.path, json.RawMessage(`""`)); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if !changed {
		return data, nil
	}
	return doc.marshal()
}

// jsonDoc is a JSON object whose nested objects are parsed once, when a
// path first reaches them, and written back once, by marshal: sealing and
// opening touch several fields of one object (a contact's name, e-mail and
// phone), and parsing it again for each cost five times the cryptography
// (BenchmarkPersonalData).
type jsonDoc struct {
	fields map[string]json.RawMessage
	subs   map[string]*jsonDoc
}

func parseDoc(data json.RawMessage) (*jsonDoc, error) {
	d := &jsonDoc{}
	if err := json.Unmarshal(data, &d.fields); err != nil {
		return nil, err
	}
	return d, nil
}

// sub is the object at key, parsed; nil when it is not an object.
func (d *jsonDoc) sub(key string) *jsonDoc {
	if s, ok := d.subs[key]; ok {
		return s
	}
	raw, ok := d.fields[key]
	if !ok {
		return nil
	}
	s, err := parseDoc(raw)
	if err != nil || s.fields == nil {
		s = nil
	}
	if d.subs == nil {
		d.subs = map[string]*jsonDoc{}
	}
	d.subs[key] = s
	return s
}

// get is the raw JSON at path.
func (d *jsonDoc) get(path []string) (json.RawMessage, bool) {
	for ; len(path) > 1; path = path[1:] {
		if d = d.sub(path[0]); d == nil {
			return nil, false
		}
	}
	raw, ok := d.fields[path[0]]
	return raw, ok
}

// set puts v at path, whose objects on the way must exist.
func (d *jsonDoc) set(path []string, v json.RawMessage) error {
	for ; len(path) > 1; path = path[1:] {
		next := d.sub(path[0])
		if next == nil {
			return fmt.Errorf("field %s is not an object", path[0])
		}
		d = next
	}
	d.fields[path[0]] = v
	return nil
}

// marshal writes the document, its parsed objects with their changes.
func (d *jsonDoc) marshal() (json.RawMessage, error) {
	for k, s := range d.subs {
		if s == nil {
			continue
		}
		b, err := s.marshal()
		if err != nil {
			return nil, err
		}
		d.fields[k] = b
	}
	return json.Marshal(d.fields)
}

// MemoryKeyring is a Keyring in memory, for tests and tools that run
// without a database; PostgreSQL deployments use the table-backed one.
type MemoryKeyring struct {
	mu   sync.Mutex
	keys map[KeyRef][]byte // nil value: destroyed
	// legacy are subjects known to have plain-text data.
	legacy map[string]bool
	erased map[string]bool
}

func (k *MemoryKeyring) init() {
	if k.keys == nil {
		k.keys, k.legacy, k.erased = map[KeyRef][]byte{}, map[string]bool{}, map[string]bool{}
	}
}

// Current implements Keyring.
func (k *MemoryKeyring) Current(_ context.Context, subject string) (KeyRef, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	last := 0
	for ref, key := range k.keys {
		if ref.Subject == subject {
			if key != nil && ref.Generation > last {
				last = ref.Generation
			}
		}
	}
	if last > 0 {
		ref := KeyRef{Subject: subject, Generation: last}
		return ref, k.keys[ref], nil
	}
	gen := 1
	for ref := range k.keys {
		if ref.Subject == subject && ref.Generation >= gen {
			gen = ref.Generation + 1
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return KeyRef{}, nil, err
	}
	ref := KeyRef{Subject: subject, Generation: gen}
	k.keys[ref] = key
	return ref, key, nil
}

// Keys implements Keyring.
func (k *MemoryKeyring) Keys(_ context.Context, refs []KeyRef) (map[KeyRef][]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	out := map[KeyRef][]byte{}
	for _, r := range refs {
		if key := k.keys[r]; key != nil {
			out[r] = key
		}
	}
	return out, nil
}

// Erased implements Keyring.
func (k *MemoryKeyring) Erased(_ context.Context, subjects []string) (map[string]bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	out := map[string]bool{}
	for _, s := range subjects {
		if k.erased[s] {
			out[s] = true
		}
	}
	return out, nil
}

// AnyErased implements Keyring.
func (k *MemoryKeyring) AnyErased(context.Context) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.erased) > 0, nil
}

// Erase implements Keyring.
func (k *MemoryKeyring) Erase(_ context.Context, subject string) (Erasure, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	out := Erasure{Known: k.legacy[subject] || k.erased[subject]}
	for ref, key := range k.keys {
		if ref.Subject != subject {
			continue
		}
		out.Known = true
		if key != nil {
			k.keys[ref] = nil
			out.Destroyed++
		}
		out.Through = max(out.Through, ref.Generation)
	}
	if out.Known {
		k.erased[subject] = true
	}
	return out, nil
}

// RecordPlain records that subject has data in the log in plain text,
// from before sealing, so that erasing it is known (see Keyring.Erased).
func (k *MemoryKeyring) RecordPlain(subject string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	k.legacy[subject] = true
}
