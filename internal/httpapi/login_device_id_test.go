package httpapi_test

import (
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestLoginDeviceIDIsNotCrossSigningKey checks that POST /login refuses,
// with 403 M_FORBIDDEN, a device_id equal to one of the user's
// cross-signing public keys ("The given device ID must not be the same as
// a cross-signing key ID"), creating no device, while other users may
// still pick that ID.
func TestLoginDeviceIDIsNotCrossSigningKey(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		e2eLogin(t, hs, "bob", "BOB1")
		keys := newCSSet()
		alice.call(t, hs, "POST", "keys/device_signing/upload", keys.upload(t, alice.user)).expect(t, 200, "")

		for _, k := range []csKey{keys.master, keys.self, keys.user} {
			r := call(t, hs, "POST", "/_matrix/client/v3/login", "", map[string]any{
				"type": "m.login.password", "identifier": map[string]any{"type": "m.id.user", "user": "alice"},
				"password": "password", "device_id": k.pub,
			})
			r.expect(t, 403, "M_FORBIDDEN")
			if r.str("access_token") != "" {
				t.Fatalf("login with a cross-signing key as device_id gave a token: %s", r.raw)
			}
		}
		devs := alice.call(t, hs, "GET", "devices", nil).expect(t, 200, "")
		if list, _ := devs.body["devices"].([]any); len(list) != 1 {
			t.Fatalf("devices after refused logins = %s", devs.raw)
		}
		// The ID is only reserved for its owner.
		call(t, hs, "POST", "/_matrix/client/v3/login", "", map[string]any{
			"type": "m.login.password", "identifier": map[string]any{"type": "m.id.user", "user": "bob"},
			"password": "password", "device_id": keys.master.pub,
		}).expect(t, 200, "")
	})
}
