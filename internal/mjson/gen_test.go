package mjson

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// shapes records which inputs a generated document contains that
// gomatrixserverlib is known to handle against the specification (see
// differential_test.go). Each field names one shape.
type shapes struct {
	dupKey        bool // two keys of one object equal after unescaping
	escapedKey    bool // a key whose text needs escaping ('"', '\\', control)
	loneSurrogate bool // a \u escape of an unpaired surrogate
	invalidUTF8   bool // raw bytes that are not UTF-8
	negZeroFrac   bool // a number "-0" followed by a fraction or exponent
	expInteger    bool // an exponent number whose value is a safe integer
	zeroOrEFloat  bool // a fraction/exponent number gmsl's strict check misses
	float         bool // any number with fraction or exponent
	negZero       bool // the number -0
	bigInt        bool // an integer outside the canonical range
}

// gen writes random JSON documents exercising canonicalization: random
// whitespace, key orders, escapes of every kind, non-ASCII and astral code
// points, numbers at the edges of the canonical range, and (when enabled)
// shapes that must be rejected.
type gen struct {
	r        *rand.Rand
	b        strings.Builder
	s        shapes
	maxDepth int
	// Probabilities (per mille) of deliberately odd content.
	pDup, pOddKey, pSurrogate, pBadUTF8, pFloat, pBig int
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxDepth: 5}
}

func (g *gen) chance(perMille int) bool { return g.r.IntN(1000) < perMille }

// doc returns a new document and the shapes it contains.
func (g *gen) doc() (string, shapes) {
	g.b.Reset()
	g.s = shapes{}
	g.ws()
	if g.r.IntN(10) == 0 {
		g.value(g.maxDepth)
	} else {
		g.object(g.maxDepth)
	}
	g.ws()
	return g.b.String(), g.s
}

func (g *gen) ws() {
	if g.r.IntN(3) != 0 {
		return
	}
	for n := g.r.IntN(3); n >= 0; n-- {
		g.b.WriteByte(" \t\n\r"[g.r.IntN(4)])
	}
}

func (g *gen) value(depth int) {
	k := g.r.IntN(10)
	if depth <= 0 && k < 4 {
		k += 4
	}
	switch k {
	case 0, 1:
		g.object(depth - 1)
	case 2, 3:
		g.array(depth - 1)
	case 4, 5, 6:
		g.str()
	case 7, 8:
		g.number()
	default:
		g.b.WriteString([]string{"true", "false", "null"}[g.r.IntN(3)])
	}
}

func (g *gen) object(depth int) {
	g.b.WriteByte('{')
	n := g.r.IntN(7)
	var keys []string
	for i := 0; i < n; i++ {
		if i > 0 {
			g.b.WriteByte(',')
		}
		g.ws()
		if len(keys) > 0 && g.chance(g.pDup) {
			// Repeat a key, possibly spelled differently.
			k := keys[g.r.IntN(len(keys))]
			g.writeString(k)
			g.s.dupKey = true
		} else {
			k := g.freshKey(keys)
			g.writeString(k)
			keys = append(keys, k)
		}
		g.ws()
		g.b.WriteByte(':')
		g.ws()
		g.value(depth)
		g.ws()
	}
	if n == 0 {
		g.ws()
	}
	g.b.WriteByte('}')
}

func (g *gen) array(depth int) {
	g.b.WriteByte('[')
	n := g.r.IntN(5)
	for i := 0; i < n; i++ {
		if i > 0 {
			g.b.WriteByte(',')
		}
		g.ws()
		g.value(depth)
		g.ws()
	}
	g.b.WriteByte(']')
}

// keyPool holds realistic and tricky keys; many are prefixes of each other
// or differ only above ASCII, to exercise ordering.
var keyPool = []string{
	"a", "b", "aa", "ab", "A", "Z", "_", "~", "type", "content", "state_key", "m.relates_to",
	"body", "é", "e\u0301", "日", "本", "😀", "𝄞", "\uffff", "\ufffd", "\u00ff", "\u0100",
	"\u007f", "z", "zz", "0", "9", "", " ",
}

// oddKeys need escaping in canonical form.
var oddKeys = []string{"\"", "\\", "\n", "\x00", "\x1f", "a\"b", "\\u0041", "\t"}

// freshKey picks a key not in used.
func (g *gen) freshKey(used []string) string {
	for {
		var k string
		if g.chance(g.pOddKey) {
			k = oddKeys[g.r.IntN(len(oddKeys))]
			g.s.escapedKey = true
		} else {
			k = keyPool[g.r.IntN(len(keyPool))]
			if g.r.IntN(4) == 0 {
				k += strings.Map(func(r rune) rune {
					if r < 0x20 || r == '"' || r == '\\' {
						return 'x'
					}
					return r
				}, g.randomText())
			}
		}
		if !slices.Contains(used, k) {
			return k
		}
	}
}

// str writes a random string value with random spelling.
func (g *gen) str() {
	g.writeString(g.randomText())
}

func (g *gen) randomText() string {
	var sb strings.Builder
	n := g.r.IntN(12)
	for i := 0; i < n; i++ {
		switch g.r.IntN(10) {
		case 0:
			sb.WriteRune(rune(g.r.IntN(0x20))) // control
		case 1:
			sb.WriteByte(`"\/<>&`[g.r.IntN(6)])
		case 2:
			sb.WriteRune(rune(0x80 + g.r.IntN(0x780))) // 2-byte UTF-8
		case 3:
			r := rune(0x800 + g.r.IntN(0xf800))
			if utf16.IsSurrogate(r) {
				r = 0x2028
			}
			sb.WriteRune(r) // 3-byte UTF-8
		case 4:
			sb.WriteRune(rune(0x10000 + g.r.IntN(0x100000))) // astral
		case 5:
			sb.WriteRune([]rune{0x7f, 0x2028, 0x2029, 0xfeff, 0xfffe, 0x10ffff}[g.r.IntN(6)])
		default:
			sb.WriteByte(byte(0x20 + g.r.IntN(0x5f)))
		}
	}
	return sb.String()
}

// writeString writes v as a JSON string, choosing a random valid spelling
// for each code point; it may also inject a lone surrogate or invalid UTF-8.
func (g *gen) writeString(v string) {
	g.b.WriteByte('"')
	for _, r := range v {
		g.writeRune(r)
	}
	if g.chance(g.pSurrogate) {
		g.s.loneSurrogate = true
		switch g.r.IntN(3) {
		case 0:
			fmt.Fprintf(&g.b, `\u%04x`, 0xd800+g.r.IntN(0x400))
		case 1:
			fmt.Fprintf(&g.b, `\u%04X`, 0xdc00+g.r.IntN(0x400))
		default:
			fmt.Fprintf(&g.b, `\u%04x\u%04x`, 0xd800+g.r.IntN(0x400), 0x20+g.r.IntN(0xd000))
		}
	}
	if g.chance(g.pBadUTF8) {
		g.s.invalidUTF8 = true
		g.b.WriteString([]string{"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe6\x97", "\x80", "\xf4\x90\x80\x80"}[g.r.IntN(6)])
	}
	g.b.WriteByte('"')
}

func (g *gen) writeRune(r rune) {
	escape := g.r.IntN(4) == 0
	switch {
	case r == '"' || r == '\\':
		if escape {
			g.uEscape(r)
		} else {
			g.b.WriteByte('\\')
			g.b.WriteRune(r)
		}
	case r < 0x20:
		short := map[rune]byte{'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}[r]
		if short != 0 && !escape {
			g.b.WriteByte('\\')
			g.b.WriteByte(short)
		} else {
			g.uEscape(r)
		}
	case r == '/' && escape:
		g.b.WriteString(`\/`)
	case escape:
		g.uEscape(r)
	default:
		g.b.WriteRune(r)
	}
}

// uEscape writes r as \u escapes (a surrogate pair above the BMP), in random
// hexadecimal letter case.
func (g *gen) uEscape(r rune) {
	format := `\u%04x`
	if g.r.IntN(2) == 0 {
		format = `\u%04X`
	}
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		fmt.Fprintf(&g.b, format+format, hi, lo)
		return
	}
	fmt.Fprintf(&g.b, format, r)
}

func (g *gen) number() {
	if g.chance(g.pFloat) {
		g.float()
		return
	}
	if g.chance(g.pBig) {
		g.s.bigInt = true
		g.b.WriteString([]string{"9007199254740992", "-9007199254740992", "9007199254740993",
			"18446744073709551616", "-99999999999999999999999", "10000000000000000"}[g.r.IntN(6)])
		return
	}
	switch g.r.IntN(6) {
	case 0:
		// At the edge of the range.
		v := int64(MaxSafeInteger) - g.r.Int64N(3)
		if g.r.IntN(2) == 0 {
			v = -v
		}
		g.b.WriteString(strconv.FormatInt(v, 10))
	case 1:
		g.b.WriteString("0")
	case 2:
		g.b.WriteString(strconv.FormatInt(g.r.Int64N(MaxSafeInteger)-MaxSafeInteger/2, 10))
	default:
		g.b.WriteString(strconv.Itoa(g.r.IntN(2000) - 1000))
	}
}

// float writes a number with a fraction or exponent, or -0, and records the
// shapes involved.
func (g *gen) float() {
	forms := []string{"1.5", "-2.25", "0.0", "-0.0", "-0", "-0.5", "1e10", "1E10", "1e+2", "2.5e1", "1e-5",
		"0e0", "-0e5", "1.0", "100.0", "9.007199254740991e15", "9.007199254740992e15", "1e16", "1e400",
		"-1E-400", "3.14159", "12E0", "-7e0", "0.000001e6"}
	f := forms[g.r.IntN(len(forms))]
	g.b.WriteString(f)
	if f == "-0" {
		g.s.negZero = true
		return
	}
	g.s.float = true
	hasE := strings.ContainsAny(f, "eE")
	if strings.HasPrefix(f, "-0") {
		g.s.negZeroFrac = true
	}
	if hasE {
		if _, ok := exponentIntegerText(f); ok {
			g.s.expInteger = true
		}
	}
	v, _ := strconv.ParseFloat(f, 64)
	if v == 0 || (strings.Contains(f, "E") && !strings.Contains(f, ".")) {
		g.s.zeroOrEFloat = true
	}
}

// exponentIntegerText is an independent (big-number based) check of whether
// the number text has an integer value within the canonical range.
func exponentIntegerText(f string) (int64, bool) {
	q, ok := new(big.Rat).SetString(f)
	if !ok || !q.IsInt() {
		return 0, false
	}
	i := q.Num()
	if !i.IsInt64() {
		return 0, false
	}
	v := i.Int64()
	return v, v <= MaxSafeInteger && v >= -MaxSafeInteger
}
