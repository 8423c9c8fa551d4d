package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/push"
	"myelin/internal/spec"
)

// Pushers is what the pusher handlers need of the pushers service.
type Pushers interface {
	Set(ctx context.Context, user spec.UserID, deviceID string, req push.PusherRequest) error
	List(ctx context.Context, user spec.UserID) ([]push.PusherView, error)
}

func (a *API) pusherRoutes() []route {
	return []route{
		{method: "GET", path: "pushers", auth: authUser, r0: true, handler: a.getPushers},
		{method: "POST", path: "pushers/set", auth: authUser, r0: true, handler: a.setPusher},
	}
}

// getPushers serves GET /_matrix/client/v3/pushers
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushers).
func (a *API) getPushers(w http.ResponseWriter, r *http.Request) {
	ps, err := a.svc.Pushers.List(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pushers": ps})
}

// setPusher serves POST /_matrix/client/v3/pushers/set
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3pushersset).
func (a *API) setPusher(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Kind              json.RawMessage `json:"kind"`
		AppID             *string         `json:"app_id"`
		PushKey           *string         `json:"pushkey"`
		AppDisplayName    *string         `json:"app_display_name"`
		DeviceDisplayName *string         `json:"device_display_name"`
		ProfileTag        *string         `json:"profile_tag"`
		Lang              *string         `json:"lang"`
		Data              json.RawMessage `json:"data"`
		Append            *bool           `json:"append"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &body); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	req := push.PusherRequest{AppDisplayName: body.AppDisplayName, DeviceDisplayName: body.DeviceDisplayName, Lang: body.Lang}
	switch {
	case body.Kind == nil:
		writeError(w, r, a.log, spec.MissingParam("kind is required (null deletes the pusher)"))
		return
	case !bytes.Equal(body.Kind, []byte("null")):
		var kind string
		if err := json.Unmarshal(body.Kind, &kind); err != nil {
			writeError(w, r, a.log, spec.BadJSON("kind must be a string or null"))
			return
		}
		req.Kind = &kind
	}
	if body.AppID != nil {
		req.AppID = *body.AppID
	}
	if body.PushKey != nil {
		req.PushKey = *body.PushKey
	}
	if body.ProfileTag != nil {
		req.ProfileTag = *body.ProfileTag
	}
	if body.Append != nil {
		req.Append = *body.Append
	}
	if body.Data != nil && !bytes.Equal(body.Data, []byte("null")) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, body.Data); err != nil || compact.Bytes()[0] != '{' {
			writeError(w, r, a.log, spec.BadJSON("data must be an object"))
			return
		}
		req.Data = compact.Bytes()
	}
	c := caller(r)
	if err := a.svc.Pushers.Set(r.Context(), c.UserID, c.DeviceID, req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
