package signing

import (
	"bytes"
	"fmt"

	"myelin/internal/mjson"
)

// field is one member of a canonical JSON object: key is the canonical
// encoding of its name without the quotes, value its canonical value, and span
// the whole `"key":value` text.
type field struct {
	key, value, span []byte
}

// object is a canonical JSON object split into its members, in canonical
// (sorted) order.
type object []field

// parseObject canonicalizes in (leniently, or strictly if strict is set) and
// splits the top-level object. Errors wrap mjson's sentinels or ErrNotObject.
func parseObject(in []byte, strict bool) (object, error) {
	var canon []byte
	var err error
	if strict {
		canon, err = mjson.Canonical(in)
	} else {
		canon, err = mjson.CanonicalLenient(in)
	}
	if err != nil {
		return nil, err
	}
	return splitObject(canon)
}

// splitObject splits canonical JSON text, which must be valid canonical JSON,
// into the members of its top-level object.
func splitObject(canon []byte) (object, error) {
	if len(canon) == 0 || canon[0] != '{' {
		return nil, ErrNotObject
	}
	obj := make(object, 0, 16)
	i := 1
	for canon[i] != '}' {
		if canon[i] == ',' {
			i++
		}
		start := i
		keyEnd := skipString(canon, i)
		valueEnd := skipValue(canon, keyEnd+1)
		obj = append(obj, field{
			key:   canon[start+1 : keyEnd-1],
			value: canon[keyEnd+1 : valueEnd],
			span:  canon[start:valueEnd],
		})
		i = valueEnd
	}
	return obj, nil
}

// skipString returns the index just past the canonical string starting at
// canon[i] (a '"').
func skipString(canon []byte, i int) int {
	for i++; ; i++ {
		switch canon[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the index just past the canonical value starting at canon[i].
func skipValue(canon []byte, i int) int {
	switch canon[i] {
	case '"':
		return skipString(canon, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch canon[i] {
			case '"':
				i = skipString(canon, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	default:
		for i < len(canon) && canon[i] != ',' && canon[i] != '}' && canon[i] != ']' {
			i++
		}
		return i
	}
}

// get returns the value of the member whose decoded name is name, or nil.
func (o object) get(name string) []byte {
	for _, f := range o {
		if keyIs(f.key, name) {
			return f.value
		}
	}
	return nil
}

// keyIs reports whether a canonical key encoding (without quotes) is the
// encoding of name.
func keyIs(key []byte, name string) bool {
	if len(key) == len(name) && string(key) == name {
		// Fast path: equal bytes are equal names unless the key holds an
		// escape, which name (raw) cannot match byte for byte.
		return bytes.IndexByte(key, '\\') < 0
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	enc, err := mjson.AppendString(nil, name)
	return err == nil && bytes.Equal(enc[1:len(enc)-1], key)
}

// appendWithout appends `{` + the members of o whose names are not in drop +
// `}`. The result is canonical since o is sorted.
func (o object) appendWithout(dst []byte, drop ...string) []byte {
	dst = append(dst, '{')
	first := true
	for _, f := range o {
		if nameIn(f.key, drop) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.span...)
	}
	return append(dst, '}')
}

func nameIn(key []byte, names []string) bool {
	for _, n := range names {
		if keyIs(key, n) {
			return true
		}
	}
	return false
}

// stringValue decodes a canonical JSON string value. It fails with
// ErrMalformed if value is not a string.
func stringValue(value []byte) (string, error) {
	if len(value) < 2 || value[0] != '"' {
		return "", fmt.Errorf("%w: expected a string, got %.40s", ErrMalformed, value)
	}
	body := value[1 : len(value)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), nil
	}
	var s string
	if err := mjson.Unmarshal(value, &s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}
