package sqlcrypto_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

const benchSSN = "123-45-6789" // 11 bytes

func benchColumn(b *testing.B, opts ...sqlcrypto.ColumnOption) *sqlcrypto.Column {
	ks, err := sqlcrypto.Open(context.Background(), nil, newKeyring(b),
		sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ks.Close() })
	col, err := ks.Column(context.Background(), "customers", "ssn", opts...)
	if err != nil {
		b.Fatal(err)
	}
	return col
}

// BenchmarkSeal seals an 11-byte SSN and takes the driver value, as
// database/sql does with a query argument.
func BenchmarkSeal(b *testing.B) {
	col := benchColumn(b)
	ssn := benchSSN
	b.ReportAllocs()
	for b.Loop() {
		if _, err := col.Seal(ssn).Value(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a sealed 11-byte SSN into a string, as database/sql
// does when scanning into col.Open(&dst).
func BenchmarkOpen(b *testing.B) {
	col := benchColumn(b)
	v, _ := col.Seal(benchSSN).Value()
	var ssn string
	b.ReportAllocs()
	for b.Loop() {
		if err := col.Open(&ssn).Scan(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex computes a 32-bit blind index of an 11-byte SSN.
func BenchmarkIndex(b *testing.B) {
	col := benchColumn(b, sqlcrypto.WithBlindIndex(32))
	ssn := benchSSN
	b.ReportAllocs()
	for b.Loop() {
		if _, err := col.Index(ssn).Value(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertSQLite inserts rows of one SSN column into SQLite, in
// transactions of 1000 rows through a prepared statement: plaintext BLOBs
// with a plaintext index, and sealed BLOBs with a 16-bit blind index.
// Compare their ns/op for the cost of encryption per inserted row;
// internal/fieldbench measures the same over 100,000 rows per table.
func BenchmarkInsertSQLite(b *testing.B) {
	for _, mode := range []string{"plain", "sealed"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "b.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn BLOB, ssn_idx BLOB)"); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec("CREATE INDEX customers_idx ON customers (ssn_idx)"); err != nil {
				b.Fatal(err)
			}
			ks, err := sqlcrypto.Open(ctx, db, newKeyring(b))
			if err != nil {
				b.Fatal(err)
			}
			defer ks.Close()
			col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
			if err != nil {
				b.Fatal(err)
			}
			ssns := make([]string, 1000)
			for i := range ssns {
				ssns[i] = fmt.Sprintf("%03d-45-%04d", i%1000, i)
			}
			var tx *sql.Tx
			var stmt *sql.Stmt
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i%1000 == 0 {
					if tx != nil {
						if err := tx.Commit(); err != nil {
							b.Fatal(err)
						}
					}
					tx, _ = db.Begin()
					stmt = tx.Stmt(mustPrepare(b, db, "INSERT INTO customers (id, ssn, ssn_idx) VALUES (?, ?, ?)"))
				}
				s := ssns[i%1000]
				i++
				if mode == "plain" {
					_, err = stmt.Exec(i, []byte(s), []byte(s))
				} else {
					_, err = stmt.Exec(i, col.Seal(s), col.Index(s))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

var prepared sync.Map

func mustPrepare(b *testing.B, db *sql.DB, q string) *sql.Stmt {
	if s, ok := prepared.Load(db); ok {
		return s.(*sql.Stmt)
	}
	s, err := db.Prepare(q)
	if err != nil {
		b.Fatal(err)
	}
	prepared.Store(db, s)
	return s
}

// BenchmarkBaselineAESGCM is the floor Seal and Open are measured against:
// what a keyset AEAD such as Tink's does per value (a random nonce, one
// AES-256-GCM call, one output buffer), with no database/sql plumbing.
func BenchmarkBaselineAESGCM(b *testing.B) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	pt := []byte(benchSSN)
	aad := []byte("customers.ssn")
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]byte, 12, 12+len(pt)+16)
			_, _ = rand.Read(out)
			_ = aead.Seal(out, out[:12], pt, aad)
		}
	})
	out := make([]byte, 12, 12+len(pt)+16)
	_, _ = rand.Read(out)
	ct := aead.Seal(out, out[:12], pt, aad)
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := aead.Open(nil, ct[:12], ct[12:], aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
