// Package store is the persistence contract: record types, small bulk-first
// interfaces per domain, and the errors every implementation returns.
//
// Services depend on these interfaces (or on smaller ones they declare
// themselves), never on package sqlstore. Every implementation passes the
// conformance suite in package storetest.
package store

import "errors"

// ErrNotFound is returned (wrapped) when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned (wrapped) when a record to create already exists,
// or a uniqueness rule would be broken.
var ErrConflict = errors.New("store: conflict")
