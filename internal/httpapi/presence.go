package httpapi

import (
	"context"
	"net/http"

	"myelin/internal/presence"
	"myelin/internal/spec"
)

// Presence is what the handlers need of the presence service.
type Presence interface {
	Set(ctx context.Context, user spec.UserID, state string, statusMsg *string) error
	Get(ctx context.Context, userID string) (presence.Status, error)
}

func (a *API) presenceRoutes() []route {
	return []route{
		{method: "PUT", path: "presence/{userId}/status", auth: authUser, r0: true, handler: a.setPresence},
		{method: "GET", path: "presence/{userId}/status", auth: authUser, r0: true, handler: a.getPresence},
	}
}

// setPresence serves PUT /_matrix/client/v3/presence/{userId}/status
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3presenceuseridstatus).
func (a *API) setPresence(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req struct {
		Presence  *string `json:"presence"`
		StatusMsg *string `json:"status_msg"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Presence == nil {
		writeError(w, r, a.log, spec.MissingParam("presence is required"))
		return
	}
	if err := a.svc.Presence.Set(r.Context(), user, *req.Presence, req.StatusMsg); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// getPresence serves GET /_matrix/client/v3/presence/{userId}/status
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3presenceuseridstatus).
func (a *API) getPresence(w http.ResponseWriter, r *http.Request) {
	st, err := a.svc.Presence.Get(r.Context(), r.PathValue("userId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
