package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/e2ee"
	"myelin/internal/spec"
)

// Dehydration serves dehydrated devices (MSC3814). Its routes exist only
// when the service is configured (encryption.dehydrated_devices); without
// them the paths answer 404 M_UNRECOGNIZED, which tells clients the server
// does not support dehydration.
type Dehydration interface {
	PutDehydratedDevice(ctx context.Context, user spec.UserID, up e2ee.DehydratedDeviceUpload) (string, error)
	DehydratedDevice(ctx context.Context, user spec.UserID) (e2ee.DehydratedDeviceInfo, error)
	DeleteDehydratedDevice(ctx context.Context, user spec.UserID) (string, error)
	DehydratedDeviceEvents(ctx context.Context, user spec.UserID, deviceID, nextBatch string) (e2ee.DehydratedEvents, error)
}

// dehydrationPrefix is MSC3814's unstable path prefix.
const dehydrationPrefix = "/_matrix/client/unstable/org.matrix.msc3814.v1/"

func (a *API) dehydrationRoutes() []route {
	if a.svc.Dehydration == nil {
		return nil
	}
	return []route{
		{method: "PUT", path: dehydrationPrefix + "dehydrated_device", auth: authUser, handler: a.putDehydratedDevice},
		{method: "GET", path: dehydrationPrefix + "dehydrated_device", auth: authUser, handler: a.getDehydratedDevice},
		{method: "DELETE", path: dehydrationPrefix + "dehydrated_device", auth: authUser, handler: a.deleteDehydratedDevice},
		{method: "POST", path: dehydrationPrefix + "dehydrated_device/{deviceId}/events", auth: authUser, handler: a.dehydratedDeviceEvents},
	}
}

// putDehydratedDevice serves PUT /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
// (https://github.com/matrix-org/matrix-spec-proposals/pull/3814): the
// device, its opaque device_data and its keys, as /keys/upload takes them.
func (a *API) putDehydratedDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DeviceID     string                     `json:"device_id"`
		DeviceData   json.RawMessage            `json:"device_data"`
		DisplayName  *string                    `json:"initial_device_display_name"`
		DeviceKeys   json.RawMessage            `json:"device_keys"`
		OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys"`
		FallbackKeys map[string]json.RawMessage `json:"fallback_keys"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.svc.Dehydration.PutDehydratedDevice(r.Context(), caller(r).UserID, e2ee.DehydratedDeviceUpload{
		DeviceID: req.DeviceID, DeviceData: req.DeviceData, DisplayName: req.DisplayName,
		Keys: e2ee.KeyUpload{DeviceKeys: req.DeviceKeys, OneTimeKeys: req.OneTimeKeys, FallbackKeys: req.FallbackKeys},
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"device_id": id})
}

// getDehydratedDevice serves GET /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
// (MSC3814): 404 M_NOT_FOUND when the user has none.
func (a *API) getDehydratedDevice(w http.ResponseWriter, r *http.Request) {
	info, err := a.svc.Dehydration.DehydratedDevice(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// deleteDehydratedDevice serves DELETE /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device
// (MSC3814).
func (a *API) deleteDehydratedDevice(w http.ResponseWriter, r *http.Request) {
	id, err := a.svc.Dehydration.DeleteDehydratedDevice(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"device_id": id})
}

// dehydratedDeviceEvents serves POST /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device/{deviceId}/events
// (MSC3814): a page of the dehydrated device's to-device messages.
func (a *API) dehydratedDeviceEvents(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NextBatch *string `json:"next_batch"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	next := ""
	if req.NextBatch != nil {
		next = *req.NextBatch
	}
	res, err := a.svc.Dehydration.DehydratedDeviceEvents(r.Context(), caller(r).UserID, r.PathValue("deviceId"), next)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
