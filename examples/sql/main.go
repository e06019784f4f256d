// Command sql encrypts a column of customers' SSNs in a SQLite database,
// offline: it creates the table, inserts customers with encrypted SSNs and
// a blind index, finds one by SSN, rotates the column's data key and
// re-encrypts the table under the new key.
//
// The wrapping key here is a raw AES key made on the spot; real programs
// use a KMS keyring (awskms.NewKeyring) so that the column keys in the key
// table are useless without KMS.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

func main() {
	log.SetFlags(0)
	dir := flag.String("dir", "", "directory of the database (default: a temporary one)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "cryptkeeper-sql-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if err := run(context.Background(), os.Stdout, filepath.Join(*dir, "customers.db")); err != nil {
		log.Fatal(err)
	}
}

// run does the work of main on the database file path, writing its report
// to out.
func run(ctx context.Context, out io.Writer, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	kr, err := keyring.NewRawAES("example", "column-keys", key)
	if err != nil {
		return err
	}

	// The keyset creates cryptkeeper_keys; the column gets a data key and
	// a 16-bit blind-index key, wrapped by kr, on first use.
	ks, err := sqlcrypto.Open(ctx, db, kr)
	if err != nil {
		return err
	}
	defer ks.Close()
	digits := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	ssn, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16), sqlcrypto.WithNormalizer(digits))
	if err != nil {
		return err
	}

	if _, err := db.ExecContext(ctx, `CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, ssn BLOB, ssn_idx BLOB)`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE INDEX customers_ssn_idx ON customers (ssn_idx)`); err != nil {
		return err
	}
	customers := []struct{ name, ssn string }{
		{"Ada", "123-45-6789"}, {"Grace", "987-65-4321"}, {"Linus", "555-12-3456"},
	}
	for i, c := range customers {
		_, err := db.ExecContext(ctx, `INSERT INTO customers (id, name, ssn, ssn_idx) VALUES (?, ?, ?, ?)`,
			i+1, c.name, ssn.Seal(c.ssn), ssn.Index(c.ssn))
		if err != nil {
			return err
		}
	}
	var stored []byte
	if err := db.QueryRowContext(ctx, `SELECT ssn FROM customers WHERE id = 1`).Scan(&stored); err != nil {
		return err
	}
	fmt.Fprintf(out, "stored %d bytes for an 11-byte SSN\n", len(stored))

	// Find a customer by SSN, in any spelling the normalizer accepts. A
	// 16-bit index may match other rows too: compare after opening.
	find := func(want string) (string, error) {
		rows, err := db.QueryContext(ctx, `SELECT name, ssn FROM customers WHERE ssn_idx = ?`, ssn.Index(want))
		if err != nil {
			return "", err
		}
		defer rows.Close()
		for rows.Next() {
			var name, got string
			if err := rows.Scan(&name, ssn.Open(&got)); err != nil {
				return "", err
			}
			if digits(got) == digits(want) {
				return name, nil
			}
		}
		return "", rows.Err()
	}
	name, err := find("987654321")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "found %s by SSN\n", name)

	// Rotate the data key and re-encrypt every row under it, in batches.
	if err := ks.Rotate(ctx, "customers", "ssn"); err != nil {
		return err
	}
	p, err := ssn.Reencrypt(ctx, db, "id", sqlcrypto.BatchSize(2), sqlcrypto.Verify())
	if err != nil {
		return err
	}
	active, err := ssn.ActiveKeyID()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rotated to key %d: re-encrypted %d rows, %d left under older keys\n", active, p.Rewritten, p.Remaining)
	if name, err = find("555-12-3456"); err != nil {
		return err
	}
	fmt.Fprintf(out, "found %s by SSN after rotation\n", name)
	return nil
}
