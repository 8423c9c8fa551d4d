package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"myelin/internal/store"
)

func testAccounts(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Account(absent) = %v, want ErrNotFound", err)
	}
	a := store.Account{Localpart: "alice", PasswordHash: "h1", Admin: true, CreatedTS: 1234}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAccount(twice) = %v, want ErrConflict", err)
	}
	got, err := s.Account(ctx, "alice")
	if err != nil || got != a {
		t.Fatalf("Account = %+v, %v; want %+v", got, err, a)
	}
	if err := s.SetPasswordHash(ctx, "alice", "h2"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPasswordHash(absent) = %v, want ErrNotFound", err)
	}

	for _, id := range []string{"DEV2", "DEV1"} {
		if err := s.UpsertDevice(ctx, store.Device{Localpart: "alice", DeviceID: id, DisplayName: "phone " + id}); err != nil {
			t.Fatal(err)
		}
	}
	// Upserting again keeps the display name.
	if err := s.UpsertDevice(ctx, store.Device{Localpart: "alice", DeviceID: "DEV1", LastSeenTS: 99}); err != nil {
		t.Fatal(err)
	}
	devs, err := s.Devices(ctx, "alice")
	if err != nil || len(devs) != 2 || devs[0].DeviceID != "DEV1" || devs[0].DisplayName != "phone DEV1" || devs[0].LastSeenTS != 99 {
		t.Fatalf("Devices = %+v, %v", devs, err)
	}
	if err := s.SetDeviceDisplayName(ctx, "alice", "DEV2", "laptop"); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Device(ctx, "alice", "DEV2"); err != nil || d.DisplayName != "laptop" {
		t.Fatalf("Device = %+v, %v", d, err)
	}
	if _, err := s.Device(ctx, "alice", "NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Device(absent) = %v", err)
	}
	if err := s.SetDeviceDisplayName(ctx, "alice", "NOPE", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetDeviceDisplayName(absent) = %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t2"), Localpart: "alice", DeviceID: "DEV2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevices(ctx, "alice", []string{"DEV2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, []byte("t2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of deleted device survived: %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t1"), Localpart: "alice", DeviceID: "DEV1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeactivateAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	got, err = s.Account(ctx, "alice")
	if err != nil || !got.Deactivated || got.PasswordHash != "" {
		t.Fatalf("after deactivation: %+v, %v", got, err)
	}
	if devs, _ := s.Devices(ctx, "alice"); len(devs) != 0 {
		t.Fatalf("devices survived deactivation: %+v", devs)
	}
	if _, err := s.SessionByToken(ctx, []byte("t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session survived deactivation: %v", err)
	}
	if err := s.DeactivateAccount(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeactivateAccount(absent) = %v", err)
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAccount(ctx, store.Account{Localpart: "bob", PasswordHash: "h"}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "bob", DeviceID: "A"}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "bob", DeviceID: "B"}))
	sa := store.Session{TokenHash: []byte("ta"), Localpart: "bob", DeviceID: "A", ExpiresTS: 500, RefreshTokenHash: []byte("ra")}
	must(s.CreateSession(ctx, sa))
	must(s.CreateSession(ctx, store.Session{TokenHash: []byte("tb"), Localpart: "bob", DeviceID: "B"}))
	if err := s.CreateSession(ctx, sa); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSession(twice) = %v", err)
	}
	got, err := s.SessionByToken(ctx, []byte("ta"))
	if err != nil || got.DeviceID != "A" || got.ExpiresTS != 500 || !bytes.Equal(got.RefreshTokenHash, []byte("ra")) {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	if got, err := s.SessionByToken(ctx, []byte("tb")); err != nil || got.RefreshTokenHash != nil {
		t.Fatalf("SessionByToken(no refresh) = %+v, %v", got, err)
	}
	if got, err := s.SessionByRefreshToken(ctx, []byte("ra")); err != nil || !bytes.Equal(got.TokenHash, []byte("ta")) {
		t.Fatalf("SessionByRefreshToken = %+v, %v", got, err)
	}
	// Refresh: the old session goes, the new one comes, atomically; a second
	// use of the same old token finds nothing.
	next := store.Session{TokenHash: []byte("ta2"), Localpart: "bob", DeviceID: "A", RefreshTokenHash: []byte("ra2")}
	must(s.ReplaceSession(ctx, []byte("ta"), next))
	if err := s.ReplaceSession(ctx, []byte("ta"), next); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReplaceSession(used) = %v", err)
	}
	if _, err := s.SessionByRefreshToken(ctx, []byte("ra")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old refresh token still works: %v", err)
	}
	must(s.DeleteDeviceSessions(ctx, "bob", "A"))
	if _, err := s.SessionByToken(ctx, []byte("tb")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other device's session survived: %v", err)
	}
	if _, err := s.SessionByToken(ctx, []byte("ta2")); err != nil {
		t.Fatalf("kept device's session deleted: %v", err)
	}
	must(s.DeleteSessions(ctx, [][]byte{[]byte("ta2")}))
	if _, err := s.SessionByToken(ctx, []byte("ta2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session found: %v", err)
	}
}
