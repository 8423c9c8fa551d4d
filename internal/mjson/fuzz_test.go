package mjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func FuzzCanonical(f *testing.F) {
	for _, tc := range specExamples {
		f.Add([]byte(tc.in))
	}
	for _, s := range []string{
		`"\ud83d\ude00\u0000\u001f\/\"\\"`, `{"b":{"d":[1,-0,1e10,1.5E-3]},"a":null}`, `[9007199254740991,-9007199254740992]`,
		`{"a":1,"\u0061":2}`, "\"\xed\xa0\x80\"", `"\ud800\u0041"`, `{"\"":1,"#":2," ":3}`, `[[[[[[[[]]]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	g := newGen(3)
	for i := 0; i < 16; i++ {
		setOddness(g, i)
		doc, _ := g.doc()
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, strict := range []bool{true, false} {
			out, err := AppendCanonical(nil, in, strict)
			checkFuzzResult(t, in, out, err, strict)
			if verr := Valid(in, strict); (verr == nil) != (err == nil) {
				t.Fatalf("Valid disagrees with Canonical on %q: %v vs %v", in, verr, err)
			}
		}
		strictOut, serr := Canonical(in)
		lenientOut, lerr := CanonicalLenient(in)
		if serr == nil && (lerr != nil || !bytes.Equal(strictOut, lenientOut)) {
			t.Fatalf("strict accepts %q as %q but lenient gives %q, %v", in, strictOut, lenientOut, lerr)
		}
	})
}

func checkFuzzResult(t *testing.T, in, out []byte, err error, strict bool) {
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) {
			t.Fatalf("bad error for %q: %#v", in, err)
		}
		if (errors.Is(err, ErrSyntax) || errors.Is(err, ErrTrailingData)) && json.Valid(in) {
			t.Fatalf("syntax error %v for %q, which encoding/json accepts", err, in)
		}
		return
	}
	if !json.Valid(in) {
		t.Fatalf("accepted %q, which encoding/json rejects", in)
	}
	if !json.Valid(out) {
		t.Fatalf("output %q of %q is not valid JSON", out, in)
	}
	again, err := AppendCanonical(nil, out, strict)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("output not canonical: %q → %q → %q, %v", in, out, again, err)
	}
	a, b := decodeNumbers(t, in), decodeNumbers(t, out)
	if !sameJSON(a, b) {
		t.Fatalf("output %q differs in meaning from input %q", out, in)
	}
}

func decodeNumbers(t *testing.T, b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// sameJSON compares decoded JSON values, numbers by exact value.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		return x == y || numberValue(x).Cmp(numberValue(y)) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}

// numberValue returns the exact value of a JSON number. Exponents beyond ±2000
// are clamped (with the mantissa kept non-zero) so that hostile inputs such as
// 1e999999999 cannot exhaust memory; such values never equal a number the
// canonicalizer writes, except zero, which is handled exactly.
func numberValue(n json.Number) *big.Rat {
	s := string(n)
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if strings.Trim(mant, "-0.") == "" {
		return new(big.Rat)
	}
	if hasExp {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 2000 || e < -2000 {
			e = 2000
			if strings.HasPrefix(exp, "-") {
				e = -2000
			}
		}
		s = mant + "e" + strconv.Itoa(e)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("unparsable number " + s)
	}
	return r
}
