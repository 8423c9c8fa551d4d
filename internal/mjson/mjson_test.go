package mjson

import (
	"errors"
	"testing"
)

// specExamples are every input → output pair of the specification's appendix
// "Canonical JSON", section "Examples".
var specExamples = []struct{ in, want string }{
	{`{}`, `{}`},
	{`{
    "one": 1,
    "two": "Two"
}`, `{"one":1,"two":"Two"}`},
	{`{
    "b": "2",
    "a": "1"
}`, `{"a":"1","b":"2"}`},
	{`{"b":"2","a":"1"}`, `{"a":"1","b":"2"}`},
	{`{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}`, `{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}`},
	{`{
    "a": "日本語"
}`, `{"a":"日本語"}`},
	{`{
    "本": 2,
    "日": 1
}`, `{"日":1,"本":2}`},
	{`{
    "a": "\u65E5"
}`, `{"a":"日"}`},
	{`{
    "a": null
}`, `{"a":null}`},
	{`{
    "a": -0,
    "b": 1e10
}`, `{"a":0,"b":10000000000}`},
}

func TestSpecExamples(t *testing.T) {
	for _, tc := range specExamples {
		got, err := CanonicalLenient([]byte(tc.in))
		if err != nil {
			t.Errorf("CanonicalLenient(%s): %v", tc.in, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("CanonicalLenient(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Strictly, every example except the last (which has -0 and an exponent,
	// forbidden by the text of the same section) is accepted with the same output.
	for _, tc := range specExamples[:len(specExamples)-1] {
		got, err := Canonical([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := Canonical([]byte(specExamples[len(specExamples)-1].in)); !errors.Is(err, ErrNegativeZero) {
		t.Errorf("Canonical(-0 example) error = %v, want ErrNegativeZero", err)
	}
}
