package push

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Pusher limits and values from the specification (POST /pushers/set).
const (
	MaxAppIDRunes     = 64
	MaxPushKeyBytes   = 512
	PusherKindHTTP    = "http"
	PusherKindEmail   = "email"
	NotifyPath        = "/_matrix/push/v1/notify"
	FormatEventIDOnly = "event_id_only"
)

// Pushers manages users' pushers: stored, listed and deleted with the
// device that set them. Sending notifications to push gateways is not part
// of it.
type Pushers struct {
	store store.Pushers
	now   func() time.Time
}

// NewPushers returns the pushers service over st.
func NewPushers(st store.Pushers) *Pushers { return &Pushers{store: st, now: time.Now} }

// PusherRequest is the body of POST /pushers/set.
type PusherRequest struct {
	// Kind is the pusher kind; nil when the client sent null, which
	// deletes the pusher.
	Kind    *string
	AppID   string
	PushKey string
	// AppDisplayName, DeviceDisplayName, Lang and Data are required unless
	// Kind is nil.
	AppDisplayName, DeviceDisplayName, Lang *string
	ProfileTag                              string
	Data                                    json.RawMessage
	// Append keeps the pushers of other users with the same app ID and
	// pushkey.
	Append bool
}

// PusherView is a pusher as GET /pushers lists it.
type PusherView struct {
	PushKey           string          `json:"pushkey"`
	Kind              string          `json:"kind"`
	AppID             string          `json:"app_id"`
	AppDisplayName    string          `json:"app_display_name"`
	DeviceDisplayName string          `json:"device_display_name"`
	ProfileTag        string          `json:"profile_tag,omitempty"`
	Lang              string          `json:"lang"`
	Data              json.RawMessage `json:"data"`
}

// Set creates, updates or (kind null) deletes the user's pusher with the
// request's app ID and pushkey; deviceID is the caller's device, which
// owns the pusher. Unless req.Append, the pushers of other users with the
// same app ID and pushkey are deleted. Errors: 400 M_MISSING_PARAM for an
// absent required field, 400 M_INVALID_PARAM for an unknown or unsupported
// kind (email: this server sends no email), an over-long app ID or pushkey,
// or http data without an https URL whose path is /_matrix/push/v1/notify,
// or with a format other than event_id_only.
func (p *Pushers) Set(ctx context.Context, user spec.UserID, deviceID string, req PusherRequest) error {
	switch {
	case req.AppID == "":
		return spec.MissingParam("app_id is required")
	case req.PushKey == "":
		return spec.MissingParam("pushkey is required")
	case utf8.RuneCountInString(req.AppID) > MaxAppIDRunes:
		return spec.InvalidParam("app_id is longer than %d characters", MaxAppIDRunes)
	case len(req.PushKey) > MaxPushKeyBytes:
		return spec.InvalidParam("pushkey is longer than %d bytes", MaxPushKeyBytes)
	}
	if req.Kind == nil {
		if err := p.store.DeletePusher(ctx, user.Localpart(), req.AppID, req.PushKey); err != nil {
			return fmt.Errorf("push: deleting pusher: %w", err)
		}
		return nil
	}
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"app_display_name", req.AppDisplayName}, {"device_display_name", req.DeviceDisplayName}, {"lang", req.Lang}} {
		if f.v == nil {
			missing = append(missing, f.name)
		}
	}
	if req.Data == nil {
		missing = append(missing, "data")
	}
	if len(missing) > 0 {
		return spec.MissingParam("missing parameters: %v", missing)
	}
	switch *req.Kind {
	case PusherKindHTTP:
		if err := checkHTTPData(req.Data); err != nil {
			return err
		}
	case PusherKindEmail:
		return spec.InvalidParam("email pushers are not supported: this server sends no email")
	default:
		return spec.InvalidParam("unknown pusher kind %q", *req.Kind)
	}
	err := p.store.SetPusher(ctx, store.Pusher{
		Localpart: user.Localpart(), DeviceID: deviceID, AppID: req.AppID, PushKey: req.PushKey, Kind: *req.Kind,
		AppDisplayName: *req.AppDisplayName, DeviceDisplayName: *req.DeviceDisplayName, ProfileTag: req.ProfileTag,
		Lang: *req.Lang, Data: req.Data, CreatedTS: p.now().UnixMilli(),
	}, req.Append)
	if err != nil {
		return fmt.Errorf("push: storing pusher: %w", err)
	}
	return nil
}

// checkHTTPData checks the data of an http pusher: an object whose url is
// an HTTPS URL with the path /_matrix/push/v1/notify, and whose format, if
// any, is event_id_only.
func checkHTTPData(data json.RawMessage) error {
	var d struct {
		URL    *string `json:"url"`
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return spec.BadJSON("data must be an object whose url and format are strings")
	}
	if d.URL == nil {
		return spec.MissingParam("data.url is required for an http pusher")
	}
	u, err := url.Parse(*d.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != NotifyPath {
		return spec.InvalidParam("data.url must be an https URL with the path %s", NotifyPath)
	}
	if d.Format != nil && *d.Format != FormatEventIDOnly {
		return spec.InvalidParam("data.format must be %s", FormatEventIDOnly)
	}
	return nil
}

// List returns the user's pushers, oldest first.
func (p *Pushers) List(ctx context.Context, user spec.UserID) ([]PusherView, error) {
	stored, err := p.store.Pushers(ctx, user.Localpart())
	if err != nil {
		return nil, fmt.Errorf("push: reading pushers: %w", err)
	}
	out := make([]PusherView, len(stored))
	for i, s := range stored {
		out[i] = PusherView{PushKey: s.PushKey, Kind: s.Kind, AppID: s.AppID, AppDisplayName: s.AppDisplayName,
			DeviceDisplayName: s.DeviceDisplayName, ProfileTag: s.ProfileTag, Lang: s.Lang, Data: s.Data}
	}
	return out, nil
}
