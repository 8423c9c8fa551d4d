package eventauth

import (
	"encoding/json"
	"errors"
	"strconv"
)

// This file holds a small scanner over JSON that package pdu has already
// validated. It exists because the auth rules must match property names
// exactly (encoding/json matches struct fields case-insensitively) and must
// tell a missing property from one of the wrong type, and because content
// is read on every check.

var errBadJSON = errors.New("malformed JSON")

// field is one property looked up by getFields: name is the property name,
// raw the value's JSON text, or nil when the object has no such property.
type field struct {
	name string
	raw  []byte
}

// getFields fills in the raw value of each field from the JSON object obj.
// When a name occurs twice the last occurrence wins, as in encoding/json.
func getFields(obj []byte, fields []field) error {
	return eachMember(obj, func(key []byte, escaped bool, raw []byte) error {
		name := key[1 : len(key)-1]
		if escaped {
			s, ok := decodeString(key)
			if !ok {
				return errBadJSON
			}
			name = []byte(s)
		}
		for i := range fields {
			if string(name) == fields[i].name {
				fields[i].raw = raw
			}
		}
		return nil
	})
}

// eachMember calls fn with every member of the JSON object obj: the key's
// JSON text (quotes included), whether it contains escapes, and the value's
// JSON text. It fails when obj is not an object.
func eachMember(obj []byte, fn func(key []byte, escaped bool, raw []byte) error) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errBadJSON
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return trailing(obj, i+1)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errBadJSON
		}
		end, escaped, err := skipString(obj, i)
		if err != nil {
			return err
		}
		key := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return errBadJSON
		}
		start := skipSpace(obj, i+1)
		end, err = skipValue(obj, start)
		if err != nil {
			return err
		}
		if err := fn(key, escaped, obj[start:end]); err != nil {
			return err
		}
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return errBadJSON
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return trailing(obj, i+1)
		default:
			return errBadJSON
		}
	}
}

// eachElement calls fn with the JSON text of every element of the array arr.
// It fails when arr is not an array.
func eachElement(arr []byte, fn func(raw []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return errBadJSON
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return trailing(arr, i+1)
	}
	for {
		end, err := skipValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[i:end]); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return errBadJSON
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return trailing(arr, i+1)
		default:
			return errBadJSON
		}
	}
}

func trailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return errBadJSON
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the JSON string starting at
// data[i] (a '"'), and whether it contains escapes.
func skipString(data []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errBadJSON
}

// skipValue returns the index just past the JSON value starting at data[i].
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errBadJSON
	}
	switch c := data[i]; {
	case c == '"':
		end, _, err := skipString(data, i)
		return end, err
	case c == '{' || c == '[':
		return skipNested(data, i)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(data) && isNumberByte(data[j]) {
			j++
		}
		return j, nil
	default:
		return 0, errBadJSON
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func skipLiteral(data []byte, i int, word string) (int, error) {
	if len(data)-i < len(word) || string(data[i:i+len(word)]) != word {
		return 0, errBadJSON
	}
	return i + len(word), nil
}

// skipNested skips an object or array by counting brackets outside strings.
func skipNested(data []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(data); j++ {
		switch data[j] {
		case '"':
			end, _, err := skipString(data, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errBadJSON
}

// decodeString returns the value of the JSON string token raw, or false when
// raw is not a string.
func decodeString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// isObject reports whether a JSON value is an object, by its first byte.
func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// jsonInteger returns the value of raw when it is a JSON number written
// without a fraction or exponent that fits in an int64.
func jsonInteger(raw []byte) (int64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, false
	}
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}
