package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"myelin/internal/receipts"
	"myelin/internal/spec"
)

// Receipts is the receipts and read markers service.
type Receipts interface {
	Send(ctx context.Context, user spec.UserID, roomID, receiptType, eventID string, thread receipts.Thread) error
	SetReadMarkers(ctx context.Context, user spec.UserID, roomID, fullyRead, read, readPrivate string) error
}

func (a *API) receiptRoutes() []route {
	return []route{
		{method: "POST", path: "rooms/{roomId}/receipt/{receiptType}/{eventId}", auth: authUser, r0: true, handler: a.sendReceipt},
		{method: "POST", path: "rooms/{roomId}/read_markers", auth: authUser, r0: true, handler: a.setReadMarkers},
	}
}

// sendReceipt serves POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid).
// An empty body counts as {}.
func (a *API) sendReceipt(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ThreadID json.RawMessage `json:"thread_id"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var thread receipts.Thread
	if req.ThreadID != nil {
		// The spec answers a thread_id that is not a string with
		// M_INVALID_PARAM, not M_BAD_JSON.
		if err := json.Unmarshal(req.ThreadID, &thread.ID); err != nil || string(req.ThreadID) == "null" {
			writeError(w, r, a.log, spec.InvalidParam("thread_id must be a non-empty string"))
			return
		}
		thread.Set = true
	}
	err := a.svc.Receipts.Send(r.Context(), caller(r).UserID, r.PathValue("roomId"), r.PathValue("receiptType"), r.PathValue("eventId"), thread)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// setReadMarkers serves POST /_matrix/client/v3/rooms/{roomId}/read_markers
// (https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidread_markers).
func (a *API) setReadMarkers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FullyRead   *string `json:"m.fully_read"`
		Read        *string `json:"m.read"`
		ReadPrivate *string `json:"m.read.private"`
	}
	if err := readJSON(r, a.opts.MaxRequestBytes, &req); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var ids [3]string
	for i, p := range []*string{req.FullyRead, req.Read, req.ReadPrivate} {
		if p == nil {
			continue
		}
		if *p == "" {
			writeError(w, r, a.log, spec.InvalidParam("read marker event IDs must not be empty"))
			return
		}
		ids[i] = *p
	}
	if err := a.svc.Receipts.SetReadMarkers(r.Context(), caller(r).UserID, r.PathValue("roomId"), ids[0], ids[1], ids[2]); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
