package pdu

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"myelin/internal/spec"
)

// versionFor returns a room version using redaction algorithm alg.
func versionFor(t *testing.T, alg spec.RedactionAlgorithm) *spec.RoomVersion {
	for _, v := range spec.RoomVersions() {
		if v.Redaction == alg {
			return v
		}
	}
	t.Fatalf("no version with redaction algorithm %d", alg)
	return nil
}

var algorithms = []spec.RedactionAlgorithm{spec.RedactionV1, spec.RedactionV6, spec.RedactionV8, spec.RedactionV9, spec.RedactionV11}

// TestRedactTopLevel checks every top-level key against the lists of
// rooms fragments v1-redactions.md and v11-redactions.md.
func TestRedactTopLevel(t *testing.T) {
	v1Keep := "auth_events content depth event_id hashes membership origin origin_server_ts prev_events prev_state room_id sender signatures state_key type"
	v11Keep := "auth_events content depth event_id hashes origin_server_ts prev_events room_id sender signatures state_key type"
	in := `{"event_id":"$e:x","type":"m.room.message","room_id":"!r:x","sender":"@u:x","state_key":"",
		"content":{"body":"b"},"hashes":{"sha256":"h"},"signatures":{"x":{"ed25519:1":"s"}},"depth":1,
		"prev_events":[],"prev_state":[],"auth_events":[],"origin":"x","origin_server_ts":1,"membership":"join",
		"unsigned":{"age":1},"redacts":"$r:x","foo":"bar","age_ts":1,"outlier":true,"destinations":[]}`
	for _, alg := range algorithms {
		want := v1Keep
		if alg == spec.RedactionV11 {
			want = v11Keep
		}
		out, err := Redact(versionFor(t, alg), []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(t, out); got != want {
			t.Errorf("algorithm %d: kept %q, want %q", alg, got, want)
		}
	}
}

// TestRedactContent checks, for each event type with special content
// rules, which content keys each algorithm keeps.
func TestRedactContent(t *testing.T) {
	content := map[string]any{}
	for _, k := range strings.Fields("membership join_authorised_via_users_server creator room_version join_rule allow " +
		"ban events events_default kick redact state_default users users_default invite notifications aliases " +
		"history_visibility redacts body") {
		content[k] = "v_" + k
	}
	pl := "ban events events_default kick redact state_default users users_default"
	cases := []struct {
		typ  string
		want map[spec.RedactionAlgorithm]string
	}{
		{spec.MRoomMember, map[spec.RedactionAlgorithm]string{
			spec.RedactionV1: "membership", spec.RedactionV6: "membership", spec.RedactionV8: "membership",
			spec.RedactionV9: "join_authorised_via_users_server membership", spec.RedactionV11: "join_authorised_via_users_server membership"}},
		{spec.MRoomCreate, map[spec.RedactionAlgorithm]string{
			spec.RedactionV1: "creator", spec.RedactionV6: "creator", spec.RedactionV8: "creator", spec.RedactionV9: "creator",
			spec.RedactionV11: keysSorted(content)}},
		{spec.MRoomJoinRules, map[spec.RedactionAlgorithm]string{
			spec.RedactionV1: "join_rule", spec.RedactionV6: "join_rule", spec.RedactionV8: "allow join_rule",
			spec.RedactionV9: "allow join_rule", spec.RedactionV11: "allow join_rule"}},
		{spec.MRoomPowerLevels, map[spec.RedactionAlgorithm]string{
			spec.RedactionV1: pl, spec.RedactionV6: pl, spec.RedactionV8: pl, spec.RedactionV9: pl,
			spec.RedactionV11: "ban events events_default invite kick redact state_default users users_default"}},
		{spec.MRoomAliases, map[spec.RedactionAlgorithm]string{spec.RedactionV1: "aliases"}},
		{spec.MRoomHistoryVisibility, map[spec.RedactionAlgorithm]string{
			spec.RedactionV1: "history_visibility", spec.RedactionV6: "history_visibility", spec.RedactionV8: "history_visibility",
			spec.RedactionV9: "history_visibility", spec.RedactionV11: "history_visibility"}},
		{spec.MRoomRedaction, map[spec.RedactionAlgorithm]string{spec.RedactionV11: "redacts"}},
		{"m.room.message", nil},
		{"m.room.topic", nil},
	}
	for _, c := range cases {
		for _, alg := range algorithms {
			ev := map[string]any{"type": c.typ, "content": content, "state_key": ""}
			raw, _ := json.Marshal(ev)
			out, err := Redact(versionFor(t, alg), raw)
			if err != nil {
				t.Fatal(err)
			}
			var red struct{ Content map[string]any }
			if err := json.Unmarshal(out, &red); err != nil {
				t.Fatal(err)
			}
			if got, want := keysSorted(red.Content), c.want[alg]; got != want {
				t.Errorf("%s algorithm %d: kept %q, want %q", c.typ, alg, got, want)
			}
		}
	}
}

// TestRedactThirdPartyInvite pins v11's rule for m.room.member: "it
// allows the signed key of the third_party_invite key".
func TestRedactThirdPartyInvite(t *testing.T) {
	cases := []struct{ tpi, want string }{
		{`{"display_name":"d","signed":{"mxid":"@a:x","token":"t","signatures":{}}}`, `{"signed":{"mxid":"@a:x","signatures":{},"token":"t"}}`},
		{`{"display_name":"d"}`, `{}`},
		{`{}`, `{}`},
		{`"not an object"`, ``},
		{`["signed"]`, ``},
	}
	for _, c := range cases {
		raw := `{"type":"m.room.member","state_key":"@a:x","content":{"membership":"invite","third_party_invite":` + c.tpi + `}}`
		for _, alg := range algorithms {
			out, err := Redact(versionFor(t, alg), []byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			want := `{"content":{"membership":"invite"},"state_key":"@a:x","type":"m.room.member"}`
			if alg == spec.RedactionV11 && c.want != "" {
				want = `{"content":{"membership":"invite","third_party_invite":` + c.want + `},"state_key":"@a:x","type":"m.room.member"}`
			}
			if string(out) != want {
				t.Errorf("alg %d tpi %s:\n got %s\nwant %s", alg, c.tpi, out, want)
			}
		}
	}
}

// TestRedactErrors covers input Redact cannot redact.
func TestRedactErrors(t *testing.T) {
	v := spec.MustRoomVersion("11")
	for _, in := range []string{`[]`, `{"type":1}`, `{"type":"m.room.message","content":[]}`, `{"a":1,"a":1}`, `{`} {
		if _, err := Redact(v, []byte(in)); err == nil {
			t.Errorf("Redact(%s) succeeded", in)
		}
	}
	// Content absent: nothing to strip, nothing added.
	out, err := Redact(v, []byte(`{"type":"m.room.message","foo":1}`))
	if err != nil || string(out) != `{"type":"m.room.message"}` {
		t.Errorf("Redact without content = %s, %v", out, err)
	}
}

// TestEventRedact checks that a redacted event keeps its event ID and room
// ID and is marked redacted, for every version, including a v12 create.
func TestEventRedact(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		for _, e := range []*Event{
			testMessage(t, v),
			buildTest(t, v, Builder{Type: spec.MRoomCreate, StateKey: strp(""), Depth: 1, Content: map[string]any{"room_version": v.ID, "m.federate": true}}),
			buildTest(t, v, Builder{Type: spec.MRoomRedaction, Redacts: "$x:example.org", Content: map[string]any{"reason": "spam"}}),
		} {
			r, err := e.Redact()
			if err != nil {
				t.Fatalf("v%s %s: %v", v.ID, e.Type(), err)
			}
			if r.EventID() != e.EventID() || r.RoomID() != e.RoomID() || !r.Redacted() || e.Redacted() {
				t.Errorf("v%s %s: redacted %s/%s/%v, original %s/%s/%v", v.ID, e.Type(),
					r.EventID(), r.RoomID(), r.Redacted(), e.EventID(), e.RoomID(), e.Redacted())
			}
			if e.Type() == spec.MRoomRedaction {
				// v11 keeps content.redacts; before, the top-level redacts goes.
				want := ""
				if v.RedactsInContent {
					want = "$x:example.org"
				}
				if r.Redacts() != want || e.Redacts() != "$x:example.org" {
					t.Errorf("v%s: redacts %q → %q", v.ID, e.Redacts(), r.Redacts())
				}
			}
		}
	}
}

func keysOf(t *testing.T, raw []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return keysSorted(m)
}

func keysSorted(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
