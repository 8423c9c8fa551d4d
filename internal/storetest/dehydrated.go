package storetest

import (
	"context"
	"errors"
	"testing"

	"myelin/internal/store"
)

// testDehydratedDevices checks an account's dehydrated device: created
// with its device row, one at a time, refused over an existing device ID,
// deleted with its device row, and stale once its device is gone.
func testDehydratedDevices(t *testing.T, s Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, store.Account{Localpart: "alice", CreatedTS: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertDevice(ctx, store.Device{Localpart: "alice", DeviceID: "PHONE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DehydratedDevice(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DehydratedDevice(none) = %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteDehydratedDevice(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteDehydratedDevice(none) = %v, want ErrNotFound", err)
	}
	d := store.DehydratedDevice{Localpart: "alice", DeviceID: "PHONE", DeviceData: []byte(`{"a":1}`)}
	if err := s.PutDehydratedDevice(ctx, d, "x"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutDehydratedDevice(existing device) = %v, want ErrConflict", err)
	}
	d.DeviceID = "DEHY1"
	if err := s.PutDehydratedDevice(ctx, d, "Dehydrated"); err != nil {
		t.Fatal(err)
	}
	got, err := s.DehydratedDevice(ctx, "alice")
	if err != nil || got.DeviceID != "DEHY1" || string(got.DeviceData) != `{"a":1}` {
		t.Fatalf("DehydratedDevice = %+v, %v", got, err)
	}
	dev, err := s.Device(ctx, "alice", "DEHY1")
	if err != nil || dev.DisplayName != "Dehydrated" {
		t.Fatalf("Device(DEHY1) = %+v, %v", dev, err)
	}
	d2 := store.DehydratedDevice{Localpart: "alice", DeviceID: "DEHY2", DeviceData: []byte(`{}`)}
	if err := s.PutDehydratedDevice(ctx, d2, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutDehydratedDevice(second) = %v, want ErrConflict", err)
	}
	if id, err := s.DeleteDehydratedDevice(ctx, "alice"); err != nil || id != "DEHY1" {
		t.Fatalf("DeleteDehydratedDevice = %q, %v", id, err)
	}
	if _, err := s.Device(ctx, "alice", "DEHY1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Device(DEHY1) after delete = %v, want ErrNotFound", err)
	}
	if err := s.PutDehydratedDevice(ctx, d2, ""); err != nil {
		t.Fatal(err)
	}
	// Deleting the device another way leaves a stale record: not found,
	// and replaceable.
	if err := s.DeleteDevices(ctx, "alice", []string{"DEHY2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DehydratedDevice(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DehydratedDevice(stale) = %v, want ErrNotFound", err)
	}
	d.DeviceID = "DEHY3"
	if err := s.PutDehydratedDevice(ctx, d, ""); err != nil {
		t.Fatalf("PutDehydratedDevice over a stale record: %v", err)
	}
	if got, err := s.DehydratedDevice(ctx, "alice"); err != nil || got.DeviceID != "DEHY3" {
		t.Fatalf("DehydratedDevice = %+v, %v", got, err)
	}
	if devs, err := s.Devices(ctx, "alice"); err != nil || len(devs) != 2 {
		t.Fatalf("Devices = %+v, %v; want PHONE and DEHY3", devs, err)
	}
}
