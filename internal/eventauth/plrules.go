package eventauth

import (
	"fmt"
)

// checkPowerLevelsEvent applies the rule "if type is m.room.power_levels".
// old is the power levels in state and senderLevel the sender's level in
// them.
func (c *checker) checkPowerLevelsEvent(old PowerLevels, senderLevel int64) error {
	n, v := c.n, c.v
	r := ruleID{n.powerLevels}
	next, prob := parsePowerLevels(v, c.ev.Content())
	if prob != nil {
		return reject(r.sub(c.problemRule(prob.kind)), prob.reason)
	}
	if v.PrivilegedCreators {
		for _, cr := range c.creators {
			if _, ok := next.Users[cr]; ok {
				return reject(r.sub(n.plCreators), fmt.Sprintf("users contains the room creator %s", cr))
			}
		}
	}
	if c.plEvent == nil {
		return nil
	}
	if err := checkNamedChanges(r.sub(n.plNamed), &old, &next, senderLevel); err != nil {
		return err
	}
	if err := checkLevelMaps(r, n, v.NotificationsPowerLevel, &old, &next, senderLevel); err != nil {
		return err
	}
	return checkUsersChanges(r, n, c.ev.Sender(), &old, &next, senderLevel)
}

// checkLevelMaps applies the rules on entries of events (and, v6+,
// notifications): first "for each entry being changed in, or removed from"
// over every map ("if the current value is greater than the sender's
// current power level, reject"), then "for each entry being added to, or
// changed in" ("if the new value is greater ..., reject").
func checkLevelMaps(r ruleID, n numbering, notifications bool, old, next *PowerLevels, senderLevel int64) error {
	type pair struct {
		name      string
		old, next map[string]int64
	}
	maps := []pair{{"events", old.Events, next.Events}}
	if notifications {
		maps = append(maps, pair{"notifications", old.Notifications, next.Notifications})
	}
	for _, m := range maps {
		for k, was := range m.old {
			if now, ok := m.next[k]; (!ok || now != was) && was > senderLevel {
				return reject(r.sub(n.plEventsOld, 1), fmt.Sprintf("%s[%q] is %d, above the sender's %d",
					m.name, k, was, senderLevel))
			}
		}
	}
	for _, m := range maps {
		for k, now := range m.next {
			if was, ok := m.old[k]; (!ok || now != was) && now > senderLevel {
				return reject(r.sub(n.plEventsNew, 1), fmt.Sprintf("new %s[%q] %d is above the sender's %d",
					m.name, k, now, senderLevel))
			}
		}
	}
	return nil
}

// checkUsersChanges applies "for each entry being changed in, or removed
// from, the users property, other than the sender's own entry: if the
// current value is greater than or equal to the sender's current power
// level, reject", then "for each entry being added to, or changed in, the
// users property: if the new value is greater than the sender's current
// power level, reject".
func checkUsersChanges(r ruleID, n numbering, sender string, old, next *PowerLevels, senderLevel int64) error {
	for u, was := range old.Users {
		if u == sender {
			continue
		}
		if now, ok := next.Users[u]; (!ok || now != was) && was >= senderLevel {
			return reject(r.sub(n.plUsersOld, 1), fmt.Sprintf("users[%q] is %d, not below the sender's %d",
				u, was, senderLevel))
		}
	}
	for u, now := range next.Users {
		if was, ok := old.Users[u]; (!ok || now != was) && now > senderLevel {
			return reject(r.sub(n.plUsersNew, 1), fmt.Sprintf("new users[%q] %d is above the sender's %d",
				u, now, senderLevel))
		}
	}
	return nil
}

// problemRule maps an invalid-content problem to its rule. From v10 each
// kind has its own rule. Before v10 only users is named ("not an object
// with keys that are valid user IDs with values that are integers (or a
// string that is an integer)"); NOTSPEC: other properties that are neither
// integers nor integer strings (nor, before v6, floats) cannot be
// interpreted either, and are rejected under the same rule.
func (c *checker) problemRule(kind problemKind) int {
	if !c.v.IntegerPowerLevels {
		return c.n.plUsers
	}
	switch kind {
	case problemNamed:
		return c.n.plNamedInt
	case problemMaps:
		return c.n.plMapsInt
	default:
		return c.n.plUsers
	}
}

// checkNamedChanges applies "for the properties users_default,
// events_default, state_default, ban, redact, kick, invite check if they
// were added, changed or removed. For each found alteration: 1. if the
// current value is higher than the sender's current power level, reject; 2.
// if the new value is higher than the sender's current power level,
// reject." An added property has no current value and a removed one no new
// value.
func checkNamedChanges(r ruleID, old, next *PowerLevels, senderLevel int64) error {
	for k := named(0); k < namedCount; k++ {
		hadIt, hasIt := old.present[k], next.present[k]
		was, now := *old.namedValue(k), *next.namedValue(k)
		if hadIt == hasIt && (!hadIt || was == now) {
			continue
		}
		if hadIt && was > senderLevel {
			return reject(r.sub(1), fmt.Sprintf("%s is %d, above the sender's %d", k.key(), was, senderLevel))
		}
		if hasIt && now > senderLevel {
			return reject(r.sub(2), fmt.Sprintf("new %s %d is above the sender's %d", k.key(), now, senderLevel))
		}
	}
	return nil
}
