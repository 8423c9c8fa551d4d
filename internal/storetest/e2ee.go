package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"myelin/internal/store"
)

func owner(lp string) store.KeyOwner {
	return store.KeyOwner{UserID: "@" + lp + ":test", Localpart: lp}
}

func otk(alg, id, js string) store.OneTimeKey {
	return store.OneTimeKey{Algorithm: alg, KeyID: id, JSON: []byte(js)}
}

func mustDevice(t *testing.T, s Store, lp string, devices ...string) {
	t.Helper()
	for _, d := range devices {
		if err := s.UpsertDevice(context.Background(), store.Device{Localpart: lp, DeviceID: d, DisplayName: "name of " + d}); err != nil {
			t.Fatal(err)
		}
	}
}

func testE2EEKeys(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob")
	mustDevice(t, s, "alice", "A1", "A2")
	alice := owner("alice")
	if pos, err := s.DeviceListPosition(ctx); err != nil || pos != 0 {
		t.Fatalf("DeviceListPosition(empty) = %d, %v", pos, err)
	}

	res, err := s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", DeviceKeys: []byte(`{"k":1}`),
		OneTimeKeys:  []store.OneTimeKey{otk("signed_curve25519", "b", `{"key":"b"}`), otk("signed_curve25519", "a", `{"key":"a"}`), otk("curve25519", "c", `"c"`)},
		FallbackKeys: []store.OneTimeKey{otk("signed_curve25519", "f1", `{"key":"f1"}`)}})
	if err != nil || res.DeviceListPos != 1 || !maps.Equal(res.Counts, map[string]int64{"signed_curve25519": 2, "curve25519": 1}) {
		t.Fatalf("UploadKeys = %+v, %v", res, err)
	}
	// The same keys again change nothing; new ones add up.
	res, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1",
		OneTimeKeys:  []store.OneTimeKey{otk("signed_curve25519", "a", `{"key":"a"}`), otk("signed_curve25519", "d", `{"key":"d"}`)},
		FallbackKeys: []store.OneTimeKey{otk("signed_curve25519", "f1", `{"key":"f1"}`)}})
	if err != nil || res.DeviceListPos != 0 || res.Counts["signed_curve25519"] != 3 {
		t.Fatalf("UploadKeys(again) = %+v, %v", res, err)
	}
	// A key ID with other content fails the whole upload.
	_, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1",
		OneTimeKeys: []store.OneTimeKey{otk("signed_curve25519", "e", `{"key":"e"}`), otk("signed_curve25519", "a", `{"key":"other"}`)}})
	var kc *store.KeyConflict
	if !errors.As(err, &kc) || kc.Kind != store.ConflictOneTimeKey || kc.Key != "signed_curve25519:a" || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UploadKeys(changed OTK) = %v", err)
	}
	// Device keys: a first upload expects none, a replacement the current.
	_, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", DeviceKeys: []byte(`{"k":2}`),
		OneTimeKeys: []store.OneTimeKey{otk("signed_curve25519", "x", `{"key":"x"}`)}})
	if !errors.As(err, &kc) || kc.Kind != store.ConflictDeviceKeys {
		t.Fatalf("UploadKeys(keys exist, no prev) = %v", err)
	}
	_, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", DeviceKeys: []byte(`{"k":2}`), PrevDeviceKeys: []byte(`{"k":9}`)})
	if !errors.As(err, &kc) || kc.Kind != store.ConflictDeviceKeys {
		t.Fatalf("UploadKeys(wrong prev) = %v", err)
	}
	counts, unused, err := s.KeyCounts(ctx, alice.UserID, "A1")
	if err != nil || counts["signed_curve25519"] != 3 || !slices.Equal(unused, []string{"signed_curve25519"}) {
		t.Fatalf("KeyCounts after failed uploads = %v %v, %v (nothing may have changed)", counts, unused, err)
	}
	// The bound on unclaimed keys.
	_, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", MaxOneTimeKeys: 3,
		OneTimeKeys: []store.OneTimeKey{otk("signed_curve25519", "y", `{"key":"y"}`)}})
	if !errors.As(err, &kc) || kc.Kind != store.ConflictTooManyKeys || kc.Key != "signed_curve25519" {
		t.Fatalf("UploadKeys(over the bound) = %v", err)
	}
	if _, err := s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A2", DeviceKeys: []byte(`{"k":"A2"}`)}); err != nil {
		t.Fatal(err)
	}
	res, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A2", DeviceKeys: []byte(`{"k":"A2b"}`), PrevDeviceKeys: []byte(`{"k":"A2"}`)})
	if err != nil || res.DeviceListPos != 3 {
		t.Fatalf("UploadKeys(replace with prev) = %+v, %v", res, err)
	}

	// Queries: local users' keys only for existing devices, with names.
	remote := store.KeyOwner{UserID: "@carol:elsewhere"}
	if _, err := s.UploadKeys(ctx, store.KeyUpload{KeyOwner: remote, DeviceID: "C1", DeviceKeys: []byte(`{"k":"C1"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadKeys(ctx, store.KeyUpload{KeyOwner: owner("bob"), DeviceID: "GONE", DeviceKeys: []byte(`{"k":"gone"}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeviceKeys(ctx, []store.DeviceKeysQuery{{KeyOwner: alice}, {KeyOwner: owner("bob")}, {KeyOwner: remote}, {KeyOwner: owner("nobody")}})
	if err != nil || len(got) != 3 {
		t.Fatalf("DeviceKeys = %+v, %v", got, err)
	}
	if got[0].UserID != "@alice:test" || got[0].DeviceID != "A1" || string(got[0].JSON) != `{"k":1}` || got[0].DisplayName != "name of A1" ||
		got[1].DeviceID != "A2" || string(got[1].JSON) != `{"k":"A2b"}` || got[2].UserID != "@carol:elsewhere" || got[2].DisplayName != "" {
		t.Fatalf("DeviceKeys = %+v", got)
	}
	if got, err := s.DeviceKeys(ctx, []store.DeviceKeysQuery{{KeyOwner: alice, DeviceIDs: []string{"A2", "NONE"}}}); err != nil || len(got) != 1 || got[0].DeviceID != "A2" {
		t.Fatalf("DeviceKeys(A2) = %+v, %v", got, err)
	}

	// Claims: one-time keys in upload order, then the fallback key.
	claim := []store.KeyClaim{{KeyOwner: alice, DeviceID: "A1", Algorithm: "signed_curve25519"}}
	var ids []string
	for i := 0; i < 5; i++ {
		got, err := s.ClaimKeys(ctx, claim)
		if err != nil || len(got) != 1 {
			t.Fatalf("ClaimKeys %d = %+v, %v", i, got, err)
		}
		ids = append(ids, fmt.Sprintf("%s/%v", got[0].KeyID, got[0].Fallback))
	}
	// a and b were uploaded together (either order), d later.
	if !(ids[0] == "a/false" && ids[1] == "b/false" || ids[0] == "b/false" && ids[1] == "a/false") ||
		ids[2] != "d/false" || ids[3] != "f1/true" || ids[4] != "f1/true" {
		t.Fatalf("claims = %v", ids)
	}
	counts, unused, err = s.KeyCounts(ctx, alice.UserID, "A1")
	if err != nil || counts["signed_curve25519"] != 0 || counts["curve25519"] != 1 || len(unused) != 0 {
		t.Fatalf("KeyCounts after claims = %v %v, %v", counts, unused, err)
	}
	// A claimed key uploaded again is not handed out again.
	res, err = s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1",
		OneTimeKeys: []store.OneTimeKey{otk("signed_curve25519", "a", `{"key":"a"}`)}})
	if err != nil || res.Counts["signed_curve25519"] != 0 {
		t.Fatalf("re-upload of a claimed key = %+v, %v", res, err)
	}
	// Re-uploading the used fallback key keeps it used; a new one is unused.
	s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", FallbackKeys: []store.OneTimeKey{otk("signed_curve25519", "f1", `{"key":"f1"}`)}})
	if _, unused, _ := s.KeyCounts(ctx, alice.UserID, "A1"); len(unused) != 0 {
		t.Fatalf("re-uploaded used fallback key is unused again: %v", unused)
	}
	s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A1", FallbackKeys: []store.OneTimeKey{otk("signed_curve25519", "f2", `{"key":"f2"}`)}})
	if _, unused, _ := s.KeyCounts(ctx, alice.UserID, "A1"); !slices.Equal(unused, []string{"signed_curve25519"}) {
		t.Fatalf("new fallback key: unused = %v", unused)
	}
	// Claims of unknown devices, algorithms, and of a deleted device's keys.
	got2, err := s.ClaimKeys(ctx, []store.KeyClaim{
		{KeyOwner: alice, DeviceID: "NONE", Algorithm: "signed_curve25519"},
		{KeyOwner: alice, DeviceID: "A1", Algorithm: "unknown"},
		{KeyOwner: owner("bob"), DeviceID: "GONE", Algorithm: "signed_curve25519"},
		{KeyOwner: alice, DeviceID: "A1", Algorithm: "curve25519"},
	})
	if err != nil || len(got2) != 1 || got2[0].KeyID != "c" || string(got2[0].JSON) != `"c"` {
		t.Fatalf("ClaimKeys(mixed) = %+v, %v", got2, err)
	}

	// Deleting a device takes its keys and inbox with it, and is a
	// device-list change.
	if _, _, err := s.SendToDevice(ctx, store.ToDeviceBatch{Sender: "@bob:test", SenderDevice: "B", Type: "t", TxnID: "1",
		Messages: []store.ToDeviceMessage{{Recipient: alice, DeviceID: "*", Content: []byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevices(ctx, "alice", []string{"A1"}); err != nil {
		t.Fatal(err)
	}
	pos, err := s.PruneDevices(ctx, alice)
	if err != nil || pos != 6 {
		t.Fatalf("PruneDevices = %d, %v", pos, err)
	}
	if got, _ := s.DeviceKeys(ctx, []store.DeviceKeysQuery{{KeyOwner: alice}}); len(got) != 1 || got[0].DeviceID != "A2" {
		t.Fatalf("DeviceKeys after deleting A1 = %+v", got)
	}
	if counts, unused, _ := s.KeyCounts(ctx, alice.UserID, "A1"); len(counts)+len(unused) != 0 {
		t.Fatalf("A1's keys survive: %v %v", counts, unused)
	}
	if evs, _ := s.ToDeviceInbox(ctx, alice.UserID, "A1", 0, 100, 10); len(evs) != 0 {
		t.Fatalf("A1's inbox survives: %+v", evs)
	}
	if evs, _ := s.ToDeviceInbox(ctx, alice.UserID, "A2", 0, 100, 10); len(evs) != 1 {
		t.Fatalf("A2's inbox = %+v", evs)
	}
	if pos, err := s.PruneDevices(ctx, alice); err != nil || pos != 0 {
		t.Fatalf("PruneDevices again = %d, %v", pos, err)
	}
	if pos, err := s.DeviceListPosition(ctx); err != nil || pos != 6 {
		t.Fatalf("DeviceListPosition = %d, %v", pos, err)
	}
}

func testE2EECrossSigning(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob")
	mustDevice(t, s, "alice", "A1")
	csk := func(usage, pub string) store.CrossSigningKey {
		return store.CrossSigningKey{UserID: "@alice:test", Usage: usage, PublicKey: pub, JSON: []byte(`{"pub":"` + pub + `"}`)}
	}
	pos, err := s.PutCrossSigningKeys(ctx, "@alice:test", []store.CrossSigningKey{csk(store.UsageMaster, "M1"), csk(store.UsageSelfSigning, "S1")}, "")
	if err != nil || pos != 1 {
		t.Fatalf("PutCrossSigningKeys = %d, %v", pos, err)
	}
	if _, err := s.PutCrossSigningKeys(ctx, "@alice:test", []store.CrossSigningKey{csk(store.UsageMaster, "M2")}, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutCrossSigningKeys(expect none, have M1) = %v", err)
	}
	got, err := s.CrossSigningKeys(ctx, []string{"@alice:test", "@bob:test"})
	if err != nil || len(got) != 2 || got[0].Usage != store.UsageMaster || got[0].PublicKey != "M1" || got[1].Usage != store.UsageSelfSigning {
		t.Fatalf("CrossSigningKeys = %+v, %v", got, err)
	}
	sigs := []store.KeySignature{
		{TargetUserID: "@alice:test", TargetKeyID: "A1", SignerUserID: "@alice:test", SignerKeyID: "ed25519:S1", Signature: "s1"},
		{TargetUserID: "@alice:test", TargetKeyID: "M1", SignerUserID: "@alice:test", SignerKeyID: "ed25519:A1", Signature: "s2"},
		{TargetUserID: "@alice:test", TargetKeyID: "M1", SignerUserID: "@bob:test", SignerKeyID: "ed25519:BU", Signature: "s3"},
	}
	pos, err = s.PutKeySignatures(ctx, sigs, []store.DeviceListChange{{UserID: "@alice:test"}, {UserID: "@alice:test", Viewer: "@bob:test"}})
	if err != nil || pos != 3 {
		t.Fatalf("PutKeySignatures = %d, %v", pos, err)
	}
	// Bob sees his own signature and Alice's; Carol only Alice's.
	if got, err := s.KeySignatures(ctx, []string{"@alice:test"}, "@bob:test"); err != nil || len(got) != 3 {
		t.Fatalf("KeySignatures(bob) = %+v, %v", got, err)
	}
	if got, err := s.KeySignatures(ctx, []string{"@alice:test"}, "@carol:test"); err != nil || len(got) != 2 || got[0].Signature != "s1" {
		t.Fatalf("KeySignatures(carol) = %+v, %v", got, err)
	}
	// Replacing the master key drops the signatures of the old one.
	if _, err := s.PutCrossSigningKeys(ctx, "@alice:test", []store.CrossSigningKey{csk(store.UsageMaster, "M2")}, "M1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.KeySignatures(ctx, []string{"@alice:test"}, "@bob:test"); len(got) != 1 || got[0].TargetKeyID != "A1" {
		t.Fatalf("signatures after replacing the master key = %+v", got)
	}
	// Deleting the device drops the signatures of its keys.
	s.DeleteDevices(ctx, "alice", []string{"A1"})
	if _, err := s.PruneDevices(ctx, owner("alice")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.KeySignatures(ctx, []string{"@alice:test"}, "@alice:test"); len(got) != 0 {
		t.Fatalf("signatures after deleting the device = %+v", got)
	}
}

func testE2EEDeviceLists(t *testing.T, s Store) {
	ctx := context.Background()
	put := func(user, viewer string) int64 {
		t.Helper()
		pos, err := s.PutKeySignatures(ctx, []store.KeySignature{{TargetUserID: user, TargetKeyID: "K", SignerUserID: user, SignerKeyID: "ed25519:K", Signature: "x"}},
			[]store.DeviceListChange{{UserID: user, Viewer: viewer}})
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}
	// Alice shares a room with Bob; Carol is alone; Dave left.
	room := newSyncRoom(t, s, "!r:test",
		memberEv("$a", "@alice:test", "@alice:test", "join"),
		memberEv("$b", "@bob:test", "@bob:test", "join"),
		memberEv("$d", "@dave:test", "@dave:test", "join"))
	afterJoins := room.ev["$d"].Pos
	room.add(t, s, memberEv("$d2", "@dave:test", "@dave:test", "leave"))
	newSyncRoom(t, s, "!c:test", memberEv("$c", "@carol:test", "@carol:test", "join"))
	p1 := put("@bob:test", "")
	put("@carol:test", "")
	put("@dave:test", "")
	p4 := put("@alice:test", "")
	p5 := put("@bob:test", "@alice:test")
	put("@bob:test", "@carol:test")
	got, err := s.DeviceListChanges(ctx, "@alice:test", 0, p5+1)
	if err != nil || !slices.Equal(got, []string{"@alice:test", "@bob:test"}) {
		t.Fatalf("DeviceListChanges(alice) = %v, %v", got, err)
	}
	if got, err := s.DeviceListChanges(ctx, "@alice:test", p1, p4-1); err != nil || len(got) != 0 {
		t.Fatalf("DeviceListChanges(alice, range) = %v, %v", got, err)
	}
	if got, err := s.DeviceListChanges(ctx, "@alice:test", p4, p5); err != nil || !slices.Equal(got, []string{"@bob:test"}) {
		t.Fatalf("DeviceListChanges(alice, viewer) = %v, %v", got, err)
	}
	// A change meant for Carol reaches her even without a shared room.
	if got, err := s.DeviceListChanges(ctx, "@carol:test", 0, 100); err != nil || !slices.Equal(got, []string{"@bob:test", "@carol:test"}) {
		t.Fatalf("DeviceListChanges(carol) = %v, %v", got, err)
	}

	// Membership changes: of the rooms Alice is in, or whose membership of
	// Alice changed in the range.
	mc, err := s.MemberChanges(ctx, "@alice:test", afterJoins, afterJoins+100)
	if err != nil || len(mc) != 1 || mc[0].UserID != "@dave:test" || mc[0].Membership != "leave" || mc[0].RoomNID != room.nid {
		t.Fatalf("MemberChanges(alice) = %+v, %v", mc, err)
	}
	if mc, err := s.MemberChanges(ctx, "@carol:test", 0, afterJoins); err != nil || len(mc) != 0 {
		t.Fatalf("MemberChanges(carol, before her room) = %+v, %v", mc, err)
	}
	room.add(t, s, memberEv("$a2", "@alice:test", "@alice:test", "leave"))
	mc, err = s.MemberChanges(ctx, "@alice:test", afterJoins, room.ev["$a2"].Pos)
	if err != nil || len(mc) != 2 || mc[1].UserID != "@alice:test" || mc[1].Membership != "leave" {
		t.Fatalf("MemberChanges(alice left) = %+v, %v", mc, err)
	}
	if mc, err := s.MemberChanges(ctx, "@alice:test", room.ev["$a2"].Pos, room.ev["$a2"].Pos+100); err != nil || len(mc) != 0 {
		t.Fatalf("MemberChanges(after alice left) = %+v, %v", mc, err)
	}
	users, err := s.JoinedUsers(ctx, []int64{room.nid, 999})
	if err != nil || !slices.Equal(users, []string{"@bob:test"}) {
		t.Fatalf("JoinedUsers = %v, %v", users, err)
	}
}

func testE2EEClaimConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice")
	mustDevice(t, s, "alice", "A")
	alice := owner("alice")
	const keys, claimers = 30, 40
	var list []store.OneTimeKey
	for i := 0; i < keys; i++ {
		list = append(list, otk("signed_curve25519", fmt.Sprint(i), fmt.Sprintf(`{"key":"%d"}`, i)))
	}
	if _, err := s.UploadKeys(ctx, store.KeyUpload{KeyOwner: alice, DeviceID: "A", OneTimeKeys: list,
		FallbackKeys: []store.OneTimeKey{otk("signed_curve25519", "fb", `{"key":"fb"}`)}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < claimers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.ClaimKeys(ctx, []store.KeyClaim{{KeyOwner: alice, DeviceID: "A", Algorithm: "signed_curve25519"}})
			if err != nil || len(got) != 1 {
				t.Errorf("ClaimKeys = %+v, %v", got, err)
				return
			}
			mu.Lock()
			seen[got[0].KeyID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	for id, n := range seen {
		if id != "fb" && n != 1 {
			t.Errorf("one-time key %s handed out %d times", id, n)
		}
	}
	if len(seen) != keys+1 || seen["fb"] != claimers-keys {
		t.Errorf("claims = %v: want every one-time key once and the fallback key %d times", seen, claimers-keys)
	}
}

func testToDevice(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob")
	mustDevice(t, s, "alice", "A1", "A2")
	mustDevice(t, s, "bob", "B1")
	alice, bob := owner("alice"), owner("bob")
	if pos, err := s.ToDevicePosition(ctx); err != nil || pos != 0 {
		t.Fatalf("ToDevicePosition(empty) = %d, %v", pos, err)
	}
	batch := store.ToDeviceBatch{Sender: "@bob:test", SenderDevice: "B1", Type: "m.test", TxnID: "t1", TS: 1000,
		Messages: []store.ToDeviceMessage{
			{Recipient: alice, DeviceID: "*", Content: []byte(`{"all":true}`)},
			{Recipient: alice, DeviceID: "A2", Content: []byte(`{"one":true}`)},
			{Recipient: bob, DeviceID: "NONE", Content: []byte(`{}`)},
			{Recipient: owner("nobody"), DeviceID: "*", Content: []byte(`{}`)},
		}}
	pos, repeat, err := s.SendToDevice(ctx, batch)
	if err != nil || repeat || pos != 2 {
		t.Fatalf("SendToDevice = %d, %v, %v", pos, repeat, err)
	}
	// The same transaction again stores nothing.
	if pos, repeat, err := s.SendToDevice(ctx, batch); err != nil || !repeat || pos != 0 {
		t.Fatalf("SendToDevice(repeat) = %d, %v, %v", pos, repeat, err)
	}
	// Another event type with the same transaction ID is another request.
	batch2 := batch
	batch2.Type, batch2.Messages = "m.other", []store.ToDeviceMessage{{Recipient: alice, DeviceID: "A1", Content: []byte(`{"n":2}`)}}
	if pos, _, err := s.SendToDevice(ctx, batch2); err != nil || pos != 3 {
		t.Fatalf("SendToDevice(other type) = %d, %v", pos, err)
	}
	a1, err := s.ToDeviceInbox(ctx, alice.UserID, "A1", 0, 3, 10)
	if err != nil || len(a1) != 2 || string(a1[0].Content) != `{"all":true}` || a1[0].Sender != "@bob:test" || a1[0].Type != "m.test" ||
		a1[1].Pos != 3 || a1[1].Type != "m.other" {
		t.Fatalf("inbox A1 = %+v, %v", a1, err)
	}
	// A message to one device wins over the one to "*".
	if a2, err := s.ToDeviceInbox(ctx, alice.UserID, "A2", 0, 3, 10); err != nil || len(a2) != 1 || string(a2[0].Content) != `{"one":true}` {
		t.Fatalf("inbox A2 = %+v, %v", a2, err)
	}
	if got, _ := s.ToDeviceInbox(ctx, alice.UserID, "A1", 0, 3, 1); len(got) != 1 || got[0].Pos != 1 {
		t.Fatalf("inbox A1 limit 1 = %+v", got)
	}
	if got, _ := s.ToDeviceInbox(ctx, alice.UserID, "A1", 1, 2, 10); len(got) != 0 {
		t.Fatalf("inbox A1 (1, 2] = %+v", got)
	}
	if err := s.AckToDevice(ctx, alice.UserID, "A1", 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ToDeviceInbox(ctx, alice.UserID, "A1", 0, 3, 10); len(got) != 1 || got[0].Pos != 3 {
		t.Fatalf("inbox A1 after ack = %+v", got)
	}
	if err := s.AckToDevice(ctx, alice.UserID, "A1", 1); err != nil {
		t.Fatalf("AckToDevice(nothing left) = %v", err)
	}
	if pos, err := s.ToDevicePosition(ctx); err != nil || pos != 3 {
		t.Fatalf("ToDevicePosition = %d, %v", pos, err)
	}
	// Forgotten transaction IDs can be used again.
	if err := s.DeleteToDeviceTxns(ctx, 1001); err != nil {
		t.Fatal(err)
	}
	if _, repeat, err := s.SendToDevice(ctx, batch); err != nil || repeat {
		t.Fatalf("SendToDevice after the transaction IDs were deleted = %v, %v", repeat, err)
	}
}

func testKeyBackups(t *testing.T, s Store) {
	ctx := context.Background()
	const u = "@alice:test"
	if _, err := s.BackupVersion(ctx, u, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BackupVersion(none) = %v", err)
	}
	v1, err := s.CreateBackupVersion(ctx, u, "alg", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.CreateBackupVersion(ctx, u, "alg", []byte(`{"a":2}`))
	if err != nil || v2 <= v1 {
		t.Fatalf("CreateBackupVersion = %d, %v (after %d)", v2, err, v1)
	}
	if b, err := s.BackupVersion(ctx, u, 0); err != nil || b.Version != v2 || string(b.AuthData) != `{"a":2}` || b.Count != 0 || b.ETag != 0 {
		t.Fatalf("BackupVersion(current) = %+v, %v", b, err)
	}
	if _, err := s.BackupVersion(ctx, "@bob:test", v1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BackupVersion(other user's) = %v", err)
	}
	key := func(room, session string, fmi, fc int64, verified bool, data string) store.BackupKey {
		return store.BackupKey{RoomID: room, SessionID: session, FirstMessageIndex: fmi, ForwardedCount: fc, IsVerified: verified, SessionData: []byte(data)}
	}
	if _, err := s.PutBackupKeys(ctx, u, v1, []store.BackupKey{key("!r", "s", 0, 0, false, `{}`)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutBackupKeys(old version) = %v", err)
	}
	b, err := s.PutBackupKeys(ctx, u, v2, []store.BackupKey{key("!r", "s1", 5, 1, false, `{"d":1}`), key("!r", "s2", 0, 0, true, `{"d":2}`), key("!q", "s1", 0, 0, false, `{}`)})
	if err != nil || b.Count != 3 || b.ETag != 1 {
		t.Fatalf("PutBackupKeys = %+v, %v", b, err)
	}
	// The replacement rules: worse keys change nothing (and not the etag).
	b, err = s.PutBackupKeys(ctx, u, v2, []store.BackupKey{key("!r", "s1", 6, 0, false, `{"x":1}`), key("!r", "s1", 5, 2, false, `{"x":2}`), key("!r", "s2", 0, 0, false, `{"x":3}`)})
	if err != nil || b.Count != 3 || b.ETag != 1 {
		t.Fatalf("PutBackupKeys(worse) = %+v, %v", b, err)
	}
	for _, tc := range []struct {
		k    store.BackupKey
		want string
	}{
		{key("!r", "s1", 5, 0, false, `{"lower fc":1}`), `{"lower fc":1}`},
		{key("!r", "s1", 4, 9, false, `{"lower fmi":1}`), `{"lower fmi":1}`},
		{key("!r", "s1", 9, 9, true, `{"verified":1}`), `{"verified":1}`},
		{key("!r", "s1", 0, 0, false, `{"unverified":1}`), `{"verified":1}`},
	} {
		if _, err := s.PutBackupKeys(ctx, u, v2, []store.BackupKey{tc.k}); err != nil {
			t.Fatal(err)
		}
		got, err := s.BackupKeys(ctx, u, v2, "!r", "s1")
		if err != nil || len(got) != 1 || string(got[0].SessionData) != tc.want {
			t.Fatalf("after %+v: %+v, %v; want %s", tc.k, got, err, tc.want)
		}
	}
	if got, err := s.BackupKeys(ctx, u, v2, "", ""); err != nil || len(got) != 3 || got[0].RoomID != "!q" {
		t.Fatalf("BackupKeys(all) = %+v, %v", got, err)
	}
	if got, err := s.BackupKeys(ctx, u, v2, "!r", ""); err != nil || len(got) != 2 {
		t.Fatalf("BackupKeys(room) = %+v, %v", got, err)
	}
	b, err = s.DeleteBackupKeys(ctx, u, v2, "!r", "s2")
	if err != nil || b.Count != 2 || b.ETag != 5 {
		t.Fatalf("DeleteBackupKeys = %+v, %v", b, err)
	}
	if err := s.UpdateBackupVersion(ctx, u, v2, []byte(`{"a":3}`)); err != nil {
		t.Fatal(err)
	}
	// Deleting the current version makes the previous one current;
	// deleting it again is fine; its keys are gone.
	if err := s.DeleteBackupVersion(ctx, u, v2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBackupVersion(ctx, u, v2); err != nil {
		t.Fatalf("DeleteBackupVersion(again) = %v", err)
	}
	if err := s.DeleteBackupVersion(ctx, u, v2+100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteBackupVersion(never existed) = %v", err)
	}
	if b, err := s.BackupVersion(ctx, u, 0); err != nil || b.Version != v1 {
		t.Fatalf("current after delete = %+v, %v", b, err)
	}
	for _, err := range []error{
		func() error { _, err := s.BackupVersion(ctx, u, v2); return err }(),
		func() error { _, err := s.BackupKeys(ctx, u, v2, "", ""); return err }(),
		func() error { _, err := s.DeleteBackupKeys(ctx, u, v2, "", ""); return err }(),
		s.UpdateBackupVersion(ctx, u, v2, []byte(`{}`)),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted version: %v, want ErrNotFound", err)
		}
	}
	if err := s.DeleteBackupVersion(ctx, u, v1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBackupKeys(ctx, u, v1, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PutBackupKeys(no current version) = %v", err)
	}
}
