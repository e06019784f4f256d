package dynamocrypto

import (
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Errors. Every error of this package wraps one of these sentinels (most
// inside an *Error naming the table and attribute), so callers can branch
// with errors.Is. ErrTransient is the only one worth retrying. Errors name
// tables and attributes, never key bytes or plaintext values.
var (
	// ErrInvalidConfig means a TableConfig (or an argument of New) is
	// invalid: a missing partition key, a key attribute that is encrypted,
	// a reserved attribute name, a beacon naming an unknown attribute or
	// with bits outside 1–63.
	ErrInvalidConfig = errors.New("dynamocrypto: invalid configuration")
	// ErrUnknownAttribute means an item holds an attribute that the table's
	// configuration does not list and that is not under its UnsignedPrefix.
	ErrUnknownAttribute = errors.New("dynamocrypto: attribute not in the table configuration")
	// ErrAuthentication means a stored item did not verify: it was altered,
	// an attribute was added, removed, replaced by another item's or an
	// older value, or the item was moved to another key or table.
	ErrAuthentication = errors.New("dynamocrypto: item authentication failed")
	// ErrFormat means a stored item is not an item of this package, or its
	// header or footer is malformed or of an unknown version.
	ErrFormat = errors.New("dynamocrypto: malformed encrypted item")
	// ErrInvalidItem means an item to encrypt cannot be: a missing or
	// encrypted-typed key attribute, an invalid number, an empty value.
	ErrInvalidItem = errors.New("dynamocrypto: invalid item")
	// ErrUnsupported means an operation or expression that cannot be done
	// safely on a configured table (PartiQL, a condition on an encrypted
	// attribute without a beacon) and was refused.
	ErrUnsupported = errors.New("dynamocrypto: unsupported on an encrypted table")
	// ErrKeyUnavailable means the keyring could not unwrap the item's data
	// key (or a beacon key) for a reason that will not pass; the keyring's
	// error stays in the chain (errors.Is(err, keyring.ErrNoDecryptionKey)).
	ErrKeyUnavailable = errors.New("dynamocrypto: key unavailable")
	// ErrTransient means a failure that may pass: the context ended, or the
	// key service or DynamoDB was throttled or failed, or a transaction in
	// progress held an item (a TransactionConflictException, or a
	// transaction canceled only for conflicts or throttling). It is
	// keyring.ErrTransient.
	ErrTransient = keyring.ErrTransient
)

// Error reports a failure of one operation on one table, naming the
// attribute concerned when there is one. Err wraps one of the sentinels.
type Error struct {
	Op        string // "encrypt", "decrypt", "beacon", or a DynamoDB operation name
	Table     string
	Attribute string // "" when the failure concerns the whole item
	Err       error
}

// Error names the operation, table and attribute, and the cause.
func (e *Error) Error() string {
	if e.Attribute != "" {
		return fmt.Sprintf("dynamocrypto: %s %s: attribute %q: %v", e.Op, e.Table, e.Attribute, e.Err)
	}
	return fmt.Sprintf("dynamocrypto: %s %s: %v", e.Op, e.Table, e.Err)
}

// Unwrap returns the cause, which wraps one of the sentinels.
func (e *Error) Unwrap() error { return e.Err }

// errAttr builds an *Error for op on table t and attribute attr wrapping
// kind with a message.
func errAttr(op, table, attr string, kind error, format string, args ...any) error {
	return &Error{Op: op, Table: table, Attribute: attr, Err: fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)}
}
