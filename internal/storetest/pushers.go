package storetest

import (
	"context"
	"fmt"
	"testing"

	"myelin/internal/store"
)

// testPushers checks pusher storage: upsert by user, app ID and pushkey,
// other users' pushers replaced unless kept, deletion, and the deletion
// of a device's pushers with the device.
func testPushers(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob")
	for _, d := range []store.Device{{Localpart: "alice", DeviceID: "A1"}, {Localpart: "alice", DeviceID: "A2"},
		{Localpart: "alice", DeviceID: "A3"}, {Localpart: "bob", DeviceID: "B1"}} {
		if err := s.UpsertDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	pusher := func(lp, dev, app, key string, ts int64) store.Pusher {
		return store.Pusher{Localpart: lp, DeviceID: dev, AppID: app, PushKey: key, Kind: "http", AppDisplayName: "App",
			DeviceDisplayName: "Phone", Lang: "en", Data: []byte(`{"url":"https://push.example/_matrix/push/v1/notify"}`), CreatedTS: ts}
	}
	set := func(p store.Pusher, keep bool) {
		t.Helper()
		if err := s.SetPusher(ctx, p, keep); err != nil {
			t.Fatal(err)
		}
	}
	list := func(lp string) string {
		t.Helper()
		ps, err := s.Pushers(ctx, lp)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.DeviceID+"/"+p.AppID+"/"+p.PushKey)
		}
		return fmt.Sprint(out)
	}
	set(pusher("alice", "A1", "app", "k1", 1), false)
	set(pusher("alice", "A2", "app", "k2", 2), false)
	set(pusher("alice", "A3", "other", "k1", 3), false)
	if got := list("alice"); got != "[A1/app/k1 A2/app/k2 A3/other/k1]" {
		t.Fatalf("pushers = %s", got)
	}
	// An update keeps the creation time and takes the new fields.
	up := pusher("alice", "A2", "app", "k1", 9)
	up.Lang, up.ProfileTag, up.Data = "fr", "tag", []byte(`{"url":"https://x/_matrix/push/v1/notify","format":"event_id_only"}`)
	set(up, false)
	ps, _ := s.Pushers(ctx, "alice")
	if len(ps) != 3 || ps[0].DeviceID != "A2" || ps[0].CreatedTS != 1 || ps[0].Lang != "fr" || ps[0].ProfileTag != "tag" ||
		string(ps[0].Data) != `{"url":"https://x/_matrix/push/v1/notify","format":"event_id_only"}` {
		t.Fatalf("updated pusher = %+v", ps)
	}
	// Bob takes app/k1 with keepOthers: alice keeps hers; without, she loses it.
	set(pusher("bob", "B1", "app", "k1", 4), true)
	if got := list("alice"); got != "[A2/app/k1 A2/app/k2 A3/other/k1]" {
		t.Fatalf("alice's pushers after bob appended = %s", got)
	}
	set(pusher("bob", "B1", "app", "k1", 5), false)
	if got := list("alice"); got != "[A2/app/k2 A3/other/k1]" {
		t.Fatalf("alice's pushers after bob took the key = %s", got)
	}
	if err := s.DeletePusher(ctx, "alice", "other", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePusher(ctx, "alice", "other", "k1"); err != nil {
		t.Fatalf("deleting an absent pusher: %v", err)
	}
	if got := list("alice"); got != "[A2/app/k2]" {
		t.Fatalf("pushers after delete = %s", got)
	}
	// Devices take their pushers with them.
	set(pusher("alice", "A1", "app", "k3", 6), false)
	set(pusher("alice", "A3", "app", "k4", 7), false)
	if err := s.DeleteDevices(ctx, "alice", []string{"A2"}); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); got != "[A1/app/k3 A3/app/k4]" {
		t.Fatalf("pushers after DeleteDevices(A2) = %s", got)
	}
	if err := s.ChangePassword(ctx, "alice", "h2", true, "A3", []byte("keep")); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); got != "[A3/app/k4]" {
		t.Fatalf("pushers after a password change keeping A3 = %s", got)
	}
	if err := s.DeactivateAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); got != "[]" {
		t.Fatalf("pushers after deactivation = %s", got)
	}
	if got := list("bob"); got != "[B1/app/k1]" {
		t.Fatalf("bob's pushers = %s", got)
	}
}
