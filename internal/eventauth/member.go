package eventauth

import (
	"fmt"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// memberInfo is what the rules read from an m.room.member event being
// checked, and the state loaded for it.
type memberInfo struct {
	membership    string // content.membership when it is a string
	hasMembership bool   // content has a membership property (of any type)
	isString      bool   // ... and it is a string

	thirdParty []byte // content.third_party_invite, nil when absent
	via        []byte // content.join_authorised_via_users_server, nil when absent

	targetMember, thirdPartyEvent, authoriser *pdu.Event
}

func parseMemberContent(ev *pdu.Event) memberInfo {
	var m memberInfo
	f := [...]field{{name: "membership"}, {name: "third_party_invite"}, {name: "join_authorised_via_users_server"}}
	if err := getFields(ev.Content(), f[:]); err != nil {
		return m
	}
	m.hasMembership = f[0].raw != nil
	m.membership, m.isString = decodeString(f[0].raw)
	m.thirdParty, m.via = f[1].raw, f[2].raw
	return m
}

// thirdPartySigned returns content.third_party_invite.signed when it is an
// object.
func (m *memberInfo) thirdPartySigned() ([]byte, bool) {
	f := [...]field{{name: "signed"}}
	if !isObject(m.thirdParty) || getFields(m.thirdParty, f[:]) != nil || !isObject(f[0].raw) {
		return nil, false
	}
	return f[0].raw, true
}

// signedMXIDAndToken returns signed.mxid and signed.token when both are
// strings.
func signedMXIDAndToken(signed []byte) (mxid, token string, ok bool) {
	f := [...]field{{name: "mxid"}, {name: "token"}}
	if getFields(signed, f[:]) != nil {
		return "", "", false
	}
	mxid, ok1 := decodeString(f[0].raw)
	token, ok2 := decodeString(f[1].raw)
	return mxid, token, ok1 && ok2
}

// loadMemberState loads the state an m.room.member event's rules consult
// besides the power levels and the sender's membership.
func (c *checker) loadMemberState() error {
	m := &c.member
	sk := c.ev.StateKey()
	if sk == nil {
		return nil
	}
	var err error
	if m.targetMember, err = c.lookup(spec.MRoomMember, *sk); err != nil {
		return err
	}
	switch m.membership {
	case spec.MembershipJoin, spec.MembershipInvite, spec.MembershipKnock:
		if c.joinRules, err = c.lookup(spec.MRoomJoinRules, ""); err != nil {
			return err
		}
	}
	if m.membership == spec.MembershipInvite && m.thirdParty != nil {
		if signed, ok := m.thirdPartySigned(); ok {
			if _, token, ok := signedMXIDAndToken(signed); ok {
				if m.thirdPartyEvent, err = c.lookup(spec.MRoomThirdPartyInvite, token); err != nil {
					return err
				}
			}
		}
	}
	if m.membership == spec.MembershipJoin && c.v.Restricted {
		if via, ok := decodeString(m.via); ok {
			if m.authoriser, err = c.lookup(spec.MRoomMember, via); err != nil {
				return err
			}
		}
	}
	return nil
}

// joinRule returns content.join_rule of the join rules in state. A room
// with no join rules event (or one without a join_rule string) is treated
// as "invite": the spec does not say, and "invite" is the most restrictive
// rule the auth rules know. A join_rule that is not a string yields "",
// which no rule accepts.
func (c *checker) joinRule() string {
	if c.joinRules == nil {
		return spec.JoinRuleInvite
	}
	f := [...]field{{name: "join_rule"}}
	if getFields(c.joinRules.Content(), f[:]) != nil || f[0].raw == nil {
		return spec.JoinRuleInvite
	}
	jr, _ := decodeString(f[0].raw)
	return jr
}

// checkMember applies the rule "if type is m.room.member".
func (c *checker) checkMember() error {
	n, m := c.n, &c.member
	r := ruleID{n.member}
	if c.ev.StateKey() == nil {
		return reject(r.sub(n.memMissing), "m.room.member has no state_key")
	}
	if !m.hasMembership {
		return reject(r.sub(n.memMissing), "content has no membership")
	}
	// Rule "if content has a join_authorised_via_users_server key: if the
	// event is not validly signed by the homeserver of the user ID denoted
	// by the key, reject" (v8+) is checked with the event's signatures,
	// which need that server's keys: the caller's signature checks do it.
	if m.isString {
		switch m.membership {
		case spec.MembershipJoin:
			return c.checkJoin()
		case spec.MembershipInvite:
			return c.checkInvite()
		case spec.MembershipLeave:
			return c.checkLeave()
		case spec.MembershipBan:
			return c.checkBan()
		case spec.MembershipKnock:
			if c.v.Knock {
				return c.checkKnock()
			}
		}
	}
	return reject(r.sub(n.memUnknown), fmt.Sprintf("unknown membership %s", m.rawMembership()))
}

func (m *memberInfo) rawMembership() string {
	if m.isString {
		return fmt.Sprintf("%q", m.membership)
	}
	return "of the wrong type"
}

// checkJoin applies "if membership is join".
func (c *checker) checkJoin() error {
	ev, n, v := c.ev, c.n, c.v
	r := ruleID{n.member, n.memJoin}
	target, sender := *ev.StateKey(), ev.Sender()
	prev := ev.PrevEventIDs()
	if len(prev) == 1 && prev[0] == c.create.EventID() && c.joinCreator != "" && target == c.joinCreator {
		return nil
	}
	if sender != target {
		return reject(r.sub(2), fmt.Sprintf("%s cannot join for %s", sender, target))
	}
	current := membershipOf(c.member.targetMember)
	if current == spec.MembershipBan {
		return reject(r.sub(3), sender+" is banned")
	}
	jr := c.joinRule()
	if jr == spec.JoinRuleInvite || v.Knock && jr == spec.JoinRuleKnock {
		if current == spec.MembershipInvite || current == spec.MembershipJoin {
			return nil
		}
		return reject(r.sub(n.joinOtherwise), fmt.Sprintf("join rule %q needs an invite; membership is %q", jr, current))
	}
	if v.Restricted && (jr == spec.JoinRuleRestricted || v.KnockRestricted && jr == spec.JoinRuleKnockRestricted) {
		if current == spec.MembershipJoin || current == spec.MembershipInvite {
			return nil
		}
		if reason := c.authoriserProblem(); reason != "" {
			return reject(r.sub(n.joinRestricted, 2), reason)
		}
		return nil
	}
	if jr == spec.JoinRulePublic {
		return nil
	}
	return reject(r.sub(n.joinOtherwise), fmt.Sprintf("join rule %q does not allow joining", jr))
}

// authoriserProblem says why join_authorised_via_users_server does not name
// a joined user able to invite, or returns "" when it does.
func (c *checker) authoriserProblem() string {
	via, ok := decodeString(c.member.via)
	if !ok {
		return "restricted join without a join_authorised_via_users_server user"
	}
	if m := membershipOf(c.member.authoriser); m != spec.MembershipJoin {
		return fmt.Sprintf("authorising user %s is not joined (membership %q)", via, m)
	}
	if l := c.pl.UserLevel(via); l < c.pl.Invite {
		return fmt.Sprintf("authorising user %s has level %d, below the invite level %d", via, l, c.pl.Invite)
	}
	return ""
}

// checkInvite applies "if membership is invite".
func (c *checker) checkInvite() error {
	ev, n, m := c.ev, c.n, &c.member
	r := ruleID{n.member, n.memInvite}
	target, sender := *ev.StateKey(), ev.Sender()
	if m.thirdParty != nil {
		return c.checkThirdPartyInvite(r.sub(1), target, sender)
	}
	if s := membershipOf(c.senderMember); s != spec.MembershipJoin {
		return reject(r.sub(2), fmt.Sprintf("sender %s is not joined (membership %q)", sender, s))
	}
	if t := membershipOf(m.targetMember); t == spec.MembershipJoin || t == spec.MembershipBan {
		return reject(r.sub(3), fmt.Sprintf("%s cannot be invited: membership is %q", target, t))
	}
	if l := c.pl.UserLevel(sender); l < c.pl.Invite {
		return reject(r.sub(5), fmt.Sprintf("sender level %d is below the invite level %d", l, c.pl.Invite))
	}
	return nil
}

// checkThirdPartyInvite applies "if content has a third_party_invite
// property".
func (c *checker) checkThirdPartyInvite(r ruleID, target, sender string) error {
	m := &c.member
	if membershipOf(m.targetMember) == spec.MembershipBan {
		return reject(r.sub(1), target+" is banned")
	}
	signed, ok := m.thirdPartySigned()
	if !ok {
		return reject(r.sub(2), "third_party_invite has no signed object")
	}
	mxid, token, ok := signedMXIDAndToken(signed)
	if !ok {
		return reject(r.sub(3), "signed has no mxid and token strings")
	}
	if mxid != target {
		return reject(r.sub(4), fmt.Sprintf("signed mxid %s is not the state_key %s", mxid, target))
	}
	tpi := m.thirdPartyEvent
	if tpi == nil {
		return reject(r.sub(5), fmt.Sprintf("no m.room.third_party_invite with token %q", token))
	}
	if tpi.Sender() != sender {
		return reject(r.sub(6), fmt.Sprintf("sender %s did not send the third-party invite (%s did)", sender, tpi.Sender()))
	}
	if thirdPartySignatureValid(signed, tpi.Content()) {
		return nil
	}
	return reject(r.sub(8), "no signature in signed matches a public key of the third-party invite")
}

// checkLeave applies "if membership is leave".
func (c *checker) checkLeave() error {
	ev, n, pl := c.ev, c.n, c.pl
	r := ruleID{n.member, n.memLeave}
	target, sender := *ev.StateKey(), ev.Sender()
	if sender == target {
		switch cur := membershipOf(c.senderMember); {
		case cur == spec.MembershipInvite, cur == spec.MembershipJoin, c.v.Knock && cur == spec.MembershipKnock:
			return nil
		default:
			return reject(r.sub(1), fmt.Sprintf("%s cannot leave from membership %q", sender, cur))
		}
	}
	if s := membershipOf(c.senderMember); s != spec.MembershipJoin {
		return reject(r.sub(2), fmt.Sprintf("sender %s is not joined (membership %q)", sender, s))
	}
	senderLevel, targetLevel := pl.UserLevel(sender), pl.UserLevel(target)
	if membershipOf(c.member.targetMember) == spec.MembershipBan && senderLevel < pl.Ban {
		return reject(r.sub(3), fmt.Sprintf("sender level %d is below the ban level %d", senderLevel, pl.Ban))
	}
	if senderLevel >= pl.Kick && targetLevel < senderLevel {
		return nil
	}
	return reject(r.sub(5), fmt.Sprintf("sender level %d cannot kick at kick level %d a user at level %d",
		senderLevel, pl.Kick, targetLevel))
}

// checkBan applies "if membership is ban".
func (c *checker) checkBan() error {
	ev, n, pl := c.ev, c.n, c.pl
	r := ruleID{n.member, n.memBan}
	target, sender := *ev.StateKey(), ev.Sender()
	if s := membershipOf(c.senderMember); s != spec.MembershipJoin {
		return reject(r.sub(1), fmt.Sprintf("sender %s is not joined (membership %q)", sender, s))
	}
	senderLevel, targetLevel := pl.UserLevel(sender), pl.UserLevel(target)
	if senderLevel >= pl.Ban && targetLevel < senderLevel {
		return nil
	}
	return reject(r.sub(3), fmt.Sprintf("sender level %d cannot ban at ban level %d a user at level %d",
		senderLevel, pl.Ban, targetLevel))
}

// checkKnock applies "if membership is knock" (v7+).
func (c *checker) checkKnock() error {
	ev, n, v := c.ev, c.n, c.v
	r := ruleID{n.member, n.memKnock}
	jr := c.joinRule()
	if !(jr == spec.JoinRuleKnock || v.KnockRestricted && jr == spec.JoinRuleKnockRestricted) {
		return reject(r.sub(1), fmt.Sprintf("join rule %q does not allow knocking", jr))
	}
	if ev.Sender() != *ev.StateKey() {
		return reject(r.sub(2), fmt.Sprintf("%s cannot knock for %s", ev.Sender(), *ev.StateKey()))
	}
	switch cur := membershipOf(c.senderMember); cur {
	case spec.MembershipBan, spec.MembershipInvite, spec.MembershipJoin:
		return reject(r.sub(4), fmt.Sprintf("%s cannot knock from membership %q", ev.Sender(), cur))
	}
	return nil
}
