package signing

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// EncodeBase64 encodes b as unpadded standard base64 (appendix "Unpadded
// Base64").
func EncodeBase64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// EncodeBase64URL encodes b as unpadded URL-safe base64 (appendix "URL-safe
// unpadded Base64"), as used for event IDs since room version 4.
func EncodeBase64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeBase64 decodes standard or URL-safe base64, with or without '='
// padding, as the specification asks decoders to accept ("implementations
// SHOULD accept input with or without padding characters"). Padding, when
// present, must be complete; mixing the two alphabets, whitespace and line
// breaks are rejected. Errors wrap ErrBadBase64.
func DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		// encoding/base64 would silently skip line breaks.
		return nil, fmt.Errorf("%w: line break in base64", ErrBadBase64)
	}
	urlSafe := strings.ContainsAny(s, "-_")
	padded := strings.HasSuffix(s, "=")
	var enc *base64.Encoding
	switch {
	case urlSafe && padded:
		enc = base64.URLEncoding
	case urlSafe:
		enc = base64.RawURLEncoding
	case padded:
		enc = base64.StdEncoding
	default:
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBase64, err)
	}
	return b, nil
}
