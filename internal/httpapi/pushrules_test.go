package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/pushrules"

	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func ruleIDs(rules pushrules.PushRuleArray) string {
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.RuleID)
	}
	return strings.Join(ids, " ")
}

func TestPushRules(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		uid, _ := spec.ParseUserID("@alice:localhost")

		// The defaults, in the specification's order.
		rs, err := alice.GetPushRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const defOverride = ".m.rule.master .m.rule.suppress_notices .m.rule.invite_for_me .m.rule.member_event " +
			".m.rule.is_user_mention .m.rule.is_room_mention .m.rule.tombstone .m.rule.reaction .m.rule.room.server_acl .m.rule.suppress_edits"
		const defUnderride = ".m.rule.call .m.rule.encrypted_room_one_to_one .m.rule.room_one_to_one .m.rule.message .m.rule.encrypted"
		if got := ruleIDs(rs.Override); got != defOverride {
			t.Fatalf("override = %s", got)
		}
		if got := ruleIDs(rs.Underride); got != defUnderride {
			t.Fatalf("underride = %s", got)
		}
		if len(rs.Content) != 0 || len(rs.Room.Map) != 0 || len(rs.Sender.Map) != 0 {
			t.Fatalf("content/room/sender not empty: %+v", rs)
		}
		invite := rs.Override[2]
		if !invite.Default || !invite.Enabled || invite.Conditions[2].Pattern != "@alice:localhost" {
			t.Fatalf(".m.rule.invite_for_me = %+v", invite)
		}
		if rs.Override[0].Enabled {
			t.Fatal(".m.rule.master is enabled by default")
		}
		status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/v3/pushrules/", "")
		if status != 200 || !strings.HasPrefix(body, `{"global":{"override":[{"rule_id":".m.rule.master","default":true,"enabled":false,"actions":[],"conditions":[]},`) ||
			!strings.Contains(body, `"content":[],"room":[],"sender":[],"underride":[`) {
			t.Fatalf("GET pushrules/ = %d %.200s", status, body)
		}

		start, _ := hs.Srv.AccountData.Position(ctx)
		put := func(kind pushrules.PushRuleType, id string, req *mautrix.ReqPutPushRule) {
			t.Helper()
			if err := alice.PutPushRule(ctx, "global", kind, id, req); err != nil {
				t.Fatalf("PutPushRule(%s, %s): %v", kind, id, err)
			}
		}
		notify := []*pushrules.PushAction{{Action: pushrules.ActionNotify}}
		put(pushrules.ContentRule, "cake", &mautrix.ReqPutPushRule{Pattern: "cake", Actions: notify})
		put(pushrules.ContentRule, "lie", &mautrix.ReqPutPushRule{Pattern: "cake*lie", Actions: notify, Before: "cake"})
		put(pushrules.ContentRule, "tea", &mautrix.ReqPutPushRule{Pattern: "tea", Actions: notify, After: "cake"})
		put(pushrules.ContentRule, "first", &mautrix.ReqPutPushRule{Pattern: "x", Actions: notify})
		put(pushrules.OverrideRule, "beer", &mautrix.ReqPutPushRule{
			Actions:    []*pushrules.PushAction{{Action: pushrules.ActionNotify}, {Action: pushrules.ActionSetTweak, Tweak: pushrules.TweakSound, Value: "beer.wav"}},
			Conditions: []*pushrules.PushCondition{{Kind: pushrules.KindEventMatch, Key: "content.body", Pattern: "beer"}},
		})
		put(pushrules.RoomRule, "!quiet:localhost", &mautrix.ReqPutPushRule{Actions: []*pushrules.PushAction{}})
		// The historical dont_notify action is kept as sent (Complement reads
		// it back); evaluation will ignore it.
		if status, body := udDo(t, hs, alice.token, "PUT", "/_matrix/client/v3/pushrules/global/sender/@spam:elsewhere.org", `{"actions":["dont_notify"]}`); status != 200 {
			t.Fatalf("PUT sender rule = %d %s", status, body)
		}
		// Updating keeps the place; a server-default rule can be disabled and
		// its actions changed.
		put(pushrules.ContentRule, "cake", &mautrix.ReqPutPushRule{Pattern: "cakes", Actions: notify})
		if err := alice.SetPushRuleEnabled(ctx, "global", pushrules.OverrideRule, ".m.rule.suppress_notices", false); err != nil {
			t.Fatal(err)
		}
		if err := alice.SetPushRuleEnabled(ctx, "global", pushrules.ContentRule, "tea", false); err != nil {
			t.Fatal(err)
		}
		if err := alice.PutPushRuleActions(ctx, "global", pushrules.UnderrideRule, ".m.rule.message", []*pushrules.PushAction{}); err != nil {
			t.Fatal(err)
		}
		if err := alice.DeletePushRule(ctx, "global", pushrules.ContentRule, "first"); err != nil {
			t.Fatal(err)
		}
		// Every change woke the notifier.
		if cur, _ := hs.Srv.AccountData.Position(ctx); hs.Srv.Notifier.Position("account_data") != cur {
			t.Fatalf("notifier saw account_data %d, want %d", hs.Srv.Notifier.Position("account_data"), cur)
		}
		restart(hs)

		rs, err = alice.GetPushRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := ruleIDs(rs.Content); got != "lie cake tea" {
			t.Fatalf("content order = %s", got)
		}
		if rs.Content[1].Pattern != "cakes" || rs.Content[1].Default || !rs.Content[1].Enabled || rs.Content[2].Enabled {
			t.Fatalf("content rules = %+v", rs.Content)
		}
		wantOverride := ".m.rule.master beer " + strings.TrimPrefix(defOverride, ".m.rule.master ")
		if got := ruleIDs(rs.Override); got != wantOverride {
			t.Fatalf("override = %s", got)
		}
		if rs.Override[2].Enabled {
			t.Fatal(".m.rule.suppress_notices still enabled")
		}
		if rs.Room.Map["!quiet:localhost"] == nil || len(rs.Room.Map) != 1 || len(rs.Sender.Map) != 1 ||
			rs.Sender.Map["@spam:elsewhere.org"] == nil || len(rs.Sender.Map["@spam:elsewhere.org"].Actions) != 1 {
			t.Fatalf("room/sender = %+v / %+v", rs.Room, rs.Sender)
		}
		msg, err := alice.GetPushRule(ctx, "global", pushrules.UnderrideRule, ".m.rule.message")
		if err != nil || len(msg.Actions) != 0 || !msg.Default {
			t.Fatalf(".m.rule.message = %+v, %v", msg, err)
		}
		if status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/v3/pushrules/global/content/cake/actions", ""); status != 200 || body != `{"actions":["notify"]}` {
			t.Fatalf("GET actions = %d %s", status, body)
		}
		if status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/r0/pushrules/global/content/tea/enabled", ""); status != 200 || body != `{"enabled":false}` {
			t.Fatalf("GET enabled = %d %s", status, body)
		}
		if _, err := alice.GetPushRule(ctx, "global", pushrules.ContentRule, "first"); !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("deleted rule = %v", err)
		}

		// Every change moved the account-data stream: sync delivers the
		// rendered m.push_rules.
		now, _ := hs.Srv.AccountData.Position(ctx)
		if now-start != 12 {
			t.Fatalf("stream moved by %d, want 12 changes", now-start)
		}
		ch, err := hs.Srv.AccountData.Since(ctx, uid, start, now)
		if err != nil || len(ch.Global) != 1 || ch.Global[0].Type != "m.push_rules" || !strings.Contains(string(ch.Global[0].Content), `"rule_id":"lie"`) {
			t.Fatalf("Since = %+v, %v", ch, err)
		}
	})
}

func TestPushRulesBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		const p = "/_matrix/client/v3/pushrules/global/"
		if status, body := udDo(t, hs, alice.token, "PUT", p+"content/keep", `{"pattern":"keep","actions":["notify"]}`); status != 200 {
			t.Fatalf("PUT = %d %s", status, body)
		}
		udRun(t, hs, alice.token, []udCall{
			{"unknown kind get", "GET", p + "everything/x", "", 404, "M_NOT_FOUND"},
			{"unknown kind put", "PUT", p + "everything/x", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
			{"unknown kind delete", "DELETE", p + "everything/x", "", 404, "M_NOT_FOUND"},
			{"unknown kind enabled", "GET", p + "postcontent/.io.element.msc4306.rule.subscribed_thread/enabled", "", 404, "M_NOT_FOUND"},
			{"unknown kind set enabled", "PUT", p + "postcontent/.io.element.msc4306.rule.subscribed_thread/enabled", `{"enabled":false}`, 404, "M_NOT_FOUND"},
			{"unknown kind set actions", "PUT", p + "postcontent/x/actions", `{"actions":[]}`, 404, "M_NOT_FOUND"},
			{"unknown scope", "GET", "/_matrix/client/v3/pushrules/device/content/x", "", 404, "M_UNRECOGNIZED"},
			{"unknown rule", "GET", p + "content/nope", "", 404, "M_NOT_FOUND"},
			{"unknown rule delete", "DELETE", p + "content/nope", "", 404, "M_NOT_FOUND"},
			{"unknown rule enabled", "GET", p + "content/nope/enabled", "", 404, "M_NOT_FOUND"},
			{"unknown rule set enabled", "PUT", p + "content/nope/enabled", `{"enabled":true}`, 404, "M_NOT_FOUND"},
			{"unknown rule actions", "GET", p + "content/nope/actions", "", 404, "M_NOT_FOUND"},
			{"unknown rule set actions", "PUT", p + "content/nope/actions", `{"actions":[]}`, 404, "M_NOT_FOUND"},
			{"default rule of another kind", "GET", p + "content/.m.rule.master", "", 404, "M_NOT_FOUND"},
			{"reserved rule ID", "PUT", p + "override/.m.rule.mine", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
			{"overwrite default rule", "PUT", p + "override/.m.rule.master", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
			{"backslash in rule ID", "PUT", p + `override/a\b`, `{"actions":[]}`, 400, "M_INVALID_PARAM"},
			{"slash in rule ID", "PUT", p + "override/a%2Fb", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
			{"delete default rule", "DELETE", p + "override/.m.rule.master", "", 400, "M_INVALID_PARAM"},
			{"before unknown", "PUT", p + "content/x?before=nope", `{"pattern":"x","actions":[]}`, 400, "M_UNKNOWN"},
			{"after default rule", "PUT", p + "override/x?after=.m.rule.master", `{"actions":[]}`, 400, "M_UNKNOWN"},
			{"content without pattern", "PUT", p + "content/x", `{"actions":["notify"]}`, 400, "M_MISSING_PARAM"},
			{"without actions", "PUT", p + "content/x", `{"pattern":"x"}`, 400, "M_MISSING_PARAM"},
			{"actions not a list", "PUT", p + "content/x", `{"pattern":"x","actions":"notify"}`, 400, "M_BAD_JSON"},
			{"unknown action", "PUT", p + "content/x", `{"pattern":"x","actions":["explode"]}`, 400, "M_BAD_JSON"},
			{"action without set_tweak", "PUT", p + "content/x", `{"pattern":"x","actions":[{"value":1}]}`, 400, "M_BAD_JSON"},
			{"action of wrong type", "PUT", p + "content/x", `{"pattern":"x","actions":[5]}`, 400, "M_BAD_JSON"},
			{"pattern not a string", "PUT", p + "content/x", `{"pattern":5,"actions":[]}`, 400, "M_BAD_JSON"},
			{"condition not an object", "PUT", p + "override/x", `{"actions":[],"conditions":["x"]}`, 400, "M_BAD_JSON"},
			{"condition without kind", "PUT", p + "override/x", `{"actions":[],"conditions":[{"key":"type"}]}`, 400, "M_BAD_JSON"},
			{"not JSON", "PUT", p + "content/x", `{"actions":`, 400, "M_NOT_JSON"},
			{"array body", "PUT", p + "content/x", `[]`, 400, "M_BAD_JSON"},
			{"enabled missing", "PUT", p + "content/keep/enabled", `{}`, 400, "M_MISSING_PARAM"},
			{"enabled wrong type", "PUT", p + "content/keep/enabled", `{"enabled":"yes"}`, 400, "M_BAD_JSON"},
			{"actions missing", "PUT", p + "content/keep/actions", `{}`, 400, "M_MISSING_PARAM"},
			{"actions wrong type", "PUT", p + "content/keep/actions", `{"actions":{}}`, 400, "M_BAD_JSON"},
			{"over-size body", "PUT", p + "content/x", `{"pattern":"` + strings.Repeat("a", 2<<20) + `","actions":[]}`, 413, "M_TOO_LARGE"},
		})
		udRun(t, hs, "", []udCall{
			{"missing auth", "GET", "/_matrix/client/v3/pushrules/", "", 401, "M_MISSING_TOKEN"},
			{"missing auth put", "PUT", p + "content/x", `{"pattern":"x","actions":[]}`, 401, "M_MISSING_TOKEN"},
		})
		// Nothing changed.
		status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/v3/pushrules/global/", "")
		m := udJSON(t, body)
		content, _ := m["content"].([]any)
		if status != 200 || len(content) != 1 || !strings.Contains(body, `"rule_id":"keep"`) {
			t.Fatalf("after bad input = %d %s", status, body)
		}
	})
}
