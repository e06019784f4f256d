package sqlcrypto_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

func countKeys(t *testing.T, e *dbEnv, table, column, purpose string) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.QueryRow(e.q("SELECT COUNT(*) FROM cryptkeeper_keys WHERE table_name = ? AND column_name = ? AND purpose = ?"),
		table, column, purpose).Scan(&n))
	return n
}

// TestConcurrentColumnCreation has several processes (Keysets on their own
// connection pools) ask for a new column at once: they end with one data
// key and one index key, and read each other's values.
func TestConcurrentColumnCreation(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		openKeyset(t, e, kr) // creates the key table
		const procs = 6
		cols := make([]*sqlcrypto.Column, procs)
		errs := make([]error, procs)
		sets := make([]*sqlcrypto.Keyset, procs)
		for i := range sets {
			ks, err := sqlcrypto.Open(ctx, e.open(t), kr)
			require.NoError(t, err)
			t.Cleanup(func() { ks.Close() })
			sets[i] = ks
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range procs {
			wg.Go(func() {
				<-start
				cols[i], errs[i] = sets[i].Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, 1, countKeys(t, e, "customers", "ssn", "data"))
		assert.Equal(t, 1, countKeys(t, e, "customers", "ssn", "index"))
		v, err := cols[0].Seal("123-45-6789").Value()
		require.NoError(t, err)
		for _, c := range cols {
			var s string
			require.NoError(t, c.OpenValue(v, &s))
			assert.Equal(t, "123-45-6789", s)
			iv, err := c.Index("123-45-6789").Value()
			require.NoError(t, err)
			want, _ := cols[0].Index("123-45-6789").Value()
			assert.Equal(t, want, iv)
		}
	})
}

// TestRotate adds a data key: new values use it, old ones still open, and
// another process opens the new values after reading the key table again.
func TestRotate(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		other, err := sqlcrypto.Open(ctx, e.open(t), kr, sqlcrypto.WithRefresh(0, 5*time.Second))
		require.NoError(t, err)
		defer other.Close()
		ocol, err := other.Column(ctx, "customers", "ssn")
		require.NoError(t, err)

		v1, _ := col.Seal("old").Value()
		require.NoError(t, ks.Rotate(ctx, "customers", "ssn"))
		id, err := col.ActiveKeyID()
		require.NoError(t, err)
		assert.Equal(t, uint32(2), id)
		v2, _ := col.Seal("new").Value()
		k1, _ := sqlcrypto.KeyID(v1)
		k2, _ := sqlcrypto.KeyID(v2)
		assert.Equal(t, []uint32{1, 2}, []uint32{k1, k2})

		for _, c := range []*sqlcrypto.Column{col, ocol} {
			var s string
			require.NoError(t, c.OpenValue(v1, &s))
			assert.Equal(t, "old", s)
			require.NoError(t, c.OpenValue(v2, &s), "the other process finds key 2 in the table")
			assert.Equal(t, "new", s)
		}
		id, _ = ocol.ActiveKeyID()
		assert.Equal(t, uint32(2), id, "the refresh made the new key active")

		// Concurrent rotations from two processes never fail.
		var wg sync.WaitGroup
		var e1, e2 error
		wg.Go(func() { e1 = ks.Rotate(ctx, "customers", "ssn") })
		wg.Go(func() { e2 = other.Rotate(ctx, "customers", "ssn") })
		wg.Wait()
		require.NoError(t, e1)
		require.NoError(t, e2)
		n := countKeys(t, e, "customers", "ssn", "data")
		assert.True(t, n == 3 || n == 4, "%d keys", n)
	})
}

// TestRefreshBounded: a value naming a key id nobody has reads the key
// table again at most once per interval.
func TestRefreshBounded(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{keys: map[string][]sqlcrypto.StoredKey{}}
	ks, err := sqlcrypto.Open(ctx, nil, newKeyring(t), sqlcrypto.WithKeyStore(store), sqlcrypto.WithRefresh(time.Hour, time.Second))
	require.NoError(t, err)
	defer ks.Close()
	col, err := ks.Column(ctx, "t", "c")
	require.NoError(t, err)
	v, _ := col.Seal("x").Value()
	b := v.([]byte)
	binary.BigEndian.PutUint32(b[2:6], 99)
	before := store.reads
	for range 100 {
		var s string
		assert.ErrorIs(t, col.OpenValue(b, &s), sqlcrypto.ErrUnknownKey)
	}
	assert.LessOrEqual(t, store.reads-before, 1)
}

type countingStore struct {
	mu    sync.Mutex
	keys  map[string][]sqlcrypto.StoredKey
	reads int
}

func (s *countingStore) Keys(_ context.Context, table, column string) ([]sqlcrypto.StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return append([]sqlcrypto.StoredKey(nil), s.keys[table+"."+column]...), nil
}

func (s *countingStore) Add(_ context.Context, k sqlcrypto.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys[k.Table+"."+k.Column] {
		if o.Purpose == k.Purpose && o.ID == k.ID {
			return assert.AnError
		}
	}
	s.keys[k.Table+"."+k.Column] = append(s.keys[k.Table+"."+k.Column], k)
	return nil
}

// TestBadInput: every kind of bad input fails with its own sentinel, on
// both databases.
func TestBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		ks := openKeyset(t, e, kr)
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn "+e.blob+", email "+e.blob+", row_ssn "+e.blob+")")
		ssn, err := ks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		email, err := ks.Column(ctx, "customers", "email")
		require.NoError(t, err)
		bound, err := ks.Column(ctx, "customers", "row_ssn", sqlcrypto.WithRowBinding())
		require.NoError(t, err)
		e.exec(t, "INSERT INTO customers (id, ssn, row_ssn) VALUES (1, ?, ?)", ssn.Seal("123-45-6789"), bound.SealRow(1, "123-45-6789"))
		e.exec(t, "INSERT INTO customers (id, ssn, row_ssn) VALUES (2, ?, ?)", ssn.Seal("987-65-4321"), bound.SealRow(2, "987-65-4321"))
		var s string

		// Not ours: plaintext in the column, random bytes, a short value.
		for _, bad := range []any{[]byte("123-45-6789"), "not base64!", []byte{1, 0, 0, 0, 0, 1}} {
			assert.ErrorIs(t, ssn.OpenValue(bad, &s), sqlcrypto.ErrNotEncrypted, "%q", bad)
		}

		// Moved to another column: it does not authenticate.
		e.exec(t, "UPDATE customers SET email = ssn WHERE id = 1")
		err = e.db.QueryRow("SELECT email FROM customers WHERE id = 1").Scan(email.Open(&s))
		assert.ErrorIs(t, err, sqlcrypto.ErrAuthentication)

		// Moved to another row of a row-bound column.
		e.exec(t, "UPDATE customers SET row_ssn = (SELECT row_ssn FROM customers WHERE id = 2) WHERE id = 1")
		var id int64
		var cell []byte
		require.NoError(t, e.db.QueryRow("SELECT id, row_ssn FROM customers WHERE id = 1").Scan(&id, &cell))
		assert.ErrorIs(t, bound.OpenRow(id, &s).Scan(cell), sqlcrypto.ErrAuthentication)
		require.NoError(t, bound.OpenRow(int64(2), &s).Scan(cell))
		assert.Equal(t, "987-65-4321", s)
		assert.ErrorIs(t, bound.Open(&s).Scan(cell), sqlcrypto.ErrInvalidOption)
		_, err = bound.Seal("x").Value()
		assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)

		// A flipped bit anywhere after the header.
		require.NoError(t, e.db.QueryRow("SELECT ssn FROM customers WHERE id = 2").Scan(&cell))
		for i := 6; i < len(cell); i++ {
			c := append([]byte(nil), cell...)
			c[i] ^= 1
			assert.ErrorIs(t, ssn.OpenValue(c, &s), sqlcrypto.ErrAuthentication, "byte %d", i)
		}
		// The type byte is authenticated too.
		c := append([]byte(nil), cell...)
		c[1] = 1
		assert.ErrorIs(t, ssn.OpenValue(c, &s), sqlcrypto.ErrAuthentication)

		// Unknown key id.
		c = append([]byte(nil), cell...)
		binary.BigEndian.PutUint32(c[2:6], 7)
		assert.ErrorIs(t, ssn.OpenValue(c, &s), sqlcrypto.ErrUnknownKey)

		// Wrong keyring: the key table's keys do not unwrap.
		wrong, err := sqlcrypto.Open(ctx, e.db, newKeyring(t))
		require.NoError(t, err)
		defer wrong.Close()
		_, err = wrong.Column(ctx, "customers", "ssn")
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyUnavailable)
		assert.ErrorIs(t, err, keyring.ErrNoDecryptionKey)

		// Key table tampered: email's key row moved under ssn's id.
		e.exec(t, "DELETE FROM cryptkeeper_keys WHERE column_name = 'ssn'")
		e.exec(t, "UPDATE cryptkeeper_keys SET column_name = 'ssn' WHERE column_name = 'email'")
		fresh, err := sqlcrypto.Open(ctx, e.db, kr)
		require.NoError(t, err)
		defer fresh.Close()
		_, err = fresh.Column(ctx, "customers", "ssn")
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable)
		e.exec(t, "UPDATE cryptkeeper_keys SET wrapped_key = ? WHERE column_name = 'row_ssn'", []byte("garbage"))
		_, err = fresh.Column(ctx, "customers", "row_ssn")
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable)

		// Types.
		_, err = ssn.Seal(struct{}{}).Value()
		assert.ErrorIs(t, err, sqlcrypto.ErrType)
		v, _ := ssn.Seal(int64(5)).Value()
		assert.ErrorIs(t, ssn.OpenValue(v, &s), sqlcrypto.ErrType)
		var f float64
		assert.ErrorIs(t, ssn.OpenValue(v, &f), sqlcrypto.ErrType)
		_, err = ssn.Index("x").Value()
		assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption, "no blind index")
	})
}

// TestClose wipes the keys: every use after Close fails with ErrClosed.
func TestClose(t *testing.T) {
	ctx := context.Background()
	ks, err := sqlcrypto.Open(ctx, nil, newKeyring(t), sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}}))
	require.NoError(t, err)
	col, err := ks.Column(ctx, "t", "c", sqlcrypto.WithBlindIndex(16))
	require.NoError(t, err)
	v, _ := col.Seal("x").Value()
	require.NoError(t, ks.Close())
	_, err = col.Seal("x").Value()
	assert.ErrorIs(t, err, sqlcrypto.ErrClosed)
	_, err = col.Index("x").Value()
	assert.ErrorIs(t, err, sqlcrypto.ErrClosed)
	var s string
	assert.ErrorIs(t, col.OpenValue(v, &s), sqlcrypto.ErrClosed)
	assert.ErrorIs(t, col.Open(&s).Scan(nil), sqlcrypto.ErrClosed)
	_, err = ks.Column(ctx, "t", "c")
	assert.ErrorIs(t, err, sqlcrypto.ErrClosed)
	assert.ErrorIs(t, ks.Rotate(ctx, "t", "c"), sqlcrypto.ErrClosed)
}

// TestOptionsValidated rejects bad options and identifiers.
func TestOptionsValidated(t *testing.T) {
	ctx := context.Background()
	kr := newKeyring(t)
	store := sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}})
	for _, o := range []sqlcrypto.Option{sqlcrypto.WithKeyTable("keys; DROP TABLE x"), sqlcrypto.WithDialect(9), sqlcrypto.WithKeyStore(nil), sqlcrypto.WithRefresh(-1, 0)} {
		_, err := sqlcrypto.Open(ctx, nil, kr, o)
		assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)
	}
	_, err := sqlcrypto.Open(ctx, nil, kr)
	assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption, "no database and no store")
	_, err = sqlcrypto.Open(ctx, nil, nil, store)
	assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)
	ks, err := sqlcrypto.Open(ctx, nil, kr, store)
	require.NoError(t, err)
	defer ks.Close()
	for _, o := range []sqlcrypto.ColumnOption{sqlcrypto.WithBlindIndex(7), sqlcrypto.WithBlindIndex(257), sqlcrypto.WithNormalizer(nil)} {
		_, err := ks.Column(ctx, "t", "c", o)
		assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)
	}
	_, err = ks.Column(ctx, "t", "c", sqlcrypto.WithNormalizer(func(s string) string { return s }))
	assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption, "normalizer without index")
	_, err = ks.Column(ctx, "t x", "c")
	assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)
	_, err = ks.Column(ctx, "t", "c\"")
	assert.ErrorIs(t, err, sqlcrypto.ErrInvalidOption)
}

// TestKeyTableMissing: a key table that is not there is ErrKeyTable, not
// a transient failure; a named key table is created and used.
func TestKeyTableMissing(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		ks := openKeyset(t, e, newKeyring(t), sqlcrypto.WithKeyTable("app_keys"), sqlcrypto.WithoutCreateTable())
		_, err := ks.Column(ctx, "customers", "ssn")
		assert.ErrorIs(t, err, sqlcrypto.ErrKeyTable)
		assert.NotErrorIs(t, err, sqlcrypto.ErrTransient)

		ks = openKeyset(t, e, newKeyring(t), sqlcrypto.WithKeyTable("app_keys"))
		_, err = ks.Column(ctx, "customers", "ssn")
		require.NoError(t, err)
		var n int
		require.NoError(t, e.db.QueryRow("SELECT COUNT(*) FROM app_keys").Scan(&n))
		assert.Equal(t, 1, n)
	})
}
