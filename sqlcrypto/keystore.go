package sqlcrypto

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Purpose says what a column key is for. The two kinds never share bytes.
type Purpose string

const (
	// PurposeData keys encrypt values (AES-256-GCM).
	PurposeData Purpose = "data"
	// PurposeIndex keys compute blind indexes (HMAC-SHA256).
	PurposeIndex Purpose = "index"
)

// StoredKey is one row of a key table: a 32-byte key wrapped as an envelope
// message. ID counts from 1 per table, column and purpose; the highest ID
// is the active key.
type StoredKey struct {
	Table, Column string
	Purpose       Purpose
	ID            uint32
	Wrapped       []byte
}

// KeyStore keeps wrapped column keys. The default one is a table in the
// same database (see WithKeyTable); WithKeyStore plugs in another.
// Wrapped keys are authenticated when unwrapped, so a store need not be
// trusted for integrity, only for availability.
type KeyStore interface {
	// Keys returns every stored key of a table's column, of both purposes,
	// in any order.
	Keys(ctx context.Context, table, column string) ([]StoredKey, error)
	// Add stores a new key. It must fail if a key with the same table,
	// column, purpose and ID exists: two processes creating the same key
	// must not both succeed.
	Add(ctx context.Context, k StoredKey) error
}

// Dialect is the SQL flavour of the default key store.
type Dialect int

const (
	// DialectAuto picks the dialect from the database's driver.
	DialectAuto Dialect = iota
	// SQLite uses ? placeholders and BLOB.
	SQLite
	// Postgres uses $n placeholders and BYTEA.
	Postgres
)

// ident is what a table or column name may be: a plain SQL identifier,
// optionally schema-qualified. Names are put into statements, never quoted
// from input, so nothing else is accepted.
var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

func checkIdent(what, name string) error {
	if !ident.MatchString(name) {
		return fmt.Errorf("%w: %s %q is not a plain SQL identifier", ErrInvalidOption, what, name)
	}
	return nil
}

// detectDialect names the dialect of a driver from its Go type.
func detectDialect(db *sql.DB) (Dialect, error) {
	name := strings.ToLower(fmt.Sprintf("%T", db.Driver()))
	switch {
	case strings.Contains(name, "sqlite"):
		return SQLite, nil
	case strings.Contains(name, "stdlib"), strings.Contains(name, "pq."), strings.Contains(name, "pgx"):
		return Postgres, nil
	}
	return 0, fmt.Errorf("%w: cannot tell the SQL dialect of driver %s; use WithDialect", ErrInvalidOption, name)
}

// placeholders writes n placeholders of a dialect, numbered from 1.
func (d Dialect) placeholders(n int) []string {
	p := make([]string, n)
	for i := range p {
		if d == Postgres {
			p[i] = "$" + strconv.Itoa(i+1)
		} else {
			p[i] = "?"
		}
	}
	return p
}

// sqlStore is the default KeyStore: a table in the database itself.
type sqlStore struct {
	db     *sql.DB
	table  string
	insert string
	load   string
}

func newSQLStore(ctx context.Context, db *sql.DB, table string, d Dialect, create bool) (*sqlStore, error) {
	blob := "BLOB"
	if d == Postgres {
		blob = "BYTEA"
	}
	p := d.placeholders(5)
	s := &sqlStore{
		db:    db,
		table: table,
		insert: fmt.Sprintf("INSERT INTO %s (table_name, column_name, purpose, key_id, wrapped_key) VALUES (%s)",
			table, strings.Join(p, ", ")),
		load: fmt.Sprintf("SELECT purpose, key_id, wrapped_key FROM %s WHERE table_name = %s AND column_name = %s",
			table, p[0], p[1]),
	}
	if !create {
		return s, nil
	}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	table_name  TEXT NOT NULL,
	column_name TEXT NOT NULL,
	purpose     TEXT NOT NULL,
	key_id      BIGINT NOT NULL,
	wrapped_key %s NOT NULL,
	PRIMARY KEY (table_name, column_name, purpose, key_id)
)`, table, blob)
	var err error
	for range 3 { // concurrent CREATE TABLE IF NOT EXISTS may race in PostgreSQL's catalog
		if _, err = db.ExecContext(ctx, ddl); err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, storeErr("create key table "+table, err)
}

func (s *sqlStore) Keys(ctx context.Context, table, column string) ([]StoredKey, error) {
	rows, err := s.db.QueryContext(ctx, s.load, table, column)
	if err != nil {
		if s.db.PingContext(ctx) == nil {
			// The database answers but the query fails: no such table,
			// no permission, a table of another shape.
			return nil, fmt.Errorf("%w: key table %s missing or unreadable: %w", ErrKeyTable, s.table, err)
		}
		return nil, storeErr("read key table "+s.table, err)
	}
	defer rows.Close()
	var keys []StoredKey
	for rows.Next() {
		var (
			k  StoredKey
			id int64
		)
		if err := rows.Scan(&k.Purpose, &id, &k.Wrapped); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyTable, s.table, err)
		}
		if id < 1 || id > 1<<32-1 {
			return nil, fmt.Errorf("%w: %s: key id %d out of range", ErrKeyTable, s.table, id)
		}
		k.Table, k.Column, k.ID = table, column, uint32(id)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read key table "+s.table, err)
	}
	return keys, nil
}

func (s *sqlStore) Add(ctx context.Context, k StoredKey) error {
	_, err := s.db.ExecContext(ctx, s.insert, k.Table, k.Column, string(k.Purpose), int64(k.ID), k.Wrapped)
	if err != nil {
		return storeErr("add key to "+s.table, err)
	}
	return nil
}
