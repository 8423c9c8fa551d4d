package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/spec"
)

// Filters is what the handlers need of the filter service.
type Filters interface {
	Create(ctx context.Context, user spec.UserID, data json.RawMessage) (string, error)
	Get(ctx context.Context, user spec.UserID, filterID string) (json.RawMessage, error)
}

func (a *API) filterRoutes() []route {
	return []route{
		{method: "POST", path: "user/{userId}/filter", auth: authUser, r0: true, handler: a.createFilter},
		{method: "GET", path: "user/{userId}/filter/{filterId}", auth: authUser, r0: true, handler: a.getFilter},
	}
}

// createFilter serves POST /_matrix/client/v3/user/{userId}/filter
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter).
func (a *API) createFilter(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	body, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	id, err := a.svc.Filters.Create(r.Context(), user, body)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"filter_id": id})
}

// getFilter serves GET /_matrix/client/v3/user/{userId}/filter/{filterId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3useruseridfilterfilterid).
func (a *API) getFilter(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	data, err := a.svc.Filters.Get(r.Context(), user, r.PathValue("filterId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, data)
}
