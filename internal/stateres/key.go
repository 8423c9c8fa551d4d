package stateres

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"myelin/internal/spec"
)

// Key returns a digest of the set of states: SHA-256 over the sorted,
// distinct digests of the individual states, each the SHA-256 of its
// entries sorted by (type, state_key), every string length-prefixed.
//
// The key is independent of the order of states and of duplicates among
// them, exactly as Resolve's result is, so a caller may memoize Resolve by
// Key. It covers only the states: a cache shared between rooms must also
// key by room (which fixes the room version).
func Key(states []StateMap) [32]byte {
	digests := make([][32]byte, 0, len(states))
	for _, s := range states {
		digests = append(digests, stateDigest(s))
	}
	slices.SortFunc(digests, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	digests = slices.Compact(digests)
	h := sha256.New()
	for _, d := range digests {
		h.Write(d[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func stateDigest(s StateMap) [32]byte {
	keys := make([]spec.StateKeyTuple, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTuples)
	h := sha256.New()
	var buf []byte
	for _, k := range keys {
		buf = buf[:0]
		for _, str := range [3]string{k.Type, k.StateKey, s[k]} {
			buf = binary.AppendUvarint(buf, uint64(len(str)))
			buf = append(buf, str...)
		}
		h.Write(buf)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
