package pdu

import (
	"bytes"
	"encoding/json"
	"testing"

	"myelin/internal/spec"
)

// testServer is the origin of events built by tests.
const testServer = "example.org"

// testRoomID returns a valid room ID for a non-create event of version v.
func testRoomID(v *spec.RoomVersion) string {
	if v.RoomIDFormat == spec.RoomIDCreateHash {
		return "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"
	}
	return "!room:example.org"
}

// testRef returns a syntactically valid event ID for version v and a
// reference hash for it.
func testRef(v *spec.RoomVersion, n byte) (string, []byte) {
	h := bytes.Repeat([]byte{n}, 32)
	if v.EventIDFormat == spec.EventIDOpaque {
		return "$ref" + string('a'+n%26) + ":example.org", h
	}
	return encodeEventID(v, h), h
}

// buildTest builds b for v with the spec test key, filling the room ID,
// references and timestamps when unset.
func buildTest(t testing.TB, v *spec.RoomVersion, b Builder) *Event {
	t.Helper()
	if b.Sender == "" {
		b.Sender = "@alice:example.org"
	}
	isCreate := b.Type == spec.MRoomCreate && b.StateKey != nil && *b.StateKey == ""
	if b.RoomID == "" && !(isCreate && v.CreateEventHasNoRoomID) {
		b.RoomID = testRoomID(v)
	}
	if b.PrevEvents == nil && !isCreate {
		id, h := testRef(v, 1)
		b.PrevEvents = []string{id}
		b.ReferenceHashes = map[string][]byte{id: h}
		aid, ah := testRef(v, 2)
		b.AuthEvents = []string{aid}
		b.ReferenceHashes[aid] = ah
	}
	if b.OriginServerTS == 0 {
		b.OriginServerTS = 1700000000000
	}
	if b.Depth == 0 && !isCreate {
		b.Depth = 5
	}
	e, err := b.Build(v, testServer, specKey(t))
	if err != nil {
		t.Fatalf("v%s: build %s: %v", v.ID, b.Type, err)
	}
	return e
}

// testMessage builds an m.room.message for v.
func testMessage(t testing.TB, v *spec.RoomVersion) *Event {
	return buildTest(t, v, Builder{Type: "m.room.message", Content: map[string]any{"body": "hello", "msgtype": "m.text"}})
}

// decodeMap decodes an event into a map, keeping numbers exact.
func decodeMap(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}

// mutate applies f to the decoded event and re-encodes it (not canonical,
// not re-hashed, not re-signed).
func mutate(t testing.TB, raw []byte, f func(m map[string]any)) []byte {
	t.Helper()
	m := decodeMap(t, raw)
	f(m)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return bytes.TrimSpace(buf.Bytes())
}
