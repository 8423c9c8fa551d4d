package sync

import (
	"context"

	"myelin/internal/e2ee"
	"myelin/internal/spec"
)

// The to-device and device-lists positions ride in a sync token as extra
// parts (Token.Ephemeral), under these keys; a token without them counts
// as position 0 (everything pending is delivered, every change reported).
const (
	tokenToDevice    = "td"
	tokenDeviceLists = "dl"
)

// Stream names of the end-to-end encryption streams, as in package e2ee.
const (
	streamToDevice    = e2ee.StreamToDevice
	streamDeviceLists = e2ee.StreamDeviceLists
)

// E2EE is what sync needs of the end-to-end encryption service (package
// e2ee's Service).
type E2EE interface {
	ToDeviceForSync(ctx context.Context, user spec.UserID, deviceID string, since, upTo int64) ([]e2ee.ToDeviceEvent, int64, error)
	DeviceLists(ctx context.Context, user spec.UserID, r e2ee.Range) (changed, left []string, err error)
	KeyCounts(ctx context.Context, user spec.UserID, deviceID string) (map[string]int64, []string, error)
}

// E2EESection holds the end-to-end encryption parts of a /sync response
// (client-server API, "Extensions to /sync" of send-to-device messaging and
// of end-to-end encryption).
type E2EESection struct {
	ToDevice *ToDevice `json:"to_device,omitempty"`
	// DeviceLists is present in incremental syncs only.
	DeviceLists            *DeviceLists     `json:"device_lists,omitempty"`
	DeviceOneTimeKeysCount map[string]int64 `json:"device_one_time_keys_count,omitempty"`
	// DeviceUnusedFallbackKeyTypes is required by the spec: always present.
	DeviceUnusedFallbackKeyTypes []string `json:"device_unused_fallback_key_types"`
}

// ToDevice is the to_device section.
type ToDevice struct {
	Events []e2ee.ToDeviceEvent `json:"events"`
}

// DeviceLists is the device_lists section.
type DeviceLists struct {
	Changed []string `json:"changed"`
	Left    []string `json:"left"`
}

// e2eeEmpty reports whether the section has nothing that should end a
// long-poll: key counts alone do not.
func (e *E2EESection) e2eeEmpty() bool {
	return (e.ToDevice == nil || len(e.ToDevice.Events) == 0) &&
		(e.DeviceLists == nil || len(e.DeviceLists.Changed)+len(e.DeviceLists.Left) == 0)
}

// e2eePositions copies the end-to-end encryption streams' positions from
// the stream positions into t.
func e2eePositions(pos map[string]int64, t *Token) {
	if t.Ephemeral == nil {
		t.Ephemeral = map[string]int64{}
	}
	t.Ephemeral[tokenToDevice] = pos[streamToDevice]
	t.Ephemeral[tokenDeviceLists] = pos[streamDeviceLists]
}

// e2eeWake returns the notifier channels of the end-to-end encryption
// streams.
func (s *Service) e2eeWake(seen Token) []<-chan struct{} {
	if s.d.E2EE == nil {
		return nil
	}
	return []<-chan struct{}{
		s.d.Waiter.Wait(streamToDevice, seen.Ephemeral[tokenToDevice]),
		s.d.Waiter.Wait(streamDeviceLists, seen.Ephemeral[tokenDeviceLists]),
	}
}

// e2ee fills the end-to-end encryption parts of resp, whose next_batch
// compute has set: the device's to-device messages (acknowledging those
// at or below the since token's position), the device-list changes since
// the since token, and the device's key counts. When more to-device
// messages wait than one response carries, next_batch's to-device
// position stops at the last one delivered.
func (r *syncRequest) e2ee(ctx context.Context, resp *Response) error {
	svc := r.s.d.E2EE
	if svc == nil {
		return nil
	}
	next, err := ParseToken(resp.NextBatch)
	if err != nil {
		return err
	}
	var since Token
	if r.since != nil {
		since = *r.since
	}
	// Positions beyond the current ones (a forged token, or one from
	// before a database reset) count as the current ones.
	sinceTD := min(since.Ephemeral[tokenToDevice], next.Ephemeral[tokenToDevice])
	sinceDL := min(since.Ephemeral[tokenDeviceLists], next.Ephemeral[tokenDeviceLists])

	evs, nextTD, err := svc.ToDeviceForSync(ctx, r.user, r.device, sinceTD, next.Ephemeral[tokenToDevice])
	if err != nil {
		return err
	}
	if len(evs) > 0 {
		resp.ToDevice = &ToDevice{Events: evs}
	}
	if r.since != nil {
		changed, left, err := svc.DeviceLists(ctx, r.user, e2ee.Range{
			FromEvents: min(since.Events, next.Events), ToEvents: next.Events,
			FromDeviceLists: sinceDL, ToDeviceLists: next.Ephemeral[tokenDeviceLists],
		})
		if err != nil {
			return err
		}
		if len(changed)+len(left) > 0 {
			resp.DeviceLists = &DeviceLists{Changed: nonNil(changed), Left: nonNil(left)}
		}
	}
	counts, unused, err := svc.KeyCounts(ctx, r.user, r.device)
	if err != nil {
		return err
	}
	if len(counts) > 0 {
		resp.DeviceOneTimeKeysCount = counts
	}
	resp.DeviceUnusedFallbackKeyTypes = nonNil(unused)
	if nextTD != next.Ephemeral[tokenToDevice] {
		next.Ephemeral[tokenToDevice] = nextTD
		resp.NextBatch = next.String()
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// KeyChangesRange parses the from and to sync tokens of GET /keys/changes
// into the range of the streams the device-list changes are computed
// from. Errors: 400 M_INVALID_PARAM for a token that is not a sync token.
func KeyChangesRange(from, to string) (e2ee.Range, error) {
	f, err := ParseToken(from)
	if err != nil {
		return e2ee.Range{}, err
	}
	t, err := ParseToken(to)
	if err != nil {
		return e2ee.Range{}, err
	}
	return e2ee.Range{
		FromEvents: f.Events, ToEvents: max(f.Events, t.Events),
		FromDeviceLists: f.Ephemeral[tokenDeviceLists], ToDeviceLists: max(f.Ephemeral[tokenDeviceLists], t.Ephemeral[tokenDeviceLists]),
	}, nil
}
