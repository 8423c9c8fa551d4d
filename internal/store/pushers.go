package store

import (
	"context"
	"encoding/json"
)

// Pusher is a user's pusher: where the homeserver sends push
// notifications for them.
type Pusher struct {
	Localpart string
	// DeviceID is the device whose access token set the pusher; the
	// pusher goes when the device goes.
	DeviceID string
	AppID    string
	PushKey  string
	// Kind is the pusher kind (http).
	Kind              string
	AppDisplayName    string
	DeviceDisplayName string
	// ProfileTag is "" when unset.
	ProfileTag string
	Lang       string
	// Data is the PusherData object, as JSON.
	Data      json.RawMessage
	CreatedTS int64
}

// Pushers stores pushers. Deleting devices (Accounts.DeleteDevices,
// Accounts.DeactivateAccount, AccountAdmin.ChangePassword with
// logoutOthers) deletes their pushers in the same transaction.
//
// Error contract: only storage failures.
type Pushers interface {
	// SetPusher stores p, replacing the user's pusher with the same app ID
	// and pushkey (its creation time stays). Unless keepOthers, it deletes
	// the pushers of other users with the same app ID and pushkey, in the
	// same transaction.
	SetPusher(ctx context.Context, p Pusher, keepOthers bool) error
	// DeletePusher deletes the user's pusher with the app ID and pushkey;
	// deleting an absent pusher is not an error.
	DeletePusher(ctx context.Context, localpart, appID, pushKey string) error
	// Pushers returns the user's pushers, oldest first.
	Pushers(ctx context.Context, localpart string) ([]Pusher, error)
}
