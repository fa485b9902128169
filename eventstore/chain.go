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
	// One buffer and one hash call: the sequencer hashes every event, and
	// many small writes into the digest cost more than the hashing itself.
	b := make([]byte, 0, len(chainDomain)+HashSize+encodedSize(e))
	b = append(b, chainDomain...)
	if prev == nil {
		b = append(b, make([]byte, HashSize)...)
	} else {
		b = append(b, prev...)
	}
	b = appendEvent(b, e)
	sum := sha256.Sum256(b)
	return sum[:]
}

// LeafBytes returns the entry of the log's Merkle tree for an event: the
// same canonical encoding as ChainHash's, behind a prefix of its own and
// without the previous hash, so each entry stands alone:
//
//	"civicledger/leaf/v1" || position || id || stream || version || type ||
//	schema version || occurred_at || recorded_at || data || actor || role ||
//	correlation || causation || command
//
// The tree hashes it as RFC 6962 says (tlog.LeafHash). Anyone
// holding the stored row can rebuild it, and the SQL function
// eventstore.leaf_hash does, for entries sequenced before the tree existed.
func LeafBytes(e *Event) []byte {
	b := make([]byte, 0, len(leafDomain)+encodedSize(e))
	b = append(b, leafDomain...)
	return appendEvent(b, e)
}

const leafDomain = "civicledger/leaf/v1"

// ChainAndLeafBytes returns ChainHash(prev, e) and LeafBytes(e) from one
// encoding of e: the sequencer needs both for every event. The leaf bytes
// share the chain's buffer.
func ChainAndLeafBytes(prev []byte, e *Event) (chain, leaf []byte) {
	b := make([]byte, 0, len(chainDomain)+HashSize+encodedSize(e))
	b = append(b, chainDomain...)
	if prev == nil {
		b = append(b, make([]byte, HashSize)...)
	} else {
		b = append(b, prev...)
	}
	head := len(b)
	b = appendEvent(b, e)
	c := sha256.Sum256(b)
	// The leaf's bytes, leafDomain || encoding, written in place before
	// the encoding, over the chain's prefix no longer needed.
	start := head - len(leafDomain)
	copy(b[start:head], leafDomain)
	return c[:], b[start:]
}

// encodedSize is the length of appendEvent's encoding of e.
func encodedSize(e *Event) int {
	m := &e.Metadata
	return 8 + 16 + 4 + len(e.Stream) + 8 + 4 + len(e.Type) + 4 + 8 + 8 +
		4 + len(e.Data) + 5*4 + len(m.Actor) + len(m.Role) + len(m.CorrelationID) + len(m.CausationID) + len(m.CommandID)
}

// appendEvent appends the canonical encoding of e: integers as fixed-width
// big-endian, times as Unix microseconds, strings and bytes prefixed by
// their 4-byte length, so no two different events encode alike.
func appendEvent(b []byte, e *Event) []byte {
	m := &e.Metadata
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
	return b
}

const chainDomain = "civicledger/event/v1"

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// LegacyCheckpointMessage returns the bytes the log's checkpoints signed
// before the tree (kept in eventstore.chain_checkpoints): the position,
// the chain hash there and the signing time, behind a domain-separation
// prefix. civic verify still checks them, so an upgrade does not discard
// the evidence they are.
func LegacyCheckpointMessage(position int64, chainHash []byte, signedAt time.Time) []byte {
	msg := make([]byte, 0, 32+8+HashSize+8)
	msg = append(msg, "civicledger/checkpoint/v1"...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(position))
	msg = append(msg, chainHash...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(signedAt.UnixMicro()))
	return msg
}
