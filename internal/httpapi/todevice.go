package httpapi

import (
	"encoding/json"
	"net/http"

	"myelin/internal/spec"
)

func (a *API) toDeviceRoutes() []route {
	return []route{
		{method: "PUT", path: "sendToDevice/{eventType}/{txnId}", auth: authUser, r0: true, handler: a.sendToDevice},
	}
}

// sendToDevice serves PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid).
func (a *API) sendToDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages map[string]map[string]json.RawMessage `json:"messages"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Messages == nil {
		writeError(w, r, a.log, spec.BadJSON("messages is required"))
		return
	}
	c := caller(r)
	if err := a.svc.E2EE.SendToDevice(r.Context(), c.UserID, c.DeviceID, r.PathValue("eventType"), r.PathValue("txnId"), req.Messages); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
