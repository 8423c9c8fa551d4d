package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

const dehydrationPath = "/_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"

func withDehydration(c *config.Config) { c.Encryption.DehydratedDevices = true }

// newDehydrated returns a device of owner's user with its own keys, not
// logged in.
func newDehydrated(owner *e2eDevice, id string) *e2eDevice {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return &e2eDevice{user: owner.user, device: id, priv: priv, pub: b64(pub)}
}

// dehydratedBody is a PUT /dehydrated_device body for d with n one-time
// keys and a fallback key.
func dehydratedBody(t *testing.T, d *e2eDevice, n int) map[string]any {
	dk := d.deviceKeys(t)
	dk["dehydrated"] = true
	dk = signObject(t, dk, d.user, "ed25519:"+d.device, d.priv)
	return map[string]any{
		"device_id":                   d.device,
		"device_data":                 map[string]any{"algorithm": "org.matrix.msc3814.v2", "device_pickle": "pickled-" + d.device, "nonce": "n"},
		"initial_device_display_name": "Dehydrated",
		"device_keys":                 dk,
		"one_time_keys":               d.otks(t, "o", n),
		"fallback_keys": map[string]any{"signed_curve25519:fb": signObject(t, map[string]any{"key": b64(make([]byte, 32)), "fallback": true},
			d.user, "ed25519:"+d.device, d.priv)},
	}
}

// TestDehydratedDevice is a round trip of MSC3814: Alice puts a dehydrated
// device with keys; Bob sees its keys, claims its one-time key and sends it
// encrypted to-device messages; Alice pages through them with /events;
// replacing the device deletes the old one's keys and inbox.
func TestDehydratedDevice(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e, withDehydration)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		dcall := func(d *e2eDevice, method, path string, body any) reply {
			t.Helper()
			return call(t, hs, method, dehydrationPath+path, d.token, body)
		}
		dcall(alice, "GET", "", nil).expect(t, 404, "M_NOT_FOUND")
		dcall(alice, "DELETE", "", nil).expect(t, 404, "M_NOT_FOUND")

		dehy := newDehydrated(alice, "DEHY1")
		if got := dcall(alice, "PUT", "", dehydratedBody(t, dehy, 2)).expect(t, 200, "").str("device_id"); got != "DEHY1" {
			t.Fatalf("PUT device_id = %q", got)
		}
		r := dcall(alice, "GET", "", nil).expect(t, 200, "")
		if data, _ := r.body["device_data"].(map[string]any); r.str("device_id") != "DEHY1" || data["device_pickle"] != "pickled-DEHY1" {
			t.Fatalf("GET = %s", r.raw)
		}
		// Bob sees the device's keys and claims a one-time key of it.
		if dk, _ := bob.queryDevices(t, hs, alice.user)["DEHY1"].(map[string]any); dk == nil || dk["dehydrated"] != true {
			t.Fatalf("Bob's query of Alice: no DEHY1 with dehydrated: true")
		}
		claim := map[string]any{"one_time_keys": map[string]any{alice.user: map[string]any{"DEHY1": "signed_curve25519"}}}
		r = bob.call(t, hs, "POST", "keys/claim", claim).expect(t, 200, "")
		keys, _ := r.body["one_time_keys"].(map[string]any)[alice.user].(map[string]any)["DEHY1"].(map[string]any)
		if len(keys) != 1 {
			t.Fatalf("claim = %s", r.raw)
		}
		// More messages than one page (100): 104 to DEHY1, one to all of
		// Alice's devices.
		const n = 104
		for i := range n {
			bob.call(t, hs, "PUT", fmt.Sprintf("sendToDevice/m.room.encrypted/t%d", i), map[string]any{"messages": map[string]any{
				alice.user: map[string]any{"DEHY1": map[string]any{"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": "k",
					"ciphertext": map[string]any{"c": map[string]any{"type": 0, "body": fmt.Sprint(i)}}}}}}).expect(t, 200, "")
		}
		bob.call(t, hs, "PUT", "sendToDevice/m.dummy/all", map[string]any{"messages": map[string]any{
			alice.user: map[string]any{"*": map[string]any{"i": "all"}}}}).expect(t, 200, "")

		var got []map[string]any
		next, pages := "", 0
		for {
			body := map[string]any{}
			if next != "" {
				body["next_batch"] = next
			}
			r := dcall(alice, "POST", "/DEHY1/events", body).expect(t, 200, "")
			evs, _ := r.body["events"].([]any)
			if r.str("next_batch") == "" || evs == nil {
				t.Fatalf("events = %s", r.raw)
			}
			next = r.str("next_batch")
			if len(evs) == 0 {
				break
			}
			if pages++; pages > 5 {
				t.Fatal("events never end")
			}
			for _, ev := range evs {
				got = append(got, ev.(map[string]any))
			}
		}
		if len(got) != n+1 || pages != 2 {
			t.Fatalf("got %d events in %d pages, want %d in 2", len(got), pages, n+1)
		}
		for i, ev := range got[:n] {
			body := ev["content"].(map[string]any)["ciphertext"].(map[string]any)["c"].(map[string]any)["body"]
			if ev["sender"] != bob.user || ev["type"] != "m.room.encrypted" || body != fmt.Sprint(i) {
				t.Fatalf("event %d = %v", i, ev)
			}
		}
		if got[n]["type"] != "m.dummy" {
			t.Fatalf("last event = %v", got[n])
		}
		// Acknowledged messages are gone: the start again is empty.
		if evs, _ := dcall(alice, "POST", "/DEHY1/events", map[string]any{}).expect(t, 200, "").body["events"].([]any); len(evs) != 0 {
			t.Fatalf("events after the end = %v", evs)
		}

		// Replacing deletes the old device with its keys and inbox.
		bob.call(t, hs, "PUT", "sendToDevice/m.dummy/late", map[string]any{"messages": map[string]any{
			alice.user: map[string]any{"DEHY1": map[string]any{}}}}).expect(t, 200, "")
		dehy2 := newDehydrated(alice, "DEHY2")
		dcall(alice, "PUT", "", dehydratedBody(t, dehy2, 1)).expect(t, 200, "")
		if dcall(alice, "GET", "", nil).expect(t, 200, "").str("device_id") != "DEHY2" {
			t.Fatal("GET after replace is not DEHY2")
		}
		devs := bob.queryDevices(t, hs, alice.user)
		if devs["DEHY1"] != nil || devs["DEHY2"] == nil {
			t.Fatalf("query after replace has %v", devs)
		}
		r = bob.call(t, hs, "POST", "keys/claim", claim).expect(t, 200, "")
		if len(r.body["one_time_keys"].(map[string]any)) != 0 {
			t.Fatalf("claim of the replaced device = %s", r.raw)
		}
		dcall(alice, "POST", "/DEHY1/events", map[string]any{}).expect(t, 404, "M_NOT_FOUND")
		if alice.call(t, hs, "GET", "devices/DEHY1", nil).status != 404 {
			t.Fatal("DEHY1 still a device")
		}
		// Replacing with the same device ID and new identity keys works:
		// the old keys go first.
		dcall(alice, "PUT", "", dehydratedBody(t, newDehydrated(alice, "DEHY2"), 1)).expect(t, 200, "")
		// A device ID of a logged-in device is refused; nothing changes.
		dcall(alice, "PUT", "", dehydratedBody(t, newDehydrated(alice, "ALICE1"), 1)).expect(t, 400, "M_INVALID_PARAM")
		if dcall(alice, "GET", "", nil).expect(t, 200, "").str("device_id") != "DEHY2" {
			t.Fatal("GET after a refused PUT is not DEHY2")
		}

		if dcall(alice, "DELETE", "", nil).expect(t, 200, "").str("device_id") != "DEHY2" {
			t.Fatal("DELETE did not answer DEHY2")
		}
		dcall(alice, "GET", "", nil).expect(t, 404, "M_NOT_FOUND")
		if bob.queryDevices(t, hs, alice.user)["DEHY2"] != nil {
			t.Fatal("DEHY2's keys survive DELETE")
		}
	})
}

// TestDehydratedDeviceBadInput checks that bad requests change nothing,
// and that the routes are absent when the flag is off.
func TestDehydratedDeviceBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		off := testserver.Start(t, e)
		offAlice := e2eLogin(t, off, "alice", "ALICE1")
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			call(t, off, m, dehydrationPath, offAlice.token, map[string]any{}).expect(t, 404, "M_UNRECOGNIZED")
		}
		call(t, off, "POST", dehydrationPath+"/X/events", offAlice.token, map[string]any{}).expect(t, 404, "M_UNRECOGNIZED")
		off.Stop()

		hs := testserver.Start(t, e, withDehydration)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		put := func(body any, status int, code string) {
			t.Helper()
			call(t, hs, "PUT", dehydrationPath, alice.token, body).expect(t, status, code)
		}
		call(t, hs, "GET", dehydrationPath, "", nil).expect(t, 401, "M_MISSING_TOKEN")
		put(`{"device_id":`, 400, "M_NOT_JSON")
		put(`[]`, 400, "M_BAD_JSON")
		d := newDehydrated(alice, "DEHY1")
		mutate := func(f func(b map[string]any)) map[string]any {
			b := dehydratedBody(t, d, 1)
			f(b)
			return b
		}
		put(mutate(func(b map[string]any) { b["device_data"] = "opaque" }), 400, "M_BAD_JSON")
		put(mutate(func(b map[string]any) { delete(b, "device_data") }), 400, "M_BAD_JSON")
		put(mutate(func(b map[string]any) { b["device_id"] = 7 }), 400, "M_BAD_JSON")
		put(mutate(func(b map[string]any) { b["device_id"] = "" }), 400, "M_INVALID_PARAM")
		put(mutate(func(b map[string]any) { delete(b, "device_keys") }), 400, "M_BAD_JSON")
		// Keys for another device ID, a forged signature, a malformed
		// one-time key.
		put(mutate(func(b map[string]any) { b["device_id"] = "OTHER" }), 400, "M_INVALID_PARAM")
		put(mutate(func(b map[string]any) {
			b["device_keys"] = signObject(t, d.deviceKeys(t), d.user, "ed25519:DEHY1", alice.priv)
		}), 400, "M_INVALID_SIGNATURE")
		put(mutate(func(b map[string]any) {
			b["one_time_keys"] = map[string]any{"signed_curve25519:x": map[string]any{"key": "!!"}}
		}), 400, "M_INVALID_PARAM")
		call(t, hs, "GET", dehydrationPath, alice.token, nil).expect(t, 404, "M_NOT_FOUND")
		if alice.queryDevices(t, hs, alice.user)["DEHY1"] != nil {
			t.Fatal("a refused PUT left keys")
		}
		if alice.call(t, hs, "GET", "devices/DEHY1", nil).status != 404 {
			t.Fatal("a refused PUT left a device")
		}

		put(dehydratedBody(t, d, 1), 200, "")
		events := func(token, device string, body any) reply {
			t.Helper()
			return call(t, hs, "POST", dehydrationPath+"/"+device+"/events", token, body)
		}
		// Another user's dehydrated device, or a device that is not one.
		events(bob.token, "DEHY1", map[string]any{}).expect(t, 404, "M_NOT_FOUND")
		events(alice.token, "ALICE1", map[string]any{}).expect(t, 404, "M_NOT_FOUND")
		events(alice.token, "DEHY1", `{`).expect(t, 400, "M_NOT_JSON")
		events(alice.token, "DEHY1", map[string]any{"next_batch": 5}).expect(t, 400, "M_BAD_JSON")
		for _, nb := range []string{"abc", "-1", "99999999999"} {
			events(alice.token, "DEHY1", map[string]any{"next_batch": nb}).expect(t, 400, "M_INVALID_PARAM")
		}
		events(alice.token, "DEHY1", map[string]any{}).expect(t, 200, "")
		// Bob cannot delete or read Alice's device.
		call(t, hs, "DELETE", dehydrationPath, bob.token, nil).expect(t, 404, "M_NOT_FOUND")
		if call(t, hs, "GET", dehydrationPath, alice.token, nil).expect(t, 200, "").str("device_id") != "DEHY1" {
			t.Fatal("Alice's dehydrated device changed")
		}
	})
}
