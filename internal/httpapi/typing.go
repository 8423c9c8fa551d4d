package httpapi

import (
	"context"
	"net/http"
	"time"

	"myelin/internal/spec"
	"myelin/internal/typing"
)

// Typing is the typing service.
type Typing interface {
	SetTyping(ctx context.Context, user spec.UserID, roomID string, typing bool, timeout time.Duration) error
}

func (a *API) typingRoutes() []route {
	return []route{
		{method: "PUT", path: "rooms/{roomId}/typing/{userId}", auth: authUser, r0: true, handler: a.setTyping},
	}
}

// setTyping serves PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidtypinguserid).
// Users may only set their own typing state (403 M_FORBIDDEN).
func (a *API) setTyping(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, spec.Forbidden("you can only set your own typing state"))
		return
	}
	var req struct {
		Typing  *bool  `json:"typing"`
		Timeout *int64 `json:"timeout"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Typing == nil {
		writeError(w, r, a.log, spec.MissingParam("typing is required"))
		return
	}
	var timeout time.Duration
	if req.Timeout != nil {
		if *req.Timeout < 0 {
			writeError(w, r, a.log, spec.InvalidParam("timeout must not be negative"))
			return
		}
		// Capped before the conversion so that it cannot overflow.
		timeout = time.Duration(min(*req.Timeout, typing.MaxTimeout.Milliseconds())) * time.Millisecond
	}
	if err := a.svc.Typing.SetTyping(r.Context(), user, r.PathValue("roomId"), *req.Typing, timeout); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
