// Package sqlstore implements the store interfaces on SQLite (the embedded
// default, modernc.org/sqlite, WAL) and PostgreSQL (pgx), with one schema
// and one text per query. Where the engines truly differ, a small dialect
// shim rewrites the text (see dialect.go); nothing else is written twice.
//
// SQLite has one write connection (writes serialize in the pool, so SQLITE_BUSY
// cannot happen between our own writers) and a pool of read connections.
// PostgreSQL uses one pool for both.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Engine names a database engine.
type Engine int

// The supported engines.
const (
	SQLite Engine = iota + 1
	Postgres
)

func (e Engine) String() string {
	if e == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is the store on one database. It implements the interfaces of package
// store. It is safe for concurrent use, also by several processes sharing one
// PostgreSQL database.
type DB struct {
	engine Engine
	write  *sql.DB
	read   *sql.DB
}

// Options selects the database.
type Options struct {
	// URL is a postgres:// URL, or empty for SQLite.
	URL string
	// SQLitePath is the SQLite file, used when URL is empty. Its directory is
	// created if missing.
	SQLitePath string
	// MaxConns caps PostgreSQL connections (0 = 20).
	MaxConns int
}

// Open connects, applies pending migrations and returns the store.
func Open(ctx context.Context, opts Options) (*DB, error) {
	var db *DB
	var err error
	if opts.URL != "" {
		db, err = openPostgres(opts)
	} else {
		db, err = openSQLite(opts.SQLitePath)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlstore: no SQLite path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlstore: creating data directory: %w", err)
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)"
	dsn := "file:" + url.PathEscape(path) + "?" + pragmas
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	return &DB{engine: SQLite, write: write, read: read}, nil
}

func openPostgres(opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", opts.URL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening PostgreSQL: %w", err)
	}
	max := opts.MaxConns
	if max == 0 {
		max = 20
	}
	pool.SetMaxOpenConns(max)
	pool.SetMaxIdleConns(max)
	return &DB{engine: Postgres, write: pool, read: pool}, nil
}

// Engine reports which engine the store runs on.
func (db *DB) Engine() Engine { return db.engine }

// Close closes the connection pools.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// inTx runs fn in a write transaction, committing if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a uniqueness or primary-key
// violation on either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	// SQLite: "constraint failed: UNIQUE constraint failed: ..." (2067/1555);
	// PostgreSQL: SQLSTATE 23505.
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}
