package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// csKey is a cross-signing key pair.
type csKey struct {
	pub  string
	priv ed25519.PrivateKey
}

func newCSKey() csKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return csKey{b64(pub), priv}
}

// object returns the key's object for user, signed by signer when given.
func (k csKey) object(t *testing.T, user, usage string, signer *csKey) map[string]any {
	o := map[string]any{"user_id": user, "usage": []string{usage}, "keys": map[string]any{"ed25519:" + k.pub: k.pub}}
	if signer != nil {
		signObject(t, o, user, "ed25519:"+signer.pub, signer.priv)
	}
	return o
}

// csSet is a user's three cross-signing keys.
type csSet struct{ master, self, user csKey }

func newCSSet() csSet { return csSet{newCSKey(), newCSKey(), newCSKey()} }

func (s csSet) upload(t *testing.T, user string) map[string]any {
	return map[string]any{
		"master_key":       s.master.object(t, user, "master", nil),
		"self_signing_key": s.self.object(t, user, "self_signing", &s.master),
		"user_signing_key": s.user.object(t, user, "user_signing", &s.master),
	}
}

// queryAll returns the whole /keys/query answer about user as seen by d.
func (d *e2eDevice) queryAll(t *testing.T, hs *testserver.Server, user string) reply {
	t.Helper()
	return d.call(t, hs, "POST", "keys/query", map[string]any{"device_keys": map[string]any{user: []string{}}}).expect(t, 200, "")
}

// sigsOf returns the signatures by signer in a key object of a reply.
func sigsOf(r reply, section, user, device, signer string) map[string]any {
	sec, _ := r.body[section].(map[string]any)
	obj, _ := sec[user].(map[string]any)
	if device != "" {
		obj, _ = obj[device].(map[string]any)
	}
	all, _ := obj["signatures"].(map[string]any)
	sigs, _ := all[signer].(map[string]any)
	return sigs
}

func TestCrossSigning(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		carol := e2eLogin(t, hs, "carol", "CAROL1")
		aliceKeys := alice.deviceKeys(t)
		alice.call(t, hs, "POST", "keys/upload", map[string]any{"device_keys": aliceKeys}).expect(t, 200, "")

		// The first upload needs no user-interactive auth, nor does the
		// same upload again.
		as := newCSSet()
		up := as.upload(t, alice.user)
		alice.call(t, hs, "POST", "keys/device_signing/upload", up).expect(t, 200, "")
		alice.call(t, hs, "POST", "keys/device_signing/upload", up).expect(t, 200, "")
		r := bob.queryAll(t, hs, alice.user)
		if r.body["master_keys"].(map[string]any)[alice.user] == nil || r.body["self_signing_keys"].(map[string]any)[alice.user] == nil {
			t.Fatalf("bob's query = %s", r.raw)
		}
		if _, ok := r.body["user_signing_keys"].(map[string]any)[alice.user]; ok {
			t.Fatalf("bob sees alice's user-signing key: %s", r.raw)
		}
		if r := alice.queryAll(t, hs, alice.user); r.body["user_signing_keys"].(map[string]any)[alice.user] == nil {
			t.Fatalf("alice's own query = %s", r.raw)
		}

		// Bad uploads change nothing.
		wrongSigner := newCSKey()
		other := newCSSet()
		twoKeys := other.master.object(t, alice.user, "master", nil)
		twoKeys["keys"].(map[string]any)["ed25519:"+other.self.pub] = other.self.pub
		for _, tc := range []struct {
			name    string
			body    any
			status  int
			errcode string
		}{
			{"self-signing key signed by another key", map[string]any{"self_signing_key": other.self.object(t, alice.user, "self_signing", &wrongSigner)}, 400, "M_INVALID_SIGNATURE"},
			{"self-signing key unsigned", map[string]any{"self_signing_key": other.self.object(t, alice.user, "self_signing", nil)}, 400, "M_INVALID_SIGNATURE"},
			{"key of another user", map[string]any{"master_key": other.master.object(t, bob.user, "master", nil)}, 400, "M_INVALID_PARAM"},
			{"wrong usage", map[string]any{"master_key": other.master.object(t, alice.user, "self_signing", nil)}, 400, "M_INVALID_PARAM"},
			{"two keys", map[string]any{"master_key": twoKeys}, 400, "M_INVALID_PARAM"},
			{"malformed public key", map[string]any{"master_key": map[string]any{"user_id": alice.user, "usage": []string{"master"}, "keys": map[string]any{"ed25519:abc": "abc"}}}, 400, "M_INVALID_PARAM"},
			{"no usage", map[string]any{"master_key": map[string]any{"user_id": alice.user, "keys": map[string]any{}}}, 400, "M_BAD_JSON"},
			{"not JSON", `{"master_key":`, 400, "M_NOT_JSON"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				alice.call(t, hs, "POST", "keys/device_signing/upload", tc.body).expect(t, tc.status, tc.errcode)
				r := bob.queryAll(t, hs, alice.user)
				if got := r.body["master_keys"].(map[string]any)[alice.user].(map[string]any)["keys"].(map[string]any); got["ed25519:"+as.master.pub] != as.master.pub {
					t.Fatalf("master key changed: %v", got)
				}
			})
		}
		// Bob has no master key: his self-signing key cannot be checked.
		bob.call(t, hs, "POST", "keys/device_signing/upload", map[string]any{"self_signing_key": other.self.object(t, bob.user, "self_signing", &other.master)}).expect(t, 400, "M_MISSING_PARAM")
		// A cross-signing key may not be a device ID of its owner.
		var clash csKey
		for clash.pub == "" || strings.ContainsAny(clash.pub, "+/") {
			clash = newCSKey()
		}
		e2eLogin(t, hs, "carol", clash.pub)
		carol.call(t, hs, "POST", "keys/device_signing/upload", map[string]any{"master_key": clash.object(t, carol.user, "master", nil)}).expect(t, 403, "M_FORBIDDEN")

		// Replacing the keys takes the password.
		as2 := newCSSet()
		up2 := as2.upload(t, alice.user)
		sess := alice.call(t, hs, "POST", "keys/device_signing/upload", up2).expectUIA(t, "m.login.password", "")
		if r := bob.queryAll(t, hs, alice.user); r.body["master_keys"].(map[string]any)[alice.user].(map[string]any)["keys"].(map[string]any)["ed25519:"+as.master.pub] == nil {
			t.Fatalf("keys replaced before authentication: %s", r.raw)
		}
		up2["auth"] = passwordAuth("alice", "wrong", sess)
		alice.call(t, hs, "POST", "keys/device_signing/upload", up2).expectUIA(t, "m.login.password", "M_FORBIDDEN")
		// The session is bound to these keys: it does not authorize others.
		up3 := newCSSet().upload(t, alice.user)
		up3["auth"] = passwordAuth("alice", "password", sess)
		alice.call(t, hs, "POST", "keys/device_signing/upload", up3).expect(t, 403, "M_FORBIDDEN")
		up2["auth"] = passwordAuth("alice", "password", sess)
		alice.call(t, hs, "POST", "keys/device_signing/upload", up2).expect(t, 200, "")
		as = as2
		if r := bob.queryAll(t, hs, alice.user); r.body["master_keys"].(map[string]any)[alice.user].(map[string]any)["keys"].(map[string]any)["ed25519:"+as.master.pub] == nil {
			t.Fatalf("keys not replaced: %s", r.raw)
		}
		// A used session is gone.
		up3["auth"] = passwordAuth("alice", "password", sess)
		alice.call(t, hs, "POST", "keys/device_signing/upload", up3).expectUIA(t, "m.login.password", "M_UNKNOWN")

		// Signatures: Alice's self-signing key signs her device, her device
		// signs her master key; everyone sees both.
		devSigned := signObject(t, deepClone(t, aliceKeys), alice.user, "ed25519:"+as.self.pub, as.self.priv)
		masterSigned := signObject(t, as.master.object(t, alice.user, "master", nil), alice.user, "ed25519:ALICE1", alice.priv)
		r = alice.call(t, hs, "POST", "keys/signatures/upload", map[string]any{alice.user: map[string]any{"ALICE1": devSigned, as.master.pub: masterSigned}}).expect(t, 200, "")
		if f := r.body["failures"].(map[string]any); len(f) != 0 {
			t.Fatalf("failures = %s", r.raw)
		}
		r = carol.queryAll(t, hs, alice.user)
		if sigsOf(r, "device_keys", alice.user, "ALICE1", alice.user)["ed25519:"+as.self.pub] == nil ||
			sigsOf(r, "device_keys", alice.user, "ALICE1", alice.user)["ed25519:ALICE1"] == nil ||
			sigsOf(r, "master_keys", alice.user, "", alice.user)["ed25519:ALICE1"] == nil {
			t.Fatalf("carol's query after signing = %s", r.raw)
		}

		// Bob verifies Alice: his user-signing key signs her master key.
		// Only Bob sees that signature.
		bs := newCSSet()
		bob.call(t, hs, "POST", "keys/device_signing/upload", bs.upload(t, bob.user)).expect(t, 200, "")
		bobSince := bob.call(t, hs, "GET", "sync?timeout=0", nil).expect(t, 200, "").str("next_batch")
		bobSigned := signObject(t, as.master.object(t, alice.user, "master", nil), bob.user, "ed25519:"+bs.user.pub, bs.user.priv)
		r = bob.call(t, hs, "POST", "keys/signatures/upload", map[string]any{alice.user: map[string]any{as.master.pub: bobSigned}}).expect(t, 200, "")
		if f := r.body["failures"].(map[string]any); len(f) != 0 {
			t.Fatalf("failures = %s", r.raw)
		}
		if sigsOf(bob.queryAll(t, hs, alice.user), "master_keys", alice.user, "", bob.user)["ed25519:"+bs.user.pub] == nil {
			t.Fatal("bob does not see his signature of alice's master key")
		}
		for _, viewer := range []*e2eDevice{alice, carol} {
			if s := sigsOf(viewer.queryAll(t, hs, alice.user), "master_keys", alice.user, "", bob.user); len(s) != 0 {
				t.Fatalf("%s sees bob's user-signing signature: %v", viewer.user, s)
			}
		}
		if r := bob.call(t, hs, "GET", "sync?timeout=1000&since="+bobSince, nil).expect(t, 200, ""); !deviceListHas(r, "changed", bob.user) && !deviceListHas(r, "changed", alice.user) {
			t.Fatalf("bob's sync after signing: %v", r.body["device_lists"])
		}

		// Signatures that do not verify, objects that do not match, keys
		// that do not exist: per-key failures, nothing stored.
		forged := signObject(t, deepClone(t, aliceKeys), alice.user, "ed25519:"+as.self.pub, wrongSigner.priv)
		changed := signObject(t, deepClone(t, aliceKeys), alice.user, "ed25519:"+as.self.pub, as.self.priv)
		changed["algorithms"] = []string{"other"}
		r = alice.call(t, hs, "POST", "keys/signatures/upload", map[string]any{
			alice.user: map[string]any{"ALICE1": forged, "NOSUCH": devSigned, as.master.pub + "x": masterSigned},
			bob.user:   map[string]any{bs.master.pub: bs.master.object(t, bob.user, "master", &wrongSigner)},
		}).expect(t, 200, "")
		fails := r.body["failures"].(map[string]any)
		for user, want := range map[string]map[string]string{
			alice.user: {"ALICE1": "M_INVALID_SIGNATURE", "NOSUCH": "M_NOT_FOUND", as.master.pub + "x": "M_NOT_FOUND"},
			bob.user:   {bs.master.pub: "M_INVALID_SIGNATURE"},
		} {
			for key, code := range want {
				f, _ := fails[user].(map[string]any)[key].(map[string]any)
				if f["errcode"] != code {
					t.Errorf("failure of %s %s = %v, want %s (all: %s)", user, key, f, code, r.raw)
				}
			}
		}
		r = alice.call(t, hs, "POST", "keys/signatures/upload", map[string]any{alice.user: map[string]any{"ALICE1": changed}}).expect(t, 200, "")
		if f, _ := r.body["failures"].(map[string]any)[alice.user].(map[string]any)["ALICE1"].(map[string]any); f["errcode"] != "M_INVALID_PARAM" {
			t.Fatalf("changed object: %s", r.raw)
		}
		if r := carol.queryAll(t, hs, bob.user); len(sigsOf(r, "master_keys", bob.user, "", alice.user)) != 0 {
			t.Fatalf("a forged signature was stored: %s", r.raw)
		}
		alice.call(t, hs, "POST", "keys/signatures/upload", `{"x":`).expect(t, 400, "M_NOT_JSON")
		alice.call(t, hs, "POST", "keys/signatures/upload", map[string]any{alice.user: []int{1}}).expect(t, 400, "M_BAD_JSON")
	})
}

// deepClone copies a JSON object.
func deepClone(t *testing.T, o map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
