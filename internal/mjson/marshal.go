package mjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Marshal encodes v with encoding/json and returns its strict canonical form.
// It fails with the encoding/json error if v cannot be encoded, or with a
// *SyntaxError if the encoding is not canonical-compatible (for example a
// float64 with a fraction, an integer beyond (2**53)-1, or a json.RawMessage
// with duplicate keys).
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Canonical would undo the HTML escapes anyway; not producing them is cheaper.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("mjson: marshal: %w", err)
	}
	out, err := Canonical(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("mjson: marshal: %w", err)
	}
	return out, nil
}

// Unmarshal checks data against the strict canonical JSON rules (as Canonical
// does, without requiring data to already be in canonical form) and then
// decodes it into v with encoding/json. It returns a *SyntaxError (possibly
// wrapped) if data is rejected, or the encoding/json error if decoding into v
// fails.
func Unmarshal(data []byte, v any) error {
	if err := Valid(data, true); err != nil {
		return fmt.Errorf("mjson: unmarshal: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("mjson: unmarshal: %w", err)
	}
	return nil
}
