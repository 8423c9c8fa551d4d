package eventauth

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// Test users. alice creates every test room; mod has 50, bob the default.
const (
	alice = "@alice:example.org"
	mod   = "@mod:example.org"
	bob   = "@bob:example.org"
	carol = "@carol:example.org"
	dave  = "@dave:other.org"
)

func strp(s string) *string { return &s }

// testKey is the signing key every test event is signed with; signatures
// are not what these tests are about.
func testKey(t testing.TB) signing.Key {
	t.Helper()
	k, err := signing.KeyFromSeed("1", bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// room is a test room: its create event and a state map the tests edit
// freely (the state need not be reachable by allowed events).
type room struct {
	t      testing.TB
	v      *spec.RoomVersion
	key    signing.Key
	id     string
	create *pdu.Event
	state  StateMap
	hashes map[string][]byte
	rng    *rand.ChaCha8
	depth  int64
	prev   string
}

// newRoom makes a room whose create event alice sends with the given extra
// content (room_version and, before v11, creator are added unless present).
func newRoom(t testing.TB, v *spec.RoomVersion, extra map[string]any) *room {
	t.Helper()
	return newRoomAs(t, v, alice, extra, 0)
}

// newRoomAs is newRoom with the given creator and seed for the random part
// of v1/v2 event IDs.
func newRoomAs(t testing.TB, v *spec.RoomVersion, creator string, extra map[string]any, seedN uint64) *room {
	t.Helper()
	var seed [32]byte
	copy(seed[:], v.ID)
	for i := range 8 {
		seed[8+i] = byte(seedN >> (8 * i))
	}
	r := &room{t: t, v: v, key: testKey(t), state: StateMap{}, hashes: map[string][]byte{}, rng: rand.NewChaCha8(seed)}
	content := map[string]any{"room_version": v.ID}
	if !v.CreatorFromSender {
		content["creator"] = creator
	}
	for k, x := range extra {
		if x == nil {
			delete(content, k)
		} else {
			content[k] = x
		}
	}
	b := r.builder(spec.MRoomCreate, strp(""), creator, content)
	b.PrevEvents = nil
	if !v.CreateEventHasNoRoomID {
		b.RoomID = "!room:" + domainOf(creator)
	}
	r.create = r.buildWith(b)
	r.id = r.create.RoomID()
	r.put(r.create)
	return r
}

// stdRoom is newRoom plus alice's join, power levels (mod 50; alice 100
// unless she is a v12 creator), a public join rule, and mod and bob joined.
func stdRoom(t testing.TB, v *spec.RoomVersion) *room {
	r := newRoom(t, v, nil)
	r.set(spec.MRoomMember, alice, alice, map[string]any{"membership": "join"})
	r.setPL(nil)
	r.setJoinRule("public", nil)
	r.setMember(mod, "join")
	r.setMember(bob, "join")
	return r
}

// stdUsers returns the std power levels users map plus extra (nil values
// delete).
func (r *room) stdUsers(extra map[string]any) map[string]any {
	users := map[string]any{mod: 50}
	if !r.v.PrivilegedCreators {
		users[alice] = 100
	}
	for k, x := range extra {
		if x == nil {
			delete(users, k)
		} else {
			users[k] = x
		}
	}
	return users
}

// setPL sets power levels: the std users with extra top-level content
// (a "users" key replaces the users map entirely).
func (r *room) setPL(extra map[string]any) {
	content := map[string]any{"users": r.stdUsers(nil)}
	for k, x := range extra {
		if x == nil {
			delete(content, k)
		} else {
			content[k] = x
		}
	}
	r.set(spec.MRoomPowerLevels, "", alice, content)
}

func (r *room) setJoinRule(jr string, extra map[string]any) {
	content := map[string]any{"join_rule": jr}
	for k, x := range extra {
		content[k] = x
	}
	r.set(spec.MRoomJoinRules, "", alice, content)
}

func (r *room) setMember(user, membership string) {
	r.set(spec.MRoomMember, user, user, map[string]any{"membership": membership})
}

func (r *room) set(typ, sk, sender string, content any) *pdu.Event {
	e := r.event(typ, strp(sk), sender, content)
	r.put(e)
	return e
}

func (r *room) unset(typ, sk string) {
	delete(r.state, spec.StateKeyTuple{Type: typ, StateKey: sk})
}

func (r *room) put(e *pdu.Event) {
	if e.IsState() {
		r.state[e.StateTuple()] = e
	}
	r.hashes[e.EventID()] = e.ReferenceHash()
	r.prev = e.EventID()
}

// builder returns a Builder for an event in the room after the last one.
func (r *room) builder(typ string, sk *string, sender string, content any) *pdu.Builder {
	r.depth++
	b := &pdu.Builder{
		Type: typ, StateKey: sk, Sender: sender, RoomID: r.id, Content: content,
		ReferenceHashes: r.hashes, Depth: r.depth, OriginServerTS: 1700000000000 + r.depth,
		Rand: r.rng,
	}
	if r.prev != "" {
		b.PrevEvents = []string{r.prev}
	}
	return b
}

func (r *room) buildWith(b *pdu.Builder) *pdu.Event {
	r.t.Helper()
	origin := spec.ServerName(domainOf(b.Sender))
	e, err := b.Build(r.v, origin, r.key)
	if err != nil {
		r.t.Fatalf("v%s: build %s: %v", r.v.ID, b.Type, err)
	}
	return e
}

// event builds (but does not add) an event.
func (r *room) event(typ string, sk *string, sender string, content any) *pdu.Event {
	r.t.Helper()
	return r.buildWith(r.builder(typ, sk, sender, content))
}

func (r *room) member(sender, target, membership string, extra map[string]any) *pdu.Event {
	content := map[string]any{"membership": membership}
	for k, x := range extra {
		content[k] = x
	}
	return r.event(spec.MRoomMember, strp(target), sender, content)
}

func (r *room) pl(sender string, content any) *pdu.Event {
	return r.event(spec.MRoomPowerLevels, strp(""), sender, content)
}

func (r *room) msg(sender string) *pdu.Event {
	return r.event("m.room.message", nil, sender, map[string]any{"body": "hi", "msgtype": "m.text"})
}

// raw wraps literal JSON content for events whose content encoding/json
// cannot express (floats, exact spellings).
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// expectation is a parsed "want" string: space-separated "A-B:rule" or
// "A:rule" items, rule "ok" for allowed; versions not listed do not apply.
type expectation map[int]string

func parseWant(t testing.TB, s string) expectation {
	t.Helper()
	out := expectation{}
	for _, item := range strings.Fields(s) {
		vers, rule, ok := strings.Cut(item, ":")
		if !ok {
			t.Fatalf("bad want item %q", item)
		}
		lo, hi, isRange := strings.Cut(vers, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > b {
			t.Fatalf("bad want versions %q", vers)
		}
		for i := a; i <= b; i++ {
			out[i] = rule
		}
	}
	return out
}

// verdict renders Check's result as "ok" or the rejection's rule.
func verdict(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	rej := AsRejection(err)
	if rej == nil {
		t.Fatalf("non-rejection error: %v", err)
	}
	return rej.Rule
}
