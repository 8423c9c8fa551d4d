package mjson

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays accepted. A top-level
// scalar has depth 0 and each enclosing '{' or '[' adds one.
//
// The specification sets no limit. Real Matrix payloads nest only a handful of
// levels, but refusing an event that other servers accept could split a
// room's view of its history, so the limit sits just above the de-facto limit
// of Python homeservers (Python's default recursion limit of 1000 bounds the
// nesting its json module can decode and encode). It bounds the parser's
// recursion to a few hundred kilobytes of stack for hostile input.
const MaxDepth = 1024

// MaxSafeInteger is the largest integer allowed in canonical JSON, (2**53)-1.
// Its negation is the smallest.
const MaxSafeInteger = 1<<53 - 1

// Canonical validates in against the strict canonical JSON rules and returns its
// canonical encoding. in may use any whitespace, key order and escapes; the
// result is a fresh slice. Canonical(Canonical(x)) == Canonical(x).
//
// It returns a *SyntaxError wrapping ErrSyntax, ErrTrailingData,
// ErrDuplicateKey, ErrNumberOutOfRange, ErrFloat, ErrNegativeZero,
// ErrInvalidUTF8, ErrLoneSurrogate, ErrTooDeep or ErrTooLarge.
func Canonical(in []byte) ([]byte, error) {
	return canonicalize(in, true, make([]byte, 0, len(in)))
}

// CanonicalLenient is Canonical for room versions 1 to 5, whose events "might
// not be fully compliant" with the number rules (appendix "Canonical JSON").
// Any RFC 8259 number is accepted. The number -0 is written 0, and a number
// written with an exponent whose value is an integer in the canonical range is
// written as that integer (both as in the specification's example
// {"a": -0, "b": 1e10} → {"a":0,"b":10000000000}). Every other number is kept
// exactly as written.
//
// It still rejects invalid JSON or UTF-8, lone surrogates, duplicate keys,
// trailing data, nesting deeper than MaxDepth and input larger than
// MaxInputSize, with the same *SyntaxError values as Canonical.
func CanonicalLenient(in []byte) ([]byte, error) {
	return canonicalize(in, false, make([]byte, 0, len(in)))
}

// AppendCanonical appends the canonical encoding of in to dst and returns the
// extended slice; strict selects Canonical's rules, otherwise
// CanonicalLenient's. On error dst is returned unextended together with the
// *SyntaxError (ErrTooLarge also if dst is already longer than 2 GiB).
func AppendCanonical(dst, in []byte, strict bool) ([]byte, error) {
	return canonicalize(in, strict, dst)
}

// Valid reports whether in is acceptable to Canonical (strict true) or
// CanonicalLenient (strict false), returning the same *SyntaxError they would.
func Valid(in []byte, strict bool) error {
	_, err := canonicalize(in, strict, make([]byte, 0, len(in)))
	return err
}

// MaxInputSize is the largest input accepted, 256 MiB. It keeps every offset
// (including into the output, which lenient number expansion can make up to
// four times the input, and an AppendCanonical destination of up to 2 GiB)
// within 32 bits; Matrix JSON is orders of magnitude smaller.
const MaxInputSize = 1 << 28

func canonicalize(in []byte, strict bool, dst []byte) ([]byte, error) {
	// NOTSPEC: the specification sets no size limit; see MaxInputSize.
	if len(in) > MaxInputSize || len(dst) > 1<<31 {
		return dst, &SyntaxError{Err: ErrTooLarge, Offset: min(len(in), MaxInputSize)}
	}
	p := parser{in: in, out: dst, strict: strict}
	p.skipSpace()
	if err := p.value(); err != nil {
		return dst, err
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return dst, p.fail(ErrTrailingData, p.pos, "")
	}
	return p.out, nil
}

// keySource says which buffer a decoded key lives in.
type keySource uint8

const (
	keyInInput keySource = iota // the key had no escapes: raw input bytes
	keyInOut                    // escapes decoded to plain text: canonical output
	keyInArena                  // the canonical key has escapes: decoded into parser.keys
)

// keyRef locates a decoded object key. Keys are referred to by offset, not by
// slice, so that the member stack holds no pointers: no write barriers while
// parsing and nothing for the garbage collector to scan.
type keyRef struct {
	src    keySource
	off, n uint32
}

// member is one object member already written to parser.out as `"key":value`
// (without the separating comma) at out[start:end].
type member struct {
	prefix     uint64 // first 8 bytes of the decoded key, big-endian, zero-padded
	key        keyRef
	start, end uint32
	inOffset   uint32 // offset of the key in the input, for errors
}

type parser struct {
	in      []byte
	pos     int
	out     []byte
	strict  bool
	depth   int
	members []member // stack shared by all open objects
	keys    []byte   // arena for decoded keys that needed unescaping
	scratch []byte   // reordering buffer
}

func (p *parser) fail(err error, off int, detail string) error {
	return &SyntaxError{Err: err, Offset: off, Detail: detail}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() error {
	if p.pos >= len(p.in) {
		return p.fail(ErrSyntax, p.pos, "unexpected end of input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		_, err := p.str()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return p.fail(ErrSyntax, p.pos, "unexpected character "+quoteByte(c))
	}
}

func (p *parser) literal(word string) error {
	if !bytes.HasPrefix(p.in[p.pos:], []byte(word)) {
		return p.fail(ErrSyntax, p.pos, "invalid literal")
	}
	p.out = append(p.out, word...)
	p.pos += len(word)
	return nil
}

func (p *parser) enter() error {
	p.depth++
	// NOTSPEC: the specification sets no nesting limit; see MaxDepth.
	if p.depth > MaxDepth {
		return p.fail(ErrTooDeep, p.pos, "")
	}
	return nil
}

func (p *parser) array() error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '['
	p.out = append(p.out, '[')
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.out = append(p.out, ']')
		p.depth--
		return nil
	}
	for {
		p.skipSpace()
		if err := p.value(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return p.fail(ErrSyntax, p.pos, "unterminated array")
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
			p.out = append(p.out, ',')
		case ']':
			p.pos++
			p.out = append(p.out, ']')
			p.depth--
			return nil
		default:
			return p.fail(ErrSyntax, p.pos, "expected ',' or ']' in array")
		}
	}
}

func (p *parser) object() error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '{'
	open := len(p.out)
	p.out = append(p.out, '{')
	base, keyMark := len(p.members), len(p.keys)
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.out = append(p.out, '}')
		p.depth--
		return nil
	}
	for {
		if len(p.members) > base {
			p.out = append(p.out, ',')
		}
		if err := p.member(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return p.fail(ErrSyntax, p.pos, "unterminated object")
		}
		if p.in[p.pos] == '}' {
			p.pos++
			break
		}
		if p.in[p.pos] != ',' {
			return p.fail(ErrSyntax, p.pos, "expected ',' or '}' in object")
		}
		p.pos++
	}
	if err := p.sortMembers(open, p.members[base:]); err != nil {
		return err
	}
	p.out = append(p.out, '}')
	p.members = p.members[:base]
	p.keys = p.keys[:keyMark]
	p.depth--
	return nil
}

// member parses one `key: value` object member, writes it to out and pushes
// it on the member stack.
func (p *parser) member() error {
	p.skipSpace()
	if p.pos >= len(p.in) || p.in[p.pos] != '"' {
		return p.fail(ErrSyntax, p.pos, "expected string key in object")
	}
	m := member{start: uint32(len(p.out)), inOffset: uint32(p.pos)}
	key, err := p.str()
	if err != nil {
		return err
	}
	m.key = key
	m.prefix = keyPrefix(p.keyBytes(key))
	p.skipSpace()
	if p.pos >= len(p.in) || p.in[p.pos] != ':' {
		return p.fail(ErrSyntax, p.pos, "expected ':' after object key")
	}
	p.pos++
	p.out = append(p.out, ':')
	p.skipSpace()
	if err := p.value(); err != nil {
		return err
	}
	m.end = uint32(len(p.out))
	p.pushMember(m)
	return nil
}

// pushMember appends to the member stack, doubling its capacity when full
// (append's gentler growth for large slices allocates several times more in
// total for objects with thousands of members).
func (p *parser) pushMember(m member) {
	if len(p.members) == cap(p.members) {
		grown := make([]member, len(p.members), max(32, 2*cap(p.members)))
		copy(grown, p.members)
		p.members = grown
	}
	p.members = append(p.members, m)
}

// sortMembers orders the members of the object opened at out[open] by key
// code point (byte order of the UTF-8 keys) and rejects duplicates.
//
// NOTSPEC: the specification does not mention duplicate keys (RFC 8259 says
// names SHOULD be unique). Canonical JSON encodes a value whose "dictionary
// keys [are] lexicographically sorted"; with duplicates there is no single
// value to encode (Python keeps the last, gomatrixserverlib emits both), so
// they are rejected rather than silently choosing one. Members
// already in order, the common case for canonical input, cost one comparison
// each and no copying.
func (p *parser) sortMembers(open int, ms []member) error {
	sorted := true
	for i := 1; i < len(ms); i++ {
		switch c := p.compareKeys(ms[i-1], ms[i]); {
		case c == 0:
			return p.dupError(ms[i-1], ms[i])
		case c > 0:
			sorted = false
		}
	}
	if sorted {
		return nil
	}
	slices.SortFunc(ms, p.compareKeys)
	for i := 1; i < len(ms); i++ {
		if p.compareKeys(ms[i-1], ms[i]) == 0 {
			return p.dupError(ms[i-1], ms[i])
		}
	}
	body := open + 1
	p.scratch = append(p.scratch[:0], p.out[body:]...)
	p.out = p.out[:body]
	for i, m := range ms {
		if i > 0 {
			p.out = append(p.out, ',')
		}
		p.out = append(p.out, p.scratch[int(m.start)-body:int(m.end)-body]...)
	}
	return nil
}

// compareKeys orders members by decoded key, comparing the 8-byte prefixes
// first.
func (p *parser) compareKeys(a, b member) int {
	switch {
	case a.prefix < b.prefix:
		return -1
	case a.prefix > b.prefix:
		return 1
	}
	return bytes.Compare(p.keyBytes(a.key), p.keyBytes(b.key))
}

// keyPrefix packs the first 8 bytes of k big-endian, so that comparing
// prefixes as integers agrees with comparing the bytes (ties are resolved by
// a full comparison).
func keyPrefix(k []byte) uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v <<= 8
		if i < len(k) {
			v |= uint64(k[i])
		}
	}
	return v
}

// keyBytes returns the decoded bytes of a key.
func (p *parser) keyBytes(k keyRef) []byte {
	switch k.src {
	case keyInInput:
		return p.in[k.off : k.off+k.n]
	case keyInOut:
		return p.out[k.off : k.off+k.n]
	default:
		return p.keys[k.off : k.off+k.n]
	}
}

func (p *parser) dupError(a, b member) error {
	return p.fail(ErrDuplicateKey, int(max(a.inOffset, b.inOffset)), "key "+quoteString(p.keyBytes(b.key)))
}

// str parses the string starting at in[pos] (a '"'), appends its canonical
// encoding to out and returns where its decoded bytes are. They stay valid
// until the enclosing object finishes.
func (p *parser) str() (keyRef, error) {
	start := p.pos
	p.pos++ // opening quote
	outStart := len(p.out)
	p.out = append(p.out, '"')
	escaped := false // input had an escape sequence
	in := p.in
	i := p.pos
	run := i // start of the pending run of bytes to copy unchanged
	for {
		i = skipPlain(in, i)
		if i >= len(in) {
			return keyRef{}, p.fail(ErrSyntax, start, "unterminated string")
		}
		c := in[i]
		switch {
		case c >= 0x20 && c < 0x80 && c != '"' && c != '\\':
			i++
		case c == '"':
			p.out = append(p.out, in[run:i]...)
			p.out = append(p.out, '"')
			p.pos = i + 1
			if !escaped {
				return keyRef{src: keyInInput, off: uint32(start + 1), n: uint32(i - start - 1)}, nil
			}
			return p.decodedKey(outStart+1, len(p.out)-1), nil
		case c == '\\':
			p.out = append(p.out, in[run:i]...)
			n, err := p.escape(i)
			if err != nil {
				return keyRef{}, err
			}
			escaped = true
			i += n
			run = i
		case c < 0x20:
			return keyRef{}, p.fail(ErrSyntax, i, "unescaped control character in string")
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				return keyRef{}, p.fail(ErrInvalidUTF8, i, "")
			}
			i += size
		}
	}
}

// skipPlain returns the index of the first byte at or after i that is not
// printable ASCII other than '"' and '\\', examining eight bytes at a time.
// It may stop early at a plain byte; callers handle any byte.
func skipPlain(in []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(in); i += 8 {
		w := binary.LittleEndian.Uint64(in[i:])
		ctrl := (w - ones*0x20) & ^w & highs // a byte < 0x20 (or a borrow)
		q := w ^ (ones * '"')
		quote := (q - ones) & ^q & highs // a '"' byte (or a borrow)
		b := w ^ (ones * '\\')
		backslash := (b - ones) & ^b & highs // a '\\' byte (or a borrow)
		if (ctrl | quote | backslash | w&highs) != 0 {
			break
		}
	}
	return i
}

// decodedKey locates the decoded form of the canonical string body
// out[from:to]. Only '"', '\\' and control characters are escaped in
// canonical strings, so the body itself is the decoded key unless it contains
// a backslash; otherwise the key is decoded into the arena.
func (p *parser) decodedKey(from, to int) keyRef {
	body := p.out[from:to]
	if bytes.IndexByte(body, '\\') < 0 {
		return keyRef{src: keyInOut, off: uint32(from), n: uint32(to - from)}
	}
	mark := len(p.keys)
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			p.keys = append(p.keys, c)
			continue
		}
		i++
		switch body[i] {
		case 'b':
			p.keys = append(p.keys, '\b')
		case 't':
			p.keys = append(p.keys, '\t')
		case 'n':
			p.keys = append(p.keys, '\n')
		case 'f':
			p.keys = append(p.keys, '\f')
		case 'r':
			p.keys = append(p.keys, '\r')
		case 'u': // \u00XX, a control character
			p.keys = append(p.keys, hexVal(body[i+3])<<4|hexVal(body[i+4]))
			i += 4
		default: // '"' or '\\'
			p.keys = append(p.keys, body[i])
		}
	}
	return keyRef{src: keyInArena, off: uint32(mark), n: uint32(len(p.keys) - mark)}
}

const hexDigits = "0123456789abcdef"

// escape decodes the escape sequence at in[i] (a backslash), appends its
// canonical encoding to out and returns the number of input bytes consumed.
func (p *parser) escape(i int) (int, error) {
	in := p.in
	if i+1 >= len(in) {
		return 0, p.fail(ErrSyntax, i, "unterminated escape")
	}
	switch c := in[i+1]; c {
	case '"', '\\':
		p.out = append(p.out, '\\', c)
	case '/':
		p.out = append(p.out, '/')
	case 'b', 'f', 'n', 'r', 't':
		p.out = append(p.out, '\\', c)
	case 'u':
		r, ok := hex4(in, i+2)
		if !ok {
			return 0, p.fail(ErrSyntax, i, "invalid \\u escape")
		}
		n := 6
		if utf16.IsSurrogate(r) {
			if r >= 0xdc00 {
				return 0, p.fail(ErrLoneSurrogate, i, "low surrogate without high surrogate")
			}
			var r2 rune
			if i+7 < len(in) && in[i+6] == '\\' && in[i+7] == 'u' {
				r2, ok = hex4(in, i+8)
				if !ok {
					return 0, p.fail(ErrSyntax, i+6, "invalid \\u escape")
				}
			}
			if r2 < 0xdc00 || r2 > 0xdfff {
				return 0, p.fail(ErrLoneSurrogate, i, "high surrogate without low surrogate")
			}
			r = utf16.DecodeRune(r, r2)
			n = 12
		}
		p.appendRune(r)
		return n, nil
	default:
		return 0, p.fail(ErrSyntax, i, "invalid escape character "+quoteByte(c))
	}
	return 2, nil
}

// appendRune appends the canonical encoding of r inside a string.
func (p *parser) appendRune(r rune) {
	switch {
	case r == '"' || r == '\\':
		p.out = append(p.out, '\\', byte(r))
	case r >= 0x20:
		p.out = utf8.AppendRune(p.out, r)
	case r == '\b':
		p.out = append(p.out, '\\', 'b')
	case r == '\t':
		p.out = append(p.out, '\\', 't')
	case r == '\n':
		p.out = append(p.out, '\\', 'n')
	case r == '\f':
		p.out = append(p.out, '\\', 'f')
	case r == '\r':
		p.out = append(p.out, '\\', 'r')
	default:
		p.out = append(p.out, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	}
}

// hex4 decodes four hexadecimal digits at in[i:i+4].
func hex4(in []byte, i int) (rune, bool) {
	if i+4 > len(in) {
		return 0, false
	}
	var r rune
	for _, c := range in[i : i+4] {
		v := hexVal(c)
		if v == 0xff {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// hexVal returns the value of hexadecimal digit c, or 0xff if c is not one.
func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

func quoteByte(c byte) string {
	return strconv.QuoteRune(rune(c))
}

// quoteString renders b for an error message, truncated to keep messages short.
func quoteString(b []byte) string {
	const limit = 64
	if len(b) > limit {
		b = b[:limit]
	}
	return strconv.Quote(string(b))
}
