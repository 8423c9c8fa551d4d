// Package testdb gives tests a fresh database on every engine the machine
// offers: SQLite in a temporary directory always, and PostgreSQL when
// MYELIN_TEST_POSTGRES holds a URL (scripts/postgres.sh starts one). In CI
// (CI=true) a missing PostgreSQL fails the test instead of skipping it, so
// the storage suite can never silently run on one engine only.
//
// It is for tests only.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating databases
)

// Engine is a way to get an empty database.
type Engine struct {
	// Name is "sqlite" or "postgres", for subtest names.
	Name string
	// New returns the URL (empty for SQLite) and SQLite path of a fresh,
	// empty database that is dropped when the test ends.
	New func(t testing.TB) (dbURL, sqlitePath string)
}

// Engines returns the engines to run a test on.
func Engines(t testing.TB) []Engine {
	engines := []Engine{{Name: "sqlite", New: newSQLite}}
	if base := os.Getenv("MYELIN_TEST_POSTGRES"); base != "" {
		engines = append(engines, Engine{Name: "postgres", New: func(t testing.TB) (string, string) {
			return newPostgres(t, base), ""
		}})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but MYELIN_TEST_POSTGRES is not set: the suite must run on PostgreSQL too")
	}
	return engines
}

func newSQLite(t testing.TB) (string, string) {
	return "", filepath.Join(t.TempDir(), "myelin.db")
}

func newPostgres(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "myelin_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
