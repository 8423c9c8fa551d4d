package httpapi_test

import (
	"context"
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestSyncZeroLimits checks that a filter limit of 0 is accepted and asks
// for no events: a left room comes with an empty timeline and its state at
// the leave, and account data is left out.
func TestSyncZeroLimits(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		room := resp.RoomID
		_, err = bob.JoinRoom(ctx, room.String(), nil)
		mustNot(t, err)
		mustNot(t, bob.SetAccountData(ctx, "org.example.data", map[string]any{"a": 1}))
		_, err = alice.SendStateEvent(ctx, room, event.Type{Type: "org.example.state", Class: event.StateEventType}, "", map[string]any{"my_key": "before"})
		mustNot(t, err)
		_, err = bob.LeaveRoom(ctx, room)
		mustNot(t, err)
		_, err = alice.SendStateEvent(ctx, room, event.Type{Type: "org.example.state", Class: event.StateEventType}, "", map[string]any{"my_key": "after"})
		mustNot(t, err)

		filter := `{"room":{"timeline":{"limit":0},"include_leave":true},"account_data":{"limit":0}}`
		r := call(t, hs, "GET", "/_matrix/client/v3/sync?filter="+url.QueryEscape(filter), bob.token, nil).expect(t, 200, "")
		left, ok := r.body["rooms"].(map[string]any)["leave"].(map[string]any)[room.String()].(map[string]any)
		if !ok {
			t.Fatalf("no left room in %s", r.raw)
		}
		if evs, _ := left["timeline"].(map[string]any)["events"].([]any); len(evs) != 0 {
			t.Fatalf("timeline = %v, want empty", evs)
		}
		var sawLeave, sawBefore bool
		for _, s := range left["state"].(map[string]any)["events"].([]any) {
			ev := s.(map[string]any)
			content, _ := ev["content"].(map[string]any)
			switch {
			case ev["type"] == "m.room.member" && ev["state_key"] == bob.UserID.String():
				sawLeave = content["membership"] == "leave"
			case ev["type"] == "org.example.state":
				sawBefore = content["my_key"] == "before"
			}
		}
		if !sawLeave || !sawBefore {
			t.Fatalf("state of the left room lacks the leave or the state before it: %v", left["state"])
		}
		if ad, _ := r.body["account_data"].(map[string]any); ad != nil {
			if evs, _ := ad["events"].([]any); len(evs) != 0 {
				t.Fatalf("account data with limit 0 = %v", evs)
			}
		}
		// A negative limit is still refused.
		call(t, hs, "GET", "/_matrix/client/v3/sync?filter="+url.QueryEscape(`{"room":{"timeline":{"limit":-1}}}`), bob.token, nil).
			expect(t, 400, "M_BAD_JSON")
	})
}
