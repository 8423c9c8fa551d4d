package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"myelin/internal/testkit/testdb"
)

// TestStreamPositionsNeverSkip has concurrent writers take positions and
// commit rows, while a reader repeatedly reads the current position and
// checks that every row up to it is visible: the trap where position N+1
// commits before N, and a reader skips N forever, must never happen.
func TestStreamPositionsNeverSkip(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := openTest(t, e)
			ctx := context.Background()
			if _, err := db.write.ExecContext(ctx, `CREATE TABLE stream_probe (pos BIGINT PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			const writers, perWriter = 8, 40
			var wg sync.WaitGroup
			stop := make(chan struct{})
			readerErr := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						readerErr <- nil
						return
					default:
					}
					cur, err := db.CurrentPosition(ctx, "probe")
					if err != nil {
						readerErr <- err
						return
					}
					var n int64
					if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM stream_probe WHERE pos <= $1`, cur).Scan(&n); err != nil {
						readerErr <- err
						return
					}
					if n != cur {
						t.Errorf("position %d is current but only %d rows at or below it are visible", cur, n)
					}
				}
			}()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perWriter; i++ {
						err := db.inTx(ctx, func(tx *sql.Tx) error {
							pos, err := nextPosition(ctx, tx, "probe")
							if err != nil {
								return err
							}
							_, err = tx.ExecContext(ctx, `INSERT INTO stream_probe (pos) VALUES ($1)`, pos)
							return err
						})
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			if err := <-readerErr; err != nil {
				t.Fatal(err)
			}
			if cur, _ := db.CurrentPosition(ctx, "probe"); cur != writers*perWriter {
				t.Fatalf("final position %d, want %d", cur, writers*perWriter)
			}
		})
	}
}
