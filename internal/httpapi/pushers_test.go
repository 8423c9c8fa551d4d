package httpapi_test

import (
	"sort"
	"strings"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// pusherBody is a valid http pusher for app and key.
func pusherBody(app, key string) map[string]any {
	return map[string]any{
		"kind": "http", "app_id": app, "pushkey": key, "app_display_name": "App", "device_display_name": "Phone",
		"profile_tag": "tag", "lang": "en",
		"data": map[string]any{"url": "https://push.example/_matrix/push/v1/notify", "format": "event_id_only", "custom": 1},
	}
}

// pusherKeys lists the app_id/pushkey of a user's pushers, sorted: the spec
// gives the list no order.
func pusherKeys(t *testing.T, hs *testserver.Server, token string) string {
	t.Helper()
	r := call(t, hs, "GET", "/_matrix/client/v3/pushers", token, nil).expect(t, 200, "")
	ps, ok := r.body["pushers"].([]any)
	if !ok {
		t.Fatalf("GET /pushers = %s", r.raw)
	}
	var out []string
	for _, p := range ps {
		m := p.(map[string]any)
		out = append(out, m["app_id"].(string)+"/"+m["pushkey"].(string))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestPushers sets, lists, replaces and deletes pushers over HTTP on both
// engines, and checks that a pusher goes with the device that set it.
func TestPushers(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice1, alice2, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		const set = "/_matrix/client/v3/pushers/set"
		if got := pusherKeys(t, hs, alice1.token); got != "" {
			t.Fatalf("pushers before any = %q", got)
		}
		call(t, hs, "POST", set, alice2.token, pusherBody("app", "k2")).expect(t, 200, "")
		call(t, hs, "POST", set, alice1.token, pusherBody("app", "k1")).expect(t, 200, "")
		r := call(t, hs, "GET", "/_matrix/client/v3/pushers", alice1.token, nil).expect(t, 200, "")
		var first map[string]any
		for _, p := range r.body["pushers"].([]any) {
			if p.(map[string]any)["pushkey"] == "k2" {
				first = p.(map[string]any)
			}
		}
		data, _ := first["data"].(map[string]any)
		if first["kind"] != "http" || first["pushkey"] != "k2" || first["app_display_name"] != "App" || first["device_display_name"] != "Phone" ||
			first["profile_tag"] != "tag" || first["lang"] != "en" || data["url"] != "https://push.example/_matrix/push/v1/notify" || data["custom"] != float64(1) {
			t.Fatalf("pusher = %v", first)
		}
		// Setting it again updates it in place.
		upd := pusherBody("app", "k2")
		upd["lang"] = "fr"
		call(t, hs, "POST", set, alice2.token, upd).expect(t, 200, "")
		r = call(t, hs, "GET", "/_matrix/client/v3/pushers", alice1.token, nil)
		var langK2 any
		for _, p := range r.body["pushers"].([]any) {
			if p.(map[string]any)["pushkey"] == "k2" {
				langK2 = p.(map[string]any)["lang"]
			}
		}
		if ps := r.body["pushers"].([]any); len(ps) != 2 || langK2 != "fr" {
			t.Fatalf("pushers after update = %s", r.raw)
		}

		// Bob appending the same app ID and pushkey leaves Alice's; without
		// append, it takes them over.
		appended := pusherBody("app", "k1")
		appended["append"] = true
		call(t, hs, "POST", set, bob.token, appended).expect(t, 200, "")
		if got := pusherKeys(t, hs, alice1.token); got != "app/k1 app/k2" {
			t.Fatalf("alice's pushers after bob appended = %q", got)
		}
		call(t, hs, "POST", set, bob.token, pusherBody("app", "k1")).expect(t, 200, "")
		if got := pusherKeys(t, hs, alice1.token); got != "app/k2" {
			t.Fatalf("alice's pushers after bob took k1 = %q", got)
		}
		// kind null deletes.
		call(t, hs, "POST", set, bob.token, map[string]any{"kind": nil, "app_id": "app", "pushkey": "k1"}).expect(t, 200, "")
		if got := pusherKeys(t, hs, bob.token); got != "" {
			t.Fatalf("bob's pushers after delete = %q", got)
		}

		// A password change that logs out the other devices deletes their
		// pushers; the caller's stay.
		call(t, hs, "POST", set, alice1.token, pusherBody("app", "k1")).expect(t, 200, "")
		call(t, hs, "POST", "/_matrix/client/v3/account/password", alice1.token,
			map[string]any{"new_password": "new password", "auth": passwordAuth("alice", "password", "")}).expect(t, 200, "")
		if got := pusherKeys(t, hs, alice1.token); got != "app/k1" {
			t.Fatalf("pushers after the password change = %q", got)
		}
		// Logging out deletes the device and its pusher.
		bob2 := rmLogin(t, hs, "bob")
		call(t, hs, "POST", set, bob.token, pusherBody("app", "b")).expect(t, 200, "")
		call(t, hs, "POST", "/_matrix/client/v3/logout", bob.token, nil).expect(t, 200, "")
		if got := pusherKeys(t, hs, bob2.token); got != "" {
			t.Fatalf("pushers after logout = %q", got)
		}
	})
}

// TestPushersBadInput checks that malformed pusher requests change nothing.
func TestPushersBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		const set = "/_matrix/client/v3/pushers/set"
		with := func(change func(b map[string]any)) map[string]any {
			b := pusherBody("app", "k")
			change(b)
			return b
		}
		for _, tc := range []struct {
			name    string
			body    any
			status  int
			errcode string
		}{
			{"not JSON", `{"kind":`, 400, "M_NOT_JSON"},
			{"array", `[]`, 400, "M_BAD_JSON"},
			{"no kind", with(func(b map[string]any) { delete(b, "kind") }), 400, "M_MISSING_PARAM"},
			{"kind a number", with(func(b map[string]any) { b["kind"] = 3 }), 400, "M_BAD_JSON"},
			{"unknown kind", with(func(b map[string]any) { b["kind"] = "pigeon" }), 400, "M_INVALID_PARAM"},
			{"email kind", with(func(b map[string]any) { b["kind"] = "email"; b["app_id"] = "m.email" }), 400, "M_INVALID_PARAM"},
			{"no app_id", with(func(b map[string]any) { delete(b, "app_id") }), 400, "M_MISSING_PARAM"},
			{"no pushkey", with(func(b map[string]any) { delete(b, "pushkey") }), 400, "M_MISSING_PARAM"},
			{"no lang", with(func(b map[string]any) { delete(b, "lang") }), 400, "M_MISSING_PARAM"},
			{"no data", with(func(b map[string]any) { delete(b, "data") }), 400, "M_MISSING_PARAM"},
			{"app_id too long", with(func(b map[string]any) { b["app_id"] = strings.Repeat("a", 65) }), 400, "M_INVALID_PARAM"},
			{"pushkey too long", with(func(b map[string]any) { b["pushkey"] = strings.Repeat("k", 513) }), 400, "M_INVALID_PARAM"},
			{"lang a number", with(func(b map[string]any) { b["lang"] = 1 }), 400, "M_BAD_JSON"},
			{"data not an object", with(func(b map[string]any) { b["data"] = "x" }), 400, "M_BAD_JSON"},
			{"no url", with(func(b map[string]any) { b["data"] = map[string]any{} }), 400, "M_MISSING_PARAM"},
			{"http url", with(func(b map[string]any) {
				b["data"] = map[string]any{"url": "http://push.example/_matrix/push/v1/notify"}
			}), 400, "M_INVALID_PARAM"},
			{"wrong path", with(func(b map[string]any) { b["data"] = map[string]any{"url": "https://push.example/notify"} }), 400, "M_INVALID_PARAM"},
			{"url a number", with(func(b map[string]any) { b["data"] = map[string]any{"url": 5} }), 400, "M_BAD_JSON"},
			{"bad format", with(func(b map[string]any) {
				b["data"] = map[string]any{"url": "https://push.example/_matrix/push/v1/notify", "format": "full"}
			}), 400, "M_INVALID_PARAM"},
			{"append not a bool", with(func(b map[string]any) { b["append"] = "yes" }), 400, "M_BAD_JSON"},
			{"over-size body", `{"kind":"http","app_id":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "POST", set, alice.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		call(t, hs, "POST", set, "", pusherBody("app", "k")).expect(t, 401, "M_MISSING_TOKEN")
		call(t, hs, "GET", "/_matrix/client/v3/pushers", "", nil).expect(t, 401, "M_MISSING_TOKEN")
		if got := pusherKeys(t, hs, alice.token); got != "" {
			t.Fatalf("pushers after bad input = %q", got)
		}
	})
}
