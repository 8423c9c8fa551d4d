package stateres

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// The users of the hand-written scenarios.
const (
	alice   = "@alice:example.com"
	bob     = "@bob:example.com"
	charlie = "@charlie:example.com"
	zara    = "@zara:example.com"
	evelyn  = "@evelyn:example.com"
)

// sev describes one event of a scenario.
type sev struct {
	name     string
	typ      string
	sender   string
	stateKey *string // nil for a message
	content  map[string]any
	// prev names the prev events; the state before the event is the
	// resolution of the states after them. Empty means the previous event
	// of the list.
	prev []string
	// ts overrides origin_server_ts (default: 1000 × position).
	ts int64
}

func sk(s string) *string { return &s }

func memberEv(name, sender, target, membership string, prev ...string) sev {
	return sev{name: name, typ: spec.MRoomMember, sender: sender, stateKey: sk(target),
		content: map[string]any{"membership": membership}, prev: prev}
}

func plEv(name, sender string, users map[string]any, prev ...string) sev {
	return sev{name: name, typ: spec.MRoomPowerLevels, sender: sender, stateKey: sk(""),
		content: map[string]any{"users": users, "events": map[string]any{spec.MRoomTopic: 0}}, prev: prev}
}

func jrEv(name, sender, rule string, prev ...string) sev {
	return sev{name: name, typ: spec.MRoomJoinRules, sender: sender, stateKey: sk(""),
		content: map[string]any{"join_rule": rule}, prev: prev}
}

func topicEv(name, sender string, prev ...string) sev {
	return sev{name: name, typ: spec.MRoomTopic, sender: sender, stateKey: sk(""),
		content: map[string]any{"topic": name}, prev: prev}
}

// scenarioRoom is a room built from scenario events, with the state after
// each.
type scenarioRoom struct {
	t      *testing.T
	v      *spec.RoomVersion
	key    signing.Key
	rng    *rand.ChaCha8
	roomID string
	events map[string]*pdu.Event // by ID
	byName map[string]*pdu.Event
	after  map[string]StateMap // by name
	last   string
	n      int64
}

// users maps a user to a level for a power levels event, leaving out
// alice in room versions where the creator has infinite power.
func (r *scenarioRoom) users(levels ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(levels); i += 2 {
		u := levels[i].(string)
		if u == alice && r.v.PrivilegedCreators {
			continue
		}
		m[u] = levels[i+1]
	}
	return m
}

// newScenarioRoom creates a room: CREATE, IMA (alice joins), IPOWER
// (alice 100, topics at level 0), IJR (public), IMB, IMC, IMZ (bob, charlie
// and zara join) and START (a message).
func newScenarioRoom(t *testing.T, v *spec.RoomVersion) *scenarioRoom {
	t.Helper()
	key, err := signing.KeyFromSeed("s1", make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	r := &scenarioRoom{t: t, v: v, key: key, rng: rand.NewChaCha8([32]byte{1}),
		events: map[string]*pdu.Event{}, byName: map[string]*pdu.Event{}, after: map[string]StateMap{}}
	if v.RoomIDFormat == spec.RoomIDOpaque {
		r.roomID = "!room:example.com"
	}
	create := map[string]any{"room_version": v.ID}
	if !v.CreatorFromSender {
		create["creator"] = alice
	}
	r.add(sev{name: "CREATE", typ: spec.MRoomCreate, sender: alice, stateKey: sk(""), content: create})
	if v.CreateEventHasNoRoomID {
		r.roomID = r.byName["CREATE"].RoomID()
	}
	r.add(memberEv("IMA", alice, alice, spec.MembershipJoin))
	r.add(plEv("IPOWER", alice, r.users(alice, 100)))
	r.add(jrEv("IJR", alice, spec.JoinRulePublic))
	r.add(memberEv("IMB", bob, bob, spec.MembershipJoin))
	r.add(memberEv("IMC", charlie, charlie, spec.MembershipJoin))
	r.add(memberEv("IMZ", zara, zara, spec.MembershipJoin))
	r.add(sev{name: "START", typ: spec.MRoomMessage, sender: alice, content: map[string]any{"body": "start"}})
	return r
}

// add builds e on the state before it, checks that the rules allow it,
// and records the state after it.
func (r *scenarioRoom) add(e sev) {
	r.t.Helper()
	r.n++
	prev := e.prev
	if len(prev) == 0 && r.last != "" {
		prev = []string{r.last}
	}
	before := StateMap{}
	if len(prev) > 0 {
		var err error
		if before, err = r.resolve(prev...); err != nil {
			r.t.Fatalf("%s: state before: %v", e.name, err)
		}
	}
	content := map[string]any{}
	for k, v := range e.content {
		content[k] = v
	}
	b := pdu.Builder{Type: e.typ, StateKey: e.stateKey, Sender: e.sender, RoomID: r.roomID,
		Content: content, OriginServerTS: e.ts, Rand: r.rng}
	if b.OriginServerTS == 0 {
		b.OriginServerTS = 1000 * r.n
	}
	if e.typ == spec.MRoomCreate {
		b.RoomID = ""
		if r.v.RoomIDFormat == spec.RoomIDOpaque {
			b.RoomID = r.roomID
		}
	}
	for _, p := range prev {
		pe := r.byName[p]
		b.PrevEvents = append(b.PrevEvents, pe.EventID())
		b.Depth = max(b.Depth, pe.Depth())
	}
	b.Depth++
	raw, err := json.Marshal(content)
	if err != nil {
		r.t.Fatal(err)
	}
	keys, err := pdu.AuthEventTypes(r.v, e.typ, e.stateKey, e.sender, raw)
	if err != nil {
		r.t.Fatalf("%s: %v", e.name, err)
	}
	for _, k := range keys {
		if id, ok := before[k]; ok {
			b.AuthEvents = append(b.AuthEvents, id)
		}
	}
	b.ReferenceHashes = map[string][]byte{}
	for _, id := range append(slices.Clone(b.PrevEvents), b.AuthEvents...) {
		b.ReferenceHashes[id] = r.events[id].ReferenceHash()
	}
	ev, err := b.Build(r.v, "example.com", r.key)
	if err != nil {
		r.t.Fatalf("%s: build: %v", e.name, err)
	}
	if err := eventauth.Check(ev, r.provider(before)); err != nil {
		r.t.Fatalf("scenario event %s is not allowed: %v", e.name, err)
	}
	r.events[ev.EventID()] = ev
	r.byName[e.name] = ev
	after := StateMap{}
	for k, id := range before {
		after[k] = id
	}
	if ev.IsState() {
		after[ev.StateTuple()] = ev.EventID()
	}
	r.after[e.name] = after
	r.last = e.name
}

func (r *scenarioRoom) provider(s StateMap) eventauth.StateMap {
	out := eventauth.StateMap{}
	for k, id := range s {
		out[k] = r.events[id]
	}
	return out
}

// resolve resolves the states after the named events.
func (r *scenarioRoom) resolve(names ...string) (StateMap, error) {
	return r.resolveWith(r.v, names...)
}

func (r *scenarioRoom) resolveWith(v *spec.RoomVersion, names ...string) (StateMap, error) {
	states := make([]StateMap, len(names))
	for i, n := range names {
		states[i] = r.after[n]
	}
	return Resolve(v, states, memSource(r.events))
}

// id returns the event ID of a named event, "" for "".
func (r *scenarioRoom) id(name string) string {
	if name == "" {
		return ""
	}
	ev, ok := r.byName[name]
	if !ok {
		r.t.Fatalf("no event %s", name)
	}
	return ev.EventID()
}

// name returns the scenario name of an event ID.
func (r *scenarioRoom) name(id string) string {
	for n, ev := range r.byName {
		if ev.EventID() == id {
			return n
		}
	}
	if id == "" {
		return "(none)"
	}
	return id
}

// expect checks that got maps each key to the named event ("" for absent).
func (r *scenarioRoom) expect(got StateMap, want map[spec.StateKeyTuple]string) {
	r.t.Helper()
	for k, name := range want {
		if got[k] != r.id(name) {
			r.t.Errorf("%s/%s: got %s, want %s", k.Type, k.StateKey, r.name(got[k]), nameOrNone(name))
		}
	}
}

func nameOrNone(n string) string {
	if n == "" {
		return "(none)"
	}
	return n
}

var (
	keyPL    = spec.StateKeyTuple{Type: spec.MRoomPowerLevels}
	keyJR    = spec.StateKeyTuple{Type: spec.MRoomJoinRules}
	keyTopic = spec.StateKeyTuple{Type: spec.MRoomTopic}
)

func keyMember(u string) spec.StateKeyTuple {
	return spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: u}
}
