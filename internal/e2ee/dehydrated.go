package e2ee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// MaxDehydratedDeviceDataBytes bounds a dehydrated device's device_data.
// NOTSPEC: MSC3814 sets none; a pickled Olm account is a few kilobytes.
const MaxDehydratedDeviceDataBytes = 64 << 10

// DehydrationStore is the storage of dehydrated devices.
type DehydrationStore interface {
	store.DehydratedDevices
}

// Dehydration serves dehydrated devices (MSC3814): a device a client
// creates without logging it in, whose private keys it leaves on the
// server encrypted in device_data, so that a later login can rehydrate it
// and read the to-device messages (room keys) sent to it while no device
// of the user was online.
//
// The dehydrated device is a real device: its keys are uploaded with it
// and served by /keys/query and /keys/claim like any device's, and
// to-device messages reach its inbox. It also appears in GET /devices:
// MSC3814 lets clients recognize it by "dehydrated": true in its device
// keys (Element hides it that way), and listing it lets its owner see and
// delete it like any device.
type Dehydration struct {
	svc   *Service
	store DehydrationStore
	// mu serializes replacements, which take several transactions
	// (delete the old device, prune its keys, create the new one, upload
	// its keys).
	mu sync.Mutex
}

// NewDehydration returns the dehydrated-device service over the E2EE
// service svc (whose upload, deletion and to-device paths it reuses) and
// st.
func NewDehydration(svc *Service, st DehydrationStore) *Dehydration {
	return &Dehydration{svc: svc, store: st}
}

// DehydratedDeviceUpload is a PUT /dehydrated_device request.
type DehydratedDeviceUpload struct {
	DeviceID    string
	DeviceData  json.RawMessage
	DisplayName *string
	Keys        KeyUpload
}

// DehydratedDeviceInfo is the answer of GET /dehydrated_device.
type DehydratedDeviceInfo struct {
	DeviceID   string          `json:"device_id"`
	DeviceData json.RawMessage `json:"device_data"`
}

// PutDehydratedDevice creates user's dehydrated device with its keys,
// replacing the previous one, whose device, keys and to-device inbox are
// deleted (through the device-deletion path: DevicesDeleted).
//
// Errors: 400 M_BAD_JSON when device_data is not an object or device_keys
// is missing; 400 M_INVALID_PARAM for an empty or over-long device ID or
// display name, an over-long device_data, a device ID that names another
// device of the user, and every key error of UploadKeys (the keys are
// checked before anything changes).
func (d *Dehydration) PutDehydratedDevice(ctx context.Context, user spec.UserID, up DehydratedDeviceUpload) (string, error) {
	if err := checkID(up.DeviceID, "device_id"); err != nil {
		return "", err
	}
	data, err := parseObject(up.DeviceData, "device_data")
	if err != nil {
		return "", err
	}
	canon, err := data.canonical()
	if err != nil {
		return "", err
	}
	if len(canon) > MaxDehydratedDeviceDataBytes {
		return "", spec.InvalidParam("device_data is larger than %d bytes", MaxDehydratedDeviceDataBytes)
	}
	name := "Dehydrated device"
	if up.DisplayName != nil {
		name = *up.DisplayName
	}
	if len(name) > 1000 {
		return "", spec.InvalidParam("initial_device_display_name is longer than 1000 bytes")
	}
	if len(up.Keys.DeviceKeys) == 0 || string(up.Keys.DeviceKeys) == "null" {
		return "", spec.BadJSON("device_keys is required")
	}
	// Check the keys first, so that a bad upload changes nothing.
	_, pub, err := d.svc.checkDeviceKeys(user, up.DeviceID, up.Keys.DeviceKeys)
	if err != nil {
		return "", err
	}
	for what, keys := range map[string]map[string]json.RawMessage{"one_time_keys": up.Keys.OneTimeKeys, "fallback_keys": up.Keys.FallbackKeys} {
		if _, err := d.svc.checkOneTimeKeys(user, up.DeviceID, pub, keys, what); err != nil {
			return "", err
		}
	}
	localpart := d.svc.owner(user).Localpart
	if localpart == "" {
		return "", spec.Forbidden("only local users have dehydrated devices")
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	// The device ID must not be another device's: check before the
	// current dehydrated device goes.
	cur, err := d.store.DehydratedDevice(ctx, localpart)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("reading dehydrated device: %w", err)
	}
	devs, err := d.svc.store.Devices(ctx, localpart)
	if err != nil {
		return "", fmt.Errorf("listing devices: %w", err)
	}
	for _, dev := range devs {
		if dev.DeviceID == up.DeviceID && dev.DeviceID != cur.DeviceID {
			return "", spec.InvalidParam("device ID %s is in use by another device", up.DeviceID)
		}
	}
	if err := d.deleteCurrent(ctx, user, localpart); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	err = d.store.PutDehydratedDevice(ctx, store.DehydratedDevice{Localpart: localpart, DeviceID: up.DeviceID, DeviceData: canon}, name)
	if errors.Is(err, store.ErrConflict) {
		return "", spec.InvalidParam("device ID %s is in use by another device", up.DeviceID)
	}
	if err != nil {
		return "", fmt.Errorf("storing dehydrated device: %w", err)
	}
	if _, err := d.svc.UploadKeys(ctx, user, up.DeviceID, up.Keys); err != nil {
		// Do not leave a device without keys behind.
		if derr := d.deleteCurrent(context.WithoutCancel(ctx), user, localpart); derr != nil {
			d.svc.log.ErrorContext(ctx, "deleting a dehydrated device whose keys failed", "user", user.String(), "err", derr)
		}
		return "", err
	}
	return up.DeviceID, nil
}

// deleteCurrent deletes user's dehydrated device, with its keys and
// inbox, and returns store.ErrNotFound (wrapped) if there is none.
func (d *Dehydration) deleteCurrent(ctx context.Context, user spec.UserID, localpart string) error {
	if _, err := d.store.DeleteDehydratedDevice(ctx, localpart); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("deleting dehydrated device: %w", err)
	}
	return d.svc.DevicesDeleted(ctx, user)
}

// DehydratedDevice returns user's dehydrated device; 404 M_NOT_FOUND if
// there is none.
func (d *Dehydration) DehydratedDevice(ctx context.Context, user spec.UserID) (DehydratedDeviceInfo, error) {
	dev, err := d.store.DehydratedDevice(ctx, user.Localpart())
	if errors.Is(err, store.ErrNotFound) {
		return DehydratedDeviceInfo{}, spec.NotFound("no dehydrated device")
	}
	if err != nil {
		return DehydratedDeviceInfo{}, fmt.Errorf("reading dehydrated device: %w", err)
	}
	return DehydratedDeviceInfo{DeviceID: dev.DeviceID, DeviceData: dev.DeviceData}, nil
}

// DeleteDehydratedDevice deletes user's dehydrated device with its keys
// and to-device inbox and returns its ID; 404 M_NOT_FOUND if there is
// none.
func (d *Dehydration) DeleteDehydratedDevice(ctx context.Context, user spec.UserID) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dev, err := d.store.DehydratedDevice(ctx, user.Localpart())
	if errors.Is(err, store.ErrNotFound) {
		return "", spec.NotFound("no dehydrated device")
	}
	if err != nil {
		return "", fmt.Errorf("reading dehydrated device: %w", err)
	}
	if err := d.deleteCurrent(ctx, user, user.Localpart()); errors.Is(err, store.ErrNotFound) {
		return "", spec.NotFound("no dehydrated device")
	} else if err != nil {
		return "", err
	}
	return dev.DeviceID, nil
}

// DehydratedEvents is the answer of POST /dehydrated_device/{deviceId}/events.
type DehydratedEvents struct {
	Events    []ToDeviceEvent `json:"events"`
	NextBatch string          `json:"next_batch"`
}

// DehydratedDeviceEvents returns a page of the to-device messages of
// user's dehydrated device deviceID, after nextBatch ("" for the start).
// Asking with a next_batch this returned deletes the messages up to it,
// as a /sync with a later since does. At the end of the inbox the page is
// empty and next_batch stays where it is.
//
// Errors: 404 M_NOT_FOUND if deviceID is not user's dehydrated device
// (another user's device included); 400 M_INVALID_PARAM for a next_batch
// this server did not give.
func (d *Dehydration) DehydratedDeviceEvents(ctx context.Context, user spec.UserID, deviceID, nextBatch string) (DehydratedEvents, error) {
	var since int64
	if nextBatch != "" {
		n, err := strconv.ParseInt(nextBatch, 10, 64)
		if err != nil || n < 0 {
			return DehydratedEvents{}, spec.InvalidParam("next_batch %q is not a token this server gave", truncate(nextBatch, 80))
		}
		since = n
	}
	dev, err := d.store.DehydratedDevice(ctx, user.Localpart())
	if errors.Is(err, store.ErrNotFound) || err == nil && dev.DeviceID != deviceID {
		return DehydratedEvents{}, spec.NotFound("%s is not your dehydrated device", truncate(deviceID, 80))
	}
	if err != nil {
		return DehydratedEvents{}, fmt.Errorf("reading dehydrated device: %w", err)
	}
	upTo, err := d.svc.ToDevicePosition(ctx)
	if err != nil {
		return DehydratedEvents{}, err
	}
	if since > upTo {
		return DehydratedEvents{}, spec.InvalidParam("next_batch %q is not a token this server gave", truncate(nextBatch, 80))
	}
	events, next, err := d.svc.ToDeviceForSync(ctx, user, deviceID, since, upTo)
	if err != nil {
		return DehydratedEvents{}, err
	}
	if events == nil {
		events = []ToDeviceEvent{}
	}
	return DehydratedEvents{Events: events, NextBatch: strconv.FormatInt(next, 10)}, nil
}
