package push

import (
	"encoding/json"
	"fmt"
	"strings"

	"myelin/internal/mjson"
	"myelin/internal/spec"
)

// userIDPlaceholder stands for the owner's user ID (a JSON string) in the
// default rules below.
const userIDPlaceholder = `"[the user's Matrix ID]"`

// The server-default rules of the specification (v1.19, "Predefined
// Rules"), kind by kind, in the specification's order. v1.17 removed the
// legacy body-mention rules (.m.rule.contains_display_name,
// .m.rule.contains_user_name, .m.rule.roomnotif; MSC4210), so they are not
// here. .m.rule.master always comes first of all rules, even user-defined
// ones; every other default rule comes after the user's rules of its kind.
var defaultOverride = []string{
	`{"rule_id":".m.rule.master","default":true,"enabled":false,"conditions":[],"actions":[]}`,
	`{"rule_id":".m.rule.suppress_notices","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"content.msgtype","pattern":"m.notice"}],"actions":[]}`,
	`{"rule_id":".m.rule.invite_for_me","default":true,"enabled":true,
	  "conditions":[{"key":"type","kind":"event_match","pattern":"m.room.member"},
	                {"key":"content.membership","kind":"event_match","pattern":"invite"},
	                {"key":"state_key","kind":"event_match","pattern":"[the user's Matrix ID]"}],
	  "actions":["notify",{"set_tweak":"sound","value":"default"}]}`,
	`{"rule_id":".m.rule.member_event","default":true,"enabled":true,
	  "conditions":[{"key":"type","kind":"event_match","pattern":"m.room.member"}],"actions":[]}`,
	`{"rule_id":".m.rule.is_user_mention","default":true,"enabled":true,
	  "conditions":[{"kind":"event_property_contains","key":"content.m\\.mentions.user_ids","value":"[the user's Matrix ID]"}],
	  "actions":["notify",{"set_tweak":"sound","value":"default"},{"set_tweak":"highlight"}]}`,
	`{"rule_id":".m.rule.is_room_mention","default":true,"enabled":true,
	  "conditions":[{"kind":"event_property_is","key":"content.m\\.mentions.room","value":true},
	                {"kind":"sender_notification_permission","key":"room"}],
	  "actions":["notify",{"set_tweak":"highlight"}]}`,
	`{"rule_id":".m.rule.tombstone","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"type","pattern":"m.room.tombstone"},
	                {"kind":"event_match","key":"state_key","pattern":""}],
	  "actions":["notify",{"set_tweak":"highlight"}]}`,
	`{"rule_id":".m.rule.reaction","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"type","pattern":"m.reaction"}],"actions":[]}`,
	`{"rule_id":".m.rule.room.server_acl","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"type","pattern":"m.room.server_acl"},
	                {"kind":"event_match","key":"state_key","pattern":""}],"actions":[]}`,
	`{"rule_id":".m.rule.suppress_edits","default":true,"enabled":true,
	  "conditions":[{"kind":"event_property_is","key":"content.m\\.relates_to.rel_type","value":"m.replace"}],"actions":[]}`,
}

var defaultUnderride = []string{
	`{"rule_id":".m.rule.call","default":true,"enabled":true,
	  "conditions":[{"key":"type","kind":"event_match","pattern":"m.call.invite"}],
	  "actions":["notify",{"set_tweak":"sound","value":"ring"}]}`,
	`{"rule_id":".m.rule.encrypted_room_one_to_one","default":true,"enabled":true,
	  "conditions":[{"kind":"room_member_count","is":"2"},{"kind":"event_match","key":"type","pattern":"m.room.encrypted"}],
	  "actions":["notify",{"set_tweak":"sound","value":"default"}]}`,
	`{"rule_id":".m.rule.room_one_to_one","default":true,"enabled":true,
	  "conditions":[{"kind":"room_member_count","is":"2"},{"kind":"event_match","key":"type","pattern":"m.room.message"}],
	  "actions":["notify",{"set_tweak":"sound","value":"default"}]}`,
	`{"rule_id":".m.rule.message","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"type","pattern":"m.room.message"}],"actions":["notify"]}`,
	`{"rule_id":".m.rule.encrypted","default":true,"enabled":true,
	  "conditions":[{"kind":"event_match","key":"type","pattern":"m.room.encrypted"}],"actions":["notify"]}`,
}

// DefaultRuleset returns the server-default rules for the given user, who
// is named in .m.rule.invite_for_me and .m.rule.is_user_mention. The
// content, room and sender kinds have no default rules.
func DefaultRuleset(user spec.UserID) Ruleset {
	quoted, err := mjson.AppendString(nil, user.String())
	if err != nil {
		// A parsed UserID is always valid UTF-8.
		panic(fmt.Sprintf("push: user ID %q has no JSON form: %v", user, err))
	}
	parse := func(texts []string) []Rule {
		out := make([]Rule, len(texts))
		for i, text := range texts {
			text = strings.ReplaceAll(text, userIDPlaceholder, string(quoted))
			if err := json.Unmarshal([]byte(text), &out[i]); err != nil {
				panic(fmt.Sprintf("push: default rule %d does not parse: %v", i, err))
			}
		}
		return out
	}
	return Ruleset{
		Override:  parse(defaultOverride),
		Content:   []Rule{},
		Room:      []Rule{},
		Sender:    []Rule{},
		Underride: parse(defaultUnderride),
	}
}
