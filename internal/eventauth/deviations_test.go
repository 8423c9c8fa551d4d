package eventauth

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// disagreement is one case where Check and gomatrixserverlib differ.
type disagreement struct {
	v       *spec.RoomVersion
	state   StateMap
	ev      *pdu.Event
	ours    *Rejection // nil when we allow (and the oracle rejects)
	creator string
}

// deviation is a shape of input on which gomatrixserverlib departs from the
// spec text. Each has a focused test pinning our behaviour in
// oracle_deviations_test.go.
type deviation struct {
	name string
	// spec cites the rule the oracle departs from.
	spec  string
	match func(d *disagreement) bool
}

var oracleDeviations = []deviation{
	{
		name: "self-leave from leave",
		spec: "leave rule 1: \"If the sender matches state_key, allow if and only if that user's current " +
			"membership state is invite, join, or knock\"; the oracle also allows leave (and no membership) to leave",
		match: func(d *disagreement) bool {
			return d.selfMembership("leave") && d.ours != nil &&
				(d.current(d.ev.Sender()) == "" || d.current(d.ev.Sender()) == "leave")
		},
	},
	{
		name: "unban without the kick level",
		spec: "leave rules 3-5: unbanning passes rule 3 (ban level) and must still pass rule 4 (kick level, " +
			"and the target below the sender); the oracle allows any unban at the ban level",
		match: func(d *disagreement) bool {
			return d.otherMembership("leave") && d.current(*d.ev.StateKey()) == "ban" &&
				d.ours != nil && strings.HasSuffix(d.ours.Rule, ".5")
		},
	},
	{
		name: "join by an invited or joined user under a join rule the version does not know",
		spec: "join rules 4-7: invite/join memberships may join only under invite, knock (v7+), restricted (v8+), " +
			"knock_restricted (v10+) or public; otherwise reject. The oracle lets invited and joined users join " +
			"under any join rule",
		match: func(d *disagreement) bool {
			cur := d.current(d.ev.Sender())
			return d.selfMembership("join") && (cur == "invite" || cur == "join") && d.ours != nil &&
				!d.knownJoinRule(d.joinRule())
		},
	},
	{
		name: "join from knock in a public room",
		spec: "join rule 6: \"If the join_rule is public, allow\" whatever the (non-ban) membership; the oracle " +
			"only allows leave to join",
		match: func(d *disagreement) bool {
			return d.selfMembership("join") && d.current(d.ev.Sender()) == "knock" && d.joinRule() == "public" && d.ours == nil
		},
	},
	{
		name: "m.room.aliases from v6 on",
		spec: "rooms v6: \"Rule 4, which related specifically to events of type m.room.aliases, is removed\"; " +
			"the oracle applies the v1-v5 aliases rule in every version",
		match: func(d *disagreement) bool {
			return d.ev.Type() == spec.MRoomAliases && !d.v.SpecialAliasesAuth
		},
	},
	{
		name: "creator's first join sent by someone else",
		spec: "join rule 1: \"If the only previous event is an m.room.create and the state_key is the creator, " +
			"allow\" names no sender; the oracle also requires sender = state_key",
		match: func(d *disagreement) bool {
			prev := d.ev.PrevEventIDs()
			return d.ev.Type() == spec.MRoomMember && d.membership() == "join" && d.ours == nil &&
				len(prev) == 1 && prev[0] == d.create().EventID() && d.ev.Sender() != *d.ev.StateKey()
		},
	},
	{
		name:  "third-party invite of a banned user",
		spec:  "invite rule 1.1: \"If target user is banned, reject\"; the oracle does not check",
		match: func(d *disagreement) bool { return d.ours != nil && d.thirdPartyRule("1.1") },
	},
	{
		name: "third-party invite by someone other than its sender",
		spec: "invite rule 1.6: \"If sender does not match sender of the m.room.third_party_invite, reject\"; " +
			"the oracle does not check",
		match: func(d *disagreement) bool { return d.ours != nil && d.thirdPartyRule("1.6") },
	},
	{
		name: "third-party invite key in public_key",
		spec: "invite rule 1.7.1: the public keys include \"a single public key in the public_key property\"; " +
			"the oracle only reads public_keys",
		match: func(d *disagreement) bool {
			return d.ours == nil && d.isThirdPartyInvite() && !d.publicKeysListVerifies()
		},
	},
	{
		name: "third-party invite signed object with more members",
		spec: "invite rule 1.7: the signatures cover the signed object as sent (appendix \"Signing JSON\"); " +
			"the oracle re-encodes only mxid, token and signatures before verifying",
		match: func(d *disagreement) bool {
			return d.ours == nil && d.isThirdPartyInvite() && d.signedHasExtraMembers()
		},
	},
	{
		name: "knock_restricted before v10",
		spec: "rooms v7-v9 knock rule 1 (\"anything other than knock, reject\") and join rules 4-7 do not know " +
			"knock_restricted (added in v10); the oracle accepts it as in v10",
		match: func(d *disagreement) bool {
			m := d.membership()
			return d.ev.Type() == spec.MRoomMember && (m == "knock" || m == "join") && d.ours != nil &&
				!d.v.KnockRestricted && d.joinRule() == "knock_restricted"
		},
	},
	{
		name: "power levels entries added or removed",
		spec: "power levels rules 3-7 (v1-v9 numbering): \"check if they were added, changed or removed\", " +
			"\"the current value\" and \"the new value\" are the values present in the old and new event; the " +
			"oracle compares default-filled levels (users_default, events_default, 50, ...) instead, so adding " +
			"or removing a key is judged differently",
		match: func(d *disagreement) bool { return d.ev.Type() == spec.MRoomPowerLevels && d.plKeysAddedOrRemoved() },
	},
	{
		name: "power levels with no previous power levels",
		spec: "power levels rule 2 (v1-v9 numbering): \"If there is no previous m.room.power_levels event in the " +
			"room, allow\"; the oracle checks the changes against default levels instead",
		match: func(d *disagreement) bool {
			return d.ev.Type() == spec.MRoomPowerLevels && d.ours == nil &&
				d.state.StateEvent(spec.MRoomPowerLevels, "") == nil
		},
	},
	{
		name: "v12 creator changing notifications",
		spec: "rooms v12: \"The power level of room creators is infinitely high\" (rules 10.7 and 10.8 compare " +
			"with the sender's level); the oracle's notifications check takes the sender's level from users, " +
			"ignoring creators",
		match: func(d *disagreement) bool {
			if d.ev.Type() != spec.MRoomPowerLevels || d.ours != nil || !d.v.PrivilegedCreators {
				return false
			}
			_, creator := SenderPowerLevel(d.state, d.v, d.ev.Sender())
			oldEv := d.state.StateEvent(spec.MRoomPowerLevels, "")
			return creator && oldEv != nil &&
				!sameJSON(rawContent(oldEv)["notifications"], rawContent(d.ev)["notifications"])
		},
	},
	{
		name: "float power level rounded by float64",
		spec: "v1-v5 \"m.room.power_levels events accept values as floats\": exponential notation is applied, then " +
			"the value is truncated at the decimal point (9007199254740991.5 is 9007199254740991); the oracle " +
			"converts through float64, which rounds beyond 2^53",
		match: func(d *disagreement) bool {
			if d.v.StrictCanonicalJSON {
				return false
			}
			pl := d.state.StateEvent(spec.MRoomPowerLevels, "")
			return (pl != nil && hasHugeFloat(rawContent(pl))) ||
				(d.ev.Type() == spec.MRoomPowerLevels && hasHugeFloat(rawContent(d.ev)))
		},
	},
	{
		name: "users_default changes",
		spec: "power levels rule 3 (v1-v9 numbering): \"For the properties users_default, events_default, " +
			"state_default, ban, redact, kick, invite check if they were added, changed or removed\"; the oracle " +
			"does not check users_default",
		match: func(d *disagreement) bool {
			if d.ev.Type() != spec.MRoomPowerLevels || d.ours == nil || !strings.Contains(d.ours.Reason, "users_default") {
				return false
			}
			oldEv := d.state.StateEvent(spec.MRoomPowerLevels, "")
			return oldEv != nil && !sameJSON(rawContent(oldEv)["users_default"], rawContent(d.ev)["users_default"])
		},
	},
	{
		name: "notifications level equal to the sender's",
		spec: "power levels rule 4 (v6+): \"If the current value is greater than the sender's current power level, " +
			"reject\"; the oracle rejects when it is equal too",
		match: func(d *disagreement) bool {
			return d.ev.Type() == spec.MRoomPowerLevels && d.notificationAtSenderLevel()
		},
	},
	{
		name: "creator other than the create event's sender (v1-v10)",
		spec: "before v11 the room creator is content.creator of m.room.create (join rule 1; the creator's level " +
			"100 without power levels); the oracle uses the create event's sender",
		match: func(d *disagreement) bool {
			if d.v.CreatorFromSender || d.createCreator() == d.create().Sender() {
				return false
			}
			prev := d.ev.PrevEventIDs()
			firstJoin := d.membership() == "join" && len(prev) == 1 && prev[0] == d.create().EventID()
			return firstJoin || d.state.StateEvent(spec.MRoomPowerLevels, "") == nil
		},
	},
	{
		name: "unknown room_version in a v11 create event",
		spec: "rooms v11 rule 1.3: \"If content.room_version is present and is not a recognised version, reject\"; " +
			"the oracle skips it in v11",
		match: func(d *disagreement) bool {
			return d.ev.Type() == spec.MRoomCreate && d.ours != nil && d.ours.Rule == "1.3" &&
				d.v.CreatorFromSender && !d.v.PrivilegedCreators
		},
	},
}

// knownDeviation names the oracle deviation a disagreement is an instance
// of, or returns "".
func knownDeviation(g *gen, ev *pdu.Event, ours, _ error) string {
	d := &disagreement{v: g.v, state: g.r.state, ev: ev, ours: AsRejection(ours), creator: g.creator}
	for _, dev := range oracleDeviations {
		if dev.match(d) {
			return dev.name
		}
	}
	return ""
}

func (d *disagreement) create() *pdu.Event { return d.state.StateEvent(spec.MRoomCreate, "") }

func (d *disagreement) createCreator() string {
	c := rawContent(d.create())
	s, _ := c["creator"].(string)
	return s
}

func (d *disagreement) membership() string {
	if d.ev.Type() != spec.MRoomMember {
		return ""
	}
	m, _ := rawContent(d.ev)["membership"].(string)
	return m
}

func (d *disagreement) selfMembership(m string) bool {
	return d.membership() == m && *d.ev.StateKey() == d.ev.Sender()
}

func (d *disagreement) otherMembership(m string) bool {
	return d.membership() == m && *d.ev.StateKey() != d.ev.Sender()
}

// current returns user's membership in the state, "" for none.
func (d *disagreement) current(user string) string {
	e := d.state.StateEvent(spec.MRoomMember, user)
	if e == nil {
		return ""
	}
	m, _ := e.Membership()
	return m
}

func (d *disagreement) joinRule() string {
	e := d.state.StateEvent(spec.MRoomJoinRules, "")
	if e == nil {
		return "invite"
	}
	jr, _ := rawContent(e)["join_rule"].(string)
	return jr
}

func (d *disagreement) knownJoinRule(jr string) bool {
	switch jr {
	case "public", "invite":
		return true
	case "knock":
		return d.v.Knock
	case "restricted":
		return d.v.Restricted
	case "knock_restricted":
		return d.v.KnockRestricted
	}
	return false
}

func (d *disagreement) isThirdPartyInvite() bool {
	_, ok := rawContent(d.ev)["third_party_invite"]
	return d.membership() == "invite" && ok
}

// thirdPartyRule reports whether we rejected under invite rule 1.<sub>.
func (d *disagreement) thirdPartyRule(sub string) bool {
	if !d.isThirdPartyInvite() || d.ours == nil {
		return false
	}
	parts := strings.Split(d.ours.Rule, ".")
	return len(parts) == 4 && strings.Join(parts[2:], ".") == sub
}

func (d *disagreement) thirdPartyEvent() *pdu.Event {
	tpi, _ := rawContent(d.ev)["third_party_invite"].(map[string]any)
	signed, _ := tpi["signed"].(map[string]any)
	token, _ := signed["token"].(string)
	return d.state.StateEvent(spec.MRoomThirdPartyInvite, token)
}

// publicKeysListVerifies reports whether a key of the third-party invite's
// public_keys list verifies a signature in the invite's signed object.
func (d *disagreement) publicKeysListVerifies() bool {
	e := d.thirdPartyEvent()
	if e == nil {
		return false
	}
	tpi, _ := rawContent(d.ev)["third_party_invite"].(map[string]any)
	signed, _ := json.Marshal(tpi["signed"])
	sigs, _ := tpi["signed"].(map[string]any)["signatures"].(map[string]any)
	list, _ := rawContent(e)["public_keys"].([]any)
	for _, k := range list {
		m, _ := k.(map[string]any)
		s, _ := m["public_key"].(string)
		key, err := signing.DecodeBase64(s)
		if err != nil {
			continue
		}
		for server, byKey := range sigs {
			for keyID := range byKey.(map[string]any) {
				if signing.VerifyJSON(signed, server, signing.KeyID(keyID), key) == nil {
					return true
				}
			}
		}
	}
	return false
}

func (d *disagreement) signedHasExtraMembers() bool {
	tpi, _ := rawContent(d.ev)["third_party_invite"].(map[string]any)
	signed, _ := tpi["signed"].(map[string]any)
	for k := range signed {
		if k != "mxid" && k != "token" && k != "signatures" {
			return true
		}
	}
	return false
}

// plKeysAddedOrRemoved reports whether a named level, or an events,
// notifications or users entry, is present in exactly one of the current
// and the new power levels content.
func (d *disagreement) plKeysAddedOrRemoved() bool {
	oldEv := d.state.StateEvent(spec.MRoomPowerLevels, "")
	if oldEv == nil {
		return false
	}
	old, next := rawContent(oldEv), rawContent(d.ev)
	for _, k := range namedPLKeys {
		if _, a := old[k]; a != hasKey(next, k) {
			return true
		}
	}
	for _, m := range []string{"events", "notifications", "users"} {
		o, _ := old[m].(map[string]any)
		n, _ := next[m].(map[string]any)
		for k := range o {
			if _, ok := n[k]; !ok {
				return true
			}
		}
		for k := range n {
			if _, ok := o[k]; !ok {
				return true
			}
		}
	}
	return false
}

// notificationAtSenderLevel reports whether a notifications entry whose
// current value equals the sender's level changes (v6+).
func (d *disagreement) notificationAtSenderLevel() bool {
	oldEv := d.state.StateEvent(spec.MRoomPowerLevels, "")
	if oldEv == nil || !d.v.NotificationsPowerLevel {
		return false
	}
	level, _ := SenderPowerLevel(d.state, d.v, d.ev.Sender())
	o, _ := rawContent(oldEv)["notifications"].(map[string]any)
	n, _ := rawContent(d.ev)["notifications"].(map[string]any)
	for k, ov := range o {
		was, ok := ov.(json.Number)
		if !ok || was.String() != jsonInt(level) {
			continue
		}
		if nv, ok := n[k]; !ok || nv.(json.Number) != was {
			return true
		}
	}
	return false
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// rawContent decodes an event's content with numbers kept as written.
func rawContent(e *pdu.Event) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(e.Content()))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m)
	return m
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// hasHugeFloat reports whether a JSON value holds a number written with a
// fraction or exponent whose truncation through float64 differs from the
// exact truncation of its decimal text.
func hasHugeFloat(x any) bool {
	switch t := x.(type) {
	case map[string]any:
		for _, v := range t {
			if hasHugeFloat(v) {
				return true
			}
		}
	case json.Number:
		if !strings.ContainsAny(t.String(), ".eE") {
			return false
		}
		exact, _, err := big.ParseFloat(t.String(), 10, 4096, big.ToZero)
		if err != nil {
			return false
		}
		exactInt, _ := exact.Int(nil)
		f, err := strconv.ParseFloat(t.String(), 64)
		viaFloat, _ := big.NewFloat(math.Trunc(f)).Int(nil)
		return err == nil && exactInt.Cmp(viaFloat) != 0
	}
	return false
}
