package httpapi

import (
	"context"
	"net/http"

	"myelin/internal/room"
	"myelin/internal/search"
)

// Search is what the search handler needs of the search service.
type Search interface {
	Search(ctx context.Context, viewer room.Viewer, nextBatch string, req search.Request) (*search.Response, error)
}

func (a *API) searchRoutes() []route {
	return []route{
		{method: "POST", path: "search", auth: authUser, r0: true, handler: a.search},
	}
}

// search serves POST /_matrix/client/v3/search
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3search).
func (a *API) search(w http.ResponseWriter, r *http.Request) {
	var req search.Request
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	resp, err := a.svc.Search.Search(r.Context(), viewer(r), r.URL.Query().Get("next_batch"), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
