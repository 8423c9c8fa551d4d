package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func TestFilters(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		uid, _ := spec.ParseUserID("@alice:localhost")
		f := &mautrix.Filter{
			Room: &mautrix.RoomFilter{
				Timeline: &mautrix.FilterPart{Limit: 20, Types: []event.Type{{Type: "m.room.*"}}, NotSenders: []id.UserID{"@spam:elsewhere.org"}},
				State:    &mautrix.FilterPart{LazyLoadMembers: true},
			},
			Presence: &mautrix.FilterPart{NotTypes: []event.Type{{Type: "*"}}},
		}
		resp, err := alice.CreateFilter(ctx, f)
		if err != nil || resp.FilterID == "" || strings.HasPrefix(resp.FilterID, "{") {
			t.Fatalf("CreateFilter = %+v, %v", resp, err)
		}
		again, err := alice.CreateFilter(ctx, f)
		if err != nil || again.FilterID != resp.FilterID {
			t.Fatalf("identical filter = %+v, %v; want %s", again, err, resp.FilterID)
		}
		restart(hs)
		status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/r0/user/@alice:localhost/filter/"+resp.FilterID, "")
		if status != 200 || !strings.Contains(body, `"lazy_load_members":true`) || !strings.Contains(body, `"limit":20`) {
			t.Fatalf("GET filter = %d %s", status, body)
		}
		// What sync loads: the stored filter by ID, or inline JSON.
		parsed, err := hs.Srv.Filters.Load(ctx, uid, resp.FilterID)
		if err != nil || !parsed.Room.State.LazyLoadMembers || parsed.Room.Timeline.Limit != 20 ||
			!parsed.Matches("m.room.message", "@bob:localhost", "!r:localhost") ||
			parsed.Matches("m.room.message", "@spam:elsewhere.org", "!r:localhost") ||
			parsed.Matches("m.reaction", "@bob:localhost", "!r:localhost") ||
			parsed.Presence.Matches("m.presence", "@bob:localhost") {
			t.Fatalf("Load(%s) = %+v, %v", resp.FilterID, parsed, err)
		}
		inline, err := hs.Srv.Filters.Load(ctx, uid, `{"room":{"rooms":["!only:localhost"]}}`)
		if err != nil || inline.Matches("m.room.message", "@bob:localhost", "!r:localhost") || !inline.Matches("m.room.message", "@bob:localhost", "!only:localhost") {
			t.Fatalf("Load(inline) = %+v, %v", inline, err)
		}
	})
}

func TestFiltersBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		bob := udLogin(t, hs, "bob")
		resp, err := bob.CreateFilter(context.Background(), &mautrix.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		const p = "/_matrix/client/v3/user/@alice:localhost/filter"
		udRun(t, hs, alice.token, []udCall{
			{"another user's create", "POST", "/_matrix/client/v3/user/@bob:localhost/filter", `{}`, 403, "M_FORBIDDEN"},
			{"another user's get", "GET", "/_matrix/client/v3/user/@bob:localhost/filter/" + resp.FilterID, "", 403, "M_FORBIDDEN"},
			{"another user's ID under mine", "GET", p + "/" + resp.FilterID, "", 404, "M_NOT_FOUND"},
			{"unknown ID", "GET", p + "/987654", "", 404, "M_NOT_FOUND"},
			{"non-numeric ID", "GET", p + "/abc", "", 404, "M_NOT_FOUND"},
			{"not JSON", "POST", p, `{"room":`, 400, "M_NOT_JSON"},
			{"array", "POST", p, `[]`, 400, "M_BAD_JSON"},
			{"limit wrong type", "POST", p, `{"room":{"timeline":{"limit":"10"}}}`, 400, "M_BAD_JSON"},
			{"limit fraction", "POST", p, `{"room":{"timeline":{"limit":1.5}}}`, 400, "M_BAD_JSON"},
			{"timeline limit negative", "POST", p, `{"room":{"timeline":{"limit":-1}}}`, 400, "M_BAD_JSON"},
			{"limit negative", "POST", p, `{"presence":{"limit":-3}}`, 400, "M_BAD_JSON"},
			{"types not a list", "POST", p, `{"presence":{"types":"m.presence"}}`, 400, "M_BAD_JSON"},
			{"types of numbers", "POST", p, `{"account_data":{"types":[1]}}`, 400, "M_BAD_JSON"},
			{"room not an object", "POST", p, `{"room":[]}`, 400, "M_BAD_JSON"},
			{"bad room ID", "POST", p, `{"room":{"rooms":["general"]}}`, 400, "M_BAD_JSON"},
			{"bad sender", "POST", p, `{"room":{"timeline":{"senders":["bob"]}}}`, 400, "M_BAD_JSON"},
			{"lazy flag wrong type", "POST", p, `{"room":{"state":{"lazy_load_members":"yes"}}}`, 400, "M_BAD_JSON"},
			{"bad event_format", "POST", p, `{"event_format":"xml"}`, 400, "M_BAD_JSON"},
			{"over-size body", "POST", p, `{"event_fields":["` + strings.Repeat("a", 2<<20) + `"]}`, 413, "M_TOO_LARGE"},
		})
		udRun(t, hs, "", []udCall{
			{"missing auth", "POST", p, `{}`, 401, "M_MISSING_TOKEN"},
			{"missing auth get", "GET", p + "/1", "", 401, "M_MISSING_TOKEN"},
		})
	})
}
