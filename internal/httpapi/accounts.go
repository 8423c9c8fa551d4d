package httpapi

import (
	"errors"
	"net/http"

	"myelin/internal/spec"
	"myelin/internal/users"
)

func (a *API) accountRoutes() []route {
	return []route{
		{method: "POST", path: "register", r0: true, handler: a.registerAccount},
		{method: "GET", path: "register/available", r0: true, handler: a.registerAvailable},
		{method: "GET", path: "register/m.login.registration_token/validity", v1: true, handler: a.registrationTokenValidity},
		{method: "POST", path: "account/password", auth: authUser, r0: true, handler: a.changePassword},
		{method: "POST", path: "account/deactivate", auth: authUser, r0: true, handler: a.deactivate},
		{method: "GET", path: "devices", auth: authUser, r0: true, handler: a.devices},
		{method: "GET", path: "devices/{deviceId}", auth: authUser, r0: true, handler: a.device},
		{method: "PUT", path: "devices/{deviceId}", auth: authUser, r0: true, handler: a.renameDevice},
		{method: "DELETE", path: "devices/{deviceId}", auth: authUser, r0: true, handler: a.deleteDevice},
		{method: "POST", path: "delete_devices", auth: authUser, r0: true, handler: a.deleteDevices},

		{method: "GET", path: "/_synapse/admin/v1/register", handler: a.sharedSecretNonce},
		{method: "POST", path: "/_synapse/admin/v1/register", handler: a.sharedSecretRegister},
		{method: "POST", path: "/_synapse/admin/v1/registration_tokens/new", auth: authUser, handler: a.newRegistrationToken},
		{method: "GET", path: "/_synapse/admin/v1/registration_tokens", auth: authUser, handler: a.registrationTokens},
	}
}

// authDict is the "auth" object of user-interactive authentication.
type authDict struct {
	Type       string `json:"type"`
	Session    string `json:"session"`
	Identifier *struct {
		Type string `json:"type"`
		User string `json:"user"`
	} `json:"identifier"`
	User     string `json:"user"` // legacy form of identifier
	Password string `json:"password"`
	Token    string `json:"token"`
}

// toUsers converts the auth dict; nil stays nil (no auth given).
func (d *authDict) toUsers() *users.AuthDict {
	if d == nil {
		return nil
	}
	out := &users.AuthDict{Type: d.Type, Session: d.Session, Password: d.Password, Token: d.Token}
	switch {
	case d.Identifier != nil:
		out.IdentifierType, out.User = d.Identifier.Type, d.Identifier.User
	case d.User != "":
		out.IdentifierType, out.User = "m.id.user", d.User
	}
	return out
}

// writeAuthError writes the 401 of user-interactive authentication, or any
// other error as usual.
func (a *API) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var ar *users.AuthRequired
	if !errors.As(err, &ar) {
		writeError(w, r, a.log, err)
		return
	}
	flows := make([]map[string][]string, len(ar.Flows))
	for i, f := range ar.Flows {
		flows[i] = map[string][]string{"stages": f}
	}
	body := map[string]any{"flows": flows, "params": ar.Params, "session": ar.Session}
	if len(ar.Completed) > 0 {
		body["completed"] = ar.Completed
	}
	if ar.Err != nil {
		body["errcode"], body["error"] = ar.Err.Code, ar.Err.Message
	}
	writeJSON(w, http.StatusUnauthorized, body)
}

type registerRequest struct {
	Auth                     *authDict `json:"auth"`
	Username                 string    `json:"username"`
	Password                 string    `json:"password"`
	DeviceID                 string    `json:"device_id"`
	InitialDeviceDisplayName string    `json:"initial_device_display_name"`
	InhibitLogin             bool      `json:"inhibit_login"`
	RefreshToken             bool      `json:"refresh_token"`
	// Type is set by application services (m.login.application_service).
	Type string `json:"type"`
}

// registerAccount serves POST /_matrix/client/v3/register
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3register).
func (a *API) registerAccount(w http.ResponseWriter, r *http.Request) {
	switch kind := r.URL.Query().Get("kind"); kind {
	case "", "user":
	case "guest":
		writeError(w, r, a.log, spec.Forbidden("guest accounts are not supported on this homeserver"))
		return
	default:
		writeError(w, r, a.log, spec.InvalidParam("kind must be user or guest"))
		return
	}
	var req registerRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Type == "m.login.application_service" {
		// No application service is registered, so no as_token is valid.
		if token, _ := accessToken(r); token == "" {
			writeError(w, r, a.log, spec.MissingToken())
		} else {
			writeError(w, r, a.log, spec.UnknownToken())
		}
		return
	}
	reg, err := a.svc.Users.Register(r.Context(), users.RegisterRequest{
		Username:                 req.Username,
		Password:                 req.Password,
		DeviceID:                 req.DeviceID,
		InitialDeviceDisplayName: req.InitialDeviceDisplayName,
		InhibitLogin:             req.InhibitLogin,
		RefreshToken:             req.RefreshToken,
		IP:                       clientIP(r),
		Auth:                     req.Auth.toUsers(),
	})
	if err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.registeredResponse(reg))
}

func (a *API) registeredResponse(reg users.Registered) map[string]any {
	if reg.Tokens == nil {
		return map[string]any{"user_id": reg.UserID.String(), "home_server": string(a.opts.ServerName)}
	}
	return a.tokensResponse(reg.UserID.Localpart(), *reg.Tokens)
}

// registerAvailable serves GET /_matrix/client/v3/register/available
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3registeravailable).
func (a *API) registerAvailable(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Users.UsernameAvailable(r.Context(), r.URL.Query().Get("username")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"available": true})
}

// registrationTokenValidity serves GET
// /_matrix/client/v1/register/m.login.registration_token/validity
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv1registermloginregistration_tokenvalidity).
// The per-IP rate limit guards it against guessing.
func (a *API) registrationTokenValidity(w http.ResponseWriter, r *http.Request) {
	valid, err := a.svc.Users.RegistrationTokenValid(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"valid": valid})
}

// sharedSecretNonce serves GET /_synapse/admin/v1/register, Synapse's
// shared-secret registration
// (https://element-hq.github.io/synapse/latest/admin_api/register_api.html).
func (a *API) sharedSecretNonce(w http.ResponseWriter, r *http.Request) {
	nonce, err := a.svc.Users.SharedSecretNonce(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"nonce": nonce})
}

type sharedSecretRequest struct {
	Nonce        string  `json:"nonce"`
	Username     string  `json:"username"`
	Password     string  `json:"password"`
	Admin        bool    `json:"admin"`
	UserType     *string `json:"user_type"`
	MAC          string  `json:"mac"`
	RefreshToken bool    `json:"refresh_token"`
	// Displayname is accepted and ignored: profiles are another service's,
	// and a new account's display name defaults to its localpart anyway.
	Displayname *string `json:"displayname"`
}

// sharedSecretRegister serves POST /_synapse/admin/v1/register
// (https://element-hq.github.io/synapse/latest/admin_api/register_api.html).
func (a *API) sharedSecretRegister(w http.ResponseWriter, r *http.Request) {
	var req sharedSecretRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	userType := ""
	if req.UserType != nil {
		userType = *req.UserType
	}
	reg, err := a.svc.Users.RegisterWithSharedSecret(r.Context(), users.SharedSecretRequest{
		Nonce: req.Nonce, Username: req.Username, Password: req.Password, Admin: req.Admin,
		UserType: userType, MAC: req.MAC, RefreshToken: req.RefreshToken, IP: clientIP(r),
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, a.registeredResponse(reg))
}

func requireAdmin(c users.Caller) error {
	if !c.Admin {
		return spec.Forbidden("you are not a server admin")
	}
	return nil
}

// registrationTokenJSON is Synapse's admin-API shape of a token.
func registrationTokenJSON(t users.RegistrationToken) map[string]any {
	return map[string]any{
		"token": t.Token, "uses_allowed": t.UsesAllowed, "pending": t.Pending,
		"completed": t.Completed, "expiry_time": t.ExpiryTime,
	}
}

type newRegistrationTokenRequest struct {
	Token       *string `json:"token"`
	UsesAllowed *int64  `json:"uses_allowed"`
	ExpiryTime  *int64  `json:"expiry_time"`
	Length      *int    `json:"length"`
}

// newRegistrationToken serves POST /_synapse/admin/v1/registration_tokens/new
// (https://element-hq.github.io/synapse/latest/usage/administration/admin_api/registration_tokens.html).
func (a *API) newRegistrationToken(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(caller(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req newRegistrationTokenRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	t, err := a.svc.Users.CreateRegistrationToken(r.Context(), users.NewRegistrationToken{
		Token: req.Token, Length: req.Length, UsesAllowed: req.UsesAllowed, ExpiryTime: req.ExpiryTime,
	})
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, registrationTokenJSON(t))
}

// registrationTokens serves GET /_synapse/admin/v1/registration_tokens
// (https://element-hq.github.io/synapse/latest/usage/administration/admin_api/registration_tokens.html).
func (a *API) registrationTokens(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(caller(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var valid *bool
	switch v := r.URL.Query().Get("valid"); v {
	case "":
	case "true", "false":
		b := v == "true"
		valid = &b
	default:
		writeError(w, r, a.log, spec.InvalidParam("valid must be true or false"))
		return
	}
	tokens, err := a.svc.Users.RegistrationTokens(r.Context(), valid)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	out := make([]map[string]any, len(tokens))
	for i, t := range tokens {
		out[i] = registrationTokenJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"registration_tokens": out})
}

type changePasswordRequest struct {
	NewPassword   string    `json:"new_password"`
	LogoutDevices *bool     `json:"logout_devices"`
	Auth          *authDict `json:"auth"`
}

// changePassword serves POST /_matrix/client/v3/account/password
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3accountpassword).
// NOTSPEC: the spec lets a client without an access token change a
// password through an email stage; Myelin has no email, so a token is
// required (as Synapse does without email).
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var req changePasswordRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	logout := req.LogoutDevices == nil || *req.LogoutDevices
	err := a.svc.Users.ChangePassword(r.Context(), caller(r), users.PasswordChange{
		NewPassword: req.NewPassword, LogoutDevices: logout, Auth: req.Auth.toUsers(),
	})
	if err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

type deactivateRequest struct {
	Auth     *authDict `json:"auth"`
	IDServer string    `json:"id_server"`
	Erase    bool      `json:"erase"`
}

// deactivate serves POST /_matrix/client/v3/account/deactivate
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3accountdeactivate).
// NOTSPEC: an access token is required (the spec makes it optional), as in
// Synapse. Myelin binds no third-party identifiers, so there is nothing to
// unbind: the spec then requires id_server_unbind_result "success".
func (a *API) deactivate(w http.ResponseWriter, r *http.Request) {
	var req deactivateRequest
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Users.Deactivate(r.Context(), caller(r), req.Auth.toUsers()); err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id_server_unbind_result": "success"})
}

// deviceJSON is the spec's Device object; unset fields are absent.
func deviceJSON(d users.Device) map[string]any {
	out := map[string]any{"device_id": d.ID}
	if d.DisplayName != "" {
		out["display_name"] = d.DisplayName
	}
	if d.LastSeenIP != "" {
		out["last_seen_ip"] = d.LastSeenIP
	}
	if d.LastSeenTS != 0 {
		out["last_seen_ts"] = d.LastSeenTS
	}
	return out
}

// devices serves GET /_matrix/client/v3/devices
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3devices).
func (a *API) devices(w http.ResponseWriter, r *http.Request) {
	devs, err := a.svc.Users.Devices(r.Context(), caller(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	out := make([]map[string]any, len(devs))
	for i, d := range devs {
		out[i] = deviceJSON(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

// device serves GET /_matrix/client/v3/devices/{deviceId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3devicesdeviceid).
func (a *API) device(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.Users.Device(r.Context(), caller(r), r.PathValue("deviceId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceJSON(d))
}

// renameDevice serves PUT /_matrix/client/v3/devices/{deviceId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3devicesdeviceid).
// Only application services may create devices this way; Myelin has none
// yet, so an unknown device is 404.
func (a *API) renameDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, id := caller(r), r.PathValue("deviceId")
	var err error
	if req.DisplayName == nil {
		_, err = a.svc.Users.Device(r.Context(), c, id)
	} else {
		err = a.svc.Users.RenameDevice(r.Context(), c, id, *req.DisplayName)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteDevice serves DELETE /_matrix/client/v3/devices/{deviceId}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3devicesdeviceid).
func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Auth *authDict `json:"auth"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Users.DeleteDevices(r.Context(), caller(r), []string{r.PathValue("deviceId")}, req.Auth.toUsers()); err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deleteDevices serves POST /_matrix/client/v3/delete_devices
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3delete_devices).
func (a *API) deleteDevices(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Devices *[]string `json:"devices"`
		Auth    *authDict `json:"auth"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Devices == nil {
		writeError(w, r, a.log, spec.MissingParam("devices is required"))
		return
	}
	if err := a.svc.Users.DeleteDevices(r.Context(), caller(r), *req.Devices, req.Auth.toUsers()); err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
