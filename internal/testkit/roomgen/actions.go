package roomgen

import (
	"bytes"
	"encoding/json"
	"fmt"

	"myelin/internal/eventauth"
	"myelin/internal/spec"
)

// action proposes an event for a state, or reports that it has nothing
// plausible to propose there.
type action func(g *gen, s State) (proposal, bool)

// actions returns the actions, weighted by repetition.
func actions() []action {
	return []action{
		(*gen).message, (*gen).message,
		(*gen).topic, (*gen).topic, (*gen).name,
		(*gen).powerLevels, (*gen).powerLevels, (*gen).powerLevels,
		(*gen).joinRules,
		(*gen).join, (*gen).join, (*gen).join,
		(*gen).invite, (*gen).invite,
		(*gen).leave,
		(*gen).kick, (*gen).kick,
		(*gen).ban, (*gen).ban,
		(*gen).unban,
		(*gen).knock,
		(*gen).redaction,
	}
}

func (g *gen) propose(s State) (proposal, bool) {
	as := actions()
	return as[g.rng.IntN(len(as))](g, s)
}

// membership returns user's membership in s, "" for none.
func (g *gen) membership(s State, user string) string {
	id, ok := s[spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: user}]
	if !ok {
		return ""
	}
	m, err := g.room.Events[id].Membership()
	if err != nil {
		return ""
	}
	return m
}

func (g *gen) withMembership(s State, memberships ...string) []string {
	var out []string
	for _, u := range g.users {
		m := g.membership(s, u)
		for _, want := range memberships {
			if m == want {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

func (g *gen) joinRule(s State) string {
	id, ok := s[spec.StateKeyTuple{Type: spec.MRoomJoinRules}]
	if !ok {
		return ""
	}
	var c struct {
		JoinRule string `json:"join_rule"`
	}
	_ = json.Unmarshal(g.room.Events[id].Content(), &c)
	return c.JoinRule
}

func (g *gen) powerLevelsIn(s State) eventauth.PowerLevels {
	p, _ := eventauth.PowerLevelsFromState(g.provider(s), g.v)
	return p
}

// joinedSender picks a joined user, preferring powerful ones.
func (g *gen) joinedSender(s State) (string, bool) {
	joined := g.withMembership(s, spec.MembershipJoin)
	if len(joined) == 0 {
		return "", false
	}
	pl := g.powerLevelsIn(s)
	best := joined[g.rng.IntN(len(joined))]
	if g.rng.IntN(2) == 0 {
		for _, u := range joined {
			if pl.UserLevel(u) > pl.UserLevel(best) {
				best = u
			}
		}
	}
	return best, true
}

func (g *gen) message(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	return proposal{typ: spec.MRoomMessage, sender: sender, content: map[string]any{"msgtype": "m.text", "body": g.word()}}, ok
}

func (g *gen) topic(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	return proposal{typ: spec.MRoomTopic, stateKey: strPtr(""), sender: sender, content: map[string]any{"topic": g.word()}}, ok
}

func (g *gen) name(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	return proposal{typ: spec.MRoomName, stateKey: strPtr(""), sender: sender, content: map[string]any{"name": g.word()}}, ok
}

func (g *gen) word() string {
	return pick(g.rng, "alpha", "beta", "gamma", "delta") + fmt.Sprint(g.rng.IntN(100))
}

// powerLevels proposes a change to one entry of the power levels.
func (g *gen) powerLevels(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	id, has := s[spec.StateKeyTuple{Type: spec.MRoomPowerLevels}]
	if !ok || !has {
		return proposal{}, false
	}
	content := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(g.room.Events[id].Content()))
	dec.UseNumber()
	if err := dec.Decode(&content); err != nil {
		return proposal{}, false
	}
	levels := []int{0, 10, 50, 75, 100}
	switch g.rng.IntN(4) {
	case 0, 1:
		users, _ := content["users"].(map[string]any)
		if users == nil {
			users = map[string]any{}
		}
		u := g.users[g.rng.IntN(len(g.users))]
		if g.isCreator(s, u) {
			return proposal{}, false
		}
		if g.rng.IntN(5) == 0 {
			delete(users, u)
		} else {
			users[u] = g.level(pick(g.rng, levels...))
		}
		content["users"] = users
	case 2:
		content[pick(g.rng, "ban", "kick", "invite", "state_default", "users_default", "redact")] = g.level(pick(g.rng, 0, 0, 50, 50, 75))
	default:
		events, _ := content["events"].(map[string]any)
		if events == nil {
			events = map[string]any{}
		}
		events[pick(g.rng, spec.MRoomTopic, spec.MRoomName, spec.MRoomJoinRules, spec.MRoomMessage)] = g.level(pick(g.rng, 0, 50, 100))
		content["events"] = events
	}
	return proposal{typ: spec.MRoomPowerLevels, stateKey: strPtr(""), sender: sender, content: content}, true
}

func (g *gen) isCreator(s State, u string) bool {
	if !g.v.PrivilegedCreators {
		return false
	}
	create := g.room.Events[s[spec.StateKeyTuple{Type: spec.MRoomCreate}]]
	creators, _ := eventauth.Creators(create)
	for _, c := range creators {
		if c == u {
			return true
		}
	}
	return false
}

func (g *gen) joinRules(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	rules := []string{spec.JoinRulePublic, spec.JoinRuleInvite}
	if g.v.Knock {
		rules = append(rules, spec.JoinRuleKnock)
	}
	return proposal{typ: spec.MRoomJoinRules, stateKey: strPtr(""), sender: sender, content: map[string]any{"join_rule": pick(g.rng, rules...)}}, ok
}

// target picks a user with one of the memberships ("" for none).
func (g *gen) target(s State, memberships ...string) (string, bool) {
	users := g.withMembership(s, memberships...)
	if len(users) == 0 {
		return "", false
	}
	return users[g.rng.IntN(len(users))], true
}

func (g *gen) join(s State) (proposal, bool) {
	u, ok := g.target(s, "", spec.MembershipLeave, spec.MembershipInvite, spec.MembershipKnock)
	return member(u, u, spec.MembershipJoin), ok
}

func (g *gen) invite(s State) (proposal, bool) {
	sender, ok1 := g.joinedSender(s)
	u, ok2 := g.target(s, "", spec.MembershipLeave, spec.MembershipKnock)
	return member(sender, u, spec.MembershipInvite), ok1 && ok2
}

func (g *gen) leave(s State) (proposal, bool) {
	u, ok := g.target(s, spec.MembershipJoin, spec.MembershipInvite, spec.MembershipKnock)
	return member(u, u, spec.MembershipLeave), ok
}

func (g *gen) kick(s State) (proposal, bool) {
	sender, ok1 := g.joinedSender(s)
	u, ok2 := g.target(s, spec.MembershipJoin, spec.MembershipInvite, spec.MembershipKnock)
	return member(sender, u, spec.MembershipLeave), ok1 && ok2 && sender != u
}

func (g *gen) ban(s State) (proposal, bool) {
	sender, ok1 := g.joinedSender(s)
	u, ok2 := g.target(s, "", spec.MembershipJoin, spec.MembershipInvite, spec.MembershipLeave, spec.MembershipKnock)
	return member(sender, u, spec.MembershipBan), ok1 && ok2 && sender != u
}

func (g *gen) unban(s State) (proposal, bool) {
	sender, ok1 := g.joinedSender(s)
	u, ok2 := g.target(s, spec.MembershipBan)
	return member(sender, u, spec.MembershipLeave), ok1 && ok2
}

func (g *gen) knock(s State) (proposal, bool) {
	if !g.v.Knock {
		return proposal{}, false
	}
	u, ok := g.target(s, "", spec.MembershipLeave)
	return member(u, u, spec.MembershipKnock), ok
}

// redaction redacts a random earlier event of the room.
func (g *gen) redaction(s State) (proposal, bool) {
	sender, ok := g.joinedSender(s)
	if !ok || len(g.room.Order) == 0 {
		return proposal{}, false
	}
	target := g.room.Order[g.rng.IntN(len(g.room.Order))].EventID()
	return proposal{typ: spec.MRoomRedaction, sender: sender, redacts: target, content: map[string]any{"reason": "test"}}, true
}
