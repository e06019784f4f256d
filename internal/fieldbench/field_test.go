package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	_ "modernc.org/sqlite"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// sink keeps a value alive as an interface, as a query argument is.
var sink any

// BenchmarkTink is Tink Go's keyset AEAD with an AES-256-GCM key: a
// 5-byte key prefix, a 12-byte nonce from crypto/rand and the tag, so 33
// bytes of overhead.
func BenchmarkTink(b *testing.B) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		b.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		b.Fatal(err)
	}
	pt := []byte(ssn)
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Encrypt(pt, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	ct, err := a.Encrypt(pt, aad)
	if err != nil {
		b.Fatal(err)
	}
	// database/sql takes query arguments as interfaces: a []byte passed
	// to Exec is boxed, one more allocation, which Seal's Value also pays.
	b.Run("seal-arg", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ct, err := a.Encrypt(pt, aad)
			if err != nil {
				b.Fatal(err)
			}
			sink = ct
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Decrypt(ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEnvelope is one AWS Encryption SDK message per field, with a
// cache of materials so that the keyring is called once per hour: the
// unsigned committing suite 0478 and the default signed suite 0578.
func BenchmarkEnvelope(b *testing.B) {
	ctx := context.Background()
	kr := newKeyring()
	pt := []byte(ssn)
	ec := envelope.WithContext(map[string]string{"table": "customers", "column": "ssn"})
	for _, v := range []struct {
		name  string
		suite []envelope.Option
	}{
		{"0478", []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}},
		{"default", nil},
	} {
		b.Run(v.name, func(b *testing.B) {
			c, err := cache.New(cache.MaxAge(time.Hour), cache.MaxMessages(cache.MaxMessagesLimit))
			if err != nil {
				b.Fatal(err)
			}
			enc := append([]envelope.Option{ec, envelope.WithCache(c)}, v.suite...)
			dec := []envelope.Option{ec, envelope.WithCache(c)}
			msg, err := envelope.Encrypt(ctx, kr, pt, enc...)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("seal", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := envelope.Encrypt(ctx, kr, pt, enc...); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("open", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := envelope.Decrypt(ctx, kr, msg, dec...); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func openSQLite(tb testing.TB) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "b.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newColumn(tb testing.TB, db *sql.DB, opts ...sqlcrypto.ColumnOption) *sqlcrypto.Column {
	ctx := context.Background()
	ks, err := sqlcrypto.Open(ctx, db, newKeyring())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ks.Close() })
	col, err := ks.Column(ctx, "customers", "ssn", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return col
}

// BenchmarkSqlcrypto is a sqlcrypto column: Seal and Index taken as the
// driver value database/sql takes from a query argument, Open as
// database/sql scans into col.Open(&dst). Index has 32 bits.
func BenchmarkSqlcrypto(b *testing.B) {
	col := newColumn(b, openSQLite(b), sqlcrypto.WithBlindIndex(32))
	s := ssn
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := col.Seal(s).Value(); err != nil {
				b.Fatal(err)
			}
		}
	})
	v, err := col.Seal(s).Value()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		var dst string
		b.ReportAllocs()
		for b.Loop() {
			if err := col.Open(&dst).Scan(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := col.Index(s).Value(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsert inserts 100,000 customers with distinct SSNs into a new
// SQLite table per operation, in transactions of 1000 rows through a
// prepared statement, and reports rows/s. plain: the SSN as a BLOB with an
// index on it; sealed: the sealed SSN as a BLOB and its blind index as an
// indexed BLOB column. Run it with -benchtime 1x.
func BenchmarkInsert(b *testing.B) {
	ssns := make([][]byte, insertRows)
	strs := make([]string, insertRows)
	for i := range ssns {
		strs[i] = fmt.Sprintf("%03d-%02d-%04d", i%1000, (i/1000)%100, (i*7919)%10000)
		ssns[i] = []byte(strs[i])
	}
	for _, mode := range []string{"plain", "sealed"} {
		b.Run(mode, func(b *testing.B) {
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				db := openSQLite(b)
				schema := []string{
					"CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn BLOB)",
					"CREATE INDEX customers_ssn ON customers (ssn)",
				}
				if mode == "sealed" {
					schema = []string{
						"CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn BLOB, ssn_idx BLOB)",
						"CREATE INDEX customers_ssn_idx ON customers (ssn_idx)",
					}
				}
				for _, q := range schema {
					if _, err := db.Exec(q); err != nil {
						b.Fatal(err)
					}
				}
				col := newColumn(b, db, sqlcrypto.WithBlindIndex(indexBits))
				b.StartTimer()
				start := time.Now()
				if err := insert(db, mode, col, ssns, strs); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(b.N*insertRows)/elapsed.Seconds(), "rows/s")
		})
	}
}

func insert(db *sql.DB, mode string, col *sqlcrypto.Column, ssns [][]byte, strs []string) error {
	q := "INSERT INTO customers (id, ssn) VALUES (?, ?)"
	if mode == "sealed" {
		q = "INSERT INTO customers (id, ssn, ssn_idx) VALUES (?, ?, ?)"
	}
	for lo := 0; lo < len(ssns); lo += 1000 {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		stmt, err := tx.Prepare(q)
		if err != nil {
			return err
		}
		for i := lo; i < min(lo+1000, len(ssns)); i++ {
			if mode == "plain" {
				_, err = stmt.Exec(i, ssns[i])
			} else {
				_, err = stmt.Exec(i, col.Seal(strs[i]), col.Index(strs[i]))
			}
			if err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
