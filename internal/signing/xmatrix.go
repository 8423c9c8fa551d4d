package signing

import (
	"crypto/ed25519"
	"fmt"
	"strings"

	"myelin/internal/mjson"
)

// XMatrix is the content of an "Authorization: X-Matrix ..." request header
// (server-server API, "Request Authentication").
type XMatrix struct {
	// Origin is the sending server's name (parameter "origin").
	Origin string
	// Destination is the receiving server's name (parameter "destination"); it
	// is empty if the sender, an old server, omitted it.
	Destination string
	// KeyID is the ID of the key that made the signature (parameter "key").
	KeyID KeyID
	// Signature is the unpadded base64 signature (parameter "sig").
	Signature string
}

// xmatrixScheme is the authorization scheme name; schemes compare
// case-insensitively (RFC 9110 section 11.1).
const xmatrixScheme = "X-Matrix"

// ParseXMatrix parses the value of an Authorization header carrying X-Matrix
// credentials, following RFC 9110 section 11.4 as the specification requires:
//
//	credentials = auth-scheme [ 1*SP #auth-param ]
//	auth-param  = token BWS "=" BWS ( token / quoted-string )
//
// The scheme and parameter names are case-insensitive, parameters may come in
// any order, optional whitespace (spaces and tabs) is allowed around commas
// and '=', empty list elements are skipped (RFC 9110 section 5.6.1.2), quoted
// values are unescaped, and, for compatibility with older servers as the
// specification asks, unquoted values may contain colons. Unknown parameters
// are ignored.
//
// The parameters origin, key and sig are required and must be non-empty;
// destination is optional. The key must be a syntactically valid key ID.
// Server names are not validated here. All errors wrap ErrInvalidXMatrix;
// a repeated parameter (in any letter case) is an error.
//
// The specification's parameter list calls the signature parameter
// "signature", but its header example, its Python example and every deployed
// server use "sig"; this parser reads "sig" and treats "signature" as an
// unknown parameter.
func ParseXMatrix(header string) (XMatrix, error) {
	x, err := parseXMatrix(header)
	if err != nil {
		return XMatrix{}, fmt.Errorf("signing: %w: %w", ErrInvalidXMatrix, err)
	}
	return x, nil
}

func parseXMatrix(h string) (XMatrix, error) {
	h = strings.Trim(h, " \t") // field values exclude surrounding whitespace
	n := tokenLen(h, false)
	if n == 0 || !strings.EqualFold(h[:n], xmatrixScheme) {
		return XMatrix{}, fmt.Errorf("scheme is not %s", xmatrixScheme)
	}
	h = h[n:]
	if h == "" || h[0] != ' ' {
		return XMatrix{}, fmt.Errorf("no parameters after scheme")
	}
	h = strings.TrimLeft(h, " ")
	var x XMatrix
	var seen [4]bool // origin, destination, key, sig
	for {
		h = trimOWS(h)
		if h == "" {
			break
		}
		if h[0] == ',' { // empty list element
			h = h[1:]
			continue
		}
		name, value, rest, err := authParam(h)
		if err != nil {
			return XMatrix{}, err
		}
		if err := x.set(&seen, name, value); err != nil {
			return XMatrix{}, err
		}
		h = trimOWS(rest)
		if h != "" {
			if h[0] != ',' {
				return XMatrix{}, fmt.Errorf("expected ',' after parameter %q", name)
			}
			h = h[1:]
		}
	}
	switch {
	case x.Origin == "":
		return XMatrix{}, fmt.Errorf("missing origin")
	case x.KeyID == "":
		return XMatrix{}, fmt.Errorf("missing key")
	case x.Signature == "":
		return XMatrix{}, fmt.Errorf("missing sig")
	}
	if _, _, err := ParseKeyID(string(x.KeyID)); err != nil {
		return XMatrix{}, err
	}
	return x, nil
}

// set records one parameter.
func (x *XMatrix) set(seen *[4]bool, name, value string) error {
	var i int
	switch strings.ToLower(name) {
	case "origin":
		i, x.Origin = 0, value
	case "destination":
		i, x.Destination = 1, value
	case "key":
		i, x.KeyID = 2, KeyID(value)
	case "sig":
		i, x.Signature = 3, value
	default:
		return nil // unknown parameters are ignored
	}
	if seen[i] {
		return fmt.Errorf("duplicate parameter %q", name)
	}
	seen[i] = true
	return nil
}

// authParam parses `token BWS "=" BWS ( token / quoted-string )` at the start
// of h and returns the rest.
func authParam(h string) (name, value, rest string, err error) {
	n := tokenLen(h, false)
	if n == 0 {
		return "", "", "", fmt.Errorf("expected parameter name at %q", clip(h))
	}
	name, h = h[:n], trimOWS(h[n:])
	if h == "" || h[0] != '=' {
		return "", "", "", fmt.Errorf("expected '=' after parameter %q", name)
	}
	h = trimOWS(h[1:])
	if h != "" && h[0] == '"' {
		value, rest, err = quotedString(h)
		return name, value, rest, err
	}
	// The specification asks recipients to allow colons in unquoted values,
	// which a plain RFC 9110 token forbids.
	n = tokenLen(h, true)
	if n == 0 {
		return "", "", "", fmt.Errorf("expected value for parameter %q", name)
	}
	return name, h[:n], h[n:], nil
}

// quotedString parses an RFC 9110 quoted-string at the start of h (a '"') and
// returns its unescaped content and the rest of h.
func quotedString(h string) (value, rest string, err error) {
	// Fast path: no escapes, the value is a substring.
	for i := 1; i < len(h); i++ {
		c := h[i]
		if c == '"' {
			return h[1:i], h[i+1:], nil
		}
		if c == '\\' || !qdtext(c) {
			break
		}
	}
	var b strings.Builder
	for i := 1; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '"':
			return b.String(), h[i+1:], nil
		case c == '\\':
			i++
			if i == len(h) || !quotedPairChar(h[i]) {
				return "", "", fmt.Errorf("invalid escape in quoted string")
			}
			b.WriteByte(h[i])
		case qdtext(c):
			b.WriteByte(c)
		default:
			return "", "", fmt.Errorf("invalid character %q in quoted string", c)
		}
	}
	return "", "", fmt.Errorf("unterminated quoted string")
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
func qdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80
}

// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
func quotedPairChar(c byte) bool {
	return c == '\t' || (c >= 0x20 && c <= 0x7e) || c >= 0x80
}

// tokenLen returns the length of the RFC 9110 token at the start of s; with
// colon set, ':' also counts as a token character.
func tokenLen(s string, colon bool) int {
	for i := 0; i < len(s); i++ {
		if !tchar(s[i]) && !(colon && s[i] == ':') {
			return i
		}
	}
	return len(s)
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA
func tchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimOWS(s string) string { return strings.TrimLeft(s, " \t") }

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Header formats x as an Authorization header value in the form the
// specification recommends senders use: `X-Matrix origin="…",destination="…",
// key="…",sig="…"`, all values quoted, lower-case names, no whitespace around
// commas. Destination is omitted if empty. A value containing a byte that
// cannot appear in an RFC 9110 quoted-string (control characters other than
// tab, or DEL), which also rules out header injection, is an error wrapping
// ErrInvalidXMatrix.
func (x XMatrix) Header() (string, error) {
	var b strings.Builder
	b.WriteString(xmatrixScheme + " ")
	params := [...]struct{ name, value string }{
		{"origin", x.Origin}, {"destination", x.Destination}, {"key", string(x.KeyID)}, {"sig", x.Signature},
	}
	first := true
	for _, p := range params {
		if p.value == "" && p.name == "destination" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(p.name)
		b.WriteString(`="`)
		for i := 0; i < len(p.value); i++ {
			c := p.value[i]
			if !quotedPairChar(c) {
				return "", fmt.Errorf("signing: %w: %s contains byte %#x", ErrInvalidXMatrix, p.name, c)
			}
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	return b.String(), nil
}

// requestJSON builds the canonical JSON signed for a federation request:
// {"content":…,"destination":…,"method":…,"origin":…,"uri":…}, content
// omitted if empty. Member names are written in sorted order.
func requestJSON(origin, destination, method, uri string, content []byte) ([]byte, error) {
	out := make([]byte, 0, len(content)+len(uri)+128)
	out = append(out, '{')
	var err error
	if len(content) > 0 {
		out = append(out, `"content":`...)
		if out, err = mjson.AppendCanonical(out, content, false); err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		out = append(out, ',')
	}
	for _, m := range [...]struct{ name, value string }{
		{`"destination":`, destination}, {`,"method":`, method}, {`,"origin":`, origin}, {`,"uri":`, uri},
	} {
		out = append(out, m.name...)
		if out, err = mjson.AppendString(out, m.value); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// SignRequest signs a federation request from origin to destination and
// returns the Authorization header value (server-server API, "Request
// Authentication"). requestURI is the path with query string, starting with
// "/_matrix/". content is the JSON request body, or nil/empty for none; it is
// canonicalized leniently (a transaction may carry events of room versions 1
// to 5).
//
// Errors: ErrInvalidXMatrix if origin, destination or method is empty or
// contains characters that cannot be sent in the header; the key errors of
// SignJSON; mjson sentinels if content is not valid JSON or a string is not
// UTF-8.
func SignRequest(key Key, origin, destination, method, requestURI string, content []byte) (authHeader string, err error) {
	if err := checkSigningKey(key); err != nil {
		return "", fmt.Errorf("signing: sign request: %w", err)
	}
	if origin == "" || destination == "" || method == "" {
		return "", fmt.Errorf("signing: sign request: %w: origin, destination and method are required", ErrInvalidXMatrix)
	}
	msg, err := requestJSON(origin, destination, method, requestURI, content)
	if err != nil {
		return "", fmt.Errorf("signing: sign request: %w", err)
	}
	x := XMatrix{Origin: origin, Destination: destination, KeyID: key.ID, Signature: EncodeBase64(ed25519.Sign(key.Private, msg))}
	return x.Header()
}

// VerifyRequest checks the X-Matrix credentials x of a request received by
// the server named destination, made with method to requestURI (path and
// query, as received) with body content (nil or empty for none), against the
// origin's public key pub for x.KeyID. The caller looks up pub for x.Origin
// and x.KeyID, and validates x.Origin as a server name.
//
// If x carries a destination it must equal destination (ErrWrongDestination;
// the specification requires a 401 response). If it carries none, as older
// servers send, destination is used in the signed JSON.
//
// Errors: ErrWrongDestination; mjson sentinels if content is not JSON;
// ErrUnsupportedAlgorithm, ErrInvalidKey, ErrBadBase64, ErrBadSignature as
// VerifyJSON.
func VerifyRequest(x XMatrix, pub ed25519.PublicKey, destination, method, requestURI string, content []byte) error {
	if x.Destination != "" && x.Destination != destination {
		return fmt.Errorf("signing: verify request: %w: got %q, we are %q", ErrWrongDestination, x.Destination, destination)
	}
	msg, err := requestJSON(x.Origin, destination, method, requestURI, content)
	if err != nil {
		return fmt.Errorf("signing: verify request: %w", err)
	}
	if err := verify(pub, x.KeyID, msg, x.Signature); err != nil {
		return fmt.Errorf("signing: verify request from %q: %w", x.Origin, err)
	}
	return nil
}
