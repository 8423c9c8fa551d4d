package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/profile"
	"myelin/internal/spec"
)

// Profiles is what the handlers need of the profile service.
type Profiles interface {
	Profile(ctx context.Context, userID string) (map[string]json.RawMessage, error)
	Field(ctx context.Context, userID, key string) (json.RawMessage, error)
	SetField(ctx context.Context, user spec.UserID, key string, value json.RawMessage) error
	DeleteField(ctx context.Context, user spec.UserID, key string) error
	Search(ctx context.Context, searcher spec.UserID, term string, limit int) ([]profile.SearchResult, bool, error)
}

func (a *API) profileRoutes() []route {
	return []route{
		{method: "GET", path: "profile/{userId}", auth: authOptional, r0: true, handler: a.getProfile},
		{method: "GET", path: "profile/{userId}/{keyName}", auth: authOptional, r0: true, handler: a.getProfileField},
		{method: "PUT", path: "profile/{userId}/{keyName}", auth: authUser, r0: true, handler: a.setProfileField},
		{method: "DELETE", path: "profile/{userId}/{keyName}", auth: authUser, handler: a.deleteProfileField},
		{method: "POST", path: "user_directory/search", auth: authUser, r0: true, handler: a.searchUserDirectory},
	}
}

// getProfile serves GET /_matrix/client/v3/profile/{userId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3profileuserid).
func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.Profiles.Profile(r.Context(), r.PathValue("userId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// getProfileField serves GET /_matrix/client/v3/profile/{userId}/{keyName}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3profileuseridkeyname).
func (a *API) getProfileField(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("keyName")
	v, err := a.svc.Profiles.Field(r.Context(), r.PathValue("userId"), key)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{key: v})
}

// setProfileField serves PUT /_matrix/client/v3/profile/{userId}/{keyName}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3profileuseridkeyname).
// The body holds exactly one property, named keyName.
func (a *API) setProfileField(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	key := r.PathValue("keyName")
	if err := profile.CheckKey(key); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	body, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var obj map[string]json.RawMessage
	if err := decodeRaw(body, &obj); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	v, ok := obj[key]
	switch {
	case !ok:
		err = spec.MissingParam("the body must hold the %q property", key)
	case len(obj) != 1:
		err = spec.BadJSON("the body must hold exactly one property, %q", key)
	default:
		err = a.svc.Profiles.SetField(r.Context(), user, key, v)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteProfileField serves DELETE /_matrix/client/v3/profile/{userId}/{keyName}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3profileuseridkeyname).
func (a *API) deleteProfileField(w http.ResponseWriter, r *http.Request) {
	user, err := ownUser(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Profiles.DeleteField(r.Context(), user, r.PathValue("keyName")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// searchUserDirectory serves POST /_matrix/client/v3/user_directory/search
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3user_directorysearch).
func (a *API) searchUserDirectory(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SearchTerm *string `json:"search_term"`
		Limit      int     `json:"limit"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.SearchTerm == nil {
		writeError(w, r, a.log, spec.MissingParam("search_term is required"))
		return
	}
	results, limited, err := a.svc.Profiles.Search(r.Context(), caller(r).UserID, *req.SearchTerm, req.Limit)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "limited": limited})
}
