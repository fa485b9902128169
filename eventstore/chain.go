package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// HashSize is the size of a chain hash: SHA-256.
const HashSize = sha256.Size

// ChainHash returns the event's link in the log's hash chain:
//
//	SHA-256("civicledger/event/v1" || prev || position || id || stream ||
//	        version || type || schema version || occurred_at || recorded_at ||
//	        data || actor || role || correlation || causation || command)
//
// with integers as fixed-width big-endian, times as Unix microseconds, and
// strings and bytes prefixed by their 4-byte length, so no two different
// events encode alike. prev is the previous event's hash, or nil for position
// 1 (hashed as 32 zero bytes). Data is hashed byte for byte as stored, so an
// auditor can recompute every link from the stored rows alone; the position
// is hashed, so a deleted, inserted or moved event breaks the chain where it
// happened.
func ChainHash(prev []byte, e *Event) []byte {
	m := &e.Metadata
	n := len(chainDomain) + HashSize + 8 + 16 + 4 + len(e.Stream) + 8 + 4 + len(e.Type) + 4 + 8 + 8 +
		4 + len(e.Data) + 5*4 + len(m.Actor) + len(m.Role) + len(m.CorrelationID) + len(m.CausationID) + len(m.CommandID)
	// One buffer and one hash call: the sequencer hashes every event, and
	// many small writes into the digest cost more than the hashing itself.
	b := make([]byte, 0, n)
	b = append(b, chainDomain...)
	if prev == nil {
		b = append(b, make([]byte, HashSize)...)
	} else {
		b = append(b, prev...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.Position))
	b = append(b, e.ID[:]...)
	b = appendString(b, e.Stream)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Version))
	b = appendString(b, e.Type)
	b = binary.BigEndian.AppendUint32(b, uint32(e.SchemaVersion))
	b = binary.BigEndian.AppendUint64(b, uint64(e.OccurredAt.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixMicro()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
	b = append(b, e.Data...)
	for _, f := range [...]string{m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID} {
		b = appendString(b, f)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

const chainDomain = "civicledger/event/v1"

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// CheckpointMessage returns the bytes a log checkpoint's Ed25519 signature
// covers: the position, the chain hash at that position and the signing
// time, behind a domain-separation prefix so no other signed message of ours
// can pass for a checkpoint.
func CheckpointMessage(position int64, chainHash []byte, signedAt time.Time) []byte {
	msg := make([]byte, 0, 32+8+HashSize+8)
	msg = append(msg, "civicledger/checkpoint/v1"...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(position))
	msg = append(msg, chainHash...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(signedAt.UnixMicro()))
	return msg
}
