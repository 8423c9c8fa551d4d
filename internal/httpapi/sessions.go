package httpapi

import (
	"context"
	"net/http"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/users"
)

// Users is what the handlers need of the accounts service.
type Users interface {
	Authenticate(ctx context.Context, token, ip string) (users.Caller, error)
	CheckPassword(ctx context.Context, localpart, password string) (string, error)
	NewSession(ctx context.Context, localpart, deviceID, displayName, ip string, refreshable bool) (users.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (users.Tokens, error)
	Logout(ctx context.Context, tokenHash []byte) error
	LogoutAll(ctx context.Context, localpart string) error

	Register(ctx context.Context, req users.RegisterRequest) (users.Registered, error)
	UsernameAvailable(ctx context.Context, username string) error
	RegistrationTokenValid(ctx context.Context, token string) (bool, error)
	SharedSecretNonce(ctx context.Context) (string, error)
	RegisterWithSharedSecret(ctx context.Context, req users.SharedSecretRequest) (users.Registered, error)
	CreateRegistrationToken(ctx context.Context, n users.NewRegistrationToken) (users.RegistrationToken, error)
	RegistrationTokens(ctx context.Context, valid *bool) ([]users.RegistrationToken, error)
	ChangePassword(ctx context.Context, c users.Caller, req users.PasswordChange) error
	Deactivate(ctx context.Context, c users.Caller, auth *users.AuthDict) error
	Devices(ctx context.Context, c users.Caller) ([]users.Device, error)
	Device(ctx context.Context, c users.Caller, id string) (users.Device, error)
	RenameDevice(ctx context.Context, c users.Caller, id, name string) error
	DeleteDevices(ctx context.Context, c users.Caller, ids []string, auth *users.AuthDict) error
}

func (a *API) sessionRoutes() []route {
	return []route{
		{method: "GET", path: "login", r0: true, handler: a.loginFlows},
		{method: "POST", path: "login", r0: true, handler: a.login},
		{method: "POST", path: "refresh", handler: a.refresh},
		{method: "POST", path: "logout", auth: authUser, r0: true, handler: a.logout},
		{method: "POST", path: "logout/all", auth: authUser, r0: true, handler: a.logoutAll},
		{method: "GET", path: "account/whoami", auth: authUser, r0: true, handler: a.whoami},
	}
}

// loginFlows serves GET /_matrix/client/v3/login.
func (a *API) loginFlows(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"flows": []map[string]string{{"type": "m.login.password"}}})
}

type loginRequest struct {
	Type       string `json:"type"`
	Identifier *struct {
		Type string `json:"type"`
		User string `json:"user"`
	} `json:"identifier"`
	User                     string `json:"user"` // deprecated form
	Password                 string `json:"password"`
	DeviceID                 string `json:"device_id"`
	InitialDeviceDisplayName string `json:"initial_device_display_name"`
	RefreshToken             bool   `json:"refresh_token"`
}

// login serves POST /_matrix/client/v3/login
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3login).
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Type != "m.login.password" {
		writeError(w, r, a.log, spec.Unknown(http.StatusBadRequest, "unsupported login type %q", req.Type))
		return
	}
	user := req.User
	if req.Identifier != nil {
		switch req.Identifier.Type {
		case "m.id.user":
		case "m.id.thirdparty", "m.id.phone":
			// The spec: an unknown third-party identifier is 403. Myelin binds none.
			writeError(w, r, a.log, spec.Forbidden("no account has this third-party identifier"))
			return
		default:
			writeError(w, r, a.log, spec.Unknown(http.StatusBadRequest, "unsupported identifier type %q", req.Identifier.Type))
			return
		}
		user = req.Identifier.User
	}
	localpart, err := a.localpartOf(user)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	localpart, err = a.svc.Users.CheckPassword(r.Context(), localpart, req.Password)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	t, err := a.svc.Users.NewSession(r.Context(), localpart, req.DeviceID, req.InitialDeviceDisplayName, clientIP(r), req.RefreshToken)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, a.tokensResponse(localpart, t))
}

// localpartOf accepts a bare localpart or a full user ID of this server.
func (a *API) localpartOf(user string) (string, error) {
	if user == "" {
		return "", spec.MissingParam("no user given")
	}
	if !strings.HasPrefix(user, "@") {
		return strings.ToLower(user), nil
	}
	uid, err := spec.ParseHistoricalUserID(user)
	if err != nil || uid.Domain() != a.opts.ServerName {
		return "", spec.Forbidden("invalid username or password")
	}
	return strings.ToLower(uid.Localpart()), nil
}

func (a *API) tokensResponse(localpart string, t users.Tokens) map[string]any {
	uid, _ := spec.NewUserID(localpart, a.opts.ServerName)
	resp := map[string]any{
		"user_id":      uid.String(),
		"access_token": t.AccessToken,
		"device_id":    t.DeviceID,
		"home_server":  string(a.opts.ServerName),
	}
	if t.RefreshToken != "" {
		resp["refresh_token"] = t.RefreshToken
		resp["expires_in_ms"] = t.ExpiresInMS
	}
	return resp
}

// refresh serves POST /_matrix/client/v3/refresh.
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.RefreshToken == "" {
		writeError(w, r, a.log, spec.MissingParam("refresh_token is required"))
		return
	}
	t, err := a.svc.Users.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": t.AccessToken, "refresh_token": t.RefreshToken, "expires_in_ms": t.ExpiresInMS,
	})
}

// logout serves POST /_matrix/client/v3/logout.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Users.Logout(r.Context(), caller(r).TokenHash); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// logoutAll serves POST /_matrix/client/v3/logout/all.
func (a *API) logoutAll(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Users.LogoutAll(r.Context(), caller(r).UserID.Localpart()); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// whoami serves GET /_matrix/client/v3/account/whoami.
func (a *API) whoami(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	writeJSON(w, http.StatusOK, map[string]any{"user_id": c.UserID.String(), "device_id": c.DeviceID, "is_guest": false})
}
