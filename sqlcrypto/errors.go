package sqlcrypto

import (
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Errors. Every error of this package wraps one of these sentinels, so
// callers can branch with errors.Is. ErrTransient is the only one worth
// retrying. Errors name tables, columns and key ids, never key bytes or
// plaintext, and never say which authentication check failed.
var (
	// ErrNotEncrypted means a stored value is not a value of this package:
	// too short, an unknown format version, or text that is not base64.
	ErrNotEncrypted = errors.New("sqlcrypto: value is not an encrypted value")
	// ErrUnknownKey means a value names a key id that the key table does not
	// hold for its column, even after the table was read again.
	ErrUnknownKey = errors.New("sqlcrypto: unknown key id")
	// ErrAuthentication means a value did not authenticate: it was altered,
	// or it was copied from another column, table or row (with row
	// binding), or the key table holds a different key under its id.
	ErrAuthentication = errors.New("sqlcrypto: value authentication failed")
	// ErrKeyTable means a row of the key table is malformed, or its wrapped
	// key does not decrypt under the context naming its table, column,
	// purpose and key id: the key table was altered or rows were moved.
	ErrKeyTable = errors.New("sqlcrypto: key table entry invalid")
	// ErrKeyUnavailable means the keyring could not unwrap a column key for
	// a reason that will not pass (a wrong keyring, access denied). The
	// envelope and keyring errors stay in the chain: errors.Is(err,
	// keyring.ErrNoDecryptionKey) also holds.
	ErrKeyUnavailable = errors.New("sqlcrypto: column key unavailable")
	// ErrType means a value cannot be sealed (an unsupported Go type) or
	// cannot be opened into the destination (a different stored type, or
	// NULL into a destination that cannot hold NULL).
	ErrType = errors.New("sqlcrypto: unsupported or mismatched type")
	// ErrInvalidOption means an option or argument has an invalid value:
	// a bad identifier, blind-index bits out of range, a nil database.
	ErrInvalidOption = errors.New("sqlcrypto: invalid option")
	// ErrClosed means the Keyset was closed and its keys wiped.
	ErrClosed = errors.New("sqlcrypto: keyset closed")
	// ErrTransient means an operation failed for a reason that may pass: the
	// context ended, the database or the key service failed in a way that
	// may be retried. It is keyring.ErrTransient.
	ErrTransient = keyring.ErrTransient
)

// unwrapErr maps an envelope decryption error of a wrapped column key onto
// this package's categories, keeping the cause in the chain.
func unwrapErr(what string, err error) error {
	switch {
	case errors.Is(err, envelope.ErrTransient):
		return fmt.Errorf("sqlcrypto: %s: %w", what, err)
	case errors.Is(err, envelope.ErrNoDecryptionKey):
		return fmt.Errorf("%w: %s: %w", ErrKeyUnavailable, what, err)
	default:
		return fmt.Errorf("%w: %s: %w", ErrKeyTable, what, err)
	}
}

// storeErr marks an error of the key store as transient: a failed query is
// a database that may come back.
func storeErr(what string, err error) error {
	if errors.Is(err, ErrTransient) || errors.Is(err, ErrInvalidOption) || errors.Is(err, ErrKeyTable) {
		return fmt.Errorf("sqlcrypto: %s: %w", what, err)
	}
	return fmt.Errorf("sqlcrypto: %s: %w: %w", what, ErrTransient, err)
}
