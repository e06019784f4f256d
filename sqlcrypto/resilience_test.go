package sqlcrypto_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// TestKeyTableTampered: a key row renumbered or given the other purpose
// fails with ErrKeyTable; deleting the newest key (which FORMAT.md says is
// not protected) makes values under it ErrUnknownKey and the older key
// active again, and loses nothing else.
func TestKeyTableTampered(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
		require.NoError(t, err)
		v1, err := col.Seal("old").Value()
		require.NoError(t, err)
		require.NoError(t, ks.Rotate(ctx, "customers", "ssn"))
		v2, err := col.Seal("new").Value()
		require.NoError(t, err)

		fresh := func() (*sqlcrypto.Column, error) {
			ks, err := sqlcrypto.Open(ctx, e.db, kr)
			require.NoError(t, err)
			t.Cleanup(func() { ks.Close() })
			return ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
		}
		where := " WHERE table_name = 'customers' AND column_name = 'ssn'"

		// Key 1 renumbered as key 3: its context names id 1.
		e.exec(t, "UPDATE cryptkeeper_keys SET key_id = 3"+where+" AND purpose = 'data' AND key_id = 1")
		_, err = fresh()
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable, "renumbered key")
		e.exec(t, "UPDATE cryptkeeper_keys SET key_id = 1"+where+" AND purpose = 'data' AND key_id = 3")

		// The index key and data key 1 swap purposes.
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'swap'"+where+" AND purpose = 'data' AND key_id = 1")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'data'"+where+" AND purpose = 'index' AND key_id = 1")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'index'"+where+" AND purpose = 'swap'")
		_, err = fresh()
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable, "purposes swapped")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'swap'"+where+" AND purpose = 'data' AND key_id = 1")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'data'"+where+" AND purpose = 'index' AND key_id = 1")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'index'"+where+" AND purpose = 'swap'")

		// An unknown purpose.
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'other'"+where+" AND purpose = 'index'")
		_, err = fresh()
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable, "unknown purpose")
		e.exec(t, "UPDATE cryptkeeper_keys SET purpose = 'index'"+where+" AND purpose = 'other'")

		// Restored: everything opens again.
		c, err := fresh()
		require.NoError(t, err)
		var s string
		require.NoError(t, c.OpenValue(v1, &s))
		require.NoError(t, c.OpenValue(v2, &s))

		// The newest key deleted: its values are lost (ErrUnknownKey, not a
		// wrong plaintext), the older key opens and is active again.
		e.exec(t, "DELETE FROM cryptkeeper_keys"+where+" AND purpose = 'data' AND key_id = 2")
		c, err = fresh()
		require.NoError(t, err)
		assert.ErrorIs(t, c.OpenValue(v2, &s), sqlcrypto.ErrUnknownKey)
		require.NoError(t, c.OpenValue(v1, &s))
		assert.Equal(t, "old", s)
		id, err := c.ActiveKeyID()
		require.NoError(t, err)
		assert.Equal(t, uint32(1), id)
	})
}

// plainOrSealed reads every row of customers.ssn through col (which has
// WithPlaintextFallback), failing the test on a row that does not open.
func plainOrSealed(t *testing.T, e *dbEnv, col *sqlcrypto.Column) map[int64]string {
	t.Helper()
	rows, err := e.db.Query("SELECT id, ssn FROM customers ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	vals := map[int64]string{}
	for rows.Next() {
		var id int64
		var s sql.NullString
		require.NoError(t, rows.Scan(&id, col.Open(&s)), "row %d", id)
		if s.Valid {
			vals[id] = s.String
		}
	}
	require.NoError(t, rows.Err())
	return vals
}

// TestMigrateInterrupted stops a plaintext migration in the middle of a
// batch (a row that does not open, as a crash would): the rows of the
// failed batch stay as they were, every row still reads, rows already
// migrated are found by their blind index, and a rerun from the start
// finishes the job.
func TestMigrateInterrupted(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn TEXT, ssn_idx TEXT)")
		ks := openKeyset(t, e, newKeyring(t))
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithText(), sqlcrypto.WithBlindIndex(32), sqlcrypto.WithPlaintextFallback())
		require.NoError(t, err)
		other, err := ks.Column(ctx, "customers", "email", sqlcrypto.WithText())
		require.NoError(t, err)
		require.NoError(t, ks.Rotate(ctx, "customers", "email")) // key 2, which ssn does not have
		want := map[int64]string{}
		for i := int64(1); i <= 120; i++ {
			want[i] = fmt.Sprintf("123-45-%04d", i)
			var v any = want[i]
			if i == 60 {
				v = other.Seal(want[i]) // sealed for another column: does not open here
			}
			e.exec(t, "INSERT INTO customers (id, ssn) VALUES (?, ?)", i, v)
		}

		p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.IndexColumn("ssn_idx"), sqlcrypto.BatchSize(25))
		require.ErrorIs(t, err, sqlcrypto.ErrUnknownKey)
		assert.ErrorContains(t, err, "row 60")
		assert.Equal(t, int64(50), p.Rewritten, "two batches committed")
		assert.Equal(t, int64(50), p.LastKey)

		var raw string
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 59").Scan(&raw))
		assert.Equal(t, want[59], raw, "the failed batch was rolled back")
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 50").Scan(&raw))
		assert.NotEqual(t, want[50], raw, "the committed batches are sealed")
		var id int64
		require.NoError(t, e.db.QueryRow(e.q("SELECT id FROM customers WHERE ssn_idx = ?"), col.Index(want[17])).Scan(&id))
		assert.Equal(t, int64(17), id)

		// Every row but the foreign one reads meanwhile.
		e.exec(t, "UPDATE customers SET ssn = ? WHERE id = 60", want[60])
		assert.Equal(t, want, plainOrSealed(t, e, col))

		// A rerun from the start skips the migrated rows and ends clean.
		p, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.IndexColumn("ssn_idx"), sqlcrypto.BatchSize(25), sqlcrypto.Verify())
		require.NoError(t, err)
		assert.Equal(t, int64(70), p.Rewritten)
		assert.Zero(t, p.Remaining)
		assert.Equal(t, want, plainOrSealed(t, e, col))
		require.NoError(t, e.db.QueryRow(e.q("SELECT id FROM customers WHERE ssn_idx = ?"), col.Index(want[99])).Scan(&id))
		assert.Equal(t, int64(99), id)

		// A value altered under the active key: a run skips it unopened,
		// Verify finds it.
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 5").Scan(&raw))
		b, err := base64.StdEncoding.DecodeString(raw)
		require.NoError(t, err)
		b[len(b)-1] ^= 1
		e.exec(t, "UPDATE customers SET ssn = ? WHERE id = 5", base64.StdEncoding.EncodeToString(b))
		_, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext())
		require.NoError(t, err)
		_, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.Verify())
		assert.ErrorIs(t, err, sqlcrypto.ErrAuthentication)
		assert.ErrorContains(t, err, "row 5:")
	})
}

// TestMigrateConcurrentWriter migrates a plaintext column while another
// process keeps writing, some rows in plaintext (an instance of the
// application not yet upgraded) and some sealed: no write is lost, every
// row reads throughout, and a second run leaves no plaintext.
func TestMigrateConcurrentWriter(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn TEXT)")
		const rows = 200
		var mu sync.Mutex
		want := map[int64]string{}
		for i := int64(1); i <= rows; i++ {
			want[i] = fmt.Sprintf("p%d", i)
			e.exec(t, "INSERT INTO customers (id, ssn) VALUES (?, ?)", i, want[i])
		}
		opts := []sqlcrypto.ColumnOption{sqlcrypto.WithText(), sqlcrypto.WithPlaintextFallback()}
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn", opts...)
		require.NoError(t, err)
		writerDB := e.open(t)
		wks, err := sqlcrypto.Open(ctx, writerDB, kr)
		require.NoError(t, err)
		defer wks.Close()
		wcol, err := wks.Column(ctx, "customers", "ssn", opts...)
		require.NoError(t, err)

		var done atomic.Bool
		var writes atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for n := 0; !done.Load() && n < 2000; n++ {
				id := int64(n*7%rows + 1)
				v := fmt.Sprintf("w%d-%d", id, n)
				var arg any = v
				if n%2 == 0 {
					arg = wcol.Seal(v)
				}
				mu.Lock()
				_, err := writerDB.ExecContext(ctx, e.q("UPDATE customers SET ssn = ? WHERE id = ?"), arg, id)
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
		// The application reads throughout.
		wg.Go(func() {
			for !done.Load() {
				var s string
				if err := writerDB.QueryRowContext(ctx, e.q("SELECT ssn FROM customers WHERE id = ?"), 17).Scan(wcol.Open(&s)); err != nil {
					t.Errorf("reader: %v", err)
					return
				}
			}
		})
		_, err = col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.BatchSize(20))
		done.Store(true)
		wg.Wait()
		require.NoError(t, err)
		assert.Positive(t, writes.Load())
		assert.Equal(t, want, plainOrSealed(t, e, col), "no write lost")

		p, err := col.Reencrypt(ctx, e.db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.Verify())
		require.NoError(t, err)
		assert.Zero(t, p.Remaining)
		strict, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithText())
		require.NoError(t, err)
		assert.Equal(t, want, plainOrSealed(t, e, strict), "no plaintext left")
	})
}

// TestRotateWhileWriting rotates a column's data key while writers in
// this process and in another one seal and open values: none fails, every
// value written opens in both processes, and the writers in this process
// move to each new key at once.
func TestRotateWhileWriting(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn "+e.blob+")")
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		odb := e.open(t)
		oks, err := sqlcrypto.Open(ctx, odb, kr)
		require.NoError(t, err)
		defer oks.Close()
		ocol, err := oks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)

		var next, here atomic.Int64 // ids, and rows written by this process
		var done atomic.Bool
		var wg sync.WaitGroup
		write := func(db *sql.DB, c *sqlcrypto.Column) {
			for !done.Load() {
				id := next.Add(1)
				v := fmt.Sprintf("v%d", id)
				if _, err := db.ExecContext(ctx, e.q("INSERT INTO customers (id, ssn) VALUES (?, ?)"), id, c.Seal(v)); err != nil {
					t.Errorf("insert %d: %v", id, err)
					return
				}
				var s string
				if err := db.QueryRowContext(ctx, e.q("SELECT ssn FROM customers WHERE id = ?"), id).Scan(c.Open(&s)); err != nil || s != v {
					t.Errorf("read back %d: %q, %v", id, s, err)
					return
				}
				if c == col {
					here.Add(1)
				}
			}
		}
		for range 2 {
			wg.Go(func() { write(e.db, col) })
		}
		wg.Go(func() { write(odb, ocol) })
		wait := func() { // until this process wrote 20 more rows
			for start := here.Load(); here.Load() < start+20 && !t.Failed(); {
				runtime.Gosched()
			}
		}
		for range 3 {
			wait()
			require.NoError(t, ks.Rotate(ctx, "customers", "ssn"))
			v, err := col.Seal("x").Value()
			require.NoError(t, err)
			id, err := sqlcrypto.KeyID(v)
			require.NoError(t, err)
			active, _ := col.ActiveKeyID()
			assert.Equal(t, active, id)
		}
		wait()
		done.Store(true)
		wg.Wait()

		got, keys := readAll(t, e, col, false)
		n := int64(len(got))
		assert.Positive(t, n)
		used := map[uint32]bool{}
		for id, s := range got {
			assert.Equal(t, fmt.Sprintf("v%d", id), s)
			used[keys[id]] = true
		}
		assert.True(t, used[1] && used[4], "values under the first and the last key: %v", used)
		ovals, _ := readAll(t, e, ocol, false)
		assert.Equal(t, got, ovals, "the other process opens every value")
	})
}

// countingKeyring counts the calls that reach a keyring.
type countingKeyring struct {
	keyring.Keyring
	enc, dec atomic.Int64
}

func (k *countingKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	k.enc.Add(1)
	return k.Keyring.OnEncrypt(ctx, m)
}

func (k *countingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.dec.Add(1)
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

// TestOneKeyringCallPerKey: a process unwraps each column key once,
// however many values it seals, opens and indexes, and however often it
// asks for the column; a key another process adds costs one call more.
func TestOneKeyringCallPerKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := &countingKeyring{Keyring: newKeyring(t)}
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
		require.NoError(t, err)
		assert.Equal(t, int64(2), kr.enc.Load(), "a data key and an index key wrapped")
		assert.Equal(t, int64(2), kr.dec.Load(), "and each unwrapped once")

		other, err := sqlcrypto.Open(ctx, e.open(t), kr)
		require.NoError(t, err)
		defer other.Close()
		ocol, err := other.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
		require.NoError(t, err)
		assert.Equal(t, int64(4), kr.dec.Load(), "the other process unwraps both")

		for i := range 500 {
			v, err := col.Seal(fmt.Sprint(i)).Value()
			require.NoError(t, err)
			var s string
			require.NoError(t, ocol.OpenValue(v, &s))
			_, err = ocol.Index(s).Value()
			require.NoError(t, err)
			_, err = ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
			require.NoError(t, err)
		}
		assert.Equal(t, int64(2), kr.enc.Load())
		assert.Equal(t, int64(4), kr.dec.Load(), "no call per value or per Column")

		require.NoError(t, ks.Rotate(ctx, "customers", "ssn"))
		v, err := col.Seal("new").Value()
		require.NoError(t, err)
		var s string
		require.NoError(t, ocol.OpenValue(v, &s))
		assert.Equal(t, "new", s)
		assert.Equal(t, int64(3), kr.enc.Load())
		assert.Equal(t, int64(6), kr.dec.Load(), "the new key once in each process, the old ones not again")
	})
}

// TestErrorsNameNoValues: errors of every kind name the table, column and
// key id, never the value, in any form, nor the stored bytes.
func TestErrorsNameNoValues(t *testing.T) {
	col := allocColumn(t, sqlcrypto.WithBlindIndex(16))
	const secret = "987-65-4320"
	v, err := col.Seal(secret).Value()
	require.NoError(t, err)
	stored := v.([]byte)
	flipped := append([]byte(nil), stored...)
	flipped[len(flipped)-1] ^= 1
	var n int64
	var s string
	errs := []error{
		col.OpenValue(v, &n),              // ErrType
		col.OpenValue(flipped, &s),        // ErrAuthentication
		col.OpenValue([]byte(secret), &s), // ErrNotEncrypted
		col.OpenValue(secret, &s),         // ErrNotEncrypted, as text
		col.Open(&s).Scan(int64(98765)),   // not ours
		col.OpenRow(secret, &s).Scan(v),   // not row-bound
		func() error { _, err := col.SealRow(secret, secret).Value(); return err }(),
	}
	other, err := col.Seal(int64(98765)).Value()
	require.NoError(t, err)
	errs = append(errs, col.OpenValue(other, &s))
	for i, err := range errs {
		require.Error(t, err, "case %d", i)
		msg := fmt.Sprintf("%v %+v %#v", err, err, err)
		for _, leak := range []string{secret, "98765", "9876", fmt.Sprintf("%x", stored[6:])} {
			assert.NotContains(t, msg, leak, "case %d: %s", i, msg)
		}
	}
}
