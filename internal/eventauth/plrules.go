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
	maps := []string{"events"}
	olds := []map[string]int64{old.Events}
	news := []map[string]int64{next.Events}
	if v.NotificationsPowerLevel {
		maps = append(maps, "notifications")
		olds = append(olds, old.Notifications)
		news = append(news, next.Notifications)
	}
	// Rule "for each entry being changed in, or removed from" runs over
	// every map before rule "for each entry being added to, or changed in".
	for i := range maps {
		for k, was := range olds[i] {
			if now, ok := news[i][k]; (!ok || now != was) && was > senderLevel {
				return reject(r.sub(n.plEventsOld, 1), fmt.Sprintf("%s[%q] is %d, above the sender's %d",
					maps[i], k, was, senderLevel))
			}
		}
	}
	for i := range maps {
		for k, now := range news[i] {
			if was, ok := olds[i][k]; (!ok || now != was) && now > senderLevel {
				return reject(r.sub(n.plEventsNew, 1), fmt.Sprintf("new %s[%q] %d is above the sender's %d",
					maps[i], k, now, senderLevel))
			}
		}
	}
	sender := c.ev.Sender()
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
			return reject(r.sub(1), fmt.Sprintf("%s is %d, above the sender's %d", namedKeys[k], was, senderLevel))
		}
		if hasIt && now > senderLevel {
			return reject(r.sub(2), fmt.Sprintf("new %s %d is above the sender's %d", namedKeys[k], now, senderLevel))
		}
	}
	return nil
}
