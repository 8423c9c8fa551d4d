package pdu

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"myelin/internal/mjson"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// independentRefHash computes the reference hash through a separate path:
// encoding/json maps, Redact, and mjson.
func independentRefHash(t *testing.T, v *spec.RoomVersion, raw []byte) []byte {
	t.Helper()
	red, err := Redact(v, raw)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeMap(t, red)
	delete(m, "signatures")
	delete(m, "unsigned")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mjson.CanonicalLenient(b)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c)
	return sum[:]
}

func TestEventIDFormats(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		e := testMessage(t, v)
		ref := independentRefHash(t, v, e.JSON())
		if !bytes.Equal(ref, e.ReferenceHash()) {
			t.Errorf("v%s: reference hash differs from the independent computation", v.ID)
		}
		if got, err := ReferenceHash(v, e.JSON()); err != nil || !bytes.Equal(got, ref) {
			t.Errorf("v%s: ReferenceHash = %x, %v", v.ID, got, err)
		}
		var want string
		switch v.EventIDFormat {
		case spec.EventIDOpaque:
			want = decodeMap(t, e.JSON())["event_id"].(string)
			if !strings.HasSuffix(want, ":"+testServer) {
				t.Errorf("v%s: event_id %q not on the origin", v.ID, want)
			}
		case spec.EventIDHashStd:
			want = "$" + base64.RawStdEncoding.EncodeToString(ref)
		case spec.EventIDHashURL:
			want = "$" + base64.RawURLEncoding.EncodeToString(ref)
		}
		if e.EventID() != want {
			t.Errorf("v%s: event ID %q, want %q", v.ID, e.EventID(), want)
		}
	}
}

// TestEventIDStability checks what the event ID covers: not unsigned,
// signatures or redactable content, but every kept key.
func TestEventIDStability(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		if v.EventIDFormat == spec.EventIDOpaque {
			continue
		}
		e := testMessage(t, v)
		same := []func(map[string]any){
			set("unsigned", map[string]any{"age": 5}),
			set("signatures", map[string]any{"other.org": map[string]any{"ed25519:x": "sig"}}),
			set("content", map[string]any{"body": "changed"}),
			set("origin_extra", "x"),
		}
		for i, f := range same {
			e2, err := Parse(v, mutate(t, e.JSON(), f))
			if err != nil {
				t.Fatal(err)
			}
			if e2.EventID() != e.EventID() {
				t.Errorf("v%s same[%d]: event ID changed", v.ID, i)
			}
		}
		differ := []func(map[string]any){
			set("depth", 6), set("origin_server_ts", 1), set("sender", "@bob:example.org"),
			set("hashes", map[string]any{"sha256": "other"}), set("state_key", ""),
		}
		for i, f := range differ {
			e2, err := Parse(v, mutate(t, e.JSON(), f))
			if err != nil {
				t.Fatal(err)
			}
			if e2.EventID() == e.EventID() {
				t.Errorf("v%s differ[%d]: event ID unchanged", v.ID, i)
			}
		}
	}
}

func TestOpaqueEventIDDeterministic(t *testing.T) {
	v := spec.MustRoomVersion("1")
	b := Builder{Type: "m.room.message", Rand: bytes.NewReader(bytes.Repeat([]byte{0, 61, 250, 1}, 16))}
	e := buildTest(t, v, b)
	// Bytes 0 and 61 map to 'A' and '9'; 250 is rejected; 1 maps to 'B'.
	if want := "$A9BA9BA9BA9BA9BA9B:" + testServer; e.EventID() != want {
		t.Errorf("event ID %q, want %q", e.EventID(), want)
	}
	if _, err := (&Builder{Type: "x", Sender: "@a:b", RoomID: "!r:b", Rand: bytes.NewReader(nil)}).Build(v, "b", specKey(t)); err == nil {
		t.Error("Build with exhausted randomness succeeded")
	}
}

// TestV12Create checks the room ID derivation of v12 and that a create
// event may carry no room_id only where it is the create event.
func TestV12Create(t *testing.T) {
	v := spec.MustRoomVersion("12")
	ce := buildTest(t, v, Builder{Type: spec.MRoomCreate, StateKey: strp(""), Depth: 1, Content: map[string]any{"room_version": "12"}})
	if ce.RoomID() != "!"+ce.EventID()[1:] || RoomIDForCreate(ce.EventID()) != ce.RoomID() || CreateEventIDForRoom(ce.RoomID()) != ce.EventID() {
		t.Errorf("room ID %q for create %q", ce.RoomID(), ce.EventID())
	}
	if _, err := spec.ParseRoomID(ce.RoomID()); err != nil {
		t.Errorf("derived room ID invalid: %v", err)
	}
	if _, ok := decodeMap(t, ce.JSON())["room_id"]; ok {
		t.Error("v12 create event has room_id")
	}
	withRoom := mutate(t, ce.JSON(), set("room_id", ce.RoomID()))
	_, err := Parse(v, withRoom)
	checkField(t, "v12 create with room_id", err, "room_id")
	// A create-typed event with another state key is not the create event.
	other := mutate(t, ce.JSON(), set("state_key", "x"))
	_, err = Parse(v, other)
	checkField(t, "v12 m.room.create state_key x without room_id", err, "room_id")
	_, err = (&Builder{Type: spec.MRoomCreate, StateKey: strp(""), Sender: "@a:b", RoomID: "!x:b"}).Build(v, "b", specKey(t))
	if err == nil {
		t.Error("Build accepted a room ID for a v12 create event")
	}
	// Before v12 the create event needs its room_id.
	v11 := spec.MustRoomVersion("11")
	ce11 := buildTest(t, v11, Builder{Type: spec.MRoomCreate, StateKey: strp(""), Depth: 1})
	_, err = Parse(v11, mutate(t, ce11.JSON(), del("room_id")))
	checkField(t, "v11 create without room_id", err, "room_id")
}

func TestMembership(t *testing.T) {
	v := spec.MustRoomVersion("10")
	m := buildTest(t, v, Builder{Type: spec.MRoomMember, StateKey: strp("@alice:example.org"), Content: map[string]any{"membership": "join"}})
	if got, err := m.Membership(); err != nil || got != "join" {
		t.Errorf("Membership = %q, %v", got, err)
	}
	for _, b := range []Builder{
		{Type: spec.MRoomMember, StateKey: strp("@alice:example.org"), Content: map[string]any{"membership": 1}},
		{Type: spec.MRoomMember, StateKey: strp("@alice:example.org")},
		{Type: spec.MRoomMember, Content: map[string]any{"membership": "join"}},
		{Type: "m.room.message", Content: map[string]any{"membership": "join"}},
	} {
		if got, err := buildTest(t, v, b).Membership(); err == nil {
			t.Errorf("%+v: Membership = %q", b, got)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	v := spec.MustRoomVersion("11")
	key := specKey(t)
	many := make([]string, MaxPrevEvents+1)
	for i := range many {
		many[i], _ = testRef(v, byte(i))
	}
	cases := map[string]Builder{
		"redacts on a message":   {Type: "m.room.message", Redacts: "$x"},
		"content not an object":  {Type: "m.room.message", Content: []int{1}},
		"content invalid JSON":   {Type: "m.room.message", Content: json.RawMessage(`{`)},
		"float content (strict)": {Type: "m.room.message", Content: map[string]any{"f": 1.5}},
		"unsigned not an object": {Type: "m.room.message", Unsigned: 5},
		"too many prev_events":   {Type: "m.room.message", PrevEvents: many},
		"conflicting redacts":    {Type: spec.MRoomRedaction, Redacts: "$a", Content: map[string]any{"redacts": "$b"}},
		"bad sender":             {Type: "m.room.message", Sender: "alice"},
		"negative depth":         {Type: "m.room.message", Depth: -1},
	}
	for name, b := range cases {
		if b.Sender == "" {
			b.Sender = "@a:example.org"
		}
		b.RoomID = testRoomID(v)
		if _, err := b.Build(v, testServer, key); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
	v1 := spec.MustRoomVersion("1")
	if _, err := (&Builder{Type: "x", Sender: "@a:b", RoomID: "!r:b", PrevEvents: []string{"$p:b"}}).Build(v1, "b", key); err == nil {
		t.Error("v1 Build without reference hashes succeeded")
	}
	if _, err := (&Builder{Type: "x", Sender: "@a:b", RoomID: "!r:b"}).Build(v, "b", signing.Key{ID: "ed25519:1"}); err == nil {
		t.Error("Build with no private key succeeded")
	}
	// An equal content.redacts is fine.
	e, err := (&Builder{Type: spec.MRoomRedaction, Sender: "@a:b", RoomID: "!r:b", Redacts: "$a", Content: map[string]any{"redacts": "$a"}}).Build(v, "b", key)
	if err != nil || e.Redacts() != "$a" {
		t.Errorf("equal content.redacts: %v", err)
	}
}

// TestCanonicalEscapedKeys pins our handling of object keys that JSON must
// escape (the oracle emits them unescaped; see hasEscapedKey): they stay
// escaped in the canonical form, so hashes, IDs and redaction are stable.
func TestCanonicalEscapedKeys(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		e := buildTest(t, v, Builder{Type: "m.room.message", Content: map[string]any{"q\"": 1, "b\\": 2, "c\u0007": 3, "n\n": 4}})
		if !bytes.Contains(e.JSON(), []byte(`"b\\":2,"c\u0007":3,"n\n":4,"q\"":1`)) {
			t.Errorf("v%s: content not canonical: %s", v.ID, e.JSON())
		}
		again, err := Parse(v, e.JSON())
		if err != nil || again.EventID() != e.EventID() || again.CheckContentHash() != nil {
			t.Errorf("v%s: reparse: %v", v.ID, err)
		}
		red, err := Redact(v, e.JSON())
		if err != nil || !json.Valid(red) {
			t.Errorf("v%s: redact: %s, %v", v.ID, red, err)
		}
	}
}

// TestStrayEventID pins the reading that a v3+ event carrying an event_id
// key is hashed with it (the redaction algorithms keep event_id), where the
// oracle deletes the key first.
func TestStrayEventID(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		if v.EventIDFormat == spec.EventIDOpaque {
			continue
		}
		e := testMessage(t, v)
		withID, err := Parse(v, mutate(t, e.JSON(), set("event_id", e.EventID())))
		if err != nil {
			t.Fatal(err)
		}
		if withID.EventID() == e.EventID() {
			t.Errorf("v%s: event_id key not covered by the reference hash", v.ID)
		}
		if ref := independentRefHash(t, v, withID.JSON()); !bytes.Equal(ref, withID.ReferenceHash()) {
			t.Errorf("v%s: reference hash differs from the independent computation", v.ID)
		}
	}
}

// TestAccessors checks the accessors against the built fields.
func TestAccessors(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		prev, ph := testRef(v, 3)
		auth, ah := testRef(v, 4)
		e := buildTest(t, v, Builder{
			Type: "m.room.topic", StateKey: strp(""), Sender: "@bob:example.org", Content: map[string]any{"topic": "t"},
			PrevEvents: []string{prev}, AuthEvents: []string{auth}, ReferenceHashes: map[string][]byte{prev: ph, auth: ah},
			Depth: 7, OriginServerTS: 42, Unsigned: map[string]any{"age": 1},
		})
		got := fmt.Sprint(e.Version().ID, e.Type(), *e.StateKey(), e.IsState(), e.StateKeyEquals(""), e.StateTuple(), e.Sender(),
			e.RoomID(), string(e.Content()), e.Redacts(), e.Depth(), e.OriginServerTS(), e.PrevEventIDs(), e.AuthEventIDs(), string(e.Unsigned()), e.Origin())
		want := fmt.Sprint(v.ID, "m.room.topic", "", true, true, spec.StateKeyTuple{Type: "m.room.topic"}, "@bob:example.org",
			testRoomID(v), `{"topic":"t"}`, "", 7, 42, []string{prev}, []string{auth}, `{"age":1}`, "")
		if got != want {
			t.Errorf("v%s:\n got %s\nwant %s", v.ID, got, want)
		}
		// A top-level redacts on another type is not a redaction.
		if !v.RedactsInContent {
			o, err := Parse(v, mutate(t, e.JSON(), set("redacts", "$x:y")))
			if err != nil || o.Redacts() != "" {
				t.Errorf("v%s: Redacts of a topic = %q, %v", v.ID, o.Redacts(), err)
			}
		}
		msg := testMessage(t, v)
		if msg.IsState() || msg.StateKey() != nil || msg.StateKeyEquals("") || msg.Unsigned() != nil {
			t.Errorf("v%s: message has state key or unsigned", v.ID)
		}
		withOrigin, err := Parse(v, mutate(t, msg.JSON(), set("origin", "o.example")))
		if err != nil || withOrigin.Origin() != "o.example" {
			t.Errorf("v%s: Origin = %q, %v", v.ID, withOrigin.Origin(), err)
		}
	}
}

// TestReferenceHashMatchesSigning checks Parse's direct computation of the
// reference hash against signing.ReferenceHash of Redact's output.
func TestReferenceHashMatchesSigning(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		g := &eventGen{r: rand.New(rand.NewSource(int64(v.EventIDFormat))), v: v}
		for i := 0; i < 50; i++ {
			e := randomEvent(t, g)
			red, err := Redact(v, e.JSON())
			if err != nil {
				t.Fatal(err)
			}
			want, err := signing.ReferenceHash(red, v.StrictCanonicalJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.ReferenceHash(), want[:]) {
				t.Fatalf("v%s: reference hash differs from signing's for %s", v.ID, e.JSON())
			}
		}
	}
}

// TestCheckContentHash covers matching, mismatching and undecodable hashes,
// and agreement with signing.CheckContentHash.
func TestCheckContentHash(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		e := testMessage(t, v)
		cases := []struct {
			raw []byte
			ok  bool
		}{
			{e.JSON(), true},
			{mutate(t, e.JSON(), set("unsigned", map[string]any{"age": 9})), true},
			{mutate(t, e.JSON(), set("signatures", map[string]any{})), true},
			{mutate(t, e.JSON(), set("content", map[string]any{})), false},
			{mutate(t, e.JSON(), set("hashes", map[string]any{"sha256": "!!"})), false},
		}
		for i, c := range cases {
			p, err := Parse(v, c.raw)
			if err != nil {
				t.Fatal(err)
			}
			err = p.CheckContentHash()
			if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrContentHash)) {
				t.Errorf("v%s case %d: %v", v.ID, i, err)
			}
			if s := signing.CheckContentHash(c.raw, v.StrictCanonicalJSON); (s == nil) != c.ok {
				t.Errorf("v%s case %d: signing says %v", v.ID, i, s)
			}
		}
	}
}
