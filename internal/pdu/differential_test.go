package pdu

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"

	"myelin/internal/mjson"
	"myelin/internal/spec"
)

// diffEventsPerVersion is the number of random valid events per room
// version in the differential tests.
const diffEventsPerVersion = 500

// oracle returns gomatrixserverlib's implementation of version v.
func oracle(v *spec.RoomVersion) gmsl.IRoomVersion {
	return gmsl.MustGetRoomVersion(gmsl.RoomVersion(v.ID))
}

// oracleParse runs the oracle's NewEventFromUntrustedJSON and reads its
// event ID, turning a panic (the oracle computes v3+ IDs lazily and panics
// on events it cannot redact) into an error.
func oracleParse(v *spec.RoomVersion, raw []byte) (ev gmsl.PDU, id string, err error) {
	defer func() {
		if p := recover(); p != nil {
			ev, id, err = nil, "", fmt.Errorf("oracle panic: %v", p)
		}
	}()
	ev, err = oracle(v).NewEventFromUntrustedJSON(raw)
	if err != nil {
		return nil, "", err
	}
	return ev, ev.EventID(), nil
}

// randomEvent builds a random valid event, sometimes with extra top-level
// keys (then re-hashed and re-signed).
func randomEvent(t testing.TB, g *eventGen) *Event {
	t.Helper()
	b := g.builder()
	e, err := b.Build(g.v, testServer, specKey(t))
	if err != nil {
		t.Fatalf("v%s: build %+v: %v", g.v.ID, b, err)
	}
	extras := g.topLevelExtras()
	if len(extras) == 0 {
		return e
	}
	raw := mutate(t, e.JSON(), func(m map[string]any) {
		for k, x := range extras {
			m[k] = x
		}
	})
	raw, err = AddContentHash(g.v, raw)
	if err == nil {
		raw, err = Sign(g.v, raw, testServer, specKey(t))
	}
	if err != nil {
		t.Fatalf("v%s: re-sign: %v", g.v.ID, err)
	}
	e, err = Parse(g.v, raw)
	if err != nil {
		t.Fatalf("v%s: parse event with extras %s: %v", g.v.ID, raw, err)
	}
	return e
}

// isV11TPIMember reports the one shape on which the oracle's redaction is
// wrong by the spec: from v11 on, an m.room.member event whose content has
// an object third_party_invite. Rooms fragment v11-redactions: "it allows
// the signed key of the third_party_invite key"; the oracle's table
// (unredactableContentFieldsV5) drops third_party_invite entirely.
// TestRedactThirdPartyInvite pins our behaviour.
func isV11TPIMember(v *spec.RoomVersion, e *Event) bool {
	if v.Redaction < spec.RedactionV11 || e.Type() != spec.MRoomMember {
		return false
	}
	cms, err := splitObject(e.Content())
	if err != nil {
		return false
	}
	return isObject(lookup(cms, "third_party_invite"))
}

// hasEscapedKey reports the shape on which the oracle's canonical JSON is
// wrong by the spec: an object key, at any depth, holding a character JSON
// must escape ('"', '\\' or a control character). The oracle's sortJSONObject
// writes the decoded key between quotes unescaped, producing invalid JSON,
// and then rejects the event; appendices "Canonical JSON" requires such
// characters to be escaped. TestCanonicalEscapedKeys pins our behaviour.
func hasEscapedKey(raw []byte) bool {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return false
	}
	return escapedKeyIn(x)
}

func escapedKeyIn(x any) bool {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			if strings.ContainsAny(k, "\"\\") || strings.IndexFunc(k, func(r rune) bool { return r < 0x20 }) >= 0 || escapedKeyIn(v) {
				return true
			}
		}
	case []any:
		for _, v := range t {
			if escapedKeyIn(v) {
				return true
			}
		}
	}
	return false
}

// area counts the cases, disagreements and known oracle deviations of one
// area of the differential test.
type area struct {
	t                      *testing.T
	name                   string
	cases, bad, deviations int
}

// fail reports a disagreement with the oracle.
func (a *area) fail(format string, args ...any) {
	a.t.Helper()
	a.bad++
	a.t.Errorf(a.name+": "+format, args...)
}

func (a *area) log() {
	a.t.Helper()
	a.t.Logf("%s: differential: %d cases, %d disagreements", a.name, a.cases, a.bad)
	a.t.Logf("%s: known oracle deviations: %d", a.name, a.deviations)
}

// TestDifferential compares this package with the oracle on random valid
// events of every room version (diffEventsPerVersion each) and on mutations
// of them, in three areas: redaction (Redact against RedactEventJSON, byte
// for byte after canonicalization), event IDs and hashes (event ID, content
// hash verdict, our signature checked by the oracle over its redacted
// form, parsed fields), and parse acceptance (mutated events: Parse against
// NewEventFromUntrustedJSON).
func TestDifferential(t *testing.T) {
	red := &area{t: t, name: "redaction"}
	ids := &area{t: t, name: "event IDs and hashes"}
	acc := &area{t: t, name: "parse acceptance"}
	pub := specKey(t).Public()
	for _, v := range spec.RoomVersions() {
		g := &eventGen{r: rand.New(rand.NewSource(int64(len(v.ID))*7919 + int64(v.Redaction)*31 + int64(v.EventIDFormat))), v: v}
		for i := 0; i < diffEventsPerVersion; i++ {
			e := randomEvent(t, g)
			diffRedaction(red, v, e)
			diffIDs(ids, v, e, pub)
			diffMutations(acc, g, e)
		}
	}
	red.log()
	ids.log()
	acc.log()
}

// diffRedaction compares Redact with the oracle's RedactEventJSON.
func diffRedaction(a *area, v *spec.RoomVersion, e *Event) {
	a.t.Helper()
	a.cases++
	if isV11TPIMember(v, e) {
		a.deviations++
		return
	}
	ours, err := Redact(v, e.JSON())
	if err != nil {
		a.fail("v%s: Redact: %v", v.ID, err)
		return
	}
	theirs, err := oracle(v).RedactEventJSON(e.JSON())
	if err == nil {
		theirs, err = mjson.CanonicalLenient(theirs)
	}
	if err != nil {
		a.fail("v%s: oracle redact: %v", v.ID, err)
		return
	}
	if !bytes.Equal(ours, theirs) {
		a.fail("v%s: redaction of %s\n ours   %s\n oracle %s", v.ID, e.JSON(), ours, theirs)
	}
}

// diffIDs compares the event ID, the content hash verdict (the oracle
// redacts an event whose hash does not match), our signature as the oracle
// checks it over its redacted form, and the parsed fields.
func diffIDs(a *area, v *spec.RoomVersion, e *Event, pub ed25519.PublicKey) {
	a.t.Helper()
	a.cases++
	if hasEscapedKey(e.JSON()) {
		a.deviations++
		return
	}
	ge, id, err := oracleParse(v, e.JSON())
	if err != nil {
		a.fail("v%s: oracle rejects %s: %v", v.ID, e.JSON(), err)
		return
	}
	if ge.Redacted() != (e.CheckContentHash() != nil) {
		a.fail("v%s: content hash verdict differs (oracle redacted=%v) for %s", v.ID, ge.Redacted(), e.JSON())
	}
	if diff := compareFields(v, e, ge); diff != "" {
		a.fail("v%s: %s", v.ID, diff)
	}
	if isV11TPIMember(v, e) {
		// The oracle's redacted form differs (see isV11TPIMember), and
		// with it the reference hash and the signed bytes.
		a.deviations++
		return
	}
	if id != e.EventID() {
		a.fail("v%s: event ID %s, oracle %s, for %s", v.ID, e.EventID(), id, e.JSON())
	}
	redacted, err := oracle(v).RedactEventJSON(e.JSON())
	if err != nil {
		a.fail("v%s: oracle redact: %v", v.ID, err)
		return
	}
	if err := gmsl.VerifyJSON(testServer, "ed25519:1", pub, redacted); err != nil {
		a.fail("v%s: oracle rejects our signature: %v", v.ID, err)
	}
}

// compareFields compares the accessors of a parsed event with the oracle's.
func compareFields(v *spec.RoomVersion, e *Event, ge gmsl.PDU) string {
	wantAuth := e.AuthEventIDs()
	if v.CreateEventHasNoRoomID && !e.isCreate() {
		// The oracle lists the create event, implied by the room ID, first.
		wantAuth = append([]string{CreateEventIDForRoom(e.RoomID())}, wantAuth...)
	}
	got := fmt.Sprint(e.Type(), e.StateKey() != nil, e.StateTuple(), e.Sender(), e.RoomID(), e.Depth(),
		e.OriginServerTS(), e.PrevEventIDs(), wantAuth, string(e.Content()))
	sk := ge.StateKey()
	tuple := spec.StateKeyTuple{Type: ge.Type()}
	if sk != nil {
		tuple.StateKey = *sk
	}
	content, err := mjson.CanonicalLenient(ge.Content())
	if err != nil {
		return fmt.Sprintf("oracle content %s: %v", ge.Content(), err)
	}
	want := fmt.Sprint(ge.Type(), sk != nil, tuple, string(ge.SenderID()), ge.RoomID().String(), ge.Depth(),
		int64(ge.OriginServerTS()), ge.PrevEventIDs(), ge.AuthEventIDs(), string(content))
	if got != want {
		return fmt.Sprintf("fields differ\n ours   %s\n oracle %s", got, want)
	}
	if e.Type() == spec.MRoomMember && e.StateKey() != nil && e.hasMembership {
		m, _ := e.Membership()
		if gm, err := ge.Membership(); err != nil || m != gm {
			return fmt.Sprintf("membership %q, oracle %q/%v", m, gm, err)
		}
	}
	return ""
}
