package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Error categories. Every error returned by Decrypt, NewReader and Read
// wraps exactly one of ErrFormat, ErrAuthentication, ErrCommitment,
// ErrLimit, ErrNoDecryptionKey, ErrPolicy, ErrContext and ErrTransient, or
// (for a bad option or a nil keyring, before any input is read)
// ErrInvalidOption, so callers can branch with errors.Is. ErrTransient is
// the only category worth retrying: every other one is permanent for the
// message and configuration at hand. Authentication failures never say
// which check failed.
var (
	// ErrFormat means the input is not a well-formed message: an unknown
	// version, suite or content type, a bad length, a truncated message or
	// bytes after its end.
	ErrFormat = errors.New("envelope: malformed message")
	// ErrAuthentication means a header tag, frame tag or signature did not
	// verify: the message was altered or the wrong key was used.
	ErrAuthentication = errors.New("envelope: message authentication failed")
	// ErrCommitment means the data key does not match the key commitment
	// stored in the header: the message was altered or the wrong key was
	// used.
	ErrCommitment = errors.New("envelope: key commitment mismatch")
	// ErrLimit means the message exceeds a configured or format limit
	// (encrypted data keys, header size, frame size, frame count), or that
	// the keyring failed to unwrap more encrypted data keys than
	// WithMaxUnwrapAttempts allows (the error then also matches
	// keyring.ErrUnwrapLimit).
	ErrLimit = errors.New("envelope: limit exceeded")
	// ErrNoDecryptionKey means no keyring could unwrap a data key, for a
	// reason that will not pass: no encrypted data key is for the keyring,
	// the key service refused access or the ciphertext, or the keyring
	// misbehaved (returned keyring.ErrInvalidMaterials, a data key of the
	// wrong length, or an error of no category). It is
	// keyring.ErrNoDecryptionKey.
	ErrNoDecryptionKey = keyring.ErrNoDecryptionKey
	// ErrPolicy means the message or request is not allowed by the
	// configuration: a suite the commitment policy forbids, a signed message
	// where only unsigned ones are accepted.
	ErrPolicy = errors.New("envelope: not allowed by policy")
	// ErrContext means the encryption context is invalid or does not match
	// the reproduced or required context.
	ErrContext = errors.New("envelope: encryption context mismatch")
	// ErrTransient means decryption stopped for a reason that may pass:
	// the context ended, reading the message failed (other than by ending
	// early, which is ErrFormat), or the key service was throttled,
	// answered with a server error or could not be reached. Retrying later
	// may succeed. The cause stays in the chain: errors.Is(err,
	// context.Canceled), the reader's own error and, for AWS KMS, errors.As
	// to the SDK's error types all work. It is keyring.ErrTransient.
	ErrTransient = keyring.ErrTransient
	// ErrInvalidOption means an option was given an invalid value or to a
	// call it does not apply to.
	ErrInvalidOption = errors.New("envelope: invalid option")
	// ErrClosed means a Writer or Reader was used after Close.
	ErrClosed = errors.New("envelope: used after Close")
)

// readErr maps an error reading what from the message source: the end of
// input is a truncated message (ErrFormat), anything else is the source
// failing (ErrTransient, with the source's error kept).
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr("message truncated in %s", what)
	}
	if errors.Is(err, ErrTransient) {
		return err
	}
	return fmt.Errorf("%w: reading %s: %w", ErrTransient, what, err)
}

// contextErr returns ctx's error as ErrTransient, or nil while ctx is live.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrTransient, err)
	}
	return nil
}

// keyringErr gives the error of a keyring (or cache) that produced no data
// key on decrypt its one category: ErrTransient when it failed
// transiently, ErrLimit when the unwrap budget ran out, ErrNoDecryptionKey
// otherwise (keyring.ErrInvalidMaterials and errors of no category
// included).
func keyringErr(err error) error {
	switch {
	case errors.Is(err, ErrTransient):
		return err
	case keyring.IsTransient(err):
		return fmt.Errorf("%w: %w", ErrTransient, err)
	case errors.Is(err, keyring.ErrUnwrapLimit):
		return fmt.Errorf("%w: %w", ErrLimit, err)
	case errors.Is(err, ErrNoDecryptionKey):
		return err
	}
	return fmt.Errorf("%w: %w", ErrNoDecryptionKey, err)
}
