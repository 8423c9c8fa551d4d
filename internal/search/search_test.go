package search

import (
	"fmt"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Message 4", "[message 4]"},
		{"  hello,   WORLD! hello ", "[hello world]"},
		{"100% sure_thing", "[100 sure thing]"},
		{"Ünïcödé ok", "[ünïcödé ok]"},
		{"!!!", "[]"},
		{strings.Repeat("w ", 40) + strings.Repeat("x", 3), "[w xxx]"},
	} {
		if got := fmt.Sprint(words(tc.in)); got != tc.want {
			t.Errorf("words(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("w%d", i))
	}
	if got := words(strings.Join(many, " ")); len(got) != MaxWords {
		t.Errorf("words of 40 distinct words = %d, want %d", len(got), MaxWords)
	}
}
