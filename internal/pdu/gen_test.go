package pdu

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"

	"myelin/internal/spec"
)

// eventGen makes random valid events for one room version: random types
// (every type with special redaction or auth handling, plus others), state
// keys, content mixing keys that redaction keeps and drops, nested values
// and unicode.
type eventGen struct {
	r *rand.Rand
	v *spec.RoomVersion
}

var genTypes = []string{
	spec.MRoomCreate, spec.MRoomMember, spec.MRoomMember, spec.MRoomMember, spec.MRoomJoinRules, spec.MRoomPowerLevels,
	spec.MRoomPowerLevels, spec.MRoomAliases, spec.MRoomHistoryVisibility, spec.MRoomThirdPartyInvite,
	spec.MRoomRedaction, spec.MRoomRedaction, spec.MRoomCanonicalAlias, spec.MRoomName, spec.MRoomTopic,
	spec.MRoomGuestAccess, spec.MRoomEncryption, spec.MRoomServerACL, spec.MRoomTombstone, spec.MRoomMessage,
	spec.MRoomMessage, "m.reaction", "org.example.custom", "ü.type.☃", "m.room.member.not",
}

// contentKeys are keys some redaction algorithm keeps for some type.
var contentKeys = strings.Fields("membership join_authorised_via_users_server third_party_invite creator room_version " +
	"additional_creators join_rule allow ban events events_default kick redact state_default users users_default " +
	"invite notifications aliases history_visibility redacts predecessor m.federate body msgtype reason")

var genStrings = []string{
	"", "a", "hello world", "ünïcödé", "日本語", "emoji 🎉👍🏽", "quote \" backslash \\ slash /", "<tag>&amp;",
	"ctl \x01\x1f\t\n\r", "line\u2028sep\u2029", "\u00a0nbsp", "ǅ", "@user:example.org", "$event:example.org",
	strings.Repeat("long ", 40),
}

func (g *eventGen) pick(list []string) string { return list[g.r.Intn(len(list))] }

func (g *eventGen) serverName() string {
	return g.pick([]string{"example.org", "matrix.example.com:8448", "1.2.3.4", "[::1]:80", "a-b.c", "localhost"})
}

func (g *eventGen) userID() string {
	local := g.pick([]string{"alice", "bob", "carol_1", "x=y/z+w.v-u", "Ünï code", "", "AbC", "[]!~"})
	return "@" + local + ":" + g.serverName()
}

// eventID returns a valid event ID for the version with a random hash.
func (g *eventGen) eventID() (string, []byte) {
	h := make([]byte, 32)
	g.r.Read(h)
	if g.v.EventIDFormat == spec.EventIDOpaque {
		return fmt.Sprintf("$%x:%s", h[:6], g.serverName()), h
	}
	return encodeEventID(g.v, h), h
}

func (g *eventGen) roomID() string {
	if g.v.RoomIDFormat == spec.RoomIDCreateHash {
		h := make([]byte, 32)
		g.r.Read(h)
		return "!" + encodeEventID(spec.MustRoomVersion("4"), h)[1:]
	}
	return "!" + g.pick([]string{"room", "AbCdEf", "ü", "x y"}) + ":" + g.serverName()
}

// value returns a random JSON value; depth bounds nesting. Numbers are
// integers in the canonical range, plus simple fractions for v1–v5.
func (g *eventGen) value(depth int) any {
	n := 7
	if depth <= 0 {
		n = 5
	}
	switch g.r.Intn(n) {
	case 0:
		return g.pick(genStrings)
	case 1:
		switch g.r.Intn(4) {
		case 0:
			return g.r.Int63n(1<<53) - g.r.Int63n(1<<53)
		case 1:
			if !g.v.StrictCanonicalJSON {
				return json.Number(fmt.Sprintf("%d.5", g.r.Intn(100)))
			}
			return 0
		default:
			return g.r.Intn(200) - 50
		}
	case 2:
		return g.r.Intn(2) == 0
	case 3:
		return nil
	case 4:
		return g.userID()
	case 5:
		arr := make([]any, g.r.Intn(4))
		for i := range arr {
			arr[i] = g.value(depth - 1)
		}
		return arr
	default:
		obj := map[string]any{}
		for i := g.r.Intn(4); i > 0; i-- {
			obj[g.key()] = g.value(depth - 1)
		}
		return obj
	}
}

func (g *eventGen) key() string {
	if g.r.Intn(2) == 0 {
		return g.pick(contentKeys)
	}
	if g.r.Intn(40) == 0 {
		// Keys JSON must escape; rare, as the oracle mishandles them
		// (see hasEscapedKey).
		return g.pick([]string{"quote\"", "back\\slash", "\u0007", "nl\n"})
	}
	return g.pick([]string{"k", "K", "a.b", "ü", "😀", "", "with space", "signed", "token", "mxid", "</script>"})
}

// content returns random content for an event of type typ: special keys
// with plausible values, plus random keys.
func (g *eventGen) content(typ string) map[string]any {
	c := map[string]any{}
	for i := g.r.Intn(5); i > 0; i-- {
		c[g.key()] = g.value(2)
	}
	switch typ {
	case spec.MRoomMember:
		c["membership"] = g.pick([]string{"join", "invite", "leave", "ban", "knock", "weird"})
		if g.r.Intn(3) == 0 {
			c["join_authorised_via_users_server"] = g.userID()
		}
		if g.r.Intn(3) == 0 {
			c["third_party_invite"] = g.thirdPartyInvite()
		}
		c["displayname"] = g.pick(genStrings)
	case spec.MRoomPowerLevels:
		users := map[string]any{}
		for i := g.r.Intn(4); i > 0; i-- {
			users[g.userID()] = g.r.Intn(101)
		}
		c["users"] = users
		c["events"] = map[string]any{"m.room.name": 50, g.pick(genTypes): g.r.Intn(100)}
		for _, k := range []string{"ban", "kick", "redact", "invite", "state_default", "events_default", "users_default"} {
			if g.r.Intn(2) == 0 {
				c[k] = g.r.Intn(101)
			}
		}
		c["notifications"] = map[string]any{"room": 50}
	case spec.MRoomJoinRules:
		c["join_rule"] = g.pick([]string{"public", "invite", "knock", "restricted", "knock_restricted", "private"})
		c["allow"] = []any{map[string]any{"type": "m.room_membership", "room_id": g.roomID()}}
	case spec.MRoomCreate:
		c["room_version"] = g.v.ID
		c["creator"] = g.userID()
		if g.r.Intn(2) == 0 {
			c["additional_creators"] = []any{g.userID()}
		}
	case spec.MRoomAliases:
		c["aliases"] = []any{"#a:" + g.serverName()}
	case spec.MRoomHistoryVisibility:
		c["history_visibility"] = g.pick([]string{"shared", "joined", "invited", "world_readable"})
	case spec.MRoomMessage:
		c["body"] = g.pick(genStrings)
		c["msgtype"] = "m.text"
	}
	return c
}

func (g *eventGen) thirdPartyInvite() any {
	switch g.r.Intn(5) {
	case 0:
		return g.pick(genStrings)
	case 1:
		return map[string]any{"display_name": "d"}
	default:
		return map[string]any{
			"display_name": g.pick(genStrings),
			"signed": map[string]any{
				"mxid": g.userID(), "token": g.pick([]string{"tok", "abc"}),
				"signatures": map[string]any{g.serverName(): map[string]any{"ed25519:0": "c2ln"}},
			},
		}
	}
}

// builder returns a random Builder whose Build succeeds.
func (g *eventGen) builder() Builder {
	typ := g.pick(genTypes)
	b := Builder{
		Type:           typ,
		Sender:         g.userID(),
		Depth:          g.r.Int63n(1 << 20),
		OriginServerTS: g.r.Int63n(1 << 42),
		Rand:           g.r,
	}
	if g.r.Intn(20) == 0 {
		b.Depth = 1<<53 - 1
	}
	switch typ {
	case spec.MRoomMember:
		b.StateKey = strp(g.userID())
	case spec.MRoomAliases:
		b.StateKey = strp(g.serverName())
	case spec.MRoomThirdPartyInvite:
		b.StateKey = strp(g.pick([]string{"tok", "abc", ""}))
	case spec.MRoomRedaction, spec.MRoomMessage, "m.reaction":
		if g.r.Intn(10) == 0 {
			b.StateKey = strp("")
		}
	default:
		switch g.r.Intn(6) {
		case 0:
		case 1:
			b.StateKey = strp(g.pick(genStrings))
		default:
			b.StateKey = strp("")
		}
	}
	content := g.content(typ)
	if typ == spec.MRoomRedaction {
		b.Redacts, _ = g.eventID()
		delete(content, "redacts")
	}
	b.Content = content
	isCreate := typ == spec.MRoomCreate && b.StateKey != nil && *b.StateKey == ""
	if !(isCreate && g.v.CreateEventHasNoRoomID) {
		b.RoomID = g.roomID()
	}
	b.ReferenceHashes = map[string][]byte{}
	switch {
	case !isCreate:
		b.PrevEvents = g.refs(&b, 1+g.r.Intn(3))
		b.AuthEvents = g.refs(&b, g.r.Intn(4))
	case g.r.Intn(3) == 0:
		// A create event has no auth events (the oracle's accessor
		// reports none whatever the field holds); prev_events on it is
		// left to the auth rules.
		b.PrevEvents = g.refs(&b, 1)
	}
	if g.r.Intn(4) == 0 {
		b.Unsigned = map[string]any{"age": g.r.Intn(1000), "x": g.value(1)}
	}
	return b
}

func (g *eventGen) refs(b *Builder, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		id, h := g.eventID()
		ids[i] = id
		b.ReferenceHashes[id] = h
	}
	return ids
}

// topLevelExtras returns extra top-level keys a valid event may carry:
// deprecated keys the older redaction algorithms keep, and unknown keys.
func (g *eventGen) topLevelExtras() map[string]any {
	extras := map[string]any{}
	if g.r.Intn(3) == 0 {
		extras["origin"] = g.serverName()
	}
	if g.r.Intn(4) == 0 {
		extras["membership"] = "join"
	}
	if g.r.Intn(4) == 0 {
		extras["prev_state"] = []any{}
	}
	if g.r.Intn(3) == 0 {
		extras["x_"+g.pick([]string{"a", "ü", "b c"})] = g.value(2)
	}
	return extras
}
