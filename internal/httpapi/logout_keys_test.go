package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestLogoutDeletesDeviceKeys checks the end-to-end encryption side of
// POST /logout and /logout/all: the logged-out devices are deleted with
// their device keys ("Device keys for the device are deleted alongside the
// device"), one-time keys and to-device inboxes, and users sharing a room
// hear of the change through device_lists.
func TestLogoutDeletesDeviceKeys(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice1 := e2eLogin(t, hs, "alice", "ALICE1")
		alice2 := e2eLogin(t, hs, "alice", "ALICE2")
		alice3 := e2eLogin(t, hs, "alice", "ALICE3")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		for _, d := range []*e2eDevice{alice1, alice2, alice3} {
			d.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": d.deviceKeys(t), "one_time_keys": d.otks(t, "k", 2)}).expect(t, 200, "")
		}
		room := alice1.call(t, hs, "POST", "createRoom", map[string]any{"preset": "public_chat"}).expect(t, 200, "").str("room_id")
		bob.call(t, hs, "POST", "join/"+url.PathEscape(room), map[string]any{}).expect(t, 200, "")
		since := bob.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, "").str("next_batch")
		if devs := bob.queryDevices(t, hs, alice1.user); len(devs) != 3 {
			t.Fatalf("alice's devices before logout = %v", devs)
		}
		bob.call(t, hs, "PUT", "sendToDevice/m.test/t1", map[string]any{"messages": map[string]any{alice1.user: map[string]any{"ALICE2": map[string]any{"secret": 1}}}}).expect(t, 200, "")

		// POST /logout deletes ALICE2 and its keys, nothing else.
		alice2.call(t, hs, "POST", "logout", map[string]any{}).expect(t, 200, "")
		alice2.call(t, hs, "GET", "account/whoami", nil).expect(t, 401, "M_UNKNOWN_TOKEN")
		devs := bob.queryDevices(t, hs, alice1.user)
		if len(devs) != 2 || devs["ALICE2"] != nil || devs["ALICE1"] == nil || devs["ALICE3"] == nil {
			t.Fatalf("alice's device keys after ALICE2 logged out = %v", devs)
		}
		claim := bob.call(t, hs, "POST", "keys/claim", map[string]any{"one_time_keys": map[string]any{alice1.user: map[string]any{"ALICE2": "signed_curve25519", "ALICE1": "signed_curve25519"}}}).expect(t, 200, "")
		got, _ := claim.body["one_time_keys"].(map[string]any)[alice1.user].(map[string]any)
		if len(got) != 1 || got["ALICE1"] == nil {
			t.Fatalf("claim after ALICE2 logged out = %s", claim.raw)
		}
		r := bob.call(t, hs, "GET", "sync?timeout=1000&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "changed", alice1.user) {
			t.Fatalf("bob's device_lists after ALICE2 logged out = %v", r.body["device_lists"])
		}
		since = r.str("next_batch")
		// The device ID logged in again starts with an empty inbox.
		alice2 = e2eLogin(t, hs, "alice", "ALICE2")
		if r := alice2.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, ""); strings.Contains(r.raw, `"m.test"`) {
			t.Fatalf("the logged-out device's inbox survived: %s", r.raw)
		}

		// POST /logout/all deletes every device of the account with its keys.
		alice1.call(t, hs, "POST", "logout/all", map[string]any{}).expect(t, 200, "")
		for _, d := range []*e2eDevice{alice1, alice2, alice3} {
			d.call(t, hs, "GET", "account/whoami", nil).expect(t, 401, "M_UNKNOWN_TOKEN")
		}
		if devs := bob.queryDevices(t, hs, alice1.user); len(devs) != 0 {
			t.Fatalf("alice's device keys after logout/all = %v", devs)
		}
		claim = bob.call(t, hs, "POST", "keys/claim", map[string]any{"one_time_keys": map[string]any{alice1.user: map[string]any{"ALICE1": "signed_curve25519", "ALICE3": "signed_curve25519"}}}).expect(t, 200, "")
		if len(claim.body["one_time_keys"].(map[string]any)) != 0 {
			t.Fatalf("claim after logout/all = %s", claim.raw)
		}
		r = bob.call(t, hs, "GET", "sync?timeout=1000&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "changed", alice1.user) {
			t.Fatalf("bob's device_lists after logout/all = %v", r.body["device_lists"])
		}
	})
}
