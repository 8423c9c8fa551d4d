package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"myelin/internal/room"
	"myelin/internal/spec"
	syncapi "myelin/internal/sync"
)

// Sync is what the handlers need of the sync service.
type Sync interface {
	Sync(ctx context.Context, req syncapi.Request) (*syncapi.Response, error)
	Messages(ctx context.Context, req syncapi.MessagesRequest) (*syncapi.MessagesResponse, error)
	Context(ctx context.Context, v room.Viewer, roomID, eventID string, limit int, filter string) (*syncapi.ContextResponse, error)
	TimestampToEvent(ctx context.Context, user, roomID string, ts int64, dir string) (syncapi.TimestampEvent, error)
}

func (a *API) syncRoutes() []route {
	return []route{
		{method: "GET", path: "sync", auth: authUser, r0: true, handler: a.sync},
	}
}

// sync serves GET /_matrix/client/v3/sync
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync).
func (a *API) sync(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := caller(r)
	req := syncapi.Request{
		User: c.UserID, Device: c.DeviceID, Filter: q.Get("filter"), Since: q.Get("since"),
		SetPresence: q.Get("set_presence"),
	}
	var err error
	if req.FullState, err = boolParam(q.Get("full_state"), "full_state"); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	stable, err := boolParam(q.Get("use_state_after"), "use_state_after")
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	unstable, err := boolParam(q.Get("org.matrix.msc4222.use_state_after"), "use_state_after")
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	req.UseStateAfter = stable || unstable
	if t := q.Get("timeout"); t != "" {
		ms, err := strconv.ParseInt(t, 10, 64)
		if err != nil || ms < 0 {
			writeError(w, r, a.log, spec.InvalidParam("timeout must be a non-negative integer"))
			return
		}
		req.Timeout = time.Duration(min(ms, int64(syncapi.MaxTimeout/time.Millisecond))) * time.Millisecond
	}
	resp, err := a.svc.Sync.Sync(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// boolParam parses a boolean query parameter ("" is false): 400
// M_INVALID_PARAM unless true or false.
func boolParam(v, name string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, spec.InvalidParam("%s must be true or false", name)
}

// intParam parses a non-negative integer query parameter; def when absent.
// 400 M_INVALID_PARAM otherwise.
func intParam(v, name string, def int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, spec.InvalidParam("%s must be a non-negative integer", name)
	}
	return n, nil
}
