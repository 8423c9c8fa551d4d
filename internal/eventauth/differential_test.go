package eventauth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
	gspec "github.com/matrix-org/gomatrixserverlib/spec"

	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// The differential test generates random but valid room situations for
// every room version and random candidate events, and compares Check with
// gomatrixserverlib's Allowed on the same state. Every disagreement must be
// one of the known oracle deviations below, each a shape of input on which
// gomatrixserverlib departs from the spec text (and is pinned by a focused
// test of ours in oracle_deviations_test.go); anything else fails.

const (
	diffRooms         = 1500
	diffSeed          = 1
	diffCandidatesPer = 4 // candidate events per room
)

// diffUsers are the room's potential members: u0 creates the room.
var diffUsers = []string{"@u0:a.org", "@u1:a.org", "@u2:b.org", "@u3:b.org", "@u4:c.org", "@u5:c.org"}

const diffNewcomer = "@new:d.org"

// gen builds one room situation and candidates in it.
type gen struct {
	t   testing.TB
	rng *rand.Rand
	v   *spec.RoomVersion
	r   *room

	creator     string         // content.creator / sender of the create event
	plContent   map[string]any // nil when the room has no power levels
	tpiTokens   []string
	idKey, badK signing.Key
}

// weightedVersion picks a room version, v10–v12 weighted three times.
func weightedVersion(rng *rand.Rand) *spec.RoomVersion {
	all := spec.RoomVersions()
	var ids []string
	for _, v := range all {
		w := 1
		if v.KnockRestricted {
			w = 3
		}
		for range w {
			ids = append(ids, v.ID)
		}
	}
	return spec.MustRoomVersion(ids[rng.IntN(len(ids))])
}

func TestDifferentialAgainstGMSL(t *testing.T) {
	rng := rand.New(rand.NewPCG(diffSeed, 2))
	idKey := idServerKey()
	badKey, _ := signing.KeyFromSeed("0", []byte(strings.Repeat("x", 32)))
	var cases, disagreements, deviations int
	devCount := map[string]int{}
	verdicts := map[string]int{}
	rules := map[string]int{}
	for i := range diffRooms {
		g := &gen{t: t, rng: rng, v: weightedVersion(rng), idKey: idKey, badK: badKey}
		g.buildRoom(i)
		oracleState := g.oracleState()
		for range diffCandidatesPer {
			ev, what := g.candidate()
			ours := Check(ev, g.r.state)
			gev, err := gmsl.MustGetRoomVersion(gmsl.RoomVersion(g.v.ID)).NewEventFromTrustedJSON(ev.JSON(), false)
			if err != nil {
				t.Fatalf("v%s: oracle cannot load candidate %s: %v\n%s", g.v.ID, what, err, ev.JSON())
			}
			theirs := gmsl.Allowed(gev, oracleState, oracleUserID)
			cases++
			kind := strings.Fields(what)[0]
			if ours == nil {
				verdicts[kind+" allowed"]++
			} else {
				verdicts[kind+" rejected"]++
			}
			rules[outcome(ours)]++
			if (ours == nil) == (theirs == nil) {
				continue
			}
			if dev := knownDeviation(g, ev, ours, theirs); dev != "" {
				deviations++
				devCount[dev]++
				continue
			}
			disagreements++
			t.Errorf("v%s %s: myelin %v; gmsl %v\nevent: %s\nstate:\n%s", g.v.ID, what, ours, theirs, brief(ev), dumpState(g.r.state))
			if disagreements >= 15 {
				t.FailNow()
			}
		}
	}
	t.Logf("differential: %d cases, %d disagreements", cases, disagreements)
	t.Logf("known oracle deviations: %d %v", deviations, devCount)
	// The generator must keep reaching both verdicts for every kind of
	// candidate and many distinct rules; a change that made it degenerate
	// would otherwise still pass.
	for _, kind := range []string{"membership", "third-party", "power", "state", "message", "redaction", "aliases", "third_party_invite", "join", "create"} {
		if verdicts[kind+" allowed"] < 5 || verdicts[kind+" rejected"] < 5 {
			t.Errorf("candidate kind %q: %d allowed, %d rejected", kind, verdicts[kind+" allowed"], verdicts[kind+" rejected"])
		}
	}
	if len(rules) < 60 {
		t.Errorf("only %d distinct verdicts: %v", len(rules), rules)
	}
}

// outcome renders a verdict for coverage counts: "allowed" or the rule.
func outcome(err error) string {
	if r := AsRejection(err); r != nil {
		return "rule " + r.Rule
	}
	return "allowed"
}

func oracleUserID(_ gspec.RoomID, s gspec.SenderID) (*gspec.UserID, error) {
	return gspec.NewUserID(string(s), true)
}

func (g *gen) oracleState() *gmsl.AuthEvents {
	var pdus []gmsl.PDU
	for _, e := range g.r.state {
		p, err := gmsl.MustGetRoomVersion(gmsl.RoomVersion(g.v.ID)).NewEventFromTrustedJSON(e.JSON(), false)
		if err != nil {
			g.t.Fatalf("v%s: oracle cannot load state event: %v\n%s", g.v.ID, err, e.JSON())
		}
		pdus = append(pdus, p)
	}
	a, err := gmsl.NewAuthEvents(pdus)
	if err != nil {
		g.t.Fatal(err)
	}
	return a
}

func dumpState(s StateMap) string {
	var b strings.Builder
	for _, e := range s {
		fmt.Fprintf(&b, "  %s\n", brief(e))
	}
	return b.String()
}

// brief renders the parts of an event the rules read.
func brief(e *pdu.Event) string {
	sk := "-"
	if e.StateKey() != nil {
		sk = fmt.Sprintf("%q", *e.StateKey())
	}
	return fmt.Sprintf("%s %s from %s prev=%v content=%s", e.Type(), sk, e.Sender(), e.PrevEventIDs(), e.Content())
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// buildRoom makes the create event and a random state.
func (g *gen) buildRoom(i int) {
	v := g.v
	g.creator = diffUsers[0]
	extra := map[string]any{}
	if !v.CreatorFromSender {
		extra["creator"] = g.creator
		if g.chance(0.03) {
			extra["creator"] = diffUsers[1] // a creator who is not the sender
		}
	}
	if g.chance(0.1) {
		extra["m.federate"] = false
	}
	if v.PrivilegedCreators && g.chance(0.3) {
		extra["additional_creators"] = []string{g.pick(diffUsers[1:])}
	}
	r := newRoomAs(g.t, v, g.creator, extra, uint64(i))
	g.r = r
	if g.chance(0.9) {
		g.plContent = g.randomPL()
		r.set(spec.MRoomPowerLevels, "", g.creator, g.plContent)
	}
	if g.chance(0.9) {
		jr := g.pick([]string{"public", "invite", "knock", "restricted", "knock_restricted", "private"})
		content := map[string]any{"join_rule": jr}
		if strings.Contains(jr, "restricted") {
			content["allow"] = []any{map[string]any{"type": "m.room_membership", "room_id": "!space:a.org"}}
		}
		r.set(spec.MRoomJoinRules, "", g.creator, content)
	}
	for j, u := range diffUsers {
		m := g.randomMembership(j == 0)
		if m != "" {
			r.set(spec.MRoomMember, u, u, map[string]any{"membership": m})
		}
	}
	for n := g.rng.IntN(3); n > 0; n-- {
		token := fmt.Sprintf("tok%d", n)
		g.tpiTokens = append(g.tpiTokens, token)
		r.set(spec.MRoomThirdPartyInvite, token, g.pick(diffUsers), g.tpiContent())
	}
}

func (g *gen) randomMembership(creator bool) string {
	if creator && g.chance(0.9) {
		return "join"
	}
	ms := []string{"join", "join", "join", "invite", "leave", "ban", ""}
	if g.v.Knock {
		ms = append(ms, "knock")
	}
	return g.pick(ms)
}

func (g *gen) tpiContent() map[string]any {
	pub := signing.EncodeBase64(g.idKey.Public())
	other := signing.EncodeBase64(g.badK.Public())
	switch g.rng.IntN(4) {
	case 0:
		return map[string]any{"display_name": "x", "public_key": pub}
	case 1:
		return map[string]any{"display_name": "x", "public_key": other,
			"public_keys": []any{map[string]any{"public_key": pub}}}
	case 2:
		return map[string]any{"display_name": "x", "public_key": pub,
			"public_keys": []any{map[string]any{"public_key": pub}}}
	default:
		return map[string]any{"display_name": "x", "public_key": other}
	}
}

// level returns a random power level value, in the spellings the version
// accepts.
func (g *gen) level() any {
	pool := []int64{-1, 0, 0, 1, 10, 49, 50, 50, 51, 75, 99, 100, 100, 101, 1<<53 - 1}
	l := pool[g.rng.IntN(len(pool))]
	switch {
	case !g.v.IntegerPowerLevels && g.chance(0.08):
		if l < 0 {
			return g.pick([]string{fmt.Sprint(l), " -00" + fmt.Sprint(-l) + " "})
		}
		return g.pick([]string{fmt.Sprint(l), " " + fmt.Sprint(l) + " ", "+" + fmt.Sprint(l), "00" + fmt.Sprint(l)})
	case !g.v.StrictCanonicalJSON && g.chance(0.05):
		return json.Number(fmt.Sprint(l) + ".5")
	}
	return l
}

func (g *gen) isCreator(u string) bool {
	if !g.v.PrivilegedCreators {
		return false
	}
	if u == g.creator {
		return true
	}
	var c struct {
		Additional []string `json:"additional_creators"`
	}
	_ = json.Unmarshal(g.r.create.Content(), &c)
	for _, a := range c.Additional {
		if a == u {
			return true
		}
	}
	return false
}

var namedPLKeys = []string{"users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"}

var plEventTypes = []string{spec.MRoomName, spec.MRoomPowerLevels, "m.room.message", spec.MRoomTopic, "m.custom",
	spec.MRoomRedaction, spec.MRoomAliases, spec.MRoomJoinRules}

func (g *gen) randomPL() map[string]any {
	c := map[string]any{}
	if g.chance(0.95) {
		users := map[string]any{}
		for _, u := range diffUsers {
			if !g.isCreator(u) && g.chance(0.5) {
				users[u] = g.level()
			}
		}
		if !g.v.PrivilegedCreators && g.chance(0.85) {
			users[g.creator] = int64(100)
		}
		c["users"] = users
	}
	for _, k := range namedPLKeys {
		if g.chance(0.35) {
			c[k] = g.level()
		}
	}
	if g.chance(0.6) {
		events := map[string]any{}
		for _, t := range plEventTypes {
			if g.chance(0.3) {
				events[t] = g.level()
			}
		}
		c["events"] = events
	}
	if g.chance(0.3) {
		c["notifications"] = map[string]any{"room": g.level()}
	}
	return c
}

// sender picks a sender, favouring joined users.
func (g *gen) sender() string {
	if g.chance(0.05) {
		return diffNewcomer
	}
	if g.chance(0.6) {
		if joined := g.joined(); len(joined) > 0 {
			return g.pick(joined)
		}
	}
	return g.pick(diffUsers)
}

func (g *gen) joined() []string {
	var out []string
	for _, u := range diffUsers {
		if e := g.r.state.StateEvent(spec.MRoomMember, u); e != nil {
			if m, _ := e.Membership(); m == "join" {
				out = append(out, u)
			}
		}
	}
	return out
}

// powerful picks the joined user with the highest level, or a random one.
func (g *gen) powerful() string {
	best, bestLevel := g.pick(diffUsers), int64(-1<<62)
	for _, u := range g.joined() {
		if l, _ := SenderPowerLevel(g.r.state, g.v, u); l > bestLevel {
			best, bestLevel = u, l
		}
	}
	return best
}

// candidate builds a random event to check, with a description.
func (g *gen) candidate() (*pdu.Event, string) {
	switch n := g.rng.IntN(100); {
	case n < 45:
		return g.memberCandidate()
	case n < 65:
		return g.plCandidate()
	case n < 73:
		sk := g.pick([]string{"", "", g.pick(diffUsers), "x"})
		typ := g.pick([]string{spec.MRoomName, spec.MRoomTopic, "m.custom", spec.MRoomJoinRules})
		s := g.sender()
		if strings.HasPrefix(sk, "@") && g.chance(0.5) {
			sk = s
		}
		content := map[string]any{"name": "n"}
		if typ == spec.MRoomJoinRules {
			content = map[string]any{"join_rule": "public"}
		}
		return g.r.event(typ, strp(sk), s, content), "state " + typ
	case n < 82:
		return g.r.msg(g.sender()), "message"
	case n < 87:
		return g.redaction(), "redaction"
	case n < 91:
		s := g.sender()
		sk := domainOf(s)
		if g.chance(0.3) {
			sk = domainOf(g.pick(diffUsers))
		}
		return g.r.event(spec.MRoomAliases, strp(sk), s, map[string]any{"aliases": []string{"#x:" + sk}}), "aliases"
	case n < 95:
		return g.r.event(spec.MRoomThirdPartyInvite, strp("tok9"), g.sender(), g.tpiContent()), "third_party_invite"
	case n < 98:
		target := g.pick([]string{g.creator, g.creator, diffUsers[1]})
		s := target
		if g.chance(0.2) {
			s = g.pick(diffUsers)
		}
		return joinAfterCreate(g.r, s, target), "join after create"
	default:
		return g.createCandidate(), "create"
	}
}

func (g *gen) redaction() *pdu.Event {
	domain := g.pick([]string{"a.org", "b.org", "c.org"})
	b := g.r.builder(spec.MRoomRedaction, nil, g.sender(), map[string]any{})
	if g.v.EventIDFormat == spec.EventIDOpaque {
		b.Redacts = "$target:" + domain
	} else {
		b.Redacts = "$" + strings.Repeat("C", 43)
	}
	return g.r.buildWith(b)
}

func (g *gen) createCandidate() *pdu.Event {
	content := map[string]any{"room_version": g.v.ID}
	if !g.v.CreatorFromSender && g.chance(0.9) {
		content["creator"] = g.creator
	}
	if g.chance(0.2) {
		content["room_version"] = g.pick([]string{"99", "1", "12"})
	}
	if g.v.PrivilegedCreators && g.chance(0.3) {
		content["additional_creators"] = []any{g.pick([]string{diffUsers[2], "nope", "@bad"})}
	}
	b := g.r.builder(spec.MRoomCreate, strp(""), g.creator, content)
	if g.chance(0.8) {
		b.PrevEvents = nil
	}
	if g.v.CreateEventHasNoRoomID {
		b.RoomID = ""
	} else {
		b.RoomID = g.pick([]string{"!new:a.org", "!new:a.org", "!new:b.org"})
	}
	return g.r.buildWith(b)
}

func (g *gen) memberCandidate() (*pdu.Event, string) {
	s := g.sender()
	target := s
	if g.chance(0.5) {
		target = g.pick(append([]string{diffNewcomer}, diffUsers...))
	}
	ms := []string{"join", "join", "invite", "invite", "leave", "leave", "ban", "knock"}
	if g.chance(0.02) {
		ms = []string{"dance"}
	}
	m := g.pick(ms)
	extra := map[string]any{}
	if m == "join" && g.v.Restricted && g.chance(0.35) {
		extra["join_authorised_via_users_server"] = g.pick(diffUsers)
	}
	if m == "invite" && g.chance(0.25) {
		token := "tok-none"
		if len(g.tpiTokens) > 0 && g.chance(0.8) {
			token = g.pick(g.tpiTokens)
			if g.chance(0.7) {
				s = g.r.state.StateEvent(spec.MRoomThirdPartyInvite, token).Sender()
			}
		}
		return g.tpiCandidate(s, target, token), "third-party invite"
	}
	return g.r.member(s, target, m, extra), "membership " + m
}

func (g *gen) tpiCandidate(s, target, token string) *pdu.Event {
	mxid := target
	if g.chance(0.1) {
		mxid = diffNewcomer
	}
	key := g.idKey
	if g.chance(0.15) {
		key = g.badK
	}
	obj := fmt.Sprintf(`{"mxid":%q,"token":%q}`, mxid, token)
	if g.chance(0.2) {
		obj = fmt.Sprintf(`{"mxid":%q,"sender":%q,"token":%q}`, mxid, s, token)
	}
	signedJSON, err := signing.SignJSON([]byte(obj), "id.example.org", key)
	if err != nil {
		g.t.Fatal(err)
	}
	return g.r.member(s, target, "invite", map[string]any{
		"third_party_invite": map[string]any{"display_name": "x", "signed": json.RawMessage(signedJSON)},
	})
}

// plCandidate mutates the current power levels.
func (g *gen) plCandidate() (*pdu.Event, string) {
	c := deepCopy(g.plContent)
	if c == nil {
		c = g.randomPL()
	}
	for n := 1 + g.rng.IntN(3); n > 0; n-- {
		g.mutatePL(c)
	}
	s := g.sender()
	if g.chance(0.6) {
		s = g.powerful()
	}
	return g.r.pl(s, c), "power levels"
}

func (g *gen) mutatePL(c map[string]any) {
	sub := func(k string) map[string]any {
		m, ok := c[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			c[k] = m
		}
		return m
	}
	switch g.rng.IntN(12) {
	case 0, 1:
		k := g.pick(namedPLKeys)
		if g.chance(0.3) {
			delete(c, k)
		} else {
			c[k] = g.level()
		}
	case 2, 3:
		ev := sub("events")
		k := g.pick(plEventTypes)
		if g.chance(0.3) {
			delete(ev, k)
		} else {
			ev[k] = g.level()
		}
	case 4:
		n := sub("notifications")
		if g.chance(0.3) {
			delete(n, "room")
		} else {
			n["room"] = g.level()
		}
	case 5, 6, 7, 8:
		users := sub("users")
		u := g.pick(diffUsers)
		if g.isCreator(u) && g.chance(0.8) {
			return
		}
		if g.chance(0.3) {
			delete(users, u)
		} else {
			users[u] = g.level()
		}
	case 9:
		if g.v.IntegerPowerLevels && g.chance(0.5) {
			c[g.pick(namedPLKeys)] = "50"
		} else {
			sub("users")["not-a-user"] = 10
		}
	case 10:
		sub("users")[g.pick(diffUsers)] = g.level()
	default:
		if g.chance(0.5) {
			delete(c, "users")
		} else {
			delete(c, "events")
		}
	}
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = deepCopy(sub)
		} else {
			out[k] = v
		}
	}
	return out
}
