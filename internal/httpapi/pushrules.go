package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/push"
	"myelin/internal/spec"
)

// PushRules is what the handlers need of the push rules service.
type PushRules interface {
	Ruleset(ctx context.Context, user spec.UserID) (push.Ruleset, error)
	Rule(ctx context.Context, user spec.UserID, kind, ruleID string) (push.Rule, error)
	PutRule(ctx context.Context, user spec.UserID, kind, ruleID, before, after string, r push.NewRule) error
	DeleteRule(ctx context.Context, user spec.UserID, kind, ruleID string) error
	SetEnabled(ctx context.Context, user spec.UserID, kind, ruleID string, enabled bool) error
	SetActions(ctx context.Context, user spec.UserID, kind, ruleID string, actions []json.RawMessage) error
}

func (a *API) pushRuleRoutes() []route {
	const rule = "pushrules/global/{kind}/{ruleId}"
	return []route{
		{method: "GET", path: "pushrules/{$}", auth: authUser, r0: true, handler: a.getAllPushRules},
		{method: "GET", path: "pushrules/global/{$}", auth: authUser, r0: true, handler: a.getGlobalPushRules},
		{method: "GET", path: "pushrules/global", auth: authUser, r0: true, handler: a.getGlobalPushRules},
		{method: "GET", path: rule, auth: authUser, r0: true, handler: a.getPushRule},
		{method: "PUT", path: rule, auth: authUser, r0: true, handler: a.putPushRule},
		{method: "DELETE", path: rule, auth: authUser, r0: true, handler: a.deletePushRule},
		{method: "GET", path: rule + "/enabled", auth: authUser, r0: true, handler: a.getPushRuleEnabled},
		{method: "PUT", path: rule + "/enabled", auth: authUser, r0: true, handler: a.setPushRuleEnabled},
		{method: "GET", path: rule + "/actions", auth: authUser, r0: true, handler: a.getPushRuleActions},
		{method: "PUT", path: rule + "/actions", auth: authUser, r0: true, handler: a.setPushRuleActions},
	}
}

// getAllPushRules serves GET /_matrix/client/v3/pushrules/
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushrules).
func (a *API) getAllPushRules(w http.ResponseWriter, r *http.Request) {
	rs, err := a.svc.PushRules.Ruleset(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"global": rs})
}

// getGlobalPushRules serves GET /_matrix/client/v3/pushrules/global/
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushrulesglobal).
func (a *API) getGlobalPushRules(w http.ResponseWriter, r *http.Request) {
	rs, err := a.svc.PushRules.Ruleset(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

// getPushRule serves GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushrulesglobalkindruleid).
func (a *API) getPushRule(w http.ResponseWriter, r *http.Request) {
	rule, err := a.svc.PushRules.Rule(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

// putPushRule serves PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3pushrulesglobalkindruleid).
func (a *API) putPushRule(w http.ResponseWriter, r *http.Request) {
	body, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req push.NewRule
	if err := decodeRaw(body, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	q := r.URL.Query()
	err = a.svc.PushRules.PutRule(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"), q.Get("before"), q.Get("after"), req)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// deletePushRule serves DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}
// (https://spec.matrix.org/v1.19/client-server-api/#delete_matrixclientv3pushrulesglobalkindruleid).
func (a *API) deletePushRule(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.PushRules.DeleteRule(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// getPushRuleEnabled serves GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushrulesglobalkindruleidenabled).
func (a *API) getPushRuleEnabled(w http.ResponseWriter, r *http.Request) {
	rule, err := a.svc.PushRules.Rule(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"enabled": rule.Enabled})
}

// setPushRuleEnabled serves PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3pushrulesglobalkindruleidenabled).
func (a *API) setPushRuleEnabled(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if req.Enabled == nil {
		writeError(w, r, a.log, spec.MissingParam("enabled is required"))
		return
	}
	if err := a.svc.PushRules.SetEnabled(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"), *req.Enabled); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// getPushRuleActions serves GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions
// (https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3pushrulesglobalkindruleidactions).
func (a *API) getPushRuleActions(w http.ResponseWriter, r *http.Request) {
	rule, err := a.svc.PushRules.Rule(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": rule.Actions})
}

// setPushRuleActions serves PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions
// (https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3pushrulesglobalkindruleidactions).
func (a *API) setPushRuleActions(w http.ResponseWriter, r *http.Request) {
	body, err := readRawObject(r, a.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var req struct {
		Actions []json.RawMessage `json:"actions"`
	}
	if err := decodeRaw(body, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.PushRules.SetActions(r.Context(), caller(r).UserID, r.PathValue("kind"), r.PathValue("ruleId"), req.Actions); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
