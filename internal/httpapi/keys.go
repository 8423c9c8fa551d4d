package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/e2ee"
	"myelin/internal/spec"
	syncapi "myelin/internal/sync"
	"myelin/internal/users"
)

// E2EE is the end-to-end encryption service: keys, cross-signing, key
// backup and send-to-device.
type E2EE interface {
	UploadKeys(ctx context.Context, user spec.UserID, deviceID string, up e2ee.KeyUpload) (map[string]int64, error)
	QueryKeys(ctx context.Context, requester spec.UserID, query map[string][]string) (*e2ee.QueryResult, error)
	ClaimKeys(ctx context.Context, claims map[string]map[string]string) (*e2ee.ClaimResult, error)
	UploadCrossSigningKeys(ctx context.Context, user spec.UserID, up e2ee.CrossSigningUpload, authorize e2ee.Authorize) error
	UploadSignatures(ctx context.Context, user spec.UserID, deviceID string, req map[string]map[string]json.RawMessage) (map[string]map[string]json.RawMessage, error)

	SendToDevice(ctx context.Context, sender spec.UserID, senderDevice, evType, txnID string, messages map[string]map[string]json.RawMessage) error

	CreateBackup(ctx context.Context, user spec.UserID, algorithm string, authData json.RawMessage) (string, error)
	Backup(ctx context.Context, user spec.UserID, version string) (e2ee.BackupInfo, error)
	UpdateBackup(ctx context.Context, user spec.UserID, version, bodyVersion, algorithm string, authData json.RawMessage) error
	DeleteBackup(ctx context.Context, user spec.UserID, version string) error
	PutBackupKeys(ctx context.Context, user spec.UserID, version string, keys e2ee.RoomKeys) (e2ee.BackupUpdate, error)
	BackupKeys(ctx context.Context, user spec.UserID, version, roomID, sessionID string) (e2ee.RoomKeys, error)
	DeleteBackupKeys(ctx context.Context, user spec.UserID, version, roomID, sessionID string) (e2ee.BackupUpdate, error)

	DeviceLists(ctx context.Context, user spec.UserID, r e2ee.Range) (changed, left []string, err error)
}

// Authorizer runs user-interactive authentication for operations of
// other services (the users service).
type Authorizer interface {
	AuthorizeCaller(ctx context.Context, c users.Caller, purpose string, binding []string, auth *users.AuthDict) (func(), error)
}

func (a *API) keyRoutes() []route {
	return []route{
		{method: "POST", path: "keys/upload", auth: authUser, r0: true, handler: a.uploadKeys},
		{method: "POST", path: "keys/query", auth: authUser, r0: true, handler: a.queryKeys},
		{method: "POST", path: "keys/claim", auth: authUser, r0: true, handler: a.claimKeys},
		{method: "GET", path: "keys/changes", auth: authUser, r0: true, handler: a.keyChanges},
		{method: "POST", path: "keys/device_signing/upload", auth: authUser, handler: a.uploadCrossSigningKeys},
		{method: "POST", path: "keys/signatures/upload", auth: authUser, handler: a.uploadSignatures},
	}
}

// uploadKeys serves POST /_matrix/client/v3/keys/upload
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3keysupload).
func (a *API) uploadKeys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DeviceKeys   json.RawMessage            `json:"device_keys"`
		OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys"`
		FallbackKeys map[string]json.RawMessage `json:"fallback_keys"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c := caller(r)
	counts, err := a.svc.E2EE.UploadKeys(r.Context(), c.UserID, c.DeviceID, e2ee.KeyUpload{
		DeviceKeys: req.DeviceKeys, OneTimeKeys: req.OneTimeKeys, FallbackKeys: req.FallbackKeys,
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"one_time_key_counts": counts})
}

// queryKeys serves POST /_matrix/client/v3/keys/query
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3keysquery).
// timeout is accepted and unused: no remote server is asked.
func (a *API) queryKeys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Timeout    *int64              `json:"timeout"`
		DeviceKeys map[string][]string `json:"device_keys"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.DeviceKeys == nil {
		writeError(w, r, a.log, spec.BadJSON("device_keys is required"))
		return
	}
	res, err := a.svc.E2EE.QueryKeys(r.Context(), caller(r).UserID, req.DeviceKeys)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// claimKeys serves POST /_matrix/client/v3/keys/claim
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3keysclaim).
func (a *API) claimKeys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Timeout     *int64                       `json:"timeout"`
		OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.OneTimeKeys == nil {
		writeError(w, r, a.log, spec.BadJSON("one_time_keys is required"))
		return
	}
	res, err := a.svc.E2EE.ClaimKeys(r.Context(), req.OneTimeKeys)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// uploadCrossSigningKeys serves POST /_matrix/client/v3/keys/device_signing/upload
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3keysdevice_signingupload).
// User-interactive authentication is asked only when the service says so
// (replacing existing keys).
func (a *API) uploadCrossSigningKeys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MasterKey      json.RawMessage `json:"master_key"`
		SelfSigningKey json.RawMessage `json:"self_signing_key"`
		UserSigningKey json.RawMessage `json:"user_signing_key"`
		Auth           *authDict       `json:"auth"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c := caller(r)
	authorize := func(ctx context.Context, binding []string) (func(), error) {
		return a.svc.Authorizer.AuthorizeCaller(ctx, c, "keys/device_signing/upload", binding, req.Auth.toUsers())
	}
	err := a.svc.E2EE.UploadCrossSigningKeys(r.Context(), c.UserID, e2ee.CrossSigningUpload{
		Master: req.MasterKey, SelfSigning: req.SelfSigningKey, UserSigning: req.UserSigningKey,
	}, authorize)
	if err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// uploadSignatures serves POST /_matrix/client/v3/keys/signatures/upload
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3keyssignaturesupload).
func (a *API) uploadSignatures(w http.ResponseWriter, r *http.Request) {
	var req map[string]map[string]json.RawMessage
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c := caller(r)
	failures, err := a.svc.E2EE.UploadSignatures(r.Context(), c.UserID, c.DeviceID, req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"failures": failures})
}

// keyChanges serves GET /_matrix/client/v3/keys/changes
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3keyschanges):
// the device_lists of an incremental /sync from from to to.
func (a *API) keyChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if from == "" || to == "" {
		writeError(w, r, a.log, spec.MissingParam("from and to are required"))
		return
	}
	rng, err := syncapi.KeyChangesRange(from, to)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	changed, left, err := a.svc.E2EE.DeviceLists(r.Context(), caller(r).UserID, rng)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if changed == nil {
		changed = []string{}
	}
	if left == nil {
		left = []string{}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"changed": changed, "left": left})
}
