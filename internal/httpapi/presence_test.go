package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func TestPresence(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		bob := udLogin(t, hs, "bob")

		// Never set: offline.
		if p, err := bob.GetPresence(ctx, alice.UserID); err != nil || p.Presence != event.PresenceOffline {
			t.Fatalf("GetPresence(never set) = %+v, %v", p, err)
		}
		start, _ := hs.Srv.Presence.Position(ctx)
		if err := alice.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceOnline, StatusMsg: "tea time"}); err != nil {
			t.Fatal(err)
		}
		p, err := bob.GetPresence(ctx, alice.UserID)
		if err != nil || p.Presence != event.PresenceOnline || p.StatusMsg != "tea time" || !p.CurrentlyActive || p.LastActiveAgo > 60000 {
			t.Fatalf("GetPresence = %+v, %v", p, err)
		}
		if err := alice.SetDisplayName(ctx, "Alice"); err != nil {
			t.Fatal(err)
		}
		restart(hs)
		if err := alice.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceUnavailable}); err != nil {
			t.Fatal(err)
		}
		status, body := udDo(t, hs, bob.token, "GET", "/_matrix/client/r0/presence/@alice:localhost/status", "")
		if status != 200 || !strings.Contains(body, `"presence":"unavailable"`) || strings.Contains(body, "status_msg") || strings.Contains(body, "currently_active") {
			t.Fatalf("r0 GET presence = %d %s", status, body)
		}
		// Sync's view: the changes after start, with the profile. The
		// display name change moved alice's presence too.
		now, _ := hs.Srv.Presence.Position(ctx)
		if now-start != 3 {
			t.Fatalf("presence stream moved by %d, want 3", now-start)
		}
		if n := hs.Srv.Notifier.Position("presence"); n != now {
			t.Fatalf("notifier saw presence %d, want %d", n, now)
		}
		evs, err := hs.Srv.Presence.Since(ctx, start, now)
		if err != nil || len(evs) != 1 || evs[0].Sender != "@alice:localhost" || evs[0].Content.Presence != "unavailable" || evs[0].Content.DisplayName != "Alice" {
			t.Fatalf("Since = %+v, %v", evs, err)
		}
	})
}

func TestPresenceBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		udLogin(t, hs, "bob")
		if err := alice.SetPresence(context.Background(), mautrix.ReqPresence{Presence: event.PresenceOnline, StatusMsg: "here"}); err != nil {
			t.Fatal(err)
		}
		const p = "/_matrix/client/v3/presence/@alice:localhost/status"
		udRun(t, hs, alice.token, []udCall{
			{"another user's", "PUT", "/_matrix/client/v3/presence/@bob:localhost/status", `{"presence":"online"}`, 403, "M_FORBIDDEN"},
			{"unknown state", "PUT", p, `{"presence":"busy"}`, 400, "M_INVALID_PARAM"},
			{"missing state", "PUT", p, `{"status_msg":"x"}`, 400, "M_MISSING_PARAM"},
			{"state wrong type", "PUT", p, `{"presence":1}`, 400, "M_BAD_JSON"},
			{"status_msg wrong type", "PUT", p, `{"presence":"online","status_msg":{}}`, 400, "M_BAD_JSON"},
			{"status_msg with NUL", "PUT", p, `{"presence":"online","status_msg":"a\u0000"}`, 400, "M_BAD_JSON"},
			{"status_msg too long", "PUT", p, `{"presence":"online","status_msg":"` + strings.Repeat("a", 5000) + `"}`, 400, "M_INVALID_PARAM"},
			{"not JSON", "PUT", p, `{"presence"`, 400, "M_NOT_JSON"},
			{"over-size body", "PUT", p, `{"presence":"online","status_msg":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"unknown user", "GET", "/_matrix/client/v3/presence/@nobody:localhost/status", "", 404, "M_NOT_FOUND"},
			{"remote user", "GET", "/_matrix/client/v3/presence/@alice:elsewhere.org/status", "", 404, "M_NOT_FOUND"},
			{"malformed user", "GET", "/_matrix/client/v3/presence/alice/status", "", 400, "M_INVALID_PARAM"},
		})
		udRun(t, hs, "", []udCall{
			{"missing auth", "GET", p, "", 401, "M_MISSING_TOKEN"},
			{"missing auth put", "PUT", p, `{"presence":"offline"}`, 401, "M_MISSING_TOKEN"},
		})
		status, body := udDo(t, hs, alice.token, "GET", p, "")
		if status != 200 || !strings.Contains(body, `"presence":"online"`) || !strings.Contains(body, `"status_msg":"here"`) {
			t.Fatalf("after bad input = %d %s", status, body)
		}
	})
}
