package sqlcrypto_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// TestRoundTripTypes seals every supported type into a binary and a text
// column and opens it back, on both databases.
func TestRoundTripTypes(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE vals (id INTEGER PRIMARY KEY, b "+e.blob+", s TEXT)")
		ks := openKeyset(t, e, newKeyring(t))
		bcol, err := ks.Column(ctx, "vals", "b")
		require.NoError(t, err)
		scol, err := ks.Column(ctx, "vals", "s", sqlcrypto.WithText())
		require.NoError(t, err)

		when := time.Date(2026, 11, 30, 7, 0, 0, 123456789, time.FixedZone("X", 3600))
		type payload struct {
			Name string `json:"name"`
			N    int    `json:"n"`
		}
		cases := []struct {
			in    any
			dst   func() any
			want  any
			deref func(any) any
		}{
			{"123-45-6789", func() any { return new(string) }, "123-45-6789", nil},
			{"", func() any { return new(string) }, "", nil},
			{[]byte{0, 1, 2, 255}, func() any { return new([]byte) }, []byte{0, 1, 2, 255}, nil},
			{int64(-42), func() any { return new(int64) }, int64(-42), nil},
			{7, func() any { return new(int) }, 7, nil},
			{3.25, func() any { return new(float64) }, 3.25, nil},
			{true, func() any { return new(bool) }, true, nil},
			{when, func() any { return new(time.Time) }, when, nil},
			{sql.NullString{String: "x", Valid: true}, func() any { return new(sql.NullString) }, sql.NullString{String: "x", Valid: true}, nil},
			{sql.NullInt64{}, func() any { return new(sql.NullInt64) }, sql.NullInt64{}, nil},
			{sql.NullTime{Time: when, Valid: true}, func() any { return new(sql.NullTime) }, sql.NullTime{Time: when, Valid: true}, nil},
			{nil, func() any { return new(sql.NullFloat64) }, sql.NullFloat64{}, nil},
			{"as any", func() any { return new(any) }, any("as any"), nil},
		}
		for i, c := range cases {
			for _, col := range []*sqlcrypto.Column{bcol, scol} {
				e.exec(t, "DELETE FROM vals")
				e.exec(t, "INSERT INTO vals (id, b, s) VALUES (?, ?, ?)", i, bcol.Seal(c.in), scol.Seal(c.in))
				which := "b"
				if col == scol {
					which = "s"
				}
				dst := c.dst()
				err := e.db.QueryRowContext(ctx, "SELECT "+which+" FROM vals").Scan(col.Open(dst))
				require.NoError(t, err, "case %d column %s", i, which)
				got := derefAny(dst)
				if tm, ok := c.want.(time.Time); ok {
					assert.True(t, tm.Equal(got.(time.Time)), "case %d: %v", i, got)
					continue
				}
				if nt, ok := c.want.(sql.NullTime); ok {
					g := got.(sql.NullTime)
					assert.True(t, g.Valid && nt.Time.Equal(g.Time), "case %d: %v", i, got)
					continue
				}
				assert.Equal(t, c.want, got, "case %d column %s", i, which)
			}
		}

		// JSON through the explicit wrapper.
		e.exec(t, "DELETE FROM vals")
		e.exec(t, "INSERT INTO vals (id, b) VALUES (1, ?)", bcol.Seal(sqlcrypto.JSON{V: payload{"a", 1}}))
		var p payload
		require.NoError(t, e.db.QueryRowContext(ctx, "SELECT b FROM vals").Scan(bcol.Open(sqlcrypto.JSON{V: &p})))
		assert.Equal(t, payload{"a", 1}, p)

		// NULL stays NULL in the database, and fails a destination that
		// cannot hold it.
		e.exec(t, "DELETE FROM vals")
		e.exec(t, "INSERT INTO vals (id, b) VALUES (1, ?)", bcol.Seal(nil))
		var isNull bool
		require.NoError(t, e.db.QueryRowContext(ctx, "SELECT b IS NULL FROM vals").Scan(&isNull))
		assert.True(t, isNull)
		var s string
		err = e.db.QueryRowContext(ctx, "SELECT b FROM vals").Scan(bcol.Open(&s))
		assert.ErrorIs(t, err, sqlcrypto.ErrType)
	})
}

func derefAny(p any) any {
	switch v := p.(type) {
	case *string:
		return *v
	case *[]byte:
		return *v
	case *int64:
		return *v
	case *int:
		return *v
	case *float64:
		return *v
	case *bool:
		return *v
	case *time.Time:
		return *v
	case *sql.NullString:
		return *v
	case *sql.NullInt64:
		return *v
	case *sql.NullTime:
		return *v
	case *sql.NullFloat64:
		return *v
	case *any:
		return *v
	}
	panic(fmt.Sprintf("%T", p))
}

// TestEncryptedNull hides NULL behind a ciphertext with WithEncryptedNull.
func TestEncryptedNull(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE n (id INTEGER PRIMARY KEY, v "+e.blob+")")
		col, err := openKeyset(t, e, newKeyring(t)).Column(ctx, "n", "v", sqlcrypto.WithEncryptedNull())
		require.NoError(t, err)
		e.exec(t, "INSERT INTO n (id, v) VALUES (1, ?)", col.Seal(sql.NullString{}))
		var raw []byte
		require.NoError(t, e.db.QueryRowContext(ctx, "SELECT v FROM n").Scan(&raw))
		assert.Len(t, raw, sqlcrypto.Overhead)
		ns := sql.NullString{String: "stale", Valid: true}
		require.NoError(t, e.db.QueryRowContext(ctx, "SELECT v FROM n").Scan(col.Open(&ns)))
		assert.Equal(t, sql.NullString{}, ns)
	})
}

// TestBlindIndexLookup finds rows by a normalized blind index, on both
// databases and both column kinds.
func TestBlindIndexLookup(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		e.exec(t, "CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn "+e.blob+", ssn_idx "+e.blob+", ssn_t TEXT, ssn_t_idx TEXT)")
		ks := openKeyset(t, e, newKeyring(t))
		digits := func(s string) string { return strings.ReplaceAll(s, "-", "") }
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(32), sqlcrypto.WithNormalizer(digits))
		require.NoError(t, err)
		tcol, err := ks.Column(ctx, "customers", "ssn_t", sqlcrypto.WithBlindIndex(16), sqlcrypto.WithText())
		require.NoError(t, err)
		for i := range 50 {
			ssn := fmt.Sprintf("123-45-%04d", i)
			e.exec(t, "INSERT INTO customers (id, ssn, ssn_idx, ssn_t, ssn_t_idx) VALUES (?, ?, ?, ?, ?)",
				i, col.Seal(ssn), col.Index(ssn), tcol.Seal(ssn), tcol.Index(ssn))
		}
		var id int
		var ssn string
		require.NoError(t, e.db.QueryRowContext(ctx, e.q("SELECT id, ssn FROM customers WHERE ssn_idx = ?"), col.Index("123450017")).Scan(&id, col.Open(&ssn)))
		assert.Equal(t, 17, id)
		assert.Equal(t, "123-45-0017", ssn)

		rows, err := e.db.QueryContext(ctx, e.q("SELECT id, ssn_t FROM customers WHERE ssn_t_idx = ?"), tcol.Index("123-45-0033"))
		require.NoError(t, err)
		var found []int
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&id, tcol.Open(&s)))
			if s == "123-45-0033" { // filter false positives after opening
				found = append(found, id)
			}
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []int{33}, found)

		// A compound index over two columns' values.
		e.exec(t, "CREATE TABLE people (id INTEGER PRIMARY KEY, name_year "+e.blob+")")
		pcol, err := ks.Column(ctx, "people", "name_year", sqlcrypto.WithBlindIndex(64))
		require.NoError(t, err)
		e.exec(t, "INSERT INTO people (id, name_year) VALUES (1, ?), (2, ?)",
			pcol.Index(sqlcrypto.Compound{"Smith", 1980}), pcol.Index(sqlcrypto.Compound{"Smith", 1981}))
		require.NoError(t, e.db.QueryRowContext(ctx, e.q("SELECT id FROM people WHERE name_year = ?"), pcol.Index(sqlcrypto.Compound{"Smith", 1981})).Scan(&id))
		assert.Equal(t, 2, id)
	})
}
