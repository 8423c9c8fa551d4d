package httpapi

import (
	"net/http"

	"myelin/internal/room"
	"myelin/internal/spec"
)

func (a *API) membershipRoutes() []route {
	return []route{
		{method: "POST", path: "join/{roomIdOrAlias}", auth: authUser, r0: true, handler: a.joinByIDOrAlias},
		{method: "POST", path: "rooms/{roomId}/join", auth: authUser, r0: true, handler: a.joinByID},
		{method: "POST", path: "knock/{roomIdOrAlias}", auth: authUser, handler: a.knock},
		{method: "POST", path: "rooms/{roomId}/invite", auth: authUser, r0: true, handler: a.invite},
		{method: "POST", path: "rooms/{roomId}/leave", auth: authUser, r0: true, handler: a.leave},
		{method: "POST", path: "rooms/{roomId}/forget", auth: authUser, r0: true, handler: a.forget},
		{method: "POST", path: "rooms/{roomId}/kick", auth: authUser, r0: true, handler: a.kick},
		{method: "POST", path: "rooms/{roomId}/ban", auth: authUser, r0: true, handler: a.ban},
		{method: "POST", path: "rooms/{roomId}/unban", auth: authUser, r0: true, handler: a.unban},
		{method: "GET", path: "joined_rooms", auth: authUser, r0: true, handler: a.joinedRooms},
	}
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

type targetRequest struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// join answers a join by room ID or alias.
func (a *API) join(w http.ResponseWriter, r *http.Request, roomIDOrAlias string) {
	var req reasonRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	roomID, err := a.svc.Rooms.Join(r.Context(), sender(r), roomIDOrAlias, req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room_id": roomID})
}

// joinByIDOrAlias serves POST /_matrix/client/v3/join/{roomIdOrAlias}
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3joinroomidoralias).
// Only rooms this server knows can be joined; via is not needed for them.
func (a *API) joinByIDOrAlias(w http.ResponseWriter, r *http.Request) {
	a.join(w, r, r.PathValue("roomIdOrAlias"))
}

// joinByID serves POST /_matrix/client/v3/rooms/{roomId}/join
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidjoin).
func (a *API) joinByID(w http.ResponseWriter, r *http.Request) {
	if _, err := spec.ParseRoomID(r.PathValue("roomId")); err != nil {
		writeError(w, r, a.log, spec.InvalidParam("invalid room ID"))
		return
	}
	a.join(w, r, r.PathValue("roomId"))
}

// knock serves POST /_matrix/client/v3/knock/{roomIdOrAlias}
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3knockroomidoralias).
func (a *API) knock(w http.ResponseWriter, r *http.Request) {
	var req reasonRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	roomID, err := a.svc.Rooms.Knock(r.Context(), sender(r), r.PathValue("roomIdOrAlias"), req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room_id": roomID})
}

// readTarget reads a {user_id, reason} body.
func (a *API) readTarget(r *http.Request) (spec.UserID, string, error) {
	var req targetRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		return spec.UserID{}, "", err
	}
	uid, err := room.ParseTarget(req.UserID)
	return uid, req.Reason, err
}

// moderation answers invite, kick, ban and unban.
func (a *API) moderation(w http.ResponseWriter, r *http.Request,
	do func(r *http.Request, s room.Sender, roomID string, target spec.UserID, reason string) error) {
	target, reason, err := a.readTarget(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := do(r, sender(r), r.PathValue("roomId"), target, reason); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// invite serves POST /_matrix/client/v3/rooms/{roomId}/invite
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidinvite).
// The third-party form (id_server, medium, address) is not supported: it
// lacks user_id and is answered 400 M_MISSING_PARAM.
func (a *API) invite(w http.ResponseWriter, r *http.Request) {
	a.moderation(w, r, func(r *http.Request, s room.Sender, roomID string, target spec.UserID, reason string) error {
		return a.svc.Rooms.Invite(r.Context(), s, roomID, target, reason)
	})
}

// kick serves POST /_matrix/client/v3/rooms/{roomId}/kick
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidkick).
func (a *API) kick(w http.ResponseWriter, r *http.Request) {
	a.moderation(w, r, func(r *http.Request, s room.Sender, roomID string, target spec.UserID, reason string) error {
		return a.svc.Rooms.Kick(r.Context(), s, roomID, target, reason)
	})
}

// ban serves POST /_matrix/client/v3/rooms/{roomId}/ban
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidban).
func (a *API) ban(w http.ResponseWriter, r *http.Request) {
	a.moderation(w, r, func(r *http.Request, s room.Sender, roomID string, target spec.UserID, reason string) error {
		return a.svc.Rooms.Ban(r.Context(), s, roomID, target, reason)
	})
}

// unban serves POST /_matrix/client/v3/rooms/{roomId}/unban
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidunban).
func (a *API) unban(w http.ResponseWriter, r *http.Request) {
	a.moderation(w, r, func(r *http.Request, s room.Sender, roomID string, target spec.UserID, reason string) error {
		return a.svc.Rooms.Unban(r.Context(), s, roomID, target, reason)
	})
}

// leave serves POST /_matrix/client/v3/rooms/{roomId}/leave
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidleave).
func (a *API) leave(w http.ResponseWriter, r *http.Request) {
	var req reasonRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Rooms.Leave(r.Context(), sender(r), r.PathValue("roomId"), req.Reason); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// forget serves POST /_matrix/client/v3/rooms/{roomId}/forget
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidforget).
func (a *API) forget(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Rooms.Forget(r.Context(), sender(r), r.PathValue("roomId")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// joinedRooms serves GET /_matrix/client/v3/joined_rooms
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3joined_rooms).
func (a *API) joinedRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := a.svc.Rooms.JoinedRooms(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"joined_rooms": rooms})
}
