package pdu

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"myelin/internal/mjson"
	"myelin/internal/spec"
)

// member is one key/value pair of a JSON object in canonical form.
type member struct {
	key    string // the decoded key
	rawKey []byte // the key as written in canonical JSON, quotes included
	value  []byte // the value in canonical JSON
}

// errNotObject is returned by splitObject for input that is not an object.
var errNotObject = errors.New("not a JSON object")

// canonicalize returns the canonical form of raw with the number rules of
// room version v: strict from v6 on, lenient before.
func canonicalize(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	if v.StrictCanonicalJSON {
		return mjson.Canonical(raw)
	}
	return mjson.CanonicalLenient(raw)
}

// splitObject splits a JSON object that is already in canonical form (as
// produced by package mjson) into its members, in their canonical (sorted)
// order. The returned slices alias canon. It fails with errNotObject if canon
// is not an object; it assumes canon is otherwise valid canonical JSON.
func splitObject(canon []byte) ([]member, error) {
	if len(canon) < 2 || canon[0] != '{' || canon[len(canon)-1] != '}' {
		return nil, errNotObject
	}
	out := make([]member, 0, 16)
	i := 1
	if canon[i] == '}' {
		return out, nil
	}
	for {
		if canon[i] != '"' {
			return nil, errNotObject
		}
		end := skipString(canon, i)
		rawKey := canon[i:end]
		if end >= len(canon) || canon[end] != ':' {
			return nil, errNotObject
		}
		vstart := end + 1
		vend := skipValue(canon, vstart)
		if vend <= vstart || vend >= len(canon) {
			return nil, errNotObject
		}
		key, ok := decodeString(rawKey)
		if !ok {
			return nil, errNotObject
		}
		out = append(out, member{key: key, rawKey: rawKey, value: canon[vstart:vend]})
		switch canon[vend] {
		case ',':
			i = vend + 1
		case '}':
			if vend != len(canon)-1 {
				return nil, errNotObject
			}
			return out, nil
		default:
			return nil, errNotObject
		}
	}
}

// skipString returns the index just past the JSON string starting at s[i].
func skipString(s []byte, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index just past the canonical JSON value starting at
// s[i]. Canonical JSON has no whitespace, so a scalar ends at the first
// ',', '}' or ']'.
func skipValue(s []byte, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	default:
		j := i
		for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' {
			j++
		}
		return j
	}
}

// splitArray splits a canonical JSON array into its elements. It reports
// false if canon is not an array.
func splitArray(canon []byte) ([][]byte, bool) {
	if len(canon) < 2 || canon[0] != '[' || canon[len(canon)-1] != ']' {
		return nil, false
	}
	out := [][]byte{}
	i := 1
	if canon[i] == ']' {
		return out, true
	}
	for {
		end := skipValue(canon, i)
		if end <= i || end >= len(canon) {
			return nil, false
		}
		out = append(out, canon[i:end])
		switch canon[end] {
		case ',':
			i = end + 1
		case ']':
			return out, end == len(canon)-1
		default:
			return nil, false
		}
	}
}

// decodeString decodes a canonical JSON string value. It reports false if v
// is not a string.
func decodeString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if !strings.ContainsRune(string(inner), '\\') {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeInt decodes a canonical JSON integer. It reports false for anything
// else, including numbers with a fraction or exponent and integers outside
// the int64 range.
func decodeInt(v []byte) (int64, bool) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// isObject reports whether a canonical JSON value is an object.
func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// lookup returns the value of key in ms, or nil.
func lookup(ms []member, key string) []byte {
	for i := range ms {
		if ms[i].key == key {
			return ms[i].value
		}
	}
	return nil
}

// appendObject appends the canonical JSON object with members ms to dst.
// ms must be sorted by key (sortMembers) and have no duplicate keys.
func appendObject(dst []byte, ms []member) []byte {
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.rawKey...)
		dst = append(dst, ':')
		dst = append(dst, m.value...)
	}
	return append(dst, '}')
}

// encodeObject returns the canonical JSON object with members ms, which must
// be sorted and free of duplicates.
func encodeObject(ms []member) []byte {
	n := 2
	for _, m := range ms {
		n += len(m.rawKey) + len(m.value) + 2
	}
	return appendObject(make([]byte, 0, n), ms)
}

// sortMembers sorts ms into canonical order: by key, compared as UTF-8 bytes,
// which is the same as comparing code points.
func sortMembers(ms []member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
}

// without returns the members of ms whose key is not in drop. The result
// shares no backing array with ms.
func without(ms []member, drop ...string) []member {
	out := make([]member, 0, len(ms))
outer:
	for _, m := range ms {
		for _, d := range drop {
			if m.key == d {
				continue outer
			}
		}
		out = append(out, m)
	}
	return out
}

// newMember makes a member with a key that needs no escaping and a value
// already in canonical JSON.
func newMember(key string, value []byte) member {
	return member{key: key, rawKey: []byte(strconv.Quote(key)), value: value}
}
