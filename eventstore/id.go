package eventstore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// ID identifies an event. It is a UUID; NewID makes version 7 UUIDs, whose
// leading timestamp makes IDs sort by creation time and keeps inserts into
// the unique index on event IDs near its right edge, so the index pages in
// use stay few once the table outgrows memory.
type ID [16]byte

// idClock makes NewID monotonic within a millisecond: RFC 9562 method 1, a
// counter in the rand_a field, so IDs made by one process sort in the order
// they were made.
var idClock struct {
	sync.Mutex
	ms  int64
	seq uint16
}

// NewID returns a new version 7 UUID.
func NewID() ID {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		panic("eventstore: crypto/rand: " + err.Error()) // rand.Read never fails on supported platforms
	}
	idClock.Lock()
	ms := time.Now().UnixMilli()
	if ms > idClock.ms {
		idClock.ms = ms
		idClock.seq = binary.BigEndian.Uint16(id[6:8]) & 0x03ff // leave headroom for the counter
	} else {
		idClock.seq++
		if idClock.seq > 0x0fff { // counter exhausted: borrow the next millisecond
			idClock.ms++
			idClock.seq = 0
		}
	}
	ms, seq := idClock.ms, idClock.seq
	idClock.Unlock()

	id[0] = byte(ms >> 40)
	id[1] = byte(ms >> 32)
	id[2] = byte(ms >> 24)
	id[3] = byte(ms >> 16)
	id[4] = byte(ms >> 8)
	id[5] = byte(ms)
	id[6] = 0x70 | byte(seq>>8)
	id[7] = byte(seq)
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id
}

// ParseID parses the canonical 36-character form
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), in either case.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("event ID %q: not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	j := 0
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		if _, err := hex.Decode(id[j:j+1], []byte(s[i:i+2])); err != nil {
			return ID{}, fmt.Errorf("event ID %q: not a UUID: %v", s, err)
		}
		i += 2
		j++
	}
	return id, nil
}

// String returns the canonical lower-case form.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// IsZero reports whether id is the zero ID, which Append replaces with a new one.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
