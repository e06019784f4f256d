package sqlcrypto

import (
	"fmt"
	"time"
)

// Option configures Open.
type Option func(*config) error

type config struct {
	table        string
	dialect      Dialect
	store        KeyStore
	noCreate     bool
	refreshEvery time.Duration
	refreshWait  time.Duration
}

// WithKeyTable names the key table of the default key store (default
// "cryptkeeper_keys"; a plain identifier, optionally schema-qualified).
func WithKeyTable(name string) Option {
	return func(c *config) error {
		if err := checkIdent("key table", name); err != nil {
			return err
		}
		c.table = name
		return nil
	}
}

// WithDialect sets the SQL dialect of the default key store, when it cannot
// be told from the driver (modernc.org/sqlite, mattn/go-sqlite3, pgx's
// stdlib and lib/pq are recognised).
func WithDialect(d Dialect) Option {
	return func(c *config) error {
		if d != SQLite && d != Postgres {
			return fmt.Errorf("%w: unknown dialect %d", ErrInvalidOption, int(d))
		}
		c.dialect = d
		return nil
	}
}

// WithKeyStore keeps column keys in another store instead of a table of
// the database.
func WithKeyStore(s KeyStore) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: nil key store", ErrInvalidOption)
		}
		c.store = s
		return nil
	}
}

// WithoutCreateTable makes Open use an existing key table instead of
// creating it when missing; a missing table then fails the first Column
// with ErrKeyTable.
func WithoutCreateTable() Option {
	return func(c *config) error {
		c.noCreate = true
		return nil
	}
}

// WithRefresh bounds how a column looks for keys that another process
// added (after a Rotate there): when a value names an unknown key id, the
// key store is read again at most once per interval (default 1s), taking
// at most wait (default 5s). Scanning has no context, so this bound is what
// keeps hostile values from turning into a flood of queries.
func WithRefresh(interval, wait time.Duration) Option {
	return func(c *config) error {
		if interval < 0 || wait <= 0 {
			return fmt.Errorf("%w: refresh interval %v, wait %v", ErrInvalidOption, interval, wait)
		}
		c.refreshEvery, c.refreshWait = interval, wait
		return nil
	}
}

// ColumnOption configures a Column.
type ColumnOption func(*columnConfig) error

type columnConfig struct {
	indexBits     int
	normalize     func(string) string
	text          bool
	rowBinding    bool
	encryptNull   bool
	fallback      bool
	deterministic bool
}

// MinIndexBits and MaxIndexBits bound WithBlindIndex.
const (
	MinIndexBits = 8
	MaxIndexBits = 256
)

// WithBlindIndex gives the column a blind index of bits bits
// (MinIndexBits..MaxIndexBits): Column.Index then returns a truncated
// HMAC-SHA256 of the value under a separate index key, stored in
// ceil(bits/8) bytes. Fewer bits leak less and match more false positives;
// see SuggestBits.
func WithBlindIndex(bits int) ColumnOption {
	return func(c *columnConfig) error {
		if bits < MinIndexBits || bits > MaxIndexBits {
			return fmt.Errorf("%w: blind index of %d bits outside %d..%d", ErrInvalidOption, bits, MinIndexBits, MaxIndexBits)
		}
		c.indexBits = bits
		return nil
	}
}

// WithNormalizer makes the blind index of a string the index of f(s), so
// that, say, "123-45-6789" and "123456789" find the same rows. It applies
// to strings only and never changes what is encrypted.
func WithNormalizer(f func(string) string) ColumnOption {
	return func(c *columnConfig) error {
		if f == nil {
			return fmt.Errorf("%w: nil normalizer", ErrInvalidOption)
		}
		c.normalize = f
		return nil
	}
}

// WithText makes Seal and Index return base64 strings (standard alphabet,
// padded) for TEXT columns instead of bytes for BLOB/BYTEA columns. Open
// reads both forms whatever this option says.
func WithText() ColumnOption {
	return func(c *columnConfig) error {
		c.text = true
		return nil
	}
}

// WithRowBinding binds each value to its row: the value must be sealed with
// SealRow and opened with OpenRow, given the row's primary key, and a value
// copied to another row fails with ErrAuthentication. Seal and Open of the
// column then fail with ErrInvalidOption.
func WithRowBinding() ColumnOption {
	return func(c *columnConfig) error {
		c.rowBinding = true
		return nil
	}
}

// WithEncryptedNull seals NULL (nil, or a sql.Null* that is not Valid) as
// an encrypted value, so that the column does not show which rows are
// NULL. Without it NULL stays NULL in the database: whether a value is
// present is visible to anyone who can read the table.
func WithEncryptedNull() ColumnOption {
	return func(c *columnConfig) error {
		c.encryptNull = true
		return nil
	}
}

// WithPlaintextFallback makes Open accept values that are not sealed
// (ErrNotEncrypted) as plaintext, for the time a plaintext column is being
// migrated (see Column.Reencrypt with FromPlaintext), while the
// application keeps reading. Security warning: while it is on, anyone who
// can write the column can plant a value that Open accepts; turn it off
// once the migration's verify pass is clean.
func WithPlaintextFallback() ColumnOption {
	return func(c *columnConfig) error {
		c.fallback = true
		return nil
	}
}

// WithDeterministic seals equal values (of the same type, in the same
// column, and row with row binding) to equal bytes, so that the column
// itself can be compared with = and carry a unique constraint. The nonce
// is a MAC of the value under a key derived from the data key (a
// synthetic IV), never reused for different values.
//
// Security warning: this leaks equality exactly, with no false positives,
// for every value of the column — which rows share a value and how often
// each occurs — like a blind index of 96 bits; prefer a blind index with
// few bits, and use this only for values that are unique or of high
// entropy.
func WithDeterministic() ColumnOption {
	return func(c *columnConfig) error {
		c.deterministic = true
		return nil
	}
}
