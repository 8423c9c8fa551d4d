package pdu

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"myelin/internal/spec"
)

// versionSet selects the room versions a table case applies to.
type versionSet func(v *spec.RoomVersion) bool

func all(*spec.RoomVersion) bool              { return true }
func opaqueIDs(v *spec.RoomVersion) bool      { return v.EventIDFormat == spec.EventIDOpaque }
func hashIDs(v *spec.RoomVersion) bool        { return v.EventIDFormat != spec.EventIDOpaque }
func stdHashIDs(v *spec.RoomVersion) bool     { return v.EventIDFormat == spec.EventIDHashStd }
func urlHashIDs(v *spec.RoomVersion) bool     { return v.EventIDFormat == spec.EventIDHashURL }
func strictJSON(v *spec.RoomVersion) bool     { return v.StrictCanonicalJSON }
func lenientJSON(v *spec.RoomVersion) bool    { return !v.StrictCanonicalJSON }
func domainRooms(v *spec.RoomVersion) bool    { return v.RoomIDFormat == spec.RoomIDOpaque }
func hashRooms(v *spec.RoomVersion) bool      { return v.RoomIDFormat == spec.RoomIDCreateHash }
func topRedacts(v *spec.RoomVersion) bool     { return !v.RedactsInContent }
func contentRedacts(v *spec.RoomVersion) bool { return v.RedactsInContent }

// TestParseRules has one case per validation rule: the mutation of a
// valid message event and the field the error must name ("" for accept).
func TestParseRules(t *testing.T) {
	long := strings.Repeat("a", 256)
	cases := []struct {
		name   string
		when   versionSet
		mut    func(m map[string]any)
		field  string
		sentin error
	}{
		{"valid", all, func(map[string]any) {}, "", nil},
		{"unknown top-level key kept", all, func(m map[string]any) { m["x_extra"] = []any{1, "two"} }, "", nil},
		{"missing type", all, del("type"), "type", nil},
		{"missing sender", all, del("sender"), "sender", nil},
		{"missing origin_server_ts", all, del("origin_server_ts"), "origin_server_ts", nil},
		{"missing content", all, del("content"), "content", nil},
		{"missing depth", all, del("depth"), "depth", nil},
		{"missing hashes", all, del("hashes"), "hashes", nil},
		{"missing signatures", all, del("signatures"), "signatures", nil},
		{"missing prev_events", all, del("prev_events"), "prev_events", nil},
		{"missing auth_events", all, del("auth_events"), "auth_events", nil},
		{"missing room_id", all, del("room_id"), "room_id", nil},
		{"missing event_id", opaqueIDs, del("event_id"), "event_id", nil},
		{"type not a string", all, set("type", 5), "type", nil},
		{"type 256 bytes", all, set("type", long), "type", nil},
		{"type 255 bytes", all, set("type", long[1:]), "", nil},
		{"state_key not a string", all, set("state_key", true), "state_key", nil},
		{"state_key null", all, set("state_key", nil), "state_key", nil},
		{"state_key 256 bytes", all, set("state_key", long), "state_key", nil},
		{"state_key 255 bytes", all, set("state_key", long[1:]), "", nil},
		{"sender not a string", all, set("sender", 1), "sender", nil},
		{"sender without sigil", all, set("sender", "alice:example.org"), "sender", nil},
		{"sender without domain", all, set("sender", "@alice"), "sender", nil},
		{"sender bad server name", all, set("sender", "@alice:exa_mple.org"), "sender", nil},
		{"sender 256 bytes", all, set("sender", "@"+long[:244]+":example.org"), "sender", nil},
		{"sender historical localpart", all, set("sender", "@Alice Ü!:example.org"), "", nil},
		{"room_id not a string", all, set("room_id", []any{}), "room_id", nil},
		{"room_id without sigil", all, set("room_id", "room:example.org"), "room_id", nil},
		{"room_id hash form before v12", domainRooms, set("room_id", "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"), "room_id", nil},
		{"room_id with domain in v12", hashRooms, set("room_id", "!room:example.org"), "room_id", nil},
		{"room_id short hash in v12", hashRooms, set("room_id", "!Nhcu5BS"), "room_id", nil},
		{"origin_server_ts a string", all, set("origin_server_ts", "1"), "origin_server_ts", nil},
		{"origin_server_ts a float (lenient)", lenientJSON, set("origin_server_ts", json.Number("1.5")), "origin_server_ts", nil},
		{"content an array", all, set("content", []any{}), "content", nil},
		{"content a string", all, set("content", "x"), "content", nil},
		{"content null", all, set("content", nil), "content", nil},
		{"depth a string", all, set("depth", "1"), "depth", nil},
		{"depth negative", all, set("depth", -1), "depth", nil},
		{"depth zero", all, set("depth", 0), "", nil},
		{"depth 2^53-1", all, set("depth", json.Number("9007199254740991")), "", nil},
		{"depth 2^53 (strict JSON)", strictJSON, set("depth", json.Number("9007199254740992")), "json", nil},
		{"depth 2^53 (lenient)", lenientJSON, set("depth", json.Number("9007199254740992")), "", nil},
		{"depth 2^63 (lenient)", lenientJSON, set("depth", json.Number("9223372036854775808")), "depth", nil},
		{"prev_events an object", all, set("prev_events", map[string]any{}), "prev_events", nil},
		{"prev_events bad entry", all, set("prev_events", []any{5}), "prev_events", nil},
		{"prev_events plain ID in v1/v2", opaqueIDs, set("prev_events", []any{"$a:example.org"}), "prev_events", nil},
		{"prev_events pair of 3 in v1/v2", opaqueIDs, set("prev_events", []any{[]any{"$a:example.org", map[string]any{"sha256": "x"}, 1}}), "prev_events", nil},
		{"prev_events pair without sha256", opaqueIDs, set("prev_events", []any{[]any{"$a:example.org", map[string]any{}}}), "prev_events", nil},
		{"prev_events ID without domain in v1/v2", opaqueIDs, set("prev_events", []any{[]any{"$a", map[string]any{"sha256": "x"}}}), "prev_events", nil},
		{"prev_events pair in v3+", hashIDs, set("prev_events", []any{[]any{"$a:example.org", map[string]any{"sha256": "x"}}}), "prev_events", nil},
		{"prev_events opaque ID in v3+", hashIDs, set("prev_events", []any{"$a:example.org"}), "prev_events", nil},
		{"prev_events URL-safe ID in v3", stdHashIDs, set("prev_events", []any{"$-_______________________________________________"[:44]}), "prev_events", nil},
		{"prev_events standard ID in v4+", urlHashIDs, set("prev_events", []any{"$+///////////////////////////////////////////"[:44]}), "prev_events", nil},
		{"prev_events non-canonical hash", hashIDs, set("prev_events", []any{"$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"}), "prev_events", nil},
		{"prev_events empty", all, set("prev_events", []any{}), "", nil},
		{"auth_events a string", all, set("auth_events", "x"), "auth_events", nil},
		{"hashes an array", all, set("hashes", []any{}), "hashes", nil},
		{"hashes without sha256", all, set("hashes", map[string]any{"sha512": "x"}), "hashes", nil},
		{"hashes sha256 not a string", all, set("hashes", map[string]any{"sha256": 1}), "hashes", nil},
		{"signatures an array", all, set("signatures", []any{}), "signatures", nil},
		{"signatures server not an object", all, set("signatures", map[string]any{"example.org": "x"}), "signatures", nil},
		{"signature not a string", all, set("signatures", map[string]any{"example.org": map[string]any{"ed25519:1": 1}}), "signatures", nil},
		{"unsigned not an object", all, set("unsigned", 1), "unsigned", nil},
		{"event_id not a string", opaqueIDs, set("event_id", 1), "event_id", nil},
		{"event_id without domain", opaqueIDs, set("event_id", "$abc"), "event_id", nil},
		{"event_id 256 bytes", opaqueIDs, set("event_id", "$"+long[:243]+":example.org"), "event_id", nil},
		{"stray event_id in v3+", hashIDs, set("event_id", 5), "", nil},
		{"redacts not a string before v11", topRedacts, set("redacts", 5), "redacts", nil},
		{"top-level redacts ignored from v11", contentRedacts, set("redacts", 5), "", nil},
		{"float in content (strict)", strictJSON, set("content", map[string]any{"f": json.Number("1.5")}), "json", nil},
		{"float in content (lenient)", lenientJSON, set("content", map[string]any{"f": json.Number("1.5")}), "", nil},
		{"integer beyond 2^53 in content (strict)", strictJSON, set("content", map[string]any{"n": json.Number("9007199254740992")}), "json", nil},
		{"oversized", all, set("content", map[string]any{"body": strings.Repeat("x", MaxEventSize)}), "size", nil},
	}
	for _, v := range spec.RoomVersions() {
		base := testMessage(t, v).JSON()
		for _, c := range cases {
			if !c.when(v) {
				continue
			}
			raw := mutate(t, base, c.mut)
			_, err := Parse(v, raw)
			checkField(t, "v"+v.ID+" "+c.name, err, c.field)
		}
	}
}

func checkField(t *testing.T, name string, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("%s: error %v, want a FormatError for %q", name, err, field)
		return
	}
	if fe.Field != field {
		t.Errorf("%s: error names %q (%v), want %q", name, fe.Field, err, field)
	}
}

func del(key string) func(map[string]any) {
	return func(m map[string]any) { delete(m, key) }
}

func set(key string, value any) func(map[string]any) {
	return func(m map[string]any) { m[key] = value }
}

// TestParseNotJSON covers input that is not an acceptable JSON object.
func TestParseNotJSON(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		for _, in := range []string{``, `nope`, `[]`, `"x"`, `{"a":1,"a":2}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{} {}`} {
			_, err := Parse(v, []byte(in))
			checkField(t, "v"+v.ID+" "+in, err, "json")
		}
	}
	if _, err := Parse(nil, []byte(`{}`)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("nil version: %v", err)
	}
}

// TestParseSizeBoundary checks that exactly MaxEventSize bytes of canonical
// JSON pass and one more fails, however the input is formatted.
func TestParseSizeBoundary(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		base := testMessage(t, v).JSON()
		pad := MaxEventSize - len(base) - len(`,"x":""`)
		exact := mutate(t, base, set("x", strings.Repeat("y", pad)))
		if _, err := Parse(v, exact); err != nil {
			t.Errorf("v%s: %d bytes: %v", v.ID, len(exact), err)
		}
		// Whitespace does not count: the limit is on canonical JSON.
		spaced := []byte(strings.Replace(string(exact), ",", " ,  ", -1))
		if _, err := Parse(v, spaced); err != nil {
			t.Errorf("v%s: spaced: %v", v.ID, err)
		}
		over := mutate(t, base, set("x", strings.Repeat("y", pad+1)))
		_, err := Parse(v, over)
		checkField(t, "v"+v.ID+" over", err, "size")
	}
}
