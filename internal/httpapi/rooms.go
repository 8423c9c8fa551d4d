package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/room"
	"myelin/internal/spec"
	syncapi "myelin/internal/sync"
)

// Rooms is what the handlers need of the room engine.
type Rooms interface {
	CreateRoom(ctx context.Context, s room.Sender, req room.CreateRoomRequest) (string, error)
	SendMessage(ctx context.Context, s room.Sender, roomID, eventType, txnID string, content json.RawMessage) (string, error)
	SendState(ctx context.Context, s room.Sender, roomID, eventType, stateKey string, content json.RawMessage) (string, error)
	Redact(ctx context.Context, s room.Sender, roomID, eventID, txnID, reason string) (string, error)
	Upgrade(ctx context.Context, s room.Sender, roomID, newVersion string, additionalCreators []string) (string, error)

	RoomState(ctx context.Context, v room.Viewer, roomID string) ([]json.RawMessage, error)
	StateEvent(ctx context.Context, v room.Viewer, roomID, eventType, stateKey string, full bool) (json.RawMessage, error)
	Event(ctx context.Context, v room.Viewer, roomID, eventID string) (json.RawMessage, error)
	Members(ctx context.Context, v room.Viewer, roomID string, q room.MembersQuery) ([]json.RawMessage, error)
	JoinedMembers(ctx context.Context, user, roomID string) (map[string]room.JoinedMember, error)

	Join(ctx context.Context, s room.Sender, roomIDOrAlias, reason string) (string, error)
	Knock(ctx context.Context, s room.Sender, roomIDOrAlias, reason string) (string, error)
	Invite(ctx context.Context, s room.Sender, roomID string, target spec.UserID, reason string) error
	Leave(ctx context.Context, s room.Sender, roomID, reason string) error
	Kick(ctx context.Context, s room.Sender, roomID string, target spec.UserID, reason string) error
	Ban(ctx context.Context, s room.Sender, roomID string, target spec.UserID, reason string) error
	Unban(ctx context.Context, s room.Sender, roomID string, target spec.UserID, reason string) error
	Forget(ctx context.Context, s room.Sender, roomID string) error
	JoinedRooms(ctx context.Context, user spec.UserID) ([]string, error)

	SetAlias(ctx context.Context, s room.Sender, alias, roomID string) error
	ResolveAlias(ctx context.Context, alias string) (string, []string, error)
	DeleteAlias(ctx context.Context, s room.Sender, alias string) error
	LocalAliases(ctx context.Context, user, roomID string) ([]string, error)
}

func (a *API) roomRoutes() []route {
	return []route{
		{method: "POST", path: "createRoom", auth: authUser, r0: true, handler: a.createRoom},
		{method: "PUT", path: "rooms/{roomId}/send/{eventType}/{txnId}", auth: authUser, r0: true, handler: a.sendMessage},
		{method: "PUT", path: "rooms/{roomId}/state/{eventType}", auth: authUser, r0: true, handler: a.setState},
		{method: "PUT", path: "rooms/{roomId}/state/{eventType}/{stateKey...}", auth: authUser, r0: true, handler: a.setState},
		{method: "GET", path: "rooms/{roomId}/state", auth: authUser, r0: true, handler: a.roomState},
		{method: "GET", path: "rooms/{roomId}/state/{eventType}", auth: authUser, r0: true, handler: a.stateEvent},
		{method: "GET", path: "rooms/{roomId}/state/{eventType}/{stateKey...}", auth: authUser, r0: true, handler: a.stateEvent},
		{method: "GET", path: "rooms/{roomId}/event/{eventId}", auth: authUser, r0: true, handler: a.roomEvent},
		{method: "GET", path: "rooms/{roomId}/members", auth: authUser, r0: true, handler: a.members},
		{method: "GET", path: "rooms/{roomId}/joined_members", auth: authUser, r0: true, handler: a.joinedMembers},
		{method: "PUT", path: "rooms/{roomId}/redact/{eventId}/{txnId}", auth: authUser, r0: true, handler: a.redact},
		{method: "POST", path: "rooms/{roomId}/upgrade", auth: authUser, r0: true, handler: a.upgradeRoom},
	}
}

// sender is the caller as the room engine's sender.
func sender(r *http.Request) room.Sender {
	c := caller(r)
	return room.Sender{UserID: c.UserID, DeviceID: c.DeviceID, Admin: c.Admin}
}

// viewer is the caller as the room engine's viewer.
func viewer(r *http.Request) room.Viewer {
	c := caller(r)
	return room.Viewer{UserID: c.UserID.String(), DeviceID: c.DeviceID}
}

type createRoomRequest struct {
	Visibility    string            `json:"visibility"`
	RoomAliasName string            `json:"room_alias_name"`
	Name          *string           `json:"name"`
	Topic         *string           `json:"topic"`
	Invite        []string          `json:"invite"`
	Invite3PID    []json.RawMessage `json:"invite_3pid"`
	RoomVersion   string            `json:"room_version"`
	// CreationContent and PowerLevelContentOverride must be objects.
	CreationContent map[string]json.RawMessage `json:"creation_content"`
	InitialState    []struct {
		Type     string          `json:"type"`
		StateKey string          `json:"state_key"`
		Content  json.RawMessage `json:"content"`
	} `json:"initial_state"`
	Preset                    string                     `json:"preset"`
	IsDirect                  bool                       `json:"is_direct"`
	PowerLevelContentOverride map[string]json.RawMessage `json:"power_level_content_override"`
}

// createRoom serves POST /_matrix/client/v3/createRoom
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3createroom).
func (a *API) createRoom(w http.ResponseWriter, r *http.Request) {
	var req createRoomRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	cr := room.CreateRoomRequest{
		Visibility: req.Visibility, RoomAliasName: req.RoomAliasName, Name: req.Name, Topic: req.Topic,
		Invite: req.Invite, Invite3PID: len(req.Invite3PID), RoomVersion: req.RoomVersion,
		CreationContent: req.CreationContent, Preset: req.Preset, IsDirect: req.IsDirect,
		PowerLevelContentOverride: req.PowerLevelContentOverride,
	}
	for _, ev := range req.InitialState {
		cr.InitialState = append(cr.InitialState, room.StateEvent{Type: ev.Type, StateKey: ev.StateKey, Content: ev.Content})
	}
	roomID, err := a.svc.Rooms.CreateRoom(r.Context(), sender(r), cr)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room_id": roomID})
}

// sendMessage serves PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid).
func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) {
	content, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.svc.Rooms.SendMessage(r.Context(), sender(r), r.PathValue("roomId"), r.PathValue("eventType"), r.PathValue("txnId"), content)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": id})
}

// setState serves PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey),
// also without the trailing slash for an empty state key.
func (a *API) setState(w http.ResponseWriter, r *http.Request) {
	content, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.svc.Rooms.SendState(r.Context(), sender(r), r.PathValue("roomId"), r.PathValue("eventType"), r.PathValue("stateKey"), content)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": id})
}

// roomState serves GET /_matrix/client/v3/rooms/{roomId}/state
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidstate).
func (a *API) roomState(w http.ResponseWriter, r *http.Request) {
	evs, err := a.svc.Rooms.RoomState(r.Context(), viewer(r), r.PathValue("roomId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, evs)
}

// stateEvent serves GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey),
// also without the trailing slash for an empty state key; ?format=event
// returns the whole event.
func (a *API) stateEvent(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "content" && format != "event" {
		writeError(w, r, a.log, spec.InvalidParam("format must be content or event"))
		return
	}
	ev, err := a.svc.Rooms.StateEvent(r.Context(), viewer(r), r.PathValue("roomId"), r.PathValue("eventType"), r.PathValue("stateKey"), format == "event")
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

// roomEvent serves GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomideventeventid).
func (a *API) roomEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := a.svc.Rooms.Event(r.Context(), viewer(r), r.PathValue("roomId"), r.PathValue("eventId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

// memberships are the values of /members' membership filters.
var memberships = map[string]bool{
	spec.MembershipJoin: true, spec.MembershipInvite: true, spec.MembershipKnock: true,
	spec.MembershipLeave: true, spec.MembershipBan: true,
}

// members serves GET /_matrix/client/v3/rooms/{roomId}/members
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidmembers).
func (a *API) members(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	q := room.MembersQuery{Membership: query.Get("membership"), NotMembership: query.Get("not_membership")}
	for _, m := range []string{q.Membership, q.NotMembership} {
		if m != "" && !memberships[m] {
			writeError(w, r, a.log, spec.InvalidParam("unknown membership %q", m))
			return
		}
	}
	if at := query.Get("at"); at != "" {
		pos, err := syncapi.ParsePaginationToken(at)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		q.At = pos
	}
	evs, err := a.svc.Rooms.Members(r.Context(), viewer(r), r.PathValue("roomId"), q)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chunk": evs})
}

// joinedMembers serves GET /_matrix/client/v3/rooms/{roomId}/joined_members
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidjoined_members).
func (a *API) joinedMembers(w http.ResponseWriter, r *http.Request) {
	joined, err := a.svc.Rooms.JoinedMembers(r.Context(), caller(r).UserID.String(), r.PathValue("roomId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"joined": joined})
}

// redact serves PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid).
func (a *API) redact(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.svc.Rooms.Redact(r.Context(), sender(r), r.PathValue("roomId"), r.PathValue("eventId"), r.PathValue("txnId"), req.Reason)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": id})
}

// upgradeRoom serves POST /_matrix/client/v3/rooms/{roomId}/upgrade
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidupgrade).
func (a *API) upgradeRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NewVersion         string   `json:"new_version"`
		AdditionalCreators []string `json:"additional_creators"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.NewVersion == "" {
		writeError(w, r, a.log, spec.MissingParam("new_version is required"))
		return
	}
	id, err := a.svc.Rooms.Upgrade(r.Context(), sender(r), r.PathValue("roomId"), req.NewVersion, req.AdditionalCreators)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"replacement_room": id})
}
