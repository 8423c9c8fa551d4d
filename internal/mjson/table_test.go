package mjson

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalAccepts(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"scalar true", ` true `, `true`},
		{"scalar null", `null`, `null`},
		{"string", `"x"`, `"x"`},
		{"empty array", `[ ]`, `[]`},
		{"nested", `{"b":[1, {"d":1,"c":2}],"a":{}}`, `{"a":{},"b":[1,{"c":2,"d":1}]}`},
		{"max int", `9007199254740991`, `9007199254740991`},
		{"min int", `-9007199254740991`, `-9007199254740991`},
		{"zero", `0`, `0`},
		{"short escapes kept", `"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{"solidus unescaped", `"\/"`, `"/"`},
		{"u escapes of short escapes", `"\u0008\u000C\u000a\u000D\u0009\u0022\u005C"`, `"\b\f\n\r\t\"\\"`},
		{"other controls lowercase hex", `"\u0000\u001F\u000B\u001b"`, `"\u0000\u001f\u000b\u001b"`},
		{"ascii escape decoded", `"\u0041\u003c\u003E\u0026"`, `"A<>&"`},
		{"del raw", `"\u007f"`, "\"\x7f\""},
		{"bmp decoded", `"\u00e9\u2028"`, "\"é\u2028\""},
		{"astral pair", `"\ud83d\ude00"`, `"😀"`},
		{"astral raw", `"😀"`, `"😀"`},
		{"key order code point", `{"é":1,"z":2,"😀":3,"\uffff":4,"A":5}`, "{\"A\":5,\"z\":2,\"é\":1,\"\uffff\":4,\"😀\":3}"},
		{"keys differing after unescape", `{"\u0062":1,"a":2}`, `{"a":2,"b":1}`},
		{"quote key sorts before hash", `{"#":1,"\"":2}`, `{"\"":2,"#":1}`},
		{"control key sorts first", `{" ":1,"\n":2}`, `{"\n":2," ":1}`},
		{"backslash key", `{"]":1,"\\":2,"[":3}`, `{"[":3,"\\":2,"]":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical([]byte(tc.in))
			if err != nil {
				t.Fatalf("Canonical(%s): %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Fatalf("Canonical(%s) = %s, want %s", tc.in, got, tc.want)
			}
			again, err := Canonical(got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: %s → %s, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalRejects(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	tests := []struct {
		name    string
		in      string
		want    error
		lenient error // error expected from CanonicalLenient; nil means accepted
	}{
		{"empty", ``, ErrSyntax, ErrSyntax},
		{"spaces only", `  `, ErrSyntax, ErrSyntax},
		{"trailing", `{} {}`, ErrTrailingData, ErrTrailingData},
		{"trailing comma", `[1,]`, ErrSyntax, ErrSyntax},
		{"unquoted key", `{a:1}`, ErrSyntax, ErrSyntax},
		{"single quotes", `'a'`, ErrSyntax, ErrSyntax},
		{"bad literal", `nul`, ErrSyntax, ErrSyntax},
		{"leading zero", `01`, ErrTrailingData, ErrTrailingData},
		{"plus sign", `+1`, ErrSyntax, ErrSyntax},
		{"bare minus", `-`, ErrSyntax, ErrSyntax},
		{"dot no digits", `1.`, ErrSyntax, ErrSyntax},
		{"raw control", "\"\x01\"", ErrSyntax, ErrSyntax},
		{"bad escape", `"\x"`, ErrSyntax, ErrSyntax},
		{"short u escape", `"\u12"`, ErrSyntax, ErrSyntax},
		{"unterminated", `"abc`, ErrSyntax, ErrSyntax},
		{"duplicate key", `{"a":1,"a":2}`, ErrDuplicateKey, ErrDuplicateKey},
		{"duplicate key unsorted", `{"b":1,"a":1,"b":2}`, ErrDuplicateKey, ErrDuplicateKey},
		{"duplicate after unescape", `{"a":1,"\u0061":2}`, ErrDuplicateKey, ErrDuplicateKey},
		{"nested duplicate", `[{"x":{"k":1,"k":1}}]`, ErrDuplicateKey, ErrDuplicateKey},
		{"too big", `9007199254740992`, ErrNumberOutOfRange, nil},
		{"too small", `-9007199254740992`, ErrNumberOutOfRange, nil},
		{"huge", `123456789012345678901234567890`, ErrNumberOutOfRange, nil},
		{"fraction", `1.5`, ErrFloat, nil},
		{"zero fraction", `0.0`, ErrFloat, nil},
		{"exponent", `1e5`, ErrFloat, nil},
		{"capital exponent", `1E5`, ErrFloat, nil},
		{"zero exponent", `0e0`, ErrFloat, nil},
		{"negative zero", `-0`, ErrNegativeZero, nil},
		{"negative zero fraction", `-0.0`, ErrFloat, nil},
		{"invalid utf8", "\"\xff\"", ErrInvalidUTF8, ErrInvalidUTF8},
		{"utf8 surrogate bytes", "\"\xed\xa0\x80\"", ErrInvalidUTF8, ErrInvalidUTF8},
		{"overlong utf8", "\"\xc0\xaf\"", ErrInvalidUTF8, ErrInvalidUTF8},
		{"truncated utf8", "\"\xe6\x97\"", ErrInvalidUTF8, ErrInvalidUTF8},
		{"lone high", `"\ud800"`, ErrLoneSurrogate, ErrLoneSurrogate},
		{"lone high then text", `"\ud800abcdef"`, ErrLoneSurrogate, ErrLoneSurrogate},
		{"high then non-low", `"\ud800\u0041"`, ErrLoneSurrogate, ErrLoneSurrogate},
		{"high high", `"\ud800\ud800"`, ErrLoneSurrogate, ErrLoneSurrogate},
		{"lone low", `"\udc00"`, ErrLoneSurrogate, ErrLoneSurrogate},
		{"too deep", deep, ErrTooDeep, ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Canonical([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Errorf("Canonical(%q) error = %v, want %v", tc.in, err, tc.want)
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Errorf("error %v is not a *SyntaxError", err)
			}
			_, err = CanonicalLenient([]byte(tc.in))
			if tc.lenient == nil && err != nil {
				t.Errorf("CanonicalLenient(%q): %v", tc.in, err)
			}
			if tc.lenient != nil && !errors.Is(err, tc.lenient) {
				t.Errorf("CanonicalLenient(%q) error = %v, want %v", tc.in, err, tc.lenient)
			}
		})
	}
}

func TestMaxDepthAccepted(t *testing.T) {
	in := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Canonical([]byte(in)); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth, err)
	}
}

func TestLenientNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{`-0`, `0`},
		{`1e10`, `10000000000`},
		{`1E+10`, `10000000000`},
		{`-2.5e1`, `-25`},
		{`0e99999999999`, `0`},
		{`-0e5`, `0`},
		{`1.5`, `1.5`},
		{`-0.0`, `-0.0`},
		{`1.0`, `1.0`},
		{`1e-5`, `1e-5`},
		{`1e16`, `1e16`},
		{`9.007199254740991e15`, `9007199254740991`},
		{`9.007199254740992e15`, `9.007199254740992e15`},
		{`1e400`, `1e400`},
		{`12345678901234567890`, `12345678901234567890`},
		{`-9007199254740992`, `-9007199254740992`},
	}
	for _, tc := range tests {
		got, err := CanonicalLenient([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("CanonicalLenient(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestMarshal(t *testing.T) {
	v := map[string]any{"html": "<a href=\"x\">&</a>", "n": 3, "b": []string{"\u2028"}}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"b\":[\"\u2028\"],\"html\":\"<a href=\\\"x\\\">&</a>\",\"n\":3}"
	if string(got) != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	if _, err := Marshal(map[string]float64{"f": 1.5}); !errors.Is(err, ErrFloat) {
		t.Fatalf("Marshal(float) error = %v, want ErrFloat", err)
	}
}

func TestUnmarshal(t *testing.T) {
	var v struct{ A int }
	if err := Unmarshal([]byte(` {"A": 5} `), &v); err != nil || v.A != 5 {
		t.Fatalf("Unmarshal = %v, %+v", err, v)
	}
	if err := Unmarshal([]byte(`{"A":5,"A":6}`), &v); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("Unmarshal(dup) error = %v", err)
	}
	if err := Unmarshal([]byte(`{"A":"x"}`), &v); err == nil {
		t.Fatal("Unmarshal type mismatch: no error")
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "abc", "a\"b\\c", "\x00\x1f\n\t", "日本語😀", "\u007f"} {
		got, err := AppendString([]byte("x"), s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Canonical(got[1:])
		if err != nil || string(want) != string(got[1:]) {
			t.Errorf("AppendString(%q) = %s, not canonical (%s, %v)", s, got[1:], want, err)
		}
	}
	if _, err := AppendString(nil, "a\xffb"); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("AppendString(invalid) error = %v", err)
	}
}
