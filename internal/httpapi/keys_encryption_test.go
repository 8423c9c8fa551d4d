package httpapi_test

import (
	"net/url"
	"testing"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestEncryptionByDefault checks the room engine's part of end-to-end
// encryption: encryption.default adds m.room.encryption at createRoom, and
// no state event can turn a room's encryption off or change its algorithm.
func TestEncryptionByDefault(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		for _, tc := range []struct {
			setting string
			want    map[string]bool // preset → encrypted
		}{
			{"private", map[string]bool{"private_chat": true, "trusted_private_chat": true, "public_chat": false, "": true}},
			{"all", map[string]bool{"private_chat": true, "public_chat": true}},
			{"off", map[string]bool{"private_chat": false, "public_chat": false}},
		} {
			hs := testserver.Start(t, e, func(c *config.Config) { c.Encryption.Default = tc.setting })
			alice := e2eLogin(t, hs, "alice", "ALICE1")
			for preset, want := range tc.want {
				body := map[string]any{}
				if preset != "" {
					body["preset"] = preset
				}
				room := alice.call(t, hs, "POST", "createRoom", body).expect(t, 200, "").str("room_id")
				r := alice.call(t, hs, "GET", "rooms/"+url.PathEscape(room)+"/state/m.room.encryption/", nil)
				if got := r.status == 200 && r.str("algorithm") == "m.megolm.v1.aes-sha2"; got != want {
					t.Errorf("encryption.default %s, preset %q: encrypted = %v (%d %s), want %v", tc.setting, preset, got, r.status, r.raw, want)
				}
			}
			hs.Stop()
		}

		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		room := alice.call(t, hs, "POST", "createRoom", map[string]any{"preset": "private_chat"}).expect(t, 200, "").str("room_id")
		path := "rooms/" + url.PathEscape(room) + "/state/m.room.encryption/"
		for _, content := range []map[string]any{{}, {"algorithm": "m.olm.v1.curve25519-aes-sha2"}, {"algorithm": nil}} {
			alice.call(t, hs, "PUT", path, content).expect(t, 403, "M_FORBIDDEN")
		}
		// The same algorithm with other parameters is allowed.
		alice.call(t, hs, "PUT", path, map[string]any{"algorithm": "m.megolm.v1.aes-sha2", "rotation_period_ms": 604800000}).expect(t, 200, "")
		// A public room can be encrypted later, and then not undone.
		pub := alice.call(t, hs, "POST", "createRoom", map[string]any{"preset": "public_chat"}).expect(t, 200, "").str("room_id")
		pubPath := "rooms/" + url.PathEscape(pub) + "/state/m.room.encryption/"
		alice.call(t, hs, "PUT", pubPath, map[string]any{"algorithm": "m.megolm.v1.aes-sha2"}).expect(t, 200, "")
		alice.call(t, hs, "PUT", pubPath, map[string]any{}).expect(t, 403, "M_FORBIDDEN")
	})
}
