package sqlcrypto_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, 32) // in production: awskms.NewKeyring(client, keyARN)
	_, _ = rand.Read(key)
	kr, _ := keyring.NewRawAES("app", "column-keys", key)

	ks, err := sqlcrypto.Open(ctx, db, kr) // creates cryptkeeper_keys
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()
	digits := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	ssn, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16), sqlcrypto.WithNormalizer(digits))
	if err != nil {
		log.Fatal(err)
	}
	_, _ = db.ExecContext(ctx, `CREATE TABLE customers (id INTEGER PRIMARY KEY, ssn BLOB, ssn_idx BLOB)`)
	_, err = db.ExecContext(ctx, `INSERT INTO customers (id, ssn, ssn_idx) VALUES (?, ?, ?)`,
		1, ssn.Seal("123-45-6789"), ssn.Index("123-45-6789"))
	if err != nil {
		log.Fatal(err)
	}

	var id int
	var got string
	err = db.QueryRowContext(ctx, `SELECT id, ssn FROM customers WHERE ssn_idx = ?`, ssn.Index("123456789")).
		Scan(&id, ssn.Open(&got))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id, got)

	// A new data key; values under the old one keep opening.
	if err := ks.Rotate(ctx, "customers", "ssn"); err != nil {
		log.Fatal(err)
	}
	active, _ := ssn.ActiveKeyID()
	err = db.QueryRowContext(ctx, `SELECT ssn FROM customers WHERE id = 1`).Scan(ssn.Open(&got))
	fmt.Println(active, got, err)
	// Output:
	// 1 123-45-6789
	// 2 123-45-6789 <nil>
}

func ExampleSuggestBits() {
	// A million customers, a lookup may read about 8 rows that are not
	// the one sought: each index value hides among several rows.
	fmt.Println(sqlcrypto.SuggestBits(1_000_000, 8))
	// Output: 17
}

// Migrating a plaintext column: the application reads both forms through
// WithPlaintextFallback while Reencrypt seals the values and fills the
// blind index, in batches.
func ExampleColumn_Reencrypt() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	defer db.Close()
	_, _ = db.ExecContext(ctx, `CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, email_idx TEXT)`)
	_, _ = db.ExecContext(ctx, `INSERT INTO customers (id, email) VALUES (1, 'ada@example.com'), (2, 'grace@example.com')`)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, _ := keyring.NewRawAES("app", "column-keys", key)
	ks, _ := sqlcrypto.Open(ctx, db, kr)
	defer ks.Close()
	email, err := ks.Column(ctx, "customers", "email", sqlcrypto.WithText(), sqlcrypto.WithBlindIndex(16),
		sqlcrypto.WithNormalizer(strings.ToLower), sqlcrypto.WithPlaintextFallback())
	if err != nil {
		log.Fatal(err)
	}
	p, err := email.Reencrypt(ctx, db, "id", sqlcrypto.FromPlaintext(), sqlcrypto.IndexColumn("email_idx"),
		sqlcrypto.BatchSize(1000), sqlcrypto.Verify())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sealed %d, left %d\n", p.Rewritten, p.Remaining)

	var id int
	var got string
	_ = db.QueryRowContext(ctx, `SELECT id, email FROM customers WHERE email_idx = ?`, email.Index("Grace@Example.com")).
		Scan(&id, email.Open(&got))
	fmt.Println(id, got)
	// Output:
	// sealed 2, left 0
	// 2 grace@example.com
}
