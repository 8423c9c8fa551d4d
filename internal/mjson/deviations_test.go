package mjson

import (
	"bytes"
	"errors"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
)

// TestOracleDeviations pins our behaviour on each input shape excluded from
// the differential comparison (see deviates in differential_test.go), and
// records gomatrixserverlib's differing behaviour so that a change in it is
// noticed.
func TestOracleDeviations(t *testing.T) {
	tests := []struct {
		shape   string
		in      string
		strict  bool
		wantErr error  // our error, or nil
		want    string // our output when accepted
		gmslOut string // gmsl's output (it accepts every case here)
	}{
		{"dupKey", `{"a":1,"a":2}`, false, ErrDuplicateKey, "", `{"a":1,"a":2}`},
		{"dupKey", `{"a":1,"\u0061":2}`, true, ErrDuplicateKey, "", `{"a":1,"a":2}`},
		{"escapedKey", `{"\"":1}`, false, nil, `{"\"":1}`, `{""":1}`},
		{"escapedKey", `{"\n":1}`, true, nil, `{"\n":1}`, "{\"\n\":1}"},
		{"loneSurrogate", `"\ud800"`, false, ErrLoneSurrogate, "", `""`},
		{"loneSurrogate", `"\ud800\u0041"`, true, ErrLoneSurrogate, "", "\"\ufffd\""},
		{"loneSurrogate", `"\udc00"`, false, ErrLoneSurrogate, "", `""`},
		{"invalidUTF8", "\"\xff\"", false, ErrInvalidUTF8, "", "\"\xff\""},
		{"invalidUTF8", "\"\xed\xa0\x80\"", true, ErrInvalidUTF8, "", "\"\xed\xa0\x80\""},
		{"negZeroFrac", `-0.5`, false, nil, `-0.5`, `0.5`},
		{"expInteger", `{"a":-0,"b":1e10}`, false, nil, `{"a":0,"b":10000000000}`, `{"a":0,"b":1e10}`},
		{"zeroOrEFloat", `0.0`, true, ErrFloat, "", `0.0`},
		{"zeroOrEFloat", `-0.0`, true, ErrFloat, "", `0.0`},
		{"zeroOrEFloat", `1E5`, true, ErrFloat, "", `1E5`},
	}
	for _, tc := range tests {
		got, err := AppendCanonical(nil, []byte(tc.in), tc.strict)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s %q (strict=%v): error %v, want %v", tc.shape, tc.in, tc.strict, err, tc.wantErr)
			}
		} else if err != nil || string(got) != tc.want {
			t.Errorf("%s %q (strict=%v): %q, %v; want %q", tc.shape, tc.in, tc.strict, got, err, tc.want)
		}
		var theirs []byte
		if tc.strict {
			theirs, err = gmsl.EnforcedCanonicalJSON([]byte(tc.in), gmsl.RoomVersionV6)
		} else {
			theirs, err = gmsl.CanonicalJSON([]byte(tc.in))
		}
		if err != nil || !bytes.Equal(theirs, []byte(tc.gmslOut)) {
			t.Errorf("%s %q: gmsl now gives %q, %v (recorded %q): revisit the exclusion rule", tc.shape, tc.in, theirs, err, tc.gmslOut)
		}
		if !deviates(classify([]byte(tc.in)), tc.strict) {
			t.Errorf("%s %q: classify does not recognise the shape", tc.shape, tc.in)
		}
	}
}
