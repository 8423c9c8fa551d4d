package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"testing"

	"myelin/internal/mjson"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// b64 is unpadded standard base64.
func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// signObject adds the signature of obj (without signatures and unsigned)
// by signer's key keyID to obj.
func signObject(t *testing.T, obj map[string]any, signer, keyID string, priv ed25519.PrivateKey) map[string]any {
	t.Helper()
	bare := maps.Clone(obj)
	delete(bare, "signatures")
	delete(bare, "unsigned")
	raw, err := json.Marshal(bare)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := mjson.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	sigs, _ := obj["signatures"].(map[string]any)
	if sigs == nil {
		sigs = map[string]any{}
	}
	mine, _ := sigs[signer].(map[string]any)
	if mine == nil {
		mine = map[string]any{}
	}
	mine[keyID] = b64(ed25519.Sign(priv, canon))
	sigs[signer] = mine
	obj["signatures"] = sigs
	return obj
}

// e2eDevice is a logged-in device with its own ed25519 key.
type e2eDevice struct {
	user, device, token string
	priv                ed25519.PrivateKey
	pub                 string
}

// e2eLogin creates the account if needed and logs in as deviceID.
func e2eLogin(t *testing.T, hs *testserver.Server, name, deviceID string) *e2eDevice {
	t.Helper()
	hs.Srv.Users.CreateAccount(t.Context(), name, "password", false)
	resp := login(t, hs, name, "password", deviceID)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return &e2eDevice{user: resp.UserID.String(), device: resp.DeviceID.String(), token: resp.AccessToken, priv: priv, pub: b64(pub)}
}

// deviceKeys returns d's signed device keys.
func (d *e2eDevice) deviceKeys(t *testing.T) map[string]any {
	curve := make([]byte, 32)
	rand.Read(curve)
	return signObject(t, map[string]any{
		"user_id": d.user, "device_id": d.device,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys":       map[string]any{"ed25519:" + d.device: d.pub, "curve25519:" + d.device: b64(curve)},
	}, d.user, "ed25519:"+d.device, d.priv)
}

// otks returns n signed one-time keys named <prefix><i>.
func (d *e2eDevice) otks(t *testing.T, prefix string, n int) map[string]any {
	out := map[string]any{}
	for i := 0; i < n; i++ {
		k := make([]byte, 32)
		rand.Read(k)
		out[fmt.Sprintf("signed_curve25519:%s%d", prefix, i)] = signObject(t, map[string]any{"key": b64(k)}, d.user, "ed25519:"+d.device, d.priv)
	}
	return out
}

func (d *e2eDevice) call(t *testing.T, hs *testserver.Server, method, path string, body any) reply {
	t.Helper()
	return call(t, hs, method, "/_matrix/client/v3/"+path, d.token, body)
}

// counts returns the device's one-time key counts (an empty upload).
func (d *e2eDevice) counts(t *testing.T, hs *testserver.Server) map[string]any {
	t.Helper()
	r := d.call(t, hs, "POST", "keys/upload", map[string]any{}).expect(t, 200, "")
	c, _ := r.body["one_time_key_counts"].(map[string]any)
	return c
}

// queryDevices returns the device_keys of user as seen by d.
func (d *e2eDevice) queryDevices(t *testing.T, hs *testserver.Server, user string) map[string]any {
	t.Helper()
	r := d.call(t, hs, "POST", "keys/query", map[string]any{"device_keys": map[string]any{user: []string{}}}).expect(t, 200, "")
	dk, _ := r.body["device_keys"].(map[string]any)
	devs, _ := dk[user].(map[string]any)
	return devs
}

func TestKeysUploadQueryClaim(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")

		dk := alice.deviceKeys(t)
		otks := alice.otks(t, "a", 3)
		fallback := signObject(t, map[string]any{"key": b64(make([]byte, 32)), "fallback": true}, alice.user, "ed25519:ALICE1", alice.priv)
		r := alice.call(t, hs, "POST", "keys/upload", map[string]any{
			"device_keys": dk, "one_time_keys": otks, "fallback_keys": map[string]any{"signed_curve25519:f1": fallback},
		}).expect(t, 200, "")
		if c := r.body["one_time_key_counts"].(map[string]any); c["signed_curve25519"] != 3.0 {
			t.Fatalf("counts = %v", c)
		}
		// Uploading the same keys again is harmless.
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": dk, "one_time_keys": otks}).expect(t, 200, "")

		// Bob sees Alice's device keys as uploaded, with the display name.
		devs := bob.queryDevices(t, hs, alice.user)
		got, _ := devs["ALICE1"].(map[string]any)
		if got == nil || got["user_id"] != alice.user || got["keys"].(map[string]any)["ed25519:ALICE1"] != alice.pub {
			t.Fatalf("query = %v", devs)
		}
		if sig := got["signatures"].(map[string]any)[alice.user].(map[string]any)["ed25519:ALICE1"]; sig != dk["signatures"].(map[string]any)[alice.user].(map[string]any)["ed25519:ALICE1"] {
			t.Fatalf("signature changed: %v", got["signatures"])
		}
		if _, ok := got["unsigned"].(map[string]any)["device_display_name"]; !ok {
			t.Fatalf("no unsigned.device_display_name: %v", got)
		}
		// A user without keys is an empty object; a remote user a failure.
		r = bob.call(t, hs, "POST", "keys/query", map[string]any{"device_keys": map[string]any{
			bob.user: []string{}, "@carol:elsewhere.example": []string{}, alice.user: []string{"NOSUCH"}}}).expect(t, 200, "")
		if d := r.body["device_keys"].(map[string]any); len(d[bob.user].(map[string]any)) != 0 || len(d[alice.user].(map[string]any)) != 0 {
			t.Fatalf("query device_keys = %v", d)
		}
		if _, ok := r.body["failures"].(map[string]any)["elsewhere.example"]; !ok {
			t.Fatalf("query failures = %v", r.body["failures"])
		}

		// Claims: each one-time key once, then the fallback key.
		claim := map[string]any{"one_time_keys": map[string]any{alice.user: map[string]any{"ALICE1": "signed_curve25519"}}}
		seen := map[string]bool{}
		for i := 0; i < 5; i++ {
			r := bob.call(t, hs, "POST", "keys/claim", claim).expect(t, 200, "")
			keys := r.body["one_time_keys"].(map[string]any)[alice.user].(map[string]any)["ALICE1"].(map[string]any)
			for id, k := range keys {
				if seen[id] && id != "signed_curve25519:f1" {
					t.Fatalf("key %s claimed twice", id)
				}
				seen[id] = true
				want := otks[id]
				if id == "signed_curve25519:f1" {
					want = fallback
				} else if i >= 3 {
					t.Fatalf("claim %d got one-time key %s after three", i, id)
				}
				if w, _ := json.Marshal(want); string(mustCanonical(t, k)) != string(mustCanonical(t, json.RawMessage(w))) {
					t.Fatalf("claimed %s = %v, want %s", id, k, w)
				}
			}
		}
		if len(seen) != 4 {
			t.Fatalf("claimed %v", seen)
		}
		// The sync of Alice's device tells of the used fallback key.
		var s struct {
			Counts map[string]int `json:"device_one_time_keys_count"`
			Unused []string       `json:"device_unused_fallback_key_types"`
		}
		json.Unmarshal([]byte(alice.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, "").raw), &s)
		if s.Unused == nil || len(s.Unused) != 0 || s.Counts["signed_curve25519"] != 0 {
			t.Fatalf("sync key counts = %+v", s)
		}
		// Claims of unknown devices and algorithms give nothing.
		r = bob.call(t, hs, "POST", "keys/claim", map[string]any{"one_time_keys": map[string]any{
			alice.user: map[string]any{"NOSUCH": "signed_curve25519"}, "@nobody:localhost": map[string]any{"X": "signed_curve25519"}}}).expect(t, 200, "")
		if len(r.body["one_time_keys"].(map[string]any)) != 0 {
			t.Fatalf("claim of unknown devices = %s", r.raw)
		}
	})
}

func mustCanonical(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mjson.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeysBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		dk := alice.deviceKeys(t)
		otks := alice.otks(t, "a", 2)
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": dk, "one_time_keys": otks}).expect(t, 200, "")

		// Variants of valid uploads.
		withKeys := func(mut func(k map[string]any)) map[string]any {
			k := alice.deviceKeys(t)
			mut(k)
			return k
		}
		_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
		forged := signObject(t, map[string]any{"user_id": alice.user, "device_id": "ALICE1", "algorithms": []string{"m.megolm.v1.aes-sha2"},
			"keys": map[string]any{"ed25519:ALICE1": alice.pub, "curve25519:ALICE1": b64(make([]byte, 32))}}, alice.user, "ed25519:ALICE1", otherPriv)
		badOTK := signObject(t, map[string]any{"key": b64(make([]byte, 32))}, alice.user, "ed25519:ALICE1", otherPriv)
		changedOTK := signObject(t, map[string]any{"key": b64(append(make([]byte, 31), 1))}, alice.user, "ed25519:ALICE1", alice.priv)
		var someOTK string
		for id := range otks {
			someOTK = id
		}
		for _, tc := range []struct {
			name    string
			body    any
			status  int
			errcode string
		}{
			{"not JSON", `{"device_keys":`, 400, "M_NOT_JSON"},
			{"device keys not an object", `{"device_keys":[1]}`, 400, "M_BAD_JSON"},
			{"device keys without algorithms, keys, signatures", map[string]any{"device_keys": map[string]any{"user_id": alice.user, "device_id": "ALICE1"}}, 400, "M_BAD_JSON"},
			{"keys of the wrong type", map[string]any{"device_keys": withKeys(func(k map[string]any) { k["keys"] = []int{1} })}, 400, "M_BAD_JSON"},
			{"keys of another user", map[string]any{"device_keys": withKeys(func(k map[string]any) { k["user_id"] = bob.user })}, 400, "M_INVALID_PARAM"},
			{"keys of another device", map[string]any{"device_keys": withKeys(func(k map[string]any) { k["device_id"] = "BOB1" })}, 400, "M_INVALID_PARAM"},
			{"forged device signature", map[string]any{"device_keys": forged}, 400, "M_INVALID_SIGNATURE"},
			{"unsigned device keys", map[string]any{"device_keys": withKeys(func(k map[string]any) { k["signatures"] = map[string]any{} })}, 400, "M_INVALID_SIGNATURE"},
			{"malformed base64 key", map[string]any{"device_keys": withKeys(func(k map[string]any) {
				k["keys"].(map[string]any)["curve25519:ALICE1"] = "not*base64!"
			})}, 400, "M_INVALID_PARAM"},
			{"changed device keys", map[string]any{"device_keys": alice.deviceKeys(t)}, 400, "M_INVALID_PARAM"},
			{"one-time key with a bad signature", map[string]any{"one_time_keys": map[string]any{"signed_curve25519:bad": badOTK}}, 400, "M_INVALID_SIGNATURE"},
			{"one-time key re-uploaded with other content", map[string]any{"one_time_keys": map[string]any{someOTK: changedOTK}}, 400, "M_INVALID_PARAM"},
			{"one-time key with malformed base64", map[string]any{"one_time_keys": map[string]any{"curve25519:x": "%%%"}}, 400, "M_INVALID_PARAM"},
			{"one-time key ID without algorithm", map[string]any{"one_time_keys": map[string]any{"nokeyid": "AAAA"}}, 400, "M_INVALID_PARAM"},
			{"two fallback keys of one algorithm", map[string]any{"fallback_keys": map[string]any{
				"signed_curve25519:f1": alice.otks(t, "f", 1)["signed_curve25519:f0"], "signed_curve25519:f2": alice.otks(t, "g", 1)["signed_curve25519:g0"]}}, 400, "M_INVALID_PARAM"},
			{"over-size body", `{"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				alice.call(t, hs, "POST", "keys/upload", tc.body).expect(t, tc.status, tc.errcode)
				// Nothing changed.
				if c := alice.counts(t, hs); c["signed_curve25519"] != 2.0 || len(c) != 1 {
					t.Fatalf("counts after a refused upload = %v", c)
				}
				if got := bob.queryDevices(t, hs, alice.user)["ALICE1"].(map[string]any); got["keys"].(map[string]any)["ed25519:ALICE1"] != alice.pub {
					t.Fatalf("device keys after a refused upload = %v", got)
				}
			})
		}
		call(t, hs, "POST", "/_matrix/client/v3/keys/upload", "", map[string]any{}).expect(t, 401, "M_MISSING_TOKEN")

		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			errcode    string
		}{
			{"query with device IDs as an object", "keys/query", map[string]any{"device_keys": map[string]any{alice.user: map[string]bool{"ALICE1": true}}}, 400, "M_BAD_JSON"},
			{"query without device_keys", "keys/query", map[string]any{}, 400, "M_BAD_JSON"},
			{"query of an invalid user ID", "keys/query", map[string]any{"device_keys": map[string]any{"alice": []string{}}}, 400, "M_INVALID_PARAM"},
			{"claim of an invalid user ID", "keys/claim", map[string]any{"one_time_keys": map[string]any{"@:": map[string]string{"D": "signed_curve25519"}}}, 400, "M_INVALID_PARAM"},
			{"claim with an algorithm that is not a string", "keys/claim", map[string]any{"one_time_keys": map[string]any{alice.user: map[string]int{"ALICE1": 1}}}, 400, "M_BAD_JSON"},
			{"claim with an empty algorithm", "keys/claim", map[string]any{"one_time_keys": map[string]any{alice.user: map[string]string{"ALICE1": ""}}}, 400, "M_INVALID_PARAM"},
			{"changes without from", "keys/changes?to=m1_e1_a1_p1", nil, 400, "M_MISSING_PARAM"},
			{"changes with a bad token", "keys/changes?from=garbage&to=m1_e1_a1_p1", nil, 400, "M_INVALID_PARAM"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				method := "POST"
				if tc.body == nil {
					method = "GET"
				}
				bob.call(t, hs, method, tc.path, tc.body).expect(t, tc.status, tc.errcode)
				if c := alice.counts(t, hs); c["signed_curve25519"] != 2.0 {
					t.Fatalf("counts after a refused request = %v", c)
				}
			})
		}
	})
}

// TestKeysClaimConcurrent: many clients claiming the one-time keys of one
// device at once never get the same key twice.
func TestKeysClaimConcurrent(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		const keys, claimers = 40, 60
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": alice.deviceKeys(t), "one_time_keys": alice.otks(t, "k", keys),
			"fallback_keys": alice.otks(t, "fallback", 1)}).expect(t, 200, "")
		var clients []*e2eDevice
		for i := 0; i < 4; i++ {
			clients = append(clients, e2eLogin(t, hs, fmt.Sprintf("claimer%d", i), ""))
		}
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		for i := 0; i < claimers; i++ {
			wg.Add(1)
			go func(c *e2eDevice) {
				defer wg.Done()
				r := call(t, hs, "POST", "/_matrix/client/v3/keys/claim", c.token,
					map[string]any{"one_time_keys": map[string]any{alice.user: map[string]any{"ALICE1": "signed_curve25519"}}})
				if r.status != 200 {
					t.Errorf("claim: %d %s", r.status, r.raw)
					return
				}
				keys, _ := r.body["one_time_keys"].(map[string]any)[alice.user].(map[string]any)["ALICE1"].(map[string]any)
				mu.Lock()
				defer mu.Unlock()
				for id := range keys {
					got[id]++
				}
			}(clients[i%len(clients)])
		}
		wg.Wait()
		for id, n := range got {
			if id != "signed_curve25519:fallback0" && n != 1 {
				t.Errorf("%s handed out %d times", id, n)
			}
		}
		if len(got) != keys+1 || got["signed_curve25519:fallback0"] != claimers-keys {
			t.Errorf("claims = %v", got)
		}
	})
}

func TestKeysChangesAndDeviceDeletion(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": alice.deviceKeys(t)}).expect(t, 200, "")
		room := alice.call(t, hs, "POST", "createRoom", map[string]any{"preset": "public_chat"}).expect(t, 200, "").str("room_id")
		since := bob.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, "").str("next_batch")

		// Bob joins: Alice is new to him, so she is "changed".
		bob.call(t, hs, "POST", "join/"+url.PathEscape(room), map[string]any{}).expect(t, 200, "")
		r := bob.call(t, hs, "GET", "sync?timeout=0&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "changed", alice.user) {
			t.Fatalf("after joining: device_lists = %v", r.body["device_lists"])
		}
		since = r.str("next_batch")

		// Alice adds a device with keys: changed, also through /keys/changes.
		alice2 := e2eLogin(t, hs, "alice", "ALICE2")
		alice2.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": alice2.deviceKeys(t), "one_time_keys": alice2.otks(t, "x", 1)}).expect(t, 200, "")
		alice.call(t, hs, "PUT", "sendToDevice/m.test/t1", map[string]any{"messages": map[string]any{alice.user: map[string]any{"ALICE2": map[string]any{"x": 1}}}}).expect(t, 200, "")
		r = bob.call(t, hs, "GET", "sync?timeout=1000&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "changed", alice.user) {
			t.Fatalf("after a new device: device_lists = %v", r.body["device_lists"])
		}
		next := r.str("next_batch")
		ch := bob.call(t, hs, "GET", "keys/changes?from="+url.QueryEscape(since)+"&to="+url.QueryEscape(next), nil).expect(t, 200, "")
		if c, _ := ch.body["changed"].([]any); len(c) != 1 || c[0] != alice.user {
			t.Fatalf("keys/changes = %s", ch.raw)
		}
		if len(bob.queryDevices(t, hs, alice.user)) != 2 {
			t.Fatalf("devices of alice = %v", bob.queryDevices(t, hs, alice.user))
		}
		since = next

		// Deleting ALICE2 drops its keys and inbox, and tells Bob.
		sess := alice.call(t, hs, "POST", "delete_devices", map[string]any{"devices": []string{"ALICE2"}}).expectUIA(t, "m.login.password", "")
		alice.call(t, hs, "POST", "delete_devices", map[string]any{"devices": []string{"ALICE2"}, "auth": passwordAuth("alice", "password", sess)}).expect(t, 200, "")
		if devs := bob.queryDevices(t, hs, alice.user); len(devs) != 1 || devs["ALICE1"] == nil {
			t.Fatalf("devices after deletion = %v", devs)
		}
		r = bob.call(t, hs, "GET", "sync?timeout=1000&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "changed", alice.user) {
			t.Fatalf("after a device deletion: device_lists = %v", r.body["device_lists"])
		}
		since = r.str("next_batch")
		r = bob.call(t, hs, "POST", "keys/claim", map[string]any{"one_time_keys": map[string]any{alice.user: map[string]any{"ALICE2": "signed_curve25519"}}}).expect(t, 200, "")
		if len(r.body["one_time_keys"].(map[string]any)) != 0 {
			t.Fatalf("claim of a deleted device's key = %s", r.raw)
		}
		// A device later logging in with the same ID starts with an empty
		// inbox and may upload new keys.
		alice2 = e2eLogin(t, hs, "alice", "ALICE2")
		if r := alice2.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, ""); strings.Contains(r.raw, `"m.test"`) {
			t.Fatalf("the deleted device's inbox survived: %s", r.raw)
		}
		alice2.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": alice2.deviceKeys(t)}).expect(t, 200, "")

		// Alice leaves the only shared room: she is "left" for Bob.
		alice.call(t, hs, "POST", "rooms/"+url.PathEscape(room)+"/leave", map[string]any{}).expect(t, 200, "")
		r = bob.call(t, hs, "GET", "sync?timeout=1000&since="+url.QueryEscape(since), nil).expect(t, 200, "")
		if !deviceListHas(r, "left", alice.user) || deviceListHas(r, "changed", alice.user) {
			t.Fatalf("after alice left: device_lists = %v", r.body["device_lists"])
		}
		since = r.str("next_batch")
		// Her later key changes are not Bob's business.
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"one_time_keys": alice.otks(t, "z", 1)}).expect(t, 200, "")
		alice3 := e2eLogin(t, hs, "alice", "ALICE3")
		alice3.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": alice3.deviceKeys(t)}).expect(t, 200, "")
		if r := bob.call(t, hs, "GET", "sync?timeout=0&since="+url.QueryEscape(since), nil).expect(t, 200, ""); deviceListHas(r, "changed", alice.user) {
			t.Fatalf("changes of a user sharing no room: %v", r.body["device_lists"])
		}

		// Deactivating an account drops the keys of all its devices.
		bob.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": bob.deviceKeys(t), "one_time_keys": bob.otks(t, "b", 2)}).expect(t, 200, "")
		if len(alice.queryDevices(t, hs, bob.user)) != 1 {
			t.Fatalf("bob's devices = %v", alice.queryDevices(t, hs, bob.user))
		}
		sess = bob.call(t, hs, "POST", "account/deactivate", map[string]any{}).expectUIA(t, "m.login.password", "")
		bob.call(t, hs, "POST", "account/deactivate", map[string]any{"auth": passwordAuth("bob", "password", sess)}).expect(t, 200, "")
		if devs := alice.queryDevices(t, hs, bob.user); len(devs) != 0 {
			t.Fatalf("devices of a deactivated account = %v", devs)
		}
		r = alice.call(t, hs, "POST", "keys/claim", map[string]any{"one_time_keys": map[string]any{bob.user: map[string]any{"BOB1": "signed_curve25519"}}}).expect(t, 200, "")
		if len(r.body["one_time_keys"].(map[string]any)) != 0 {
			t.Fatalf("claim of a deactivated account's key = %s", r.raw)
		}
	})
}

// deviceListHas reports whether the sync response lists user in
// device_lists.<section>.
func deviceListHas(r reply, section, user string) bool {
	dl, _ := r.body["device_lists"].(map[string]any)
	list, _ := dl[section].([]any)
	for _, u := range list {
		if u == user {
			return true
		}
	}
	return false
}
