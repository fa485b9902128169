package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
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
	h := sha256.New()
	writeChain(h, prev, e)
	return h.Sum(nil)
}

func writeChain(h hash.Hash, prev []byte, e *Event) {
	var b [8]byte
	h.Write([]byte("civicledger/event/v1"))
	if prev == nil {
		prev = make([]byte, HashSize)
	}
	h.Write(prev)
	binary.BigEndian.PutUint64(b[:], uint64(e.Position))
	h.Write(b[:])
	h.Write(e.ID[:])
	writeBytes(h, []byte(e.Stream))
	binary.BigEndian.PutUint64(b[:], uint64(e.Version))
	h.Write(b[:])
	writeBytes(h, []byte(e.Type))
	binary.BigEndian.PutUint32(b[:4], uint32(e.SchemaVersion))
	h.Write(b[:4])
	writeTime(h, e.OccurredAt)
	writeTime(h, e.RecordedAt)
	writeBytes(h, e.Data)
	m := &e.Metadata
	for _, f := range [...]string{m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID} {
		writeBytes(h, []byte(f))
	}
}

func writeBytes(h hash.Hash, p []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(p)))
	h.Write(n[:])
	h.Write(p)
}

func writeTime(h hash.Hash, t time.Time) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixMicro()))
	h.Write(b[:])
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
