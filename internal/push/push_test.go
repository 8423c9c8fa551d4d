package push

import (
	"encoding/json"
	"strings"
	"testing"

	"myelin/internal/spec"
)

func ids(rules []Rule) string {
	var out []string
	for _, r := range rules {
		out = append(out, r.RuleID)
	}
	return strings.Join(out, " ")
}

func TestDefaultRuleset(t *testing.T) {
	uid, _ := spec.ParseUserID("@alice:example.org")
	rs := DefaultRuleset(uid)
	if got := ids(rs.Override); got != ".m.rule.master .m.rule.suppress_notices .m.rule.invite_for_me .m.rule.member_event .m.rule.is_user_mention .m.rule.is_room_mention .m.rule.tombstone .m.rule.reaction .m.rule.room.server_acl .m.rule.suppress_edits" {
		t.Errorf("override = %s", got)
	}
	if got := ids(rs.Underride); got != ".m.rule.call .m.rule.encrypted_room_one_to_one .m.rule.room_one_to_one .m.rule.message .m.rule.encrypted" {
		t.Errorf("underride = %s", got)
	}
	b, _ := json.Marshal(rs)
	if strings.Count(string(b), `"@alice:example.org"`) != 2 || strings.Contains(string(b), "[the user") {
		t.Errorf("user ID not substituted: %s", b)
	}
	for _, r := range append(append([]Rule{}, rs.Override...), rs.Underride...) {
		if !r.Default || r.Conditions == nil || r.Actions == nil {
			t.Errorf("default rule %s = %+v", r.RuleID, r)
		}
		if r.Enabled == (r.RuleID == MasterRuleID) {
			t.Errorf("%s enabled = %v", r.RuleID, r.Enabled)
		}
	}
}

// A stored ruleset keeps only what the user changed, and merging it back
// gives the same ruleset, with the current definitions of default rules.
func TestStoredFormRoundTrip(t *testing.T) {
	uid, _ := spec.ParseUserID("@alice:example.org")
	defs := DefaultRuleset(uid)
	rs := merge(emptyRuleset(), defs)
	rs.Override[1].Enabled = false                // suppress_notices off
	rs.Underride[3].Actions = []json.RawMessage{} // message silent
	rs.Override = append(rs.Override[:1], append([]Rule{{RuleID: "mine", Enabled: true, Actions: []json.RawMessage{}}}, rs.Override[1:]...)...)
	stored := storedForm(rs, defs)
	if got := ids(stored.Override); got != "mine .m.rule.suppress_notices" {
		t.Errorf("stored override = %s", got)
	}
	if got := ids(stored.Underride); got != ".m.rule.message" {
		t.Errorf("stored underride = %s", got)
	}
	if stored.Override[1].Conditions != nil {
		t.Error("stored default rule keeps its conditions")
	}
	back := merge(stored, defs)
	a, _ := json.Marshal(back)
	b, _ := json.Marshal(rs)
	if string(a) != string(b) {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
	// A default rule the server no longer has is dropped.
	stored.Override = append(stored.Override, Rule{RuleID: ".m.rule.gone", Default: true})
	if strings.Contains(ids(merge(stored, defs).Override), "gone") {
		t.Error("removed default rule survived")
	}
}

func TestValidateActions(t *testing.T) {
	got, err := validateActions([]json.RawMessage{json.RawMessage(`"notify"`), json.RawMessage(`"dont_notify"`), json.RawMessage(`"coalesce"`), json.RawMessage(`{"set_tweak":"sound","value":"x"}`)})
	if err != nil || len(got) != 4 {
		t.Fatalf("validateActions = %s, %v", got, err)
	}
	for _, bad := range []string{`"shout"`, `5`, `{}`, `{"set_tweak":1}`, `null`, `[]`} {
		if _, err := validateActions([]json.RawMessage{json.RawMessage(bad)}); err == nil {
			t.Errorf("validateActions(%s) accepted", bad)
		}
	}
	if _, err := validateActions(nil); err == nil {
		t.Error("missing actions accepted")
	}
}
