package sqlstore

import (
	"context"
	"testing"

	"myelin/internal/storetest"
	"myelin/internal/testkit/testdb"
)

func openTest(t *testing.T, e testdb.Engine) *DB {
	t.Helper()
	dbURL, path := e.New(t)
	db, err := Open(context.Background(), Options{URL: dbURL, SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t, e) })
		})
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dbURL, path := e.New(t)
			for i := 0; i < 2; i++ {
				db, err := Open(context.Background(), Options{URL: dbURL, SQLitePath: path})
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				var n int
				if err := db.read.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n == 0 {
					t.Fatalf("schema_migrations: %d, %v", n, err)
				}
				db.Close()
			}
		})
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- c\nCREATE TABLE a (\n x INT\n);\n\nCREATE INDEX i ON a (x);\n")
	if len(got) != 2 || got[1] != "CREATE INDEX i ON a (x);" {
		t.Fatalf("splitStatements = %q", got)
	}
}
