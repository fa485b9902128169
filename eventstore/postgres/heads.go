package postgres

import "sync"

// maxKnownHeads bounds the streams whose heads a Store remembers. Past it
// the memory is cleared: forgetting only costs the next append to each
// stream a read of its head.
const maxKnownHeads = 100_000

// knownHeads remembers, per stream, the highest version this process has
// seen committed: returned by its own appends or read by ReadStream.
// Versions are never removed, so "version v of this stream exists" stays
// true, and an append expecting a version at or below what is known can
// skip reading the stream's head (see appendKnown).
type knownHeads struct {
	mu sync.Mutex
	m  map[string]int64
}

func (k *knownHeads) get(stream string) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[stream]
}

// saw records that version v of stream is committed.
func (k *knownHeads) saw(stream string, v int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= maxKnownHeads {
		k.m = make(map[string]int64)
	}
	if v > k.m[stream] {
		k.m[stream] = v
	}
}
