package sqlcrypto_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// readAll opens every row of customers.ssn, returning the plaintexts and
// the key id of each stored value.
func readAll(t *testing.T, e *dbEnv, col *sqlcrypto.Column, bound bool) (map[int64]string, map[int64]uint32) {
	t.Helper()
	rows, err := e.db.Query("SELECT id, ssn FROM " + col.Table() + " ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	vals, keys := map[int64]string{}, map[int64]uint32{}
	for rows.Next() {
		var id int64
		var raw any
		require.NoError(t, rows.Scan(&id, &raw))
		var s sql.NullString
		if bound {
			require.NoError(t, col.OpenRow(id, &s).Scan(raw), "row %d", id)
		} else {
			require.NoError(t, col.Open(&s).Scan(raw), "row %d", id)
		}
		if s.Valid {
			vals[id] = s.String
		}
		keys[id], _ = sqlcrypto.KeyID(raw)
	}
	require.NoError(t, rows.Err())
	return vals, keys
}

// TestReencryptResumable rotates, re-encrypts in batches, stops after two
// batches, resumes from the checkpoint, and ends with every value under
// the new key, on a row-bound text column and a plain binary one.
func TestReencryptResumable(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		for _, tc := range []struct {
			name string
			typ  string
			opts []sqlcrypto.ColumnOption
		}{
			{"bytes", e.blob, nil},
			{"text-row-bound", "TEXT", []sqlcrypto.ColumnOption{sqlcrypto.WithText(), sqlcrypto.WithRowBinding()}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				table := "customers_" + strings.ReplaceAll(tc.name, "-", "_")
				e.exec(t, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, ssn "+tc.typ+")")
				ks := openKeyset(t, e, newKeyring(t))
				col, err := ks.Column(ctx, table, "ssn", tc.opts...)
				require.NoError(t, err)
				bound := len(tc.opts) > 0
				want := map[int64]string{}
				for i := int64(1); i <= 230; i++ {
					want[i] = fmt.Sprintf("123-45-%04d", i)
					v := col.Seal(want[i])
					if bound {
						v = col.SealRow(i, want[i])
					}
					e.exec(t, "INSERT INTO "+table+" (id, ssn) VALUES (?, ?)", i, v)
				}
				e.exec(t, "INSERT INTO "+table+" (id, ssn) VALUES (999, NULL)")
				require.NoError(t, ks.Rotate(ctx, table, "ssn"))

				stop := errors.New("stop")
				var checkpoints []any
				p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.BatchSize(50), sqlcrypto.OnProgress(func(p sqlcrypto.Progress) error {
					checkpoints = append(checkpoints, p.LastKey)
					if len(checkpoints) == 2 {
						return stop
					}
					return nil
				}))
				require.ErrorIs(t, err, stop)
				assert.Equal(t, int64(100), p.Rewritten)
				assert.Equal(t, []any{int64(50), int64(100)}, checkpoints)
				_, keys := readAll(t, e, col, bound)
				assert.Equal(t, uint32(2), keys[100])
				assert.Equal(t, uint32(1), keys[101])

				p, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.BatchSize(50), sqlcrypto.ResumeAfter(p.LastKey), sqlcrypto.Verify())
				require.NoError(t, err)
				assert.Equal(t, int64(131), p.Scanned, "rows after the checkpoint, NULL included")
				assert.Equal(t, int64(130), p.Rewritten)
				assert.Zero(t, p.Remaining)
				vals, keys := readAll(t, e, col, bound)
				for id, k := range keys {
					if id != 999 {
						assert.Equal(t, uint32(2), k, "row %d", id)
					}
				}
				assert.Equal(t, want, vals)

				// A rerun from the start finds nothing to do.
				p, err = col.Reencrypt(ctx, e.db, "id")
				require.NoError(t, err)
				assert.Zero(t, p.Rewritten)

				// Cancelled context: an error that is transient, nothing lost.
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err = col.Reencrypt(cctx, e.db, "id")
				assert.ErrorIs(t, err, sqlcrypto.ErrTransient)
			})
		}
	})
}

// TestReencryptConcurrentWriter re-encrypts while another process keeps
// rewriting rows under the old key: no write is lost, every row opens, and
// a second run (after the writer learnt the new key) leaves none stale.
func TestReencryptConcurrentWriter(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn "+e.blob+")")
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		const rows = 300
		var mu sync.Mutex
		want := map[int64]string{}
		for i := int64(1); i <= rows; i++ {
			want[i] = fmt.Sprintf("v%d", i)
			e.exec(t, "INSERT INTO customers (id, ssn) VALUES (?, ?)", i, col.Seal(want[i]))
		}
		writerDB := e.open(t)
		wks, err := sqlcrypto.Open(ctx, writerDB, kr)
		require.NoError(t, err)
		defer wks.Close()
		wcol, err := wks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		require.NoError(t, ks.Rotate(ctx, "customers", "ssn"))

		var done atomic.Bool
		var writes atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for n := 0; !done.Load() && n < 2000; n++ {
				id := int64(n*7%rows + 1)
				v := fmt.Sprintf("w%d-%d", id, n)
				mu.Lock()
				_, err := writerDB.ExecContext(ctx, e.q("UPDATE customers SET ssn = ? WHERE id = ?"), wcol.Seal(v), id)
				if err == nil {
					want[id] = v
					writes.Add(1)
				}
				mu.Unlock()
				if err != nil {
					t.Errorf("writer: %v", err)
					return
				}
			}
		})
		p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.BatchSize(20))
		done.Store(true)
		wg.Wait()
		require.NoError(t, err)
		assert.Positive(t, writes.Load())
		assert.Equal(t, int64(rows), p.Scanned)
		vals, _ := readAll(t, e, col, false)
		assert.Equal(t, want, vals, "no write lost")

		require.NoError(t, wks.Refresh(ctx))
		p, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.Verify())
		require.NoError(t, err)
		assert.Zero(t, p.Remaining)
	})
}

// TestMigratePlaintext encrypts a plaintext column and fills its blind
// index while the application reads both forms.
func TestMigratePlaintext(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn TEXT, ssn_idx TEXT)")
		for i := 1; i <= 120; i++ {
			e.exec(t, "INSERT INTO customers (id, ssn) VALUES (?, ?)", i, fmt.Sprintf("123-45-%04d", i))
		}
		ks := openKeyset(t, e, newKeyring(t))
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithText(), sqlcrypto.WithBlindIndex(32), sqlcrypto.WithPlaintextFallback())
		require.NoError(t, err)
		var s string
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 7").Scan(col.Open(&s)))
		assert.Equal(t, "123-45-0007", s, "plaintext read during the migration")

		p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.IndexColumn("ssn_idx"), sqlcrypto.BatchSize(25), sqlcrypto.Verify())
		require.NoError(t, err)
		assert.Equal(t, int64(120), p.Rewritten)
		assert.Zero(t, p.Remaining)

		var raw string
		var id int
		require.NoError(t, e.db.QueryRow(e.q("SELECT id, ssn FROM customers WHERE ssn_idx = ?"), col.Index("123-45-0042")).Scan(&id, &raw))
		assert.Equal(t, 42, id)
		assert.NotContains(t, raw, "0042")
		strict, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithText(), sqlcrypto.WithBlindIndex(32))
		require.NoError(t, err)
		require.NoError(t, strict.OpenValue(raw, &s))
		assert.Equal(t, "123-45-0042", s)
	})
}

// TestIndexRotation rotates the blind-index key: during the transition
// lookups use IndexAll, and after a reindex Index alone finds every row.
func TestIndexRotation(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn "+e.blob+", ssn_idx "+e.blob+")")
		ks := openKeyset(t, e, newKeyring(t))
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(64))
		require.NoError(t, err)
		ssn := func(i int) string { return fmt.Sprintf("123-45-%04d", i) }
		for i := 1; i <= 40; i++ {
			e.exec(t, "INSERT INTO customers (id, ssn, ssn_idx) VALUES (?, ?, ?)", i, col.Seal(ssn(i)), col.Index(ssn(i)))
		}
		require.NoError(t, ks.RotateIndex(ctx, "customers", "ssn"))
		e.exec(t, "INSERT INTO customers (id, ssn, ssn_idx) VALUES (41, ?, ?)", col.Seal(ssn(41)), col.Index(ssn(41)))
		lookup := func(args ...any) []int {
			q := "SELECT id FROM customers WHERE ssn_idx IN (?" + strings.Repeat(", ?", len(args)-1) + ") ORDER BY id"
			rows, err := e.db.Query(e.q(q), args...)
			require.NoError(t, err)
			defer rows.Close()
			var ids []int
			for rows.Next() {
				var id int
				require.NoError(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			return ids
		}
		assert.Empty(t, lookup(col.Index(ssn(7))), "old rows are under the old index key")
		assert.Len(t, col.IndexAll(ssn(7)), 2)
		assert.Equal(t, []int{7}, lookup(col.IndexAll(ssn(7))...))
		assert.Equal(t, []int{41}, lookup(col.IndexAll(ssn(41))...))

		p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.IndexColumn("ssn_idx"), sqlcrypto.Reindex(), sqlcrypto.BatchSize(16))
		require.NoError(t, err)
		assert.Equal(t, int64(41), p.Rewritten)
		assert.Equal(t, []int{7}, lookup(col.Index(ssn(7))))
		assert.Equal(t, []int{41}, lookup(col.Index(ssn(41))))
		var s string
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 7").Scan(col.Open(&s)))
		assert.Equal(t, ssn(7), s)
	})
}
