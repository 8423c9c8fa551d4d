package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"myelin/internal/directory"
	"myelin/internal/spec"
)

// Directory is the published room directory service.
type Directory interface {
	Visibility(ctx context.Context, roomID string) (string, error)
	SetVisibility(ctx context.Context, c directory.Caller, roomID, visibility string) error
	PublicRooms(ctx context.Context, q directory.Query) (directory.Page, error)
}

func (a *API) directoryRoutes() []route {
	return []route{
		{method: "GET", path: "directory/list/room/{roomId}", auth: authNone, r0: true, handler: a.roomVisibility},
		{method: "PUT", path: "directory/list/room/{roomId}", auth: authUser, r0: true, handler: a.setRoomVisibility},
		{method: "GET", path: "publicRooms", auth: authOptional, r0: true, handler: a.publicRooms},
		{method: "POST", path: "publicRooms", auth: authUser, r0: true, handler: a.queryPublicRooms},
	}
}

// roomVisibility serves GET /_matrix/client/v3/directory/list/room/{roomId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3directorylistroomroomid).
func (a *API) roomVisibility(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.Directory.Visibility(r.Context(), r.PathValue("roomId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"visibility": v})
}

// setRoomVisibility serves PUT /_matrix/client/v3/directory/list/room/{roomId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3directorylistroomroomid).
func (a *API) setRoomVisibility(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Visibility string `json:"visibility"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c := caller(r)
	err := a.svc.Directory.SetVisibility(r.Context(), directory.Caller{UserID: c.UserID, Admin: c.Admin}, r.PathValue("roomId"), req.Visibility)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// publicRooms serves GET /_matrix/client/v3/publicRooms
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3publicrooms),
// which needs no access token. Besides the spec's limit, since and server,
// it reads include_all_networks and third_party_instance_id as clients
// send them.
func (a *API) publicRooms(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	q := directory.Query{Since: query.Get("since"), Server: query.Get("server"), ThirdPartyInstanceID: query.Get("third_party_instance_id")}
	if s := query.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, r, a.log, spec.InvalidParam("limit must be an integer"))
			return
		}
		q.Limit = n
	}
	switch s := query.Get("include_all_networks"); s {
	case "", "false":
	case "true":
		q.IncludeAllNetworks = true
	default:
		writeError(w, r, a.log, spec.InvalidParam("include_all_networks must be true or false"))
		return
	}
	a.answerPublicRooms(w, r, q)
}

// queryPublicRooms serves POST /_matrix/client/v3/publicRooms
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3publicrooms).
func (a *API) queryPublicRooms(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Limit  *int   `json:"limit"`
		Since  string `json:"since"`
		Filter *struct {
			GenericSearchTerm string    `json:"generic_search_term"`
			RoomTypes         []*string `json:"room_types"`
		} `json:"filter"`
		IncludeAllNetworks   bool   `json:"include_all_networks"`
		ThirdPartyInstanceID string `json:"third_party_instance_id"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	q := directory.Query{Since: req.Since, Server: r.URL.Query().Get("server"),
		IncludeAllNetworks: req.IncludeAllNetworks, ThirdPartyInstanceID: req.ThirdPartyInstanceID}
	if req.Limit != nil {
		q.Limit = *req.Limit
	}
	if req.Filter != nil {
		q.SearchTerm, q.RoomTypes = req.Filter.GenericSearchTerm, req.Filter.RoomTypes
	}
	a.answerPublicRooms(w, r, q)
}

func (a *API) answerPublicRooms(w http.ResponseWriter, r *http.Request, q directory.Query) {
	page, err := a.svc.Directory.PublicRooms(r.Context(), q)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
