package users

import "testing"

func TestFlowOrder(t *testing.T) {
	flows := [][]string{{"a", "b"}, {"a", "c"}, {"d"}}
	for _, tc := range []struct {
		completed []string
		stage     string
		next      bool
	}{
		{nil, "a", true},
		{nil, "d", true},
		{nil, "b", false}, // flows are completed in order
		{[]string{"a"}, "b", true},
		{[]string{"a"}, "c", true},
		{[]string{"a"}, "d", false},
		{[]string{"a", "b"}, "c", false},
	} {
		if got := nextInSomeFlow(flows, tc.completed, tc.stage); got != tc.next {
			t.Errorf("nextInSomeFlow(%q, %q) = %v, want %v", tc.completed, tc.stage, got, tc.next)
		}
	}
	for _, tc := range []struct {
		completed []string
		done      bool
	}{
		{nil, false},
		{[]string{"a"}, false},
		{[]string{"a", "c"}, true},
		{[]string{"d"}, true},
		{[]string{"b", "a"}, false},
	} {
		if got := flowComplete(flows, tc.completed); got != tc.done {
			t.Errorf("flowComplete(%q) = %v, want %v", tc.completed, got, tc.done)
		}
	}
	if !offered(flows, "c") || offered(flows, "e") {
		t.Error("offered answers wrong")
	}
}

func TestBindingDigest(t *testing.T) {
	a := uiaOp{binding: []string{"ab", "c"}}.bindingDigest()
	b := uiaOp{binding: []string{"a", "bc"}}.bindingDigest()
	if a == nil || string(a) == string(b) {
		t.Fatal("bindings that join to the same text must differ")
	}
	if (uiaOp{}).bindingDigest() != nil {
		t.Fatal("no binding must digest to nil")
	}
}

func TestValidRegistrationToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"fBVFdqVE": true, "a.b_c~d-e": true, "": false, "a b": false, "tøken": false,
		"x1234567890123456789012345678901234567890123456789012345678901234"[:64]: true,
		"x1234567890123456789012345678901234567890123456789012345678901234":      false,
	} {
		if got := validRegistrationToken(tok); got != want {
			t.Errorf("validRegistrationToken(%q) = %v, want %v", tok, got, want)
		}
	}
	if got := randomString(registrationTokenAlphabet, 64); !validRegistrationToken(got) {
		t.Errorf("random token %q is invalid", got)
	}
}
