// Package sqlcrypto encrypts single columns of SQL tables (SSNs, emails,
// dates of birth) in the application, and still finds rows by them.
//
// By default, open a [Keyset] once per process with the database and a
// keyring, ask it for a [Column] per encrypted column, and pass
// [Column.Seal], [Column.Index] and [Column.Open] to database/sql as query
// arguments and scan destinations:
//
//	ks, err := sqlcrypto.Open(ctx, db, kr)
//	col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithBlindIndex(16))
//	db.ExecContext(ctx, `INSERT INTO customers (id, ssn, ssn_idx) VALUES (?, ?, ?)`,
//		id, col.Seal(ssn), col.Index(ssn))
//	db.QueryRowContext(ctx, `SELECT ssn FROM customers WHERE ssn_idx = ?`,
//		col.Index(ssn)).Scan(col.Open(&ssn))
//
// # Keys
//
// A value is not an envelope message: that would cost ~250 bytes and a
// keyring call per cache expiry. Each column has its own random 256-bit data
// keys (AES-256-GCM) and, separately, blind-index keys (HMAC-SHA256). Each
// key is stored in a key table of the same database ([DefaultKeyTable],
// created by Open; [KeyStore] allows others) wrapped by the keyring as an
// envelope message with a key-committing unsigned suite, under an
// encryption context naming its table, column, purpose and key id. Any AWS
// Encryption SDK can unwrap one in an emergency. [Keyset.Column] unwraps a
// column's keys once per process, with a context; Seal, Open and Index
// then work on keys in memory, since driver.Valuer and sql.Scanner take no
// context. [Keyset.Close] wipes them.
//
// # Values
//
// A sealed value is 34 bytes longer than its plaintext: a version, its
// type, the key id, a random 96-bit nonce and the AES-256-GCM tag
// (FORMAT.md beside this file). The associated data binds the table and
// column, so a value copied to another column fails, and with
// [WithRowBinding] the row's primary key, so a value copied to another row
// fails. BLOB and BYTEA columns take bytes; TEXT columns take base64
// ([WithText]); Open reads both.
//
// NULL stays NULL unless the column has [WithEncryptedNull]: without it,
// whether a row has a value is visible to anyone who can read the table.
// The length of the plaintext is visible too: pad values whose length
// matters before sealing.
//
// Sealing is randomized: equal values seal to different bytes. Only
// [WithDeterministic] (a synthetic nonce) makes them equal, and so leaks
// equality; prefer a blind index.
//
// Random nonces limit a data key to about 2^32 values; [Keyset.Rotate]
// well before that (and whenever policy says), which adds a new active key
// while the old ones keep opening.
//
// # Blind indexes
//
// [Column.Index] is a truncated HMAC of the (normalized, [WithNormalizer])
// value: equal values have equal indexes, so an index column shows which
// rows share a value and how often, which is the point and the leak. Keep
// bits low enough that each index value is shared by several rows
// ([SuggestBits]), filter false positives after opening, and do not index
// values with few possible values. [Compound] indexes several values
// together.
//
// # Errors
//
// Errors wrap one of [ErrNotEncrypted], [ErrUnknownKey],
// [ErrAuthentication], [ErrKeyTable], [ErrKeyUnavailable], [ErrType],
// [ErrInvalidOption], [ErrClosed] or [ErrTransient]; only ErrTransient is
// worth retrying.
//
// This package imports database/sql, envelope and keyring only; drivers are
// the caller's (tests use modernc.org/sqlite and pgx's stdlib).
package sqlcrypto
