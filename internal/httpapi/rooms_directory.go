package httpapi

import (
	"net/http"

	"myelin/internal/spec"
)

func (a *API) roomAliasRoutes() []route {
	return []route{
		{method: "GET", path: "directory/room/{roomAlias}", auth: authOptional, r0: true, handler: a.resolveAlias},
		{method: "PUT", path: "directory/room/{roomAlias}", auth: authUser, r0: true, handler: a.setAlias},
		{method: "DELETE", path: "directory/room/{roomAlias}", auth: authUser, r0: true, handler: a.deleteAlias},
		{method: "GET", path: "rooms/{roomId}/aliases", auth: authUser, r0: true, handler: a.localAliases},
	}
}

// resolveAlias serves GET /_matrix/client/v3/directory/room/{roomAlias}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3directoryroomroomalias).
func (a *API) resolveAlias(w http.ResponseWriter, r *http.Request) {
	roomID, servers, err := a.svc.Rooms.ResolveAlias(r.Context(), r.PathValue("roomAlias"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room_id": roomID, "servers": servers})
}

// setAlias serves PUT /_matrix/client/v3/directory/room/{roomAlias}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3directoryroomroomalias).
func (a *API) setAlias(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RoomID string `json:"room_id"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.RoomID == "" {
		writeError(w, r, a.log, spec.MissingParam("room_id is required"))
		return
	}
	if err := a.svc.Rooms.SetAlias(r.Context(), sender(r), r.PathValue("roomAlias"), req.RoomID); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteAlias serves DELETE /_matrix/client/v3/directory/room/{roomAlias}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3directoryroomroomalias).
func (a *API) deleteAlias(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Rooms.DeleteAlias(r.Context(), sender(r), r.PathValue("roomAlias")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// localAliases serves GET /_matrix/client/v3/rooms/{roomId}/aliases
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidaliases).
func (a *API) localAliases(w http.ResponseWriter, r *http.Request) {
	aliases, err := a.svc.Rooms.LocalAliases(r.Context(), caller(r).UserID.String(), r.PathValue("roomId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"aliases": aliases})
}
