package httpapi

import (
	"encoding/json"
	"net/http"

	"myelin/internal/e2ee"
	"myelin/internal/spec"
)

func (a *API) keyBackupRoutes() []route {
	return []route{
		{method: "POST", path: "room_keys/version", auth: authUser, handler: a.createBackup},
		{method: "GET", path: "room_keys/version", auth: authUser, handler: a.getBackup},
		{method: "GET", path: "room_keys/version/{version}", auth: authUser, handler: a.getBackup},
		{method: "PUT", path: "room_keys/version/{version}", auth: authUser, handler: a.updateBackup},
		{method: "DELETE", path: "room_keys/version/{version}", auth: authUser, handler: a.deleteBackup},

		{method: "PUT", path: "room_keys/keys", auth: authUser, handler: a.putBackupKeys},
		{method: "PUT", path: "room_keys/keys/{roomId}", auth: authUser, handler: a.putBackupKeys},
		{method: "PUT", path: "room_keys/keys/{roomId}/{sessionId}", auth: authUser, handler: a.putBackupKeys},
		{method: "GET", path: "room_keys/keys", auth: authUser, handler: a.getBackupKeys},
		{method: "GET", path: "room_keys/keys/{roomId}", auth: authUser, handler: a.getBackupKeys},
		{method: "GET", path: "room_keys/keys/{roomId}/{sessionId}", auth: authUser, handler: a.getBackupKeys},
		{method: "DELETE", path: "room_keys/keys", auth: authUser, handler: a.deleteBackupKeys},
		{method: "DELETE", path: "room_keys/keys/{roomId}", auth: authUser, handler: a.deleteBackupKeys},
		{method: "DELETE", path: "room_keys/keys/{roomId}/{sessionId}", auth: authUser, handler: a.deleteBackupKeys},
	}
}

type backupVersionRequest struct {
	Algorithm *string         `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Version   string          `json:"version"`
}

// read decodes the request and checks the required fields.
func (req *backupVersionRequest) read(a *API, r *http.Request) error {
	if err := readJSON(r, a.opts.MaxRequestBytes, req); err != nil {
		return err
	}
	if req.Algorithm == nil || req.AuthData == nil {
		return spec.BadJSON("algorithm and auth_data are required")
	}
	return nil
}

// createBackup serves POST /_matrix/client/v3/room_keys/version
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3room_keysversion).
func (a *API) createBackup(w http.ResponseWriter, r *http.Request) {
	var req backupVersionRequest
	if err := req.read(a, r); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	v, err := a.svc.E2EE.CreateBackup(r.Context(), caller(r).UserID, *req.Algorithm, req.AuthData)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"version": v})
}

// getBackup serves GET /_matrix/client/v3/room_keys/version and
// GET /_matrix/client/v3/room_keys/version/{version}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3room_keysversion,
// https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3room_keysversionversion).
func (a *API) getBackup(w http.ResponseWriter, r *http.Request) {
	info, err := a.svc.E2EE.Backup(r.Context(), caller(r).UserID, r.PathValue("version"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// updateBackup serves PUT /_matrix/client/v3/room_keys/version/{version}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3room_keysversionversion).
func (a *API) updateBackup(w http.ResponseWriter, r *http.Request) {
	var req backupVersionRequest
	if err := req.read(a, r); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.E2EE.UpdateBackup(r.Context(), caller(r).UserID, r.PathValue("version"), req.Version, *req.Algorithm, req.AuthData); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteBackup serves DELETE /_matrix/client/v3/room_keys/version/{version}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3room_keysversionversion).
func (a *API) deleteBackup(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.E2EE.DeleteBackup(r.Context(), caller(r).UserID, r.PathValue("version")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// backupKeyJSON is the KeyBackupData of a request, with every field
// required.
type backupKeyJSON struct {
	FirstMessageIndex *int64          `json:"first_message_index"`
	ForwardedCount    *int64          `json:"forwarded_count"`
	IsVerified        *bool           `json:"is_verified"`
	SessionData       json.RawMessage `json:"session_data"`
}

func (k backupKeyJSON) key() (e2ee.BackupKey, error) {
	if k.FirstMessageIndex == nil || k.ForwardedCount == nil || k.IsVerified == nil || k.SessionData == nil {
		return e2ee.BackupKey{}, spec.BadJSON("first_message_index, forwarded_count, is_verified and session_data are required")
	}
	return e2ee.BackupKey{FirstMessageIndex: *k.FirstMessageIndex, ForwardedCount: *k.ForwardedCount,
		IsVerified: *k.IsVerified, SessionData: k.SessionData}, nil
}

type roomKeysJSON struct {
	Sessions map[string]backupKeyJSON `json:"sessions"`
}

func (rk roomKeysJSON) keys() (map[string]e2ee.BackupKey, error) {
	if rk.Sessions == nil {
		return nil, spec.BadJSON("sessions is required")
	}
	out := make(map[string]e2ee.BackupKey, len(rk.Sessions))
	for id, k := range rk.Sessions {
		bk, err := k.key()
		if err != nil {
			return nil, err
		}
		out[id] = bk
	}
	return out, nil
}

// backupVersionParam returns the required version query parameter.
func backupVersionParam(r *http.Request) (string, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return "", spec.MissingParam("the version query parameter is required")
	}
	return v, nil
}

// putBackupKeys serves PUT /_matrix/client/v3/room_keys/keys,
// .../room_keys/keys/{roomId} and .../room_keys/keys/{roomId}/{sessionId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3room_keyskeys,
// https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3room_keyskeysroomid,
// https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3room_keyskeysroomidsessionid).
func (a *API) putBackupKeys(w http.ResponseWriter, r *http.Request) {
	version, err := backupVersionParam(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	roomID, sessionID := r.PathValue("roomId"), r.PathValue("sessionId")
	keys := e2ee.RoomKeys{}
	switch {
	case sessionID != "":
		var req backupKeyJSON
		if err = readJSON(r, a.opts.MaxRequestBytes, &req); err == nil {
			var k e2ee.BackupKey
			if k, err = req.key(); err == nil {
				keys[roomID] = map[string]e2ee.BackupKey{sessionID: k}
			}
		}
	case roomID != "":
		var req roomKeysJSON
		if err = readJSON(r, a.opts.MaxRequestBytes, &req); err == nil {
			keys[roomID], err = req.keys()
		}
	default:
		var req struct {
			Rooms map[string]roomKeysJSON `json:"rooms"`
		}
		if err = readJSON(r, a.opts.MaxRequestBytes, &req); err == nil {
			if req.Rooms == nil {
				err = spec.BadJSON("rooms is required")
			}
			for id, rk := range req.Rooms {
				if keys[id], err = rk.keys(); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	res, err := a.svc.E2EE.PutBackupKeys(r.Context(), caller(r).UserID, version, keys)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// getBackupKeys serves GET /_matrix/client/v3/room_keys/keys,
// .../room_keys/keys/{roomId} and .../room_keys/keys/{roomId}/{sessionId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3room_keyskeys,
// https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3room_keyskeysroomid,
// https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3room_keyskeysroomidsessionid).
func (a *API) getBackupKeys(w http.ResponseWriter, r *http.Request) {
	version, err := backupVersionParam(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	roomID, sessionID := r.PathValue("roomId"), r.PathValue("sessionId")
	keys, err := a.svc.E2EE.BackupKeys(r.Context(), caller(r).UserID, version, roomID, sessionID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	switch {
	case sessionID != "":
		k, ok := keys[roomID][sessionID]
		if !ok {
			writeError(w, r, a.log, spec.NotFound("no key for this session"))
			return
		}
		writeJSON(w, http.StatusOK, k)
	case roomID != "":
		sessions := keys[roomID]
		if sessions == nil {
			sessions = map[string]e2ee.BackupKey{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"sessions": sessions})
	default:
		rooms := map[string]any{}
		for id, sessions := range keys {
			rooms[id] = map[string]any{"sessions": sessions}
		}
		writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
	}
}

// deleteBackupKeys serves DELETE /_matrix/client/v3/room_keys/keys,
// .../room_keys/keys/{roomId} and .../room_keys/keys/{roomId}/{sessionId}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3room_keyskeys,
// https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3room_keyskeysroomid,
// https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3room_keyskeysroomidsessionid).
func (a *API) deleteBackupKeys(w http.ResponseWriter, r *http.Request) {
	version, err := backupVersionParam(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	res, err := a.svc.E2EE.DeleteBackupKeys(r.Context(), caller(r).UserID, version, r.PathValue("roomId"), r.PathValue("sessionId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
