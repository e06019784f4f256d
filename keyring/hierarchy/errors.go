package hierarchy

import (
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/internal/awserr"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The errors of the branch key store. Each is matched with errors.Is; the
// returned errors wrap the cause with %w and name the branch key id, the
// item kind and what is wrong (never key bytes).
var (
	// ErrNotFound means the item asked for is not in the table: no such
	// branch key id, version or beacon key.
	ErrNotFound = errors.New("hierarchy: branch key store item not found")
	// ErrInvalidItem means an item failed a mandatory check: an attribute
	// is missing, has the wrong type or the wrong value, the item is not
	// the one asked for, its KMS key or logical key store name is not this
	// store's, or KMS refused to decrypt it under the encryption context
	// rebuilt from its attributes (it was changed or swapped).
	ErrInvalidItem = errors.New("hierarchy: invalid branch key store item")
	// ErrExists means CreateKey was asked for a branch key id that already
	// has items (the conditional write failed).
	ErrExists = errors.New("hierarchy: branch key id already exists")
	// ErrConflict means VersionKey lost a race: the ACTIVE item changed
	// between its read and the conditional write (another rotation won).
	// Nothing was written; the call may be repeated.
	ErrConflict = errors.New("hierarchy: branch key changed during rotation")
	// ErrInvalidOption means a store or an operation was given a bad
	// parameter (empty table or id, a KMS ARN that is not a key ARN, ...).
	// A bad keyring or cache configuration (NewKeyring, NewBranchKeyCache)
	// matches it too, as well as keyring.ErrInvalidConfig.
	ErrInvalidOption = errors.New("hierarchy: invalid option")
	// ErrTransient means a call failed for a reason that may pass: the
	// context ended, the network failed, or DynamoDB or KMS throttled or
	// answered with a server error. It is keyring.ErrTransient, and never
	// matches together with the permanent errors above.
	ErrTransient = keyring.ErrTransient
)

// callErr wraps the error of an AWS call: transient failures match
// ErrTransient, the rest are returned as they are, named by the call.
func callErr(call string, err error) error {
	if awserr.Transient(err) {
		return fmt.Errorf("hierarchy: %s: %w: %w", call, ErrTransient, err)
	}
	return fmt.Errorf("hierarchy: %s: %w", call, err)
}
