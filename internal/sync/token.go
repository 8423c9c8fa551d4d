package sync

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"myelin/internal/spec"
)

// Token is a /sync position: one position per stream sync reads. Its text
// form (String, ParseToken) is what clients hold as next_batch and pass as
// since:
//
//	m1_e<events>_a<account data>_p<presence>[_<source><position>...]
//
// "m1" is the format version; each further part is a stream key (lower-case
// letters) followed by a decimal position. e, a and p are the room events,
// account data and presence streams; ephemeral sources (typing, receipts)
// add their stream name as key. A part whose key this server does not know
// is ignored, and a missing ephemeral part counts as position 0, so tokens
// stay valid when sources are added or removed.
//
// Pagination tokens (prev_batch, /messages start and end, /context) are a
// bare decimal position in the events stream: "everything at or below this
// position is before the token". A sync token stands for its events
// position wherever a pagination token is accepted, and a pagination
// token is accepted wherever /members takes ?at=.
type Token struct {
	Events      int64
	AccountData int64
	Presence    int64
	// Ephemeral holds the positions of ephemeral sources, by stream name.
	Ephemeral map[string]int64
}

const tokenVersion = "m1"

// String renders the token.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString(tokenVersion)
	part := func(key string, pos int64) {
		b.WriteByte('_')
		b.WriteString(key)
		b.WriteString(strconv.FormatInt(pos, 10))
	}
	part("e", t.Events)
	part("a", t.AccountData)
	part("p", t.Presence)
	for _, k := range slices.Sorted(maps.Keys(t.Ephemeral)) {
		part(k, t.Ephemeral[k])
	}
	return b.String()
}

// ParseToken parses a since token. Errors: 400 M_INVALID_PARAM for
// anything String did not produce.
func ParseToken(s string) (Token, error) {
	bad := spec.InvalidParam("invalid since token %q", truncate(s, 64))
	parts := strings.Split(s, "_")
	if len(parts) < 4 || parts[0] != tokenVersion {
		return Token{}, bad
	}
	var t Token
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		i := strings.IndexFunc(p, func(r rune) bool { return r < 'a' || r > 'z' })
		if i <= 0 {
			return Token{}, bad
		}
		key, digits := p[:i], p[i:]
		pos, ok := parsePos(digits)
		if !ok || seen[key] {
			return Token{}, bad
		}
		seen[key] = true
		switch key {
		case "e":
			t.Events = pos
		case "a":
			t.AccountData = pos
		case "p":
			t.Presence = pos
		default:
			if t.Ephemeral == nil {
				t.Ephemeral = map[string]int64{}
			}
			t.Ephemeral[key] = pos
		}
	}
	if !seen["e"] || !seen["a"] || !seen["p"] {
		return Token{}, bad
	}
	return t, nil
}

// parsePos parses a non-negative decimal position without sign or
// leading zeros (except "0" itself).
func parsePos(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// PaginationToken renders an events stream position as a pagination token.
func PaginationToken(pos int64) string { return strconv.FormatInt(pos, 10) }

// ParsePaginationToken returns the events stream position of a pagination
// token: a PaginationToken, or a sync token (next_batch) standing for its
// events position. Errors: 400 M_INVALID_PARAM.
func ParsePaginationToken(s string) (int64, error) {
	if pos, ok := parsePos(s); ok {
		return pos, nil
	}
	if strings.HasPrefix(s, tokenVersion+"_") {
		if t, err := ParseToken(s); err == nil {
			return t.Events, nil
		}
	}
	return 0, spec.InvalidParam("invalid pagination token %q", truncate(s, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
