// Package storetest is the conformance suite every store implementation
// passes. Run calls one subtest per domain; each gets a fresh, empty store
// from the open function.
package storetest

import (
	"testing"

	"myelin/internal/store"
)

// Store is everything the suite exercises.
type Store interface {
	store.Accounts
}

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
}
