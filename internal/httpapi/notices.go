package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/notices"
	"myelin/internal/spec"
)

// Notices is what the server notices handlers need of the notices
// service.
type Notices interface {
	Send(ctx context.Context, n notices.Notice) (string, error)
}

func (a *API) noticeRoutes() []route {
	if a.svc.Notices == nil {
		return nil
	}
	return []route{
		{method: "POST", path: "/_synapse/admin/v1/send_server_notice", auth: authUser, handler: a.sendServerNotice},
		{method: "PUT", path: "/_synapse/admin/v1/send_server_notice/{txnId}", auth: authUser, handler: a.sendServerNotice},
	}
}

// sendServerNotice serves POST /_synapse/admin/v1/send_server_notice and
// PUT /_synapse/admin/v1/send_server_notice/{txnId}, Synapse's admin API
// (https://element-hq.github.io/synapse/latest/admin_api/server_notices.html):
// server administrators only.
func (a *API) sendServerNotice(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(caller(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req struct {
		UserID   *string         `json:"user_id"`
		Type     *string         `json:"type"`
		StateKey *string         `json:"state_key"`
		Content  json.RawMessage `json:"content"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	n := notices.Notice{StateKey: req.StateKey, TxnID: r.PathValue("txnId")}
	if req.UserID != nil {
		n.UserID = *req.UserID
	}
	if req.Type != nil {
		n.Type = *req.Type
	}
	if req.Content != nil && string(req.Content) != "null" {
		if req.Content[0] != '{' {
			writeError(w, r, a.log, spec.BadJSON("content must be an object"))
			return
		}
		n.Content = req.Content
	}
	eventID, err := a.svc.Notices.Send(r.Context(), n)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": eventID})
}
