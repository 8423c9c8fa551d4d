package sync

import (
	"encoding/json"
	"fmt"
)

// withoutKey returns the JSON object raw without its top-level member
// named key (raw unchanged when it has none). /sync serves events in the
// ClientEventWithoutRoomID format, the room engine formats ClientEvents:
// this drops room_id without decoding the event.
func withoutKey(raw []byte, key string) []byte {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw
	}
	i++
	prevEnd := i // end of the previous member (after its value), or after '{'
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] == '}' {
			return raw
		}
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
		keyStart := i
		keyEnd := skipString(raw, i)
		if keyEnd < 0 {
			return raw
		}
		var name string
		if json.Unmarshal(raw[keyStart:keyEnd], &name) != nil {
			return raw
		}
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return raw
		}
		valEnd := skipValue(raw, skipSpace(raw, i+1))
		if valEnd < 0 {
			return raw
		}
		if name == key {
			out := make([]byte, 0, len(raw))
			rest := skipSpace(raw, valEnd)
			if rest < len(raw) && raw[rest] == ',' {
				// Drop the member and the comma after it.
				out = append(out, raw[:keyStart]...)
				return append(out, raw[skipSpace(raw, rest+1):]...)
			}
			// The last member: drop it and the comma before it.
			out = append(out, raw[:prevEnd]...)
			return append(out, raw[rest:]...)
		}
		prevEnd = valEnd
		i = valEnd
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at i, -1 if
// there is none.
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at i, -1 if it
// is malformed.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

// strippedEvent is a stripped state event (client-server API, "Stripped
// state").
type strippedEvent struct {
	Content  json.RawMessage `json:"content"`
	Sender   string          `json:"sender"`
	StateKey string          `json:"state_key"`
	Type     string          `json:"type"`
}

// stripped renders a stored state event as stripped state.
func stripped(eventJSON []byte) (json.RawMessage, error) {
	var ev strippedEvent
	if err := json.Unmarshal(eventJSON, &ev); err != nil {
		return nil, fmt.Errorf("sync: stored event does not decode: %w", err)
	}
	if ev.Content == nil {
		ev.Content = json.RawMessage(`{}`)
	}
	return json.Marshal(ev)
}

func marshalAll[T any](vs []T) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(vs))
	for _, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
