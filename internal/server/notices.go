package server

import (
	"fmt"

	"myelin/internal/accountdata"
	"myelin/internal/config"
	"myelin/internal/httpapi"
	"myelin/internal/notices"
	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/sqlstore"
)

// serverNoticesUser returns the configured server notices user; the zero
// user ID when server notices are off.
func serverNoticesUser(cfg config.Config) (spec.UserID, error) {
	if cfg.ServerNotices.Localpart == "" {
		return spec.UserID{}, nil
	}
	uid, err := spec.NewUserID(cfg.ServerNotices.Localpart, spec.ServerName(cfg.ServerName))
	if err != nil {
		return uid, fmt.Errorf("server_notices.localpart: %w", err)
	}
	return uid, nil
}

// newNotices builds the server notices service; nil (no routes) when
// server notices are off.
func newNotices(cfg config.Config, user spec.UserID, db *sqlstore.DB, rooms *room.Engine, tags *accountdata.Service) httpapi.Notices {
	if cfg.ServerNotices.Localpart == "" {
		return nil
	}
	return notices.New(notices.Options{
		ServerName: spec.ServerName(cfg.ServerName), User: user, RoomName: cfg.ServerNotices.RoomName,
	}, db, rooms, tags)
}
