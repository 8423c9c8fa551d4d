package eventauth

import (
	"fmt"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// Check applies the authorization rules of ev's room version to ev against
// state: its auth events, the state before it, or the current state of the
// room. It returns nil when the rules allow ev and a *Rejection naming the
// rule otherwise; it returns no other errors.
//
// From the rules "considering the event's auth_events", Check applies what
// can be seen through state: the create event must be present (2.4) and
// every state event the rules consult must belong to ev's room (2.5); in
// v12, ev's room ID must be the create event's (rule 2). The rest of that
// rule (duplicates, entries outside the auth events selection, rejected
// entries) is CheckAuthEvents'. Rule "the event must be validly signed by
// the homeserver of join_authorised_via_users_server" (v8+) needs that
// server's keys and is left to the caller's signature checks.
func Check(ev *pdu.Event, state StateProvider) error {
	v := ev.Version()
	c := checker{ev: ev, v: v, n: numberRules(v), state: state}
	if ev.Type() == spec.MRoomCreate {
		return c.checkCreate()
	}
	if err := c.loadCreate(); err != nil {
		return err
	}
	if ev.Type() == spec.MRoomMember {
		c.member = parseMemberContent(ev)
	}
	if err := c.load(); err != nil {
		return err
	}
	if err := c.checkFederation(); err != nil {
		return err
	}
	if v.SpecialAliasesAuth && ev.Type() == spec.MRoomAliases {
		return c.checkAliases()
	}
	if ev.Type() == spec.MRoomMember {
		return c.checkMember()
	}
	return c.checkOther()
}

// checker holds what one Check call has learnt about the event and state.
type checker struct {
	ev    *pdu.Event
	v     *spec.RoomVersion
	n     numbering
	state StateProvider

	create        *pdu.Event
	createSender  string
	federateFalse bool
	joinCreator   string   // the user whose join right after the create is allowed
	creators      []string // users with a creator's power level

	// The state the rules consult, loaded by load (nil when absent).
	plEvent, senderMember, joinRules *pdu.Event
	pl                               PowerLevels

	member memberInfo // for m.room.member events
}

// lookup returns the state event for (typ, stateKey), rejecting under rule
// "any event in auth_events has a room_id which does not match" when it
// belongs to another room.
func (c *checker) lookup(typ, stateKey string) (*pdu.Event, error) {
	e := c.state.StateEvent(typ, stateKey)
	if e != nil && e.RoomID() != c.ev.RoomID() {
		return nil, reject(ruleID{c.n.authEvents, c.n.aeRoomID},
			fmt.Sprintf("%s event %s is in room %s, not %s", typ, e.EventID(), e.RoomID(), c.ev.RoomID()))
	}
	return e, nil
}

// loadCreate finds the create event and reads what the rules need from it.
func (c *checker) loadCreate() error {
	create := c.state.StateEvent(spec.MRoomCreate, "")
	switch {
	case create == nil && c.v.CreateEventHasNoRoomID:
		return reject(ruleID{c.n.roomID}, "the m.room.create event of room "+c.ev.RoomID()+" is not known")
	case create == nil:
		return reject(ruleID{c.n.authEvents, c.n.aeNoCreate}, "no m.room.create event")
	case create.RoomID() != c.ev.RoomID() && c.v.CreateEventHasNoRoomID:
		return reject(ruleID{c.n.roomID},
			fmt.Sprintf("room ID %s is not the create event's (%s)", c.ev.RoomID(), create.RoomID()))
	case create.RoomID() != c.ev.RoomID():
		return reject(ruleID{c.n.authEvents, c.n.aeRoomID},
			fmt.Sprintf("m.room.create event %s is in room %s, not %s", create.EventID(), create.RoomID(), c.ev.RoomID()))
	}
	c.create = create
	c.createSender = create.Sender()
	f := [...]field{{name: "m.federate"}}
	if err := getFields(create.Content(), f[:]); err == nil {
		c.federateFalse = string(f[0].raw) == "false"
	}
	// An invalid create content leaves no creators: nobody gets the
	// creator's level, and no join is the creator's first.
	creators, err := Creators(create)
	if err == nil {
		c.creators = creators
		c.joinCreator = creators[0]
	}
	return nil
}

// load fetches the rest of the state the rules consult (the auth events
// selection for the event) and checks each is in the event's room.
func (c *checker) load() error {
	var err error
	if c.plEvent, err = c.lookup(spec.MRoomPowerLevels, ""); err != nil {
		return err
	}
	if c.senderMember, err = c.lookup(spec.MRoomMember, c.ev.Sender()); err != nil {
		return err
	}
	if c.ev.Type() == spec.MRoomMember {
		if err := c.loadMemberState(); err != nil {
			return err
		}
	}
	var content []byte
	if c.plEvent != nil {
		content = c.plEvent.Content()
	}
	// Invalid content in a state event degrades to the defaults for the
	// invalid properties (see ParsePowerLevels): such an event cannot pass
	// the power levels rule, and reading it leniently keeps rooms with
	// foreign history usable.
	c.pl, _ = parsePowerLevels(c.v, content)
	if c.v.PrivilegedCreators || c.plEvent == nil {
		c.pl.setCreators(c.v, c.creators)
	}
	return nil
}

// checkFederation applies "if the content of the m.room.create event in the
// room state has the property m.federate set to false, and the sender
// domain of the event does not match the sender domain of the create event,
// reject."
func (c *checker) checkFederation() error {
	if c.federateFalse && domainOf(c.ev.Sender()) != domainOf(c.createSender) {
		return reject(ruleID{c.n.federate}, "the room is not federated (m.federate is false) and "+
			c.ev.Sender()+" is not on the create event's server")
	}
	return nil
}

// membershipOf returns the membership in a state m.room.member event, or ""
// when there is no event or no string membership, which every rule treats
// like leave.
func membershipOf(e *pdu.Event) string {
	if e == nil {
		return ""
	}
	m, err := e.Membership()
	if err != nil {
		return ""
	}
	return m
}

// checkOther applies the rules after the membership rules: the sender must
// be joined, m.room.third_party_invite, the required power level, state
// keys that are user IDs, m.room.power_levels and (v1–v2) m.room.redaction.
func (c *checker) checkOther() error {
	ev, n, pl := c.ev, c.n, c.pl
	if m := membershipOf(c.senderMember); m != spec.MembershipJoin {
		return reject(ruleID{n.joined}, fmt.Sprintf("sender %s is not joined (membership %q)", ev.Sender(), m))
	}
	senderLevel := pl.UserLevel(ev.Sender())
	if ev.Type() == spec.MRoomThirdPartyInvite {
		if senderLevel >= pl.Invite {
			return nil
		}
		return reject(ruleID{n.thirdParty, 1},
			fmt.Sprintf("sender level %d is below the invite level %d", senderLevel, pl.Invite))
	}
	if required := pl.EventLevel(ev.Type(), ev.IsState()); required > senderLevel {
		return reject(ruleID{n.required},
			fmt.Sprintf("%s requires power level %d; sender has %d", ev.Type(), required, senderLevel))
	}
	if sk := ev.StateKey(); sk != nil && strings.HasPrefix(*sk, "@") && *sk != ev.Sender() {
		return reject(ruleID{n.stateKey}, fmt.Sprintf("state key %q is another user's ID", *sk))
	}
	switch {
	case ev.Type() == spec.MRoomPowerLevels:
		return c.checkPowerLevelsEvent(pl, senderLevel)
	case c.v.RedactionAuthRule && ev.Type() == spec.MRoomRedaction:
		return c.checkRedaction(pl, senderLevel)
	}
	return nil
}

// checkCreate applies rule 1, "if type is m.room.create".
func (c *checker) checkCreate() error {
	ev, n, v := c.ev, c.n, c.v
	r := ruleID{n.create}
	if len(ev.PrevEventIDs()) > 0 {
		return reject(r.sub(n.createPrev), "the create event has prev_events")
	}
	if v.CreateEventHasNoRoomID {
		top := [...]field{{name: "room_id"}}
		if err := getFields(ev.JSON(), top[:]); err != nil || top[0].raw != nil {
			return reject(r.sub(n.createRoomID), "the create event has a room_id")
		}
	} else if domainOf(ev.RoomID()) != domainOf(ev.Sender()) {
		return reject(r.sub(n.createRoomID),
			fmt.Sprintf("room ID domain %q differs from the sender's %q", domainOf(ev.RoomID()), domainOf(ev.Sender())))
	}
	f := [...]field{{name: "room_version"}, {name: "creator"}}
	if err := getFields(ev.Content(), f[:]); err != nil {
		return reject(r.sub(n.createVersion), "content is not a JSON object")
	}
	if raw := f[0].raw; raw != nil {
		id, ok := decodeString(raw)
		if _, known := spec.LookupRoomVersion(id); !ok || !known {
			return reject(r.sub(n.createVersion), fmt.Sprintf("room_version %s is not a recognised version", raw))
		}
	}
	if !v.CreatorFromSender {
		// NOTSPEC: the rule only asks for the property; a creator that is
		// not a string cannot name the creator, so it is rejected too.
		if _, ok := decodeString(f[1].raw); !ok {
			return reject(r.sub(n.createCreator), "content has no creator string")
		}
	}
	if v.PrivilegedCreators {
		if _, err := additionalCreators(ev.Content()); err != nil {
			return reject(r.sub(n.createAdditional), err.Error())
		}
	}
	return nil
}

// checkAliases applies the m.room.aliases rule of v1–v5.
func (c *checker) checkAliases() error {
	r := ruleID{c.n.aliases}
	sk := c.ev.StateKey()
	if sk == nil {
		return reject(r.sub(1), "m.room.aliases has no state_key")
	}
	if d := domainOf(c.ev.Sender()); d != *sk {
		return reject(r.sub(2), fmt.Sprintf("sender's domain %q does not match state_key %q", d, *sk))
	}
	return nil
}

// checkRedaction applies the m.room.redaction rule of v1–v2.
func (c *checker) checkRedaction(pl PowerLevels, senderLevel int64) error {
	r := ruleID{c.n.redaction}
	if senderLevel >= pl.Redact {
		return nil
	}
	if domainOf(c.ev.Redacts()) == domainOf(c.ev.EventID()) {
		return nil
	}
	return reject(r.sub(3), fmt.Sprintf("sender level %d is below the redact level %d and %s is from another server",
		senderLevel, pl.Redact, c.ev.Redacts()))
}

// domainOf returns everything after the first ':' of a Matrix ID, or ""
// when there is none.
func domainOf(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return id[i+1:]
	}
	return ""
}
