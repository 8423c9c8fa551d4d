package httpapi

import (
	"net/http"
	"strconv"

	"myelin/internal/spec"
	syncapi "myelin/internal/sync"
)

func (a *API) messageRoutes() []route {
	return []route{
		{method: "GET", path: "rooms/{roomId}/messages", auth: authUser, r0: true, handler: a.messages},
		{method: "GET", path: "rooms/{roomId}/context/{eventId}", auth: authUser, r0: true, handler: a.eventContext},
		{method: "GET", path: "rooms/{roomId}/timestamp_to_event", auth: authUser, v1: true, handler: a.timestampToEvent},
	}
}

// messages serves GET /_matrix/client/v3/rooms/{roomId}/messages
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidmessages).
func (a *API) messages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", -1)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp, err := a.svc.Sync.Messages(r.Context(), syncapi.MessagesRequest{
		Viewer: viewer(r), RoomID: r.PathValue("roomId"), From: q.Get("from"), To: q.Get("to"),
		Dir: q.Get("dir"), Limit: int(min(limit, syncapi.MaxMessagesLimit)), Filter: q.Get("filter"),
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// eventContext serves GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidcontexteventid).
func (a *API) eventContext(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", -1)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp, err := a.svc.Sync.Context(r.Context(), viewer(r), r.PathValue("roomId"), r.PathValue("eventId"),
		int(min(limit, syncapi.MaxMessagesLimit)), q.Get("filter"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// timestampToEvent serves GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event).
func (a *API) timestampToEvent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tsParam := q.Get("ts")
	if tsParam == "" {
		writeError(w, r, a.log, spec.MissingParam("ts is required"))
		return
	}
	ts, err := strconv.ParseInt(tsParam, 10, 64)
	if err != nil {
		writeError(w, r, a.log, spec.InvalidParam("ts must be an integer"))
		return
	}
	ev, err := a.svc.Sync.TimestampToEvent(r.Context(), caller(r).UserID.String(), r.PathValue("roomId"), ts, q.Get("dir"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}
