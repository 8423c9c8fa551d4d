package httpapi_test

import (
	"strings"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func backupKey(fmi, fc int, verified bool, data string) map[string]any {
	return map[string]any{"first_message_index": fmi, "forwarded_count": fc, "is_verified": verified, "session_data": map[string]any{"d": data}}
}

func TestKeyBackup(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		const alg = "m.megolm_backup.v1.curve25519-aes-sha2"

		alice.call(t, hs, "GET", "room_keys/version", nil).expect(t, 404, "M_NOT_FOUND")
		v1 := alice.call(t, hs, "POST", "room_keys/version", map[string]any{"algorithm": alg, "auth_data": map[string]any{"public_key": "a"}}).expect(t, 200, "").str("version")
		v2 := alice.call(t, hs, "POST", "room_keys/version", map[string]any{"algorithm": alg, "auth_data": map[string]any{"public_key": "b"}}).expect(t, 200, "").str("version")
		r := alice.call(t, hs, "GET", "room_keys/version", nil).expect(t, 200, "")
		if r.str("version") != v2 || r.body["count"] != 0.0 || r.str("etag") == "" || r.str("algorithm") != alg ||
			r.body["auth_data"].(map[string]any)["public_key"] != "b" {
			t.Fatalf("current version = %s", r.raw)
		}
		// Backups are per user.
		bob.call(t, hs, "GET", "room_keys/version/"+v2, nil).expect(t, 404, "M_NOT_FOUND")
		bob.call(t, hs, "GET", "room_keys/version", nil).expect(t, 404, "M_NOT_FOUND")

		// Keys go to the current version only.
		r = alice.call(t, hs, "PUT", "room_keys/keys/!r:localhost/s1?version="+v1, backupKey(0, 0, false, "x")).expect(t, 403, "M_WRONG_ROOM_KEYS_VERSION")
		if r.str("current_version") != v2 {
			t.Fatalf("stale version: %s", r.raw)
		}
		r = alice.call(t, hs, "PUT", "room_keys/keys?version="+v2, map[string]any{"rooms": map[string]any{
			"!r:localhost": map[string]any{"sessions": map[string]any{"s1": backupKey(3, 1, false, "first"), "s2": backupKey(0, 0, true, "v")}},
			"!q:localhost": map[string]any{"sessions": map[string]any{"s1": backupKey(0, 0, false, "q")}},
		}}).expect(t, 200, "")
		if r.body["count"] != 3.0 {
			t.Fatalf("put = %s", r.raw)
		}
		etag := r.str("etag")
		// A worse key changes nothing, nor the etag; a better one wins.
		r = alice.call(t, hs, "PUT", "room_keys/keys/!r:localhost/s1?version="+v2, backupKey(4, 0, false, "worse")).expect(t, 200, "")
		if r.str("etag") != etag {
			t.Fatalf("etag changed for a refused key: %s", r.raw)
		}
		r = alice.call(t, hs, "PUT", "room_keys/keys/!r:localhost?version="+v2, map[string]any{"sessions": map[string]any{"s1": backupKey(3, 0, false, "better")}}).expect(t, 200, "")
		if r.str("etag") == etag || r.body["count"] != 3.0 {
			t.Fatalf("put better = %s", r.raw)
		}
		got := alice.call(t, hs, "GET", "room_keys/keys/!r:localhost/s1?version="+v2, nil).expect(t, 200, "")
		if got.body["session_data"].(map[string]any)["d"] != "better" || got.body["forwarded_count"] != 0.0 || got.body["is_verified"] != false {
			t.Fatalf("session s1 = %s", got.raw)
		}
		room := alice.call(t, hs, "GET", "room_keys/keys/!r:localhost?version="+v2, nil).expect(t, 200, "")
		if len(room.body["sessions"].(map[string]any)) != 2 {
			t.Fatalf("room keys = %s", room.raw)
		}
		if empty := alice.call(t, hs, "GET", "room_keys/keys/!none:localhost?version="+v2, nil).expect(t, 200, ""); empty.raw != `{"sessions":{}}` {
			t.Fatalf("keys of a room without keys = %s", empty.raw)
		}
		all := alice.call(t, hs, "GET", "room_keys/keys?version="+v2, nil).expect(t, 200, "")
		if len(all.body["rooms"].(map[string]any)) != 2 {
			t.Fatalf("all keys = %s", all.raw)
		}
		alice.call(t, hs, "GET", "room_keys/keys/!r:localhost/nosuch?version="+v2, nil).expect(t, 404, "M_NOT_FOUND")
		if r := alice.call(t, hs, "DELETE", "room_keys/keys/!q:localhost?version="+v2, nil).expect(t, 200, ""); r.body["count"] != 2.0 {
			t.Fatalf("delete room keys = %s", r.raw)
		}

		// Updating a version: only auth_data may change.
		alice.call(t, hs, "PUT", "room_keys/version/"+v2, map[string]any{"algorithm": alg, "auth_data": map[string]any{"public_key": "c"}, "version": v2}).expect(t, 200, "")
		alice.call(t, hs, "PUT", "room_keys/version/"+v2, map[string]any{"algorithm": "other", "auth_data": map[string]any{}}).expect(t, 400, "M_INVALID_PARAM")
		alice.call(t, hs, "PUT", "room_keys/version/"+v2, map[string]any{"algorithm": alg, "auth_data": map[string]any{}, "version": v1}).expect(t, 400, "M_INVALID_PARAM")
		if r := alice.call(t, hs, "GET", "room_keys/version/"+v2, nil).expect(t, 200, ""); r.body["auth_data"].(map[string]any)["public_key"] != "c" {
			t.Fatalf("after update = %s", r.raw)
		}

		// Deleting the current version: the keys go, deleting again is fine,
		// the older version becomes current.
		alice.call(t, hs, "DELETE", "room_keys/version/"+v2, nil).expect(t, 200, "")
		alice.call(t, hs, "DELETE", "room_keys/version/"+v2, nil).expect(t, 200, "")
		alice.call(t, hs, "GET", "room_keys/keys?version="+v2, nil).expect(t, 404, "M_NOT_FOUND")
		if r := alice.call(t, hs, "GET", "room_keys/version", nil).expect(t, 200, ""); r.str("version") != v1 {
			t.Fatalf("current after delete = %s", r.raw)
		}
		r = alice.call(t, hs, "PUT", "room_keys/keys/!r:localhost/s1?version="+v2, backupKey(0, 0, false, "x")).expect(t, 403, "M_WRONG_ROOM_KEYS_VERSION")
		if r.str("current_version") != v1 {
			t.Fatalf("stale version after delete: %s", r.raw)
		}
	})
}

func TestKeyBackupBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		v := alice.call(t, hs, "POST", "room_keys/version", map[string]any{"algorithm": "a", "auth_data": map[string]any{}}).expect(t, 200, "").str("version")
		alice.call(t, hs, "PUT", "room_keys/keys/!r:localhost/s1?version="+v, backupKey(5, 5, false, "keep")).expect(t, 200, "")
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			errcode            string
		}{
			{"create: not JSON", "POST", "room_keys/version", `{"algorithm":`, 400, "M_NOT_JSON"},
			{"create: no auth_data", "POST", "room_keys/version", map[string]any{"algorithm": "a"}, 400, "M_BAD_JSON"},
			{"create: auth_data not an object", "POST", "room_keys/version", map[string]any{"algorithm": "a", "auth_data": "x"}, 400, "M_BAD_JSON"},
			{"create: algorithm not a string", "POST", "room_keys/version", map[string]any{"algorithm": 1, "auth_data": map[string]any{}}, 400, "M_BAD_JSON"},
			{"get: unknown version", "GET", "room_keys/version/999999", nil, 404, "M_NOT_FOUND"},
			{"get: malformed version", "GET", "room_keys/version/abc", nil, 404, "M_NOT_FOUND"},
			{"delete: unknown version", "DELETE", "room_keys/version/999999", nil, 404, "M_NOT_FOUND"},
			{"update: unknown version", "PUT", "room_keys/version/999999", map[string]any{"algorithm": "a", "auth_data": map[string]any{}}, 404, "M_NOT_FOUND"},
			{"put: no version", "PUT", "room_keys/keys/!r:localhost/s1", backupKey(0, 0, true, "x"), 400, "M_MISSING_PARAM"},
			{"put: stale version", "PUT", "room_keys/keys/!r:localhost/s1?version=999999", backupKey(0, 0, true, "x"), 403, "M_WRONG_ROOM_KEYS_VERSION"},
			{"put: missing field", "PUT", "room_keys/keys/!r:localhost/s1?version=" + v, map[string]any{"first_message_index": 0, "session_data": map[string]any{}}, 400, "M_BAD_JSON"},
			{"put: session_data not an object", "PUT", "room_keys/keys/!r:localhost/s1?version=" + v, map[string]any{"first_message_index": 0, "forwarded_count": 0, "is_verified": true, "session_data": 1}, 400, "M_BAD_JSON"},
			{"put: negative index", "PUT", "room_keys/keys/!r:localhost/s1?version=" + v, backupKey(-1, 0, true, "x"), 400, "M_INVALID_PARAM"},
			{"put: index of the wrong type", "PUT", "room_keys/keys/!r:localhost/s1?version=" + v, map[string]any{"first_message_index": "0", "forwarded_count": 0, "is_verified": true, "session_data": map[string]any{}}, 400, "M_BAD_JSON"},
			{"put room: no sessions", "PUT", "room_keys/keys/!r:localhost?version=" + v, map[string]any{}, 400, "M_BAD_JSON"},
			{"put all: no rooms", "PUT", "room_keys/keys?version=" + v, map[string]any{}, 400, "M_BAD_JSON"},
			{"put all: over-size", "PUT", "room_keys/keys?version=" + v, `{"rooms":{},"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"get keys: unknown version", "GET", "room_keys/keys?version=999999", nil, 404, "M_NOT_FOUND"},
			{"delete keys: no version", "DELETE", "room_keys/keys", nil, 400, "M_MISSING_PARAM"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				alice.call(t, hs, tc.method, tc.path, tc.body).expect(t, tc.status, tc.errcode)
				got := alice.call(t, hs, "GET", "room_keys/keys/!r:localhost/s1?version="+v, nil).expect(t, 200, "")
				if got.body["session_data"].(map[string]any)["d"] != "keep" {
					t.Fatalf("the stored key changed: %s", got.raw)
				}
				if cur := alice.call(t, hs, "GET", "room_keys/version", nil).expect(t, 200, ""); cur.str("version") != v || cur.body["count"] != 1.0 {
					t.Fatalf("the current version changed: %s", cur.raw)
				}
			})
		}
		call(t, hs, "GET", "/_matrix/client/v3/room_keys/version", "", nil).expect(t, 401, "M_MISSING_TOKEN")
	})
}
