package httpapi

import (
	"net/http"

	"myelin/internal/spec"
)

func (a *API) discoveryRoutes() []route {
	return []route{
		{method: "GET", path: "/_matrix/client/versions", handler: a.versions},
		{method: "GET", path: "/.well-known/matrix/client", handler: a.wellKnownClient},
		{method: "GET", path: "capabilities", auth: authUser, r0: true, handler: a.capabilities},
	}
}

// supportedVersions are the spec versions whose client API Myelin serves.
var supportedVersions = []string{
	"r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
	"v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
	"v1.11", "v1.12", "v1.13", "v1.14", "v1.15", "v1.16", "v1.17", "v1.18", "v1.19",
}

// versions serves GET /_matrix/client/versions
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientversions).
// Unstable features are advertised only when they are served.
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	unstable := map[string]bool{}
	if a.svc.Dehydration != nil {
		unstable["org.matrix.msc3814"] = true
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"versions":          supportedVersions,
		"unstable_features": unstable,
	})
}

// wellKnownClient serves GET /.well-known/matrix/client: this server is its
// own client API base URL.
func (a *API) wellKnownClient(w http.ResponseWriter, r *http.Request) {
	base := "https://" + string(a.opts.ServerName)
	if r.TLS == nil {
		base = "http://" + r.Host
	}
	writeJSON(w, http.StatusOK, map[string]any{"m.homeserver": map[string]string{"base_url": base}})
}

// capabilities serves GET /_matrix/client/v3/capabilities.
func (a *API) capabilities(w http.ResponseWriter, r *http.Request) {
	available := map[string]string{}
	for _, v := range spec.RoomVersions() {
		if v.Stable {
			available[v.ID] = "stable"
		} else {
			available[v.ID] = "unstable"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"capabilities": map[string]any{
		"m.room_versions":   map[string]any{"default": spec.DefaultRoomVersion, "available": available},
		"m.change_password": map[string]bool{"enabled": true},
		"m.3pid_changes":    map[string]bool{"enabled": false},
		"m.get_login_token": map[string]bool{"enabled": false},
	}})
}
