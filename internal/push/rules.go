package push

import (
	"encoding/json"
	"strings"

	"myelin/internal/spec"
)

// The kinds of push rules, in the order they are evaluated.
const (
	KindOverride  = "override"
	KindContent   = "content"
	KindRoom      = "room"
	KindSender    = "sender"
	KindUnderride = "underride"
)

// Kinds lists the rule kinds in evaluation order.
var Kinds = []string{KindOverride, KindContent, KindRoom, KindSender, KindUnderride}

// MasterRuleID is the one server-default rule that comes before the user's
// own rules.
const MasterRuleID = ".m.rule.master"

// Rule is one push rule as clients see it (push_rule.yaml).
type Rule struct {
	RuleID  string            `json:"rule_id"`
	Default bool              `json:"default"`
	Enabled bool              `json:"enabled"`
	Actions []json.RawMessage `json:"actions"`
	// Conditions is set for override and underride rules (possibly empty).
	Conditions *[]json.RawMessage `json:"conditions,omitempty"`
	// Pattern is set for content rules.
	Pattern *string `json:"pattern,omitempty"`
}

// Ruleset is the global ruleset: every kind's rules in priority order
// (push_ruleset.yaml). Every list is non-nil.
type Ruleset struct {
	Override  []Rule `json:"override"`
	Content   []Rule `json:"content"`
	Room      []Rule `json:"room"`
	Sender    []Rule `json:"sender"`
	Underride []Rule `json:"underride"`
}

// Kind returns a pointer to the list of the given kind, or nil for an
// unknown kind.
func (rs *Ruleset) Kind(kind string) *[]Rule {
	switch kind {
	case KindOverride:
		return &rs.Override
	case KindContent:
		return &rs.Content
	case KindRoom:
		return &rs.Room
	case KindSender:
		return &rs.Sender
	case KindUnderride:
		return &rs.Underride
	}
	return nil
}

// Find returns the index of the rule with the given ID in the kind's list,
// or -1.
func (rs *Ruleset) Find(kind, ruleID string) int {
	list := rs.Kind(kind)
	if list == nil {
		return -1
	}
	for i, r := range *list {
		if r.RuleID == ruleID {
			return i
		}
	}
	return -1
}

// IsDefaultID reports whether a rule ID is reserved for server-default
// rules (it starts with a dot).
func IsDefaultID(ruleID string) bool { return strings.HasPrefix(ruleID, ".") }

// merge lays the user's stored ruleset over the current server defaults:
// the user's own rules keep their order; a default rule keeps its current
// definition but takes the stored enabled flag and actions, if any. Default
// rules the server no longer has are dropped, new ones appear. Order within
// a kind: .m.rule.master, the user's rules, the other default rules.
func merge(stored, defaults Ruleset) Ruleset {
	var out Ruleset
	for _, kind := range Kinds {
		var user []Rule
		changed := map[string]Rule{}
		for _, r := range *stored.Kind(kind) {
			if r.Default {
				changed[r.RuleID] = r
			} else {
				user = append(user, r)
			}
		}
		list := []Rule{}
		var rest []Rule
		for _, d := range *defaults.Kind(kind) {
			if c, ok := changed[d.RuleID]; ok {
				d.Enabled = c.Enabled
				if c.Actions != nil {
					d.Actions = c.Actions
				}
			}
			if d.RuleID == MasterRuleID {
				list = append(list, d)
			} else {
				rest = append(rest, d)
			}
		}
		list = append(list, user...)
		list = append(list, rest...)
		*out.Kind(kind) = list
	}
	return out
}

// storedForm is what update stores: the user's own rules in order, and
// only those server-default rules whose enabled flag or actions differ
// from the defaults, reduced to rule_id, default, enabled and actions.
func storedForm(rs, defaults Ruleset) Ruleset {
	out := emptyRuleset()
	for _, kind := range Kinds {
		byID := map[string]Rule{}
		for _, d := range *defaults.Kind(kind) {
			byID[d.RuleID] = d
		}
		list := out.Kind(kind)
		for _, r := range *rs.Kind(kind) {
			if !r.Default {
				*list = append(*list, r)
				continue
			}
			d, ok := byID[r.RuleID]
			if !ok || (d.Enabled == r.Enabled && sameActions(d.Actions, r.Actions)) {
				continue
			}
			*list = append(*list, Rule{RuleID: r.RuleID, Default: true, Enabled: r.Enabled, Actions: r.Actions})
		}
	}
	return out
}

func sameActions(a, b []json.RawMessage) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// validateActions checks an actions array. The historical dont_notify and
// coalesce actions are kept as the client sent them (Synapse does the same,
// and Complement's TestPushRuleCacheHealth reads dont_notify back); the
// specification says to ignore them, which evaluation will do. Errors are
// 400 M_BAD_JSON, or 400 M_MISSING_PARAM when actions is absent.
func validateActions(actions []json.RawMessage) ([]json.RawMessage, error) {
	if actions == nil {
		return nil, spec.MissingParam("actions is required")
	}
	out := []json.RawMessage{}
	for _, a := range actions {
		var s string
		if json.Unmarshal(a, &s) == nil {
			switch s {
			case "notify", "dont_notify", "coalesce":
				out = append(out, a)
			default:
				return nil, spec.BadJSON("unknown push rule action %q", s)
			}
			continue
		}
		var tweak map[string]json.RawMessage
		if json.Unmarshal(a, &tweak) != nil || tweak == nil {
			return nil, spec.BadJSON("a push rule action must be a string or an object")
		}
		var name string
		if json.Unmarshal(tweak["set_tweak"], &name) != nil || name == "" {
			return nil, spec.BadJSON("a push rule action object needs a set_tweak string")
		}
		out = append(out, a)
	}
	return out, nil
}

// validateConditions checks that every condition is an object with a
// string kind. Unknown kinds are kept: they never match (spec).
func validateConditions(conds []json.RawMessage) error {
	for _, c := range conds {
		var obj map[string]json.RawMessage
		if json.Unmarshal(c, &obj) != nil || obj == nil {
			return spec.BadJSON("a push rule condition must be an object")
		}
		var kind string
		if json.Unmarshal(obj["kind"], &kind) != nil || kind == "" {
			return spec.BadJSON("a push rule condition needs a kind string")
		}
	}
	return nil
}
