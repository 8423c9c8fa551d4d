package signing

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// xmGen writes X-Matrix headers for known values in randomly chosen but
// RFC 9110-valid spellings, so that the parse result can be checked against
// the values (gomatrixserverlib's parser lives in its fclient package, whose
// extra module dependencies are not in our go.mod, so it cannot serve as an
// oracle here).
type xmGen struct{ r *rand.Rand }

func (g xmGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g xmGen) ows() string {
	if g.r.IntN(3) != 0 {
		return ""
	}
	return g.pick(" ", "\t", "  ", " \t ")
}

// value returns a random parameter value: mostly realistic, sometimes with
// characters that need quoting or escaping.
func (g xmGen) value(kind string) string {
	switch kind {
	case "origin", "destination":
		v := g.pick("example.org", "matrix.org", "hs.example.com:8448", "[::1]:8448", "1.2.3.4", "localhost:8080", "ünïcode.example")
		if g.r.IntN(10) == 0 {
			v += g.pick(`"q"`, `back\slash`, " space", "\ttab", ",comma", "=eq", "\x80\xff")
		}
		return v
	case "key":
		return "ed25519:" + g.pick("1", "a_AbC1", "auto", "key1")
	default:
		b := make([]byte, 64)
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		if g.r.IntN(4) == 0 {
			return EncodeBase64URL(b)
		}
		return EncodeBase64(b)
	}
}

// spell writes a parameter value as a token when allowed (randomly) or as a
// quoted-string with the required and some optional escapes.
func (g xmGen) spell(v string) string {
	if tokenLen(v, true) == len(v) && v != "" && g.r.IntN(2) == 0 {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '\\' || g.r.IntN(20) == 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

func (g xmGen) name(n string) string {
	switch g.r.IntN(4) {
	case 0:
		return strings.ToUpper(n)
	case 1:
		return strings.ToUpper(n[:1]) + n[1:]
	}
	return n
}

// header returns a random header for x and whether it must be rejected
// (a duplicated parameter or a missing required one).
func (g xmGen) header(x XMatrix) (string, bool) {
	type param struct{ name, value string }
	ps := []param{{"origin", x.Origin}, {"key", string(x.KeyID)}, {"sig", x.Signature}}
	if x.Destination != "" {
		ps = append(ps, param{"destination", x.Destination})
	}
	bad := false
	switch g.r.IntN(20) {
	case 0:
		ps = append(ps, ps[g.r.IntN(len(ps))]) // duplicate
		bad = true
	case 1:
		i := g.r.IntN(3) // drop a required one
		ps = append(ps[:i], ps[i+1:]...)
		bad = true
	}
	for n := g.r.IntN(3); n > 0; n-- {
		ps = append(ps, param{g.pick("foo", "Signature", "algo", "x-extra"), g.pick(`a,b="c"`, "tok", `\`, "")})
	}
	g.r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	var b strings.Builder
	b.WriteString(g.pick("X-Matrix", "x-matrix", "X-MATRIX", "X-matrix"))
	b.WriteString(g.pick(" ", " ", "  "))
	for i, p := range ps {
		if i > 0 {
			b.WriteString(g.ows() + "," + g.ows())
			if g.r.IntN(10) == 0 {
				b.WriteString("," + g.ows()) // empty list element
			}
		}
		b.WriteString(g.name(p.name) + g.ows() + "=" + g.ows())
		if p.value == "" {
			b.WriteString(`""`)
		} else {
			b.WriteString(g.spell(p.value))
		}
	}
	return b.String(), bad
}

func TestXMatrixGenerated(t *testing.T) {
	g := xmGen{rand.New(rand.NewPCG(5, 5))}
	const n = 3000
	rejected := 0
	for i := 0; i < n; i++ {
		x := XMatrix{Origin: g.value("origin"), KeyID: KeyID(g.value("key")), Signature: g.value("sig")}
		if g.r.IntN(5) != 0 {
			x.Destination = g.value("destination")
		}
		h, bad := g.header(x)
		got, err := ParseXMatrix(h)
		switch {
		case bad:
			rejected++
			if !errors.Is(err, ErrInvalidXMatrix) {
				t.Errorf("ParseXMatrix(%q) = %+v, %v; want ErrInvalidXMatrix", h, got, err)
			}
		case err != nil:
			t.Errorf("ParseXMatrix(%q): %v", h, err)
		case got != x:
			t.Errorf("ParseXMatrix(%q) = %+v, want %+v", h, got, x)
		}
	}
	t.Logf("property: %d generated headers (%d invalid) parsed to their generating values", n, rejected)
}
