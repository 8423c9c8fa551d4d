package signing

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
)

// objGen writes random JSON objects in non-canonical form (random key order
// and whitespace, \u escapes), optionally with existing signatures and an
// unsigned section.
type objGen struct {
	r *rand.Rand
	b strings.Builder
}

func newObjGen(seed uint64) *objGen {
	return &objGen{r: rand.New(rand.NewPCG(seed, seed+1))}
}

var objKeys = []string{"a", "b", "type", "content", "body", "room_id", "sender", "depth", "é", "日本", "😀", "m.relates_to", "Z", "_x", "url", "n"}

func (g *objGen) ws() {
	if g.r.IntN(3) == 0 {
		g.b.WriteString([]string{" ", "\n  ", "\t", "\r\n"}[g.r.IntN(4)])
	}
}

func (g *objGen) str(s string) {
	g.b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			g.b.WriteByte('\\')
			g.b.WriteRune(r)
		case r < 0x20 || g.r.IntN(8) == 0:
			if r >= 0x10000 {
				fmt.Fprintf(&g.b, `\u%04x\u%04x`, 0xd800+((r-0x10000)>>10), 0xdc00+((r-0x10000)&0x3ff))
			} else {
				fmt.Fprintf(&g.b, `\u%04X`, r)
			}
		default:
			g.b.WriteRune(r)
		}
	}
	g.b.WriteByte('"')
}

func (g *objGen) text() string {
	runes := []rune("abcXYZ 019<>&\"\\/\n\té日本😀🎉ñ")
	var sb strings.Builder
	for n := g.r.IntN(10); n > 0; n-- {
		sb.WriteRune(runes[g.r.IntN(len(runes))])
	}
	return sb.String()
}

func (g *objGen) value(depth int) {
	switch k := g.r.IntN(8); {
	case k == 0 && depth > 0:
		g.object(depth-1, nil)
	case k == 1 && depth > 0:
		g.b.WriteByte('[')
		for i, n := 0, g.r.IntN(4); i < n; i++ {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.ws()
			g.value(depth - 1)
		}
		g.b.WriteByte(']')
	case k == 2:
		g.b.WriteString(strconv.FormatInt(g.r.Int64N(1<<54)-(1<<53)+1, 10))
	case k == 3:
		g.b.WriteString([]string{"true", "false", "null", "0", "-1"}[g.r.IntN(5)])
	default:
		g.str(g.text())
	}
}

// object writes an object with random members; extra members (raw JSON
// values by name) are mixed in.
func (g *objGen) object(depth int, extra map[string]string) {
	type member struct{ k, raw string }
	var ms []member
	used := map[string]bool{}
	for n := g.r.IntN(6); n > 0; n-- {
		k := objKeys[g.r.IntN(len(objKeys))]
		if used[k] || extra[k] != "" {
			continue
		}
		used[k] = true
		ms = append(ms, member{k: k})
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) { // deterministic test data
		ms = append(ms, member{k, extra[k]})
	}
	g.r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	g.b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			g.b.WriteByte(',')
		}
		g.ws()
		g.str(m.k)
		g.ws()
		g.b.WriteByte(':')
		g.ws()
		if m.raw != "" {
			g.b.WriteString(m.raw)
		} else {
			g.value(depth)
		}
	}
	g.ws()
	g.b.WriteByte('}')
}

// signable returns a random object to sign as server with key keyID:
// sometimes with signatures by other servers, by other keys of server, or an
// old signature by the same key, and sometimes with an unsigned section.
func (g *objGen) signable(server string, keyID KeyID) []byte {
	g.b.Reset()
	extra := map[string]string{}
	if g.r.IntN(2) == 0 {
		sigs := map[string]map[string]string{}
		for n := g.r.IntN(3); n > 0; n-- {
			srv := []string{"other.example", server, "third.example:8448"}[g.r.IntN(3)]
			kid := []string{"ed25519:a", "ed25519:b_2", string(keyID)}[g.r.IntN(3)]
			if sigs[srv] == nil {
				sigs[srv] = map[string]string{}
			}
			sig := make([]byte, 64)
			for i := range sig {
				sig[i] = byte(g.r.IntN(256))
			}
			sigs[srv][kid] = EncodeBase64(sig)
		}
		var sb strings.Builder
		sb.WriteByte('{')
		first := true
		for _, srv := range slices.Sorted(maps.Keys(sigs)) {
			keys := sigs[srv]
			if !first {
				sb.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&sb, "%q:{", srv)
			kf := true
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				v := keys[k]
				if !kf {
					sb.WriteByte(',')
				}
				kf = false
				fmt.Fprintf(&sb, "%q: %q", k, v)
			}
			sb.WriteByte('}')
		}
		sb.WriteByte('}')
		extra["signatures"] = sb.String()
	}
	if g.r.IntN(3) == 0 {
		extra["unsigned"] = []string{`{"age_ts": 1000}`, `{"age":5,"transaction_id":"x"}`, `null`, `{}`}[g.r.IntN(4)]
	}
	g.object(3, extra)
	return []byte(g.b.String())
}

// Known oracle deviation for signatures: the specification asks decoders to
// accept base64 "with or without padding characters" (appendix "Unpadded
// Base64"); gmsl rejects padded signatures. Cases whose signature we pad are
// excluded from the verification comparison and counted; TestPaddedSignature
// pins our behaviour.
func TestDifferentialSignVerify(t *testing.T) {
	const n = 1000
	g := newObjGen(11)
	cases, disagreements, deviations := 0, 0, 0
	for i := 0; i < n; i++ {
		seed := make([]byte, 32)
		for j := range seed {
			seed[j] = byte(g.r.IntN(256))
		}
		key, err := KeyFromSeed([]string{"1", "a_AbC1", "auto"}[g.r.IntN(3)], seed)
		if err != nil {
			t.Fatal(err)
		}
		server := []string{"domain", "example.org", "[::1]:8448", "ünïcode.example"}[g.r.IntN(4)]
		obj := g.signable(server, key.ID)

		ours, oerr := SignJSON(obj, server, key)
		theirs, terr := gmsl.SignJSON(server, gmsl.KeyID(key.ID), key.Private, obj)
		cases++
		if oerr != nil || terr != nil || !bytes.Equal(ours, theirs) {
			disagreements++
			t.Errorf("SignJSON disagreement on %s:\n ours: %s, %v\n gmsl: %s, %v", obj, ours, oerr, theirs, terr)
			continue
		}

		// Verification of the signed object and of variations of it.
		for v, variant := range verifyVariants(g, ours, server, key) {
			if variant.padded {
				deviations++
				continue
			}
			cases++
			oerr := VerifyJSON(variant.obj, server, variant.keyID, variant.pub)
			terr := gmsl.VerifyJSON(server, gmsl.KeyID(variant.keyID), variant.pub, variant.obj)
			if (oerr == nil) != (terr == nil) || (oerr == nil) != variant.valid {
				disagreements++
				t.Errorf("VerifyJSON variant %d (%s) of %s: ours %v, gmsl %v, expected valid=%v", v, variant.name, variant.obj, oerr, terr, variant.valid)
			}
		}
	}
	t.Logf("differential: %d cases, %d disagreements", cases, disagreements)
	t.Logf("known oracle deviations: %d", deviations)
}

type verifyVariant struct {
	name   string
	obj    []byte
	keyID  KeyID
	pub    ed25519.PublicKey
	valid  bool
	padded bool
}

func verifyVariants(g *objGen, signed []byte, server string, key Key) []verifyVariant {
	pub := key.Public()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	sig := signatureOf(signed, server, key.ID)
	vs := []verifyVariant{
		{name: "as signed", obj: signed, keyID: key.ID, pub: pub, valid: true},
		{name: "wrong key", obj: signed, keyID: key.ID, pub: other},
		{name: "unknown key ID", obj: signed, keyID: "ed25519:zzz", pub: pub},
		{name: "other server", obj: signed, keyID: key.ID, pub: pub},
	}
	vs[3].obj = bytes.Replace(signed, []byte(`"signatures":{`), []byte(`"signatures":{"nobody":{},`), 1)
	vs[3].valid = true
	// Re-serialized differently (whitespace) still verifies.
	vs = append(vs, verifyVariant{name: "reformatted", obj: bytes.ReplaceAll(signed, []byte(`,"`), []byte(",\n \"")), keyID: key.ID, pub: pub, valid: true})
	// unsigned is not covered.
	if bytes.Contains(signed, []byte(`"unsigned":`)) {
		vs = append(vs, verifyVariant{name: "unsigned changed", obj: replaceUnsigned(signed), keyID: key.ID, pub: pub, valid: true})
	}
	// Any change to a covered member breaks the signature.
	tampered := bytes.Replace(signed, []byte(`{`), []byte(`{"tampered":true,`), 1)
	vs = append(vs, verifyVariant{name: "member added", obj: tampered, keyID: key.ID, pub: pub})
	// A corrupted signature.
	bad := []byte(sig)
	bad[g.r.IntN(len(bad)-2)] ^= 0x01
	vs = append(vs, verifyVariant{name: "signature corrupted", obj: bytes.Replace(signed, []byte(sig), bad, 1), keyID: key.ID, pub: pub})
	// A truncated signature.
	vs = append(vs, verifyVariant{name: "signature truncated", obj: bytes.Replace(signed, []byte(sig), []byte(sig[:40]), 1), keyID: key.ID, pub: pub})
	// The same signature padded: valid by the specification.
	vs = append(vs, verifyVariant{name: "padded", obj: bytes.Replace(signed, []byte(sig), []byte(sig+"=="), 1), keyID: key.ID, pub: pub, valid: true, padded: true})
	// URL-safe alphabet: valid for both.
	url := strings.NewReplacer("+", "-", "/", "_").Replace(sig)
	vs = append(vs, verifyVariant{name: "url-safe", obj: bytes.Replace(signed, []byte(sig), []byte(url), 1), keyID: key.ID, pub: pub, valid: true})
	return vs
}

// replaceUnsigned replaces the value of the top-level "unsigned" member.
func replaceUnsigned(signed []byte) []byte {
	o, err := splitObject(signed)
	if err != nil {
		panic(err)
	}
	out := []byte(`{"unsigned":{"changed":true}`)
	out = appendOthers(out, o, "unsigned")
	return append(out, '}')
}

func signatureOf(signed []byte, server string, keyID KeyID) string {
	o, err := parseObject(signed, false)
	if err != nil {
		panic(err)
	}
	s, err := findSignature(o, server, keyID)
	if err != nil {
		panic(err)
	}
	return s
}
