package keyring

import (
	"errors"
	"fmt"
)

// Sentinel errors. Keyring errors wrap one of these so callers can match
// them with errors.Is.
var (
	// ErrNoDecryptionKey means no keyring could unwrap any of the message's
	// encrypted data keys, for a reason that will not pass by retrying
	// (failures that may pass are ErrTransient instead).
	ErrNoDecryptionKey = errors.New("keyring: no encrypted data key could be decrypted")
	// ErrNotMine means an encrypted data key was not written by this keyring
	// (wrong provider, key name or parameters). It wraps ErrNoDecryptionKey.
	ErrNotMine = fmt.Errorf("%w: encrypted data key belongs to another wrapping key", ErrNoDecryptionKey)
	// ErrInvalidMaterials means the materials handed to a keyring are
	// inconsistent (a data key already present on decrypt, a wrong length,
	// a missing data key where one is required).
	ErrInvalidMaterials = errors.New("keyring: invalid materials")
	// ErrEncryptOnly means a keyring that holds only a public key was asked
	// to decrypt; ErrDecryptOnly the reverse.
	ErrEncryptOnly = errors.New("keyring: keyring can only encrypt")
	ErrDecryptOnly = errors.New("keyring: keyring can only decrypt")
	// ErrInvalidContext means an encryption context breaks the format rules.
	ErrInvalidContext = errors.New("keyring: invalid encryption context")
	// ErrInvalidConfig means a keyring was constructed with bad parameters.
	ErrInvalidConfig = errors.New("keyring: invalid configuration")
	// ErrTransient means an attempt to unwrap a data key could not be
	// completed for a reason that may pass: the context ended, or a key
	// service was throttled, failed with a server error or could not be
	// reached. Retrying later may succeed. The cause stays in the chain,
	// so errors.Is(err, context.Canceled) and errors.As to the service's
	// error types still work. The errors of TryUnwrap and UnwrapFailure
	// never match both ErrTransient and ErrNoDecryptionKey: transient wins
	// (see IsTransient), and the other sentinel is hidden from errors.Is.
	ErrTransient = errors.New("keyring: transient failure")
	// ErrUnwrapLimit means the budget of failed unwrap attempts set with
	// WithUnwrapBudget ran out before any encrypted data key unwrapped.
	// It does not match ErrNoDecryptionKey.
	ErrUnwrapLimit = errors.New("keyring: too many failed attempts to unwrap a data key")
	// ErrNotApproved means a keyring was asked for an algorithm that is not
	// approved in FIPS 140-3 mode (GODEBUG=fips140=on). It is returned
	// wrapped together with ErrInvalidConfig.
	ErrNotApproved = errors.New("keyring: algorithm not approved in FIPS 140-3 mode")
)

// KeyringError reports a failure of one wrapping key. Provider and KeyID
// name the key (never its bytes); Err is the cause.
type KeyringError struct {
	Provider string
	KeyID    string
	Err      error
}

func (e *KeyringError) Error() string {
	return fmt.Sprintf("keyring %s %q: %v", e.Provider, e.KeyID, e.Err)
}

func (e *KeyringError) Unwrap() error { return e.Err }
