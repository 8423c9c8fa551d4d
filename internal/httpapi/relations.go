package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"myelin/internal/room"
	"myelin/internal/spec"
	syncapi "myelin/internal/sync"
)

// Relations is what the relations and threads handlers need of the room
// engine.
type Relations interface {
	Relations(ctx context.Context, req room.RelationsRequest) (room.RelationsPage, error)
	Threads(ctx context.Context, req room.ThreadsRequest) ([]json.RawMessage, int64, error)
}

// Page sizes of /relations and /threads.
const (
	defaultRelationsLimit = 50
	maxRelationsLimit     = 100
)

func (a *API) relationRoutes() []route {
	const base = "rooms/{roomId}/relations/{eventId}"
	return []route{
		{method: "GET", path: base, auth: authUser, v1: true, handler: a.relations},
		{method: "GET", path: base + "/{relType}", auth: authUser, v1: true, handler: a.relations},
		{method: "GET", path: base + "/{relType}/{eventType}", auth: authUser, v1: true, handler: a.relations},
		{method: "GET", path: "rooms/{roomId}/threads", auth: authUser, v1: true, handler: a.threads},
	}
}

// relations serves GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId},
// .../{relType} and .../{relType}/{eventType}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv1roomsroomidrelationseventid).
func (a *API) relations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := room.RelationsRequest{
		Viewer: viewer(r), RoomID: r.PathValue("roomId"), EventID: r.PathValue("eventId"),
		RelType: r.PathValue("relType"), EventType: r.PathValue("eventType"),
	}
	var err error
	if req.Limit, err = pageLimit(q, defaultRelationsLimit); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	switch q.Get("dir") {
	case "", "b":
	case "f":
		req.Forward = true
	default:
		writeError(w, r, a.log, spec.InvalidParam("dir must be b or f"))
		return
	}
	if req.From, err = optionalToken(q, "from"); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.To, err = optionalToken(q, "to"); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	recurse, recurseGiven := q.Get("recurse"), q.Has("recurse")
	switch recurse {
	case "", "false":
	case "true":
		req.Recurse = true
	default:
		writeError(w, r, a.log, spec.InvalidParam("recurse must be true or false"))
		return
	}
	page, err := a.svc.Relations.Relations(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp := map[string]any{"chunk": page.Chunk}
	if page.Chunk == nil {
		resp["chunk"] = []json.RawMessage{}
	}
	if page.Next >= 0 {
		resp["next_batch"] = syncapi.PaginationToken(page.Next)
	}
	if from := q.Get("from"); from != "" {
		resp["prev_batch"] = from
	}
	if recurseGiven {
		resp["recursion_depth"] = 1
		if req.Recurse {
			resp["recursion_depth"] = room.RecursionDepth
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// threads serves GET /_matrix/client/v1/rooms/{roomId}/threads
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv1roomsroomidthreads).
func (a *API) threads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := room.ThreadsRequest{Viewer: viewer(r), RoomID: r.PathValue("roomId")}
	var err error
	if req.Limit, err = pageLimit(q, defaultRelationsLimit); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	switch q.Get("include") {
	case "", "all":
	case "participated":
		req.Participated = true
	default:
		writeError(w, r, a.log, spec.InvalidParam("include must be all or participated"))
		return
	}
	if req.From, err = optionalToken(q, "from"); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	chunk, next, err := a.svc.Relations.Threads(r.Context(), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if chunk == nil {
		chunk = []json.RawMessage{}
	}
	resp := map[string]any{"chunk": chunk}
	if next >= 0 {
		resp["next_batch"] = syncapi.PaginationToken(next)
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageLimit reads the limit parameter: def when absent, at most
// maxRelationsLimit; 400 M_INVALID_PARAM unless a positive integer.
func pageLimit(q url.Values, def int) (int, error) {
	n, err := intParam(q.Get("limit"), "limit", int64(def))
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, spec.InvalidParam("limit must be greater than zero")
	}
	return int(min(n, maxRelationsLimit)), nil
}

// optionalToken parses a pagination token parameter (a /messages,
// /relations or /threads token, or a /sync next_batch): -1 when absent;
// 400 M_INVALID_PARAM when malformed.
func optionalToken(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return -1, nil
	}
	return syncapi.ParsePaginationToken(v)
}
