package pdu

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"myelin/internal/signing"
	"myelin/internal/spec"
)

// mutation is a way to damage (or harmlessly change) a valid event, with
// what the spec says Parse must do with the result. oracleWrong, when set,
// cites the spec text the oracle's NewEventFromUntrustedJSON contradicts on
// this exact shape: such cases are counted as known oracle deviations and
// only our result is checked (against accept, which TestParseRules also
// pins). Every other case must agree with the oracle.
type mutation struct {
	name        string
	when        func(v *spec.RoomVersion, e *Event) bool
	apply       func(m map[string]any)
	accept      bool
	oracleWrong string
	// rehash recomputes the content hash after the change, so that the
	// oracle, which redacts events whose hash does not match and then
	// checks the redacted copy, judges the event as sent.
	rehash bool
}

// Spec citations for the oracle's deviations.
const (
	citeRequired   = "PDU schemas (pdu_base.yaml, pdu_v1.yaml, room_id_*.yaml) list the key as required"
	citeTypes      = "PDU schemas give the key's JSON type"
	citeSenderID   = "appendices, Historical User IDs: the domain is a server name"
	citeV12RoomID  = "v12 event format (room_id_v12.yaml) and appendices Room IDs: the create event's hash, no domain"
	citeV12Create  = "v12 event format: room_id is omitted from m.room.create (and auth rule 1.2)"
	citeRefFormat  = "v3/v4 event IDs: prev_events/auth_events hold event IDs of the version's format"
	citeStrayID    = "reference hash: redaction keeps event_id, so a stray event_id is hashed (the oracle deletes it)"
	citeV11Redacts = "v11 format has no top-level redacts; an unknown key of any type is not a format error"
	citeUTF8       = "appendices, Canonical JSON: JSON text is UTF-8 (RFC 8259 section 8.1)"
)

func always(*spec.RoomVersion, *Event) bool { return true }

func versions(f func(v *spec.RoomVersion) bool) func(*spec.RoomVersion, *Event) bool {
	return func(v *spec.RoomVersion, _ *Event) bool { return f(v) }
}

func notV12Create(v *spec.RoomVersion, e *Event) bool {
	return !(v.CreateEventHasNoRoomID && e.isCreate())
}

var mutations = []mutation{
	{name: "unchanged", when: always, apply: func(map[string]any) {}, accept: true},
	{name: "unknown top-level key", when: always, apply: set("x_unknown", map[string]any{"a": []any{1}}), accept: true},
	{name: "content changed without new hash", when: always, apply: func(m map[string]any) {
		m["content"].(map[string]any)["x_new"] = "changed"
	}, accept: true},
	{name: "drop sender", when: always, apply: del("sender")},
	{name: "drop room_id", when: notV12Create, apply: del("room_id")},
	{name: "drop prev_events (v3+)", when: versions(hashIDs), apply: del("prev_events")},
	{name: "drop auth_events (v3–v11)", when: versions(func(v *spec.RoomVersion) bool { return hashIDs(v) && domainRooms(v) }), apply: del("auth_events")},
	{name: "drop prev_events (v1/v2)", when: versions(opaqueIDs), apply: del("prev_events"), oracleWrong: citeRequired},
	{name: "drop auth_events (v1/v2)", when: versions(opaqueIDs), apply: del("auth_events"), oracleWrong: citeRequired},
	{name: "drop auth_events (v12)", when: versions(hashRooms), apply: del("auth_events"), oracleWrong: citeRequired},
	{name: "drop type", when: always, apply: del("type"), oracleWrong: citeRequired},
	{name: "drop origin_server_ts", when: always, apply: del("origin_server_ts"), oracleWrong: citeRequired},
	{name: "drop content", when: always, apply: del("content"), oracleWrong: citeRequired},
	{name: "drop depth", when: always, apply: del("depth"), oracleWrong: citeRequired},
	{name: "drop hashes", when: always, apply: del("hashes"), oracleWrong: citeRequired},
	{name: "drop signatures", when: always, apply: del("signatures"), oracleWrong: citeRequired},
	{name: "drop event_id (v1/v2)", when: versions(opaqueIDs), apply: del("event_id"), oracleWrong: citeRequired},
	{name: "type a number", when: always, apply: set("type", 5)},
	{name: "type 256 bytes", when: always, apply: set("type", strings.Repeat("t", 256))},
	{name: "state_key 256 bytes", when: always, apply: set("state_key", strings.Repeat("s", 256))},
	{name: "state_key a number", when: always, apply: set("state_key", 5)},
	{name: "state_key null", when: always, apply: set("state_key", nil), oracleWrong: citeTypes},
	{name: "sender a number", when: always, apply: set("sender", 5)},
	{name: "sender without sigil", when: always, apply: set("sender", "alice:example.org")},
	{name: "sender without domain", when: always, apply: set("sender", "@alice")},
	{name: "sender 256 bytes", when: always, apply: set("sender", "@"+strings.Repeat("u", 243)+":example.org")},
	{name: "sender with a bad server name", when: always, apply: set("sender", "@alice:bad_host!"), oracleWrong: citeSenderID},
	{name: "room_id a number", when: notV12Create, apply: set("room_id", 5)},
	{name: "room_id without sigil", when: notV12Create, apply: set("room_id", "room:example.org")},
	{name: "room_id hash form before v12", when: versions(domainRooms), apply: set("room_id", "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ")},
	{name: "room_id with a domain in v12", when: func(v *spec.RoomVersion, e *Event) bool { return hashRooms(v) && notV12Create(v, e) },
		apply: set("room_id", "!room:example.org"), oracleWrong: citeV12RoomID},
	{name: "v12 create with room_id", when: func(v *spec.RoomVersion, e *Event) bool { return !notV12Create(v, e) },
		apply: set("room_id", "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"), oracleWrong: citeV12Create},
	{name: "origin_server_ts a string", when: always, apply: set("origin_server_ts", "1")},
	{name: "depth a string", when: always, apply: set("depth", "1")},
	{name: "depth 2^53 (strict)", when: versions(strictJSON), apply: set("depth", json.Number("9007199254740992"))},
	{name: "depth 2^53 (lenient)", when: versions(lenientJSON), apply: set("depth", json.Number("9007199254740992")), accept: true},
	{name: "prev_events an object", when: always, apply: set("prev_events", map[string]any{})},
	{name: "prev_events entry a number", when: always, apply: set("prev_events", []any{5})},
	{name: "auth_events a string", when: notV12Create, apply: set("auth_events", "x")},
	{name: "prev_events plain ID in v1/v2", when: versions(opaqueIDs), apply: set("prev_events", []any{"$a:example.org"})},
	{name: "prev_events opaque ID in v3+", when: versions(hashIDs), apply: set("prev_events", []any{"$a:example.org"}), oracleWrong: citeRefFormat},
	{name: "hashes an array", when: always, apply: set("hashes", []any{}), oracleWrong: citeTypes},
	{name: "signatures an array", when: always, apply: set("signatures", []any{}), oracleWrong: citeTypes},
	{name: "unsigned a number", when: always, apply: set("unsigned", 1), oracleWrong: citeTypes},
	{name: "event_id a number (v1/v2)", when: versions(opaqueIDs), apply: set("event_id", 5)},
	{name: "stray event_id (v3+)", when: versions(hashIDs), apply: set("event_id", "$x:example.org"), accept: true, oracleWrong: citeStrayID},
	{name: "redacts a number before v11", when: versions(topRedacts), apply: set("redacts", 5)},
	{name: "top-level redacts a number from v11", when: versions(contentRedacts), apply: set("redacts", 5), accept: true, oracleWrong: citeV11Redacts},
	{name: "float in content (strict)", when: versions(strictJSON), apply: setContent("x_f", json.Number("1.5")), rehash: true},
	{name: "float in content (lenient)", when: versions(lenientJSON), apply: setContent("x_f", json.Number("1.5")), accept: true, rehash: true},
	{name: "integer beyond 2^53 in content (strict)", when: versions(strictJSON), apply: setContent("x_n", json.Number("9007199254740992")), rehash: true},
	{name: "oversized content", when: always, apply: setContent("x_big", strings.Repeat("b", MaxEventSize)), rehash: true},
	{name: "invalid UTF-8 in content", when: always, apply: setContent("x_bad", "\xff\xfe"), oracleWrong: citeUTF8},
}

func setContent(key string, value any) func(map[string]any) {
	return func(m map[string]any) { m["content"].(map[string]any)[key] = value }
}

// encodeRaw encodes m without HTML escaping and without replacing invalid
// UTF-8 (encoding/json would write U+FFFD), so mutations keep their bytes.
func encodeRaw(t testing.TB, m map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	out := bytes.TrimSpace(buf.Bytes())
	return bytes.ReplaceAll(out, []byte(`\ufffd\ufffd`), []byte("\xff\xfe"))
}

// diffMutations applies one random mutation (plus always "unchanged") to e
// and compares acceptance, and for events both accept the event ID and the
// content hash verdict.
func diffMutations(a *area, g *eventGen, e *Event) {
	a.t.Helper()
	v := g.v
	for _, mu := range []mutation{mutations[0], mutations[1+g.r.Intn(len(mutations)-1)]} {
		if !mu.when(v, e) {
			continue
		}
		a.cases++
		m := decodeMap(a.t, e.JSON())
		mu.apply(m)
		raw := encodeRaw(a.t, m)
		if mu.rehash {
			if hashed, err := signing.AddContentHash(raw, false); err == nil {
				raw = hashed
			}
		}
		ours, err := Parse(v, raw)
		if (err == nil) != mu.accept {
			a.fail("v%s %s: Parse error %v, spec says accept=%v, for %s", v.ID, mu.name, err, mu.accept, raw)
			continue
		}
		if mu.oracleWrong != "" || hasEscapedKey(raw) {
			a.deviations++
			continue
		}
		ge, id, oerr := oracleParse(v, raw)
		if (oerr == nil) != (err == nil) {
			a.fail("v%s %s: ours error %v, oracle error %v, for %s", v.ID, mu.name, err, oerr, raw)
			continue
		}
		if err != nil || isV11TPIMember(v, ours) {
			continue // v11 third_party_invite: see diffIDs
		}
		if id != ours.EventID() {
			a.fail("v%s %s: event ID %s, oracle %s", v.ID, mu.name, ours.EventID(), id)
		}
		if ge.Redacted() != (ours.CheckContentHash() != nil) {
			a.fail("v%s %s: content hash verdict differs (oracle redacted=%v)", v.ID, mu.name, ge.Redacted())
		}
	}
}
