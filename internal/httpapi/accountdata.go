package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/spec"
)

// AccountData is what the handlers need of the account data service.
type AccountData interface {
	Get(ctx context.Context, user spec.UserID, roomID, typ string) (json.RawMessage, error)
	Set(ctx context.Context, user spec.UserID, roomID, typ string, content json.RawMessage) error
	Tags(ctx context.Context, user spec.UserID, roomID string) (map[string]json.RawMessage, error)
	SetTag(ctx context.Context, user spec.UserID, roomID, tag string, content json.RawMessage) error
	DeleteTag(ctx context.Context, user spec.UserID, roomID, tag string) error
}

func (a *API) accountDataRoutes() []route {
	return []route{
		{method: "GET", path: "user/{userId}/account_data/{type}", auth: authUser, r0: true, handler: a.getAccountData},
		{method: "PUT", path: "user/{userId}/account_data/{type}", auth: authUser, r0: true, handler: a.setAccountData},
		{method: "GET", path: "user/{userId}/rooms/{roomId}/account_data/{type}", auth: authUser, r0: true, handler: a.getAccountData},
		{method: "PUT", path: "user/{userId}/rooms/{roomId}/account_data/{type}", auth: authUser, r0: true, handler: a.setAccountData},
		{method: "GET", path: "user/{userId}/rooms/{roomId}/tags", auth: authUser, r0: true, handler: a.getTags},
		{method: "PUT", path: "user/{userId}/rooms/{roomId}/tags/{tag}", auth: authUser, r0: true, handler: a.setTag},
		{method: "DELETE", path: "user/{userId}/rooms/{roomId}/tags/{tag}", auth: authUser, r0: true, handler: a.deleteTag},
	}
}

// getAccountData serves GET /_matrix/client/v3/user/{userId}/account_data/{type}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3useruseridaccount_datatype)
// and GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3useruseridroomsroomidaccount_datatype).
func (a *API) getAccountData(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	content, err := a.svc.AccountData.Get(r.Context(), user, roomParam(r), r.PathValue("type"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, content)
}

// roomParam is the path's room ID; "" on the global routes. A room route
// with an empty room ID segment cannot match, so "" always means global.
func roomParam(r *http.Request) string { return r.PathValue("roomId") }

// setAccountData serves PUT /_matrix/client/v3/user/{userId}/account_data/{type}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3useruseridaccount_datatype)
// and PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype).
func (a *API) setAccountData(w http.ResponseWriter, r *http.Request) {
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
	if err := a.svc.AccountData.Set(r.Context(), user, roomParam(r), r.PathValue("type"), body); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// getTags serves GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3useruseridroomsroomidtags).
func (a *API) getTags(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	tags, err := a.svc.AccountData.Tags(r.Context(), user, r.PathValue("roomId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
}

// setTag serves PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3useruseridroomsroomidtagstag).
func (a *API) setTag(w http.ResponseWriter, r *http.Request) {
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
	if err := a.svc.AccountData.SetTag(r.Context(), user, r.PathValue("roomId"), r.PathValue("tag"), body); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteTag serves DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3useruseridroomsroomidtagstag).
func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.AccountData.DeleteTag(r.Context(), user, r.PathValue("roomId"), r.PathValue("tag")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
