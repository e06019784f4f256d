package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/internal/errcat"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Error categories. Every error returned by Decrypt, AppendDecrypt,
// NewReader and Read wraps exactly one of ErrFormat, ErrAuthentication,
// ErrCommitment, ErrLimit, ErrNoDecryptionKey, ErrPolicy, ErrContext and
// ErrTransient, or one of the two usage errors: ErrInvalidOption (a bad
// option or a nil keyring, reported before any input is read) and
// ErrClosed (Read after Close). Callers can branch with errors.Is; a
// cause that matched another category is kept for errors.As but hidden
// from errors.Is. ErrTransient is the only category worth retrying: every
// other one is permanent for the message and configuration at hand.
// Authentication failures never say which check failed.
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
	// an attempt to unwrap an encrypted data key was refused because the
	// failed attempts WithMaxUnwrapAttempts allows (or a budget on the
	// context) were already spent (the error then also matches
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
	// answered with a server error or could not be reached (a TLS
	// certificate that fails verification is ErrNoDecryptionKey). Retrying
	// later may succeed. It wins over ErrNoDecryptionKey: a keyring error
	// that matches both, or a network error wrapped in
	// keyring.ErrNoDecryptionKey, is ErrTransient (see keyring.IsTransient). The cause stays in the chain: errors.Is(err,
	// context.Canceled), the reader's own error and, for AWS KMS, errors.As
	// to the SDK's error types all work. It is keyring.ErrTransient.
	ErrTransient = keyring.ErrTransient
	// ErrInvalidOption means an option was given an invalid value or to a
	// call it does not apply to, a keyring was nil, or an Append call's dst
	// overlaps its input.
	ErrInvalidOption = errors.New("envelope: invalid option")
	// ErrClosed means a Writer or Reader was used after Close. Like
	// ErrInvalidOption it is a usage error, in no other category.
	ErrClosed = errors.New("envelope: used after Close")
)

// errNilKeyring is the error of a call given a nil keyring.
var errNilKeyring = fmt.Errorf("%w: nil keyring", ErrInvalidOption)

// errorCategories are the sentinels of the decrypt error contract.
var errorCategories = []error{
	ErrFormat, ErrAuthentication, ErrCommitment, ErrLimit, ErrNoDecryptionKey,
	ErrPolicy, ErrContext, ErrTransient, ErrInvalidOption, ErrClosed,
}

// categorize returns err if it matches kind and no other category, or
// else an error that does, with message msg ("" for kind's followed by
// err's) and err as its cause, in which errors.Is finds no other
// category.
func categorize(kind, err error, msg string) error {
	if msg == "" && errcat.Only(err, kind, errorCategories) {
		return err
	}
	return errcat.Wrap(kind, errorCategories, msg, err)
}

// readErr maps an error reading what from the message source: the end of
// input is a truncated message (ErrFormat), anything else is the source
// failing (ErrTransient, with the source's error kept, even when it
// matched a category: a source that is itself a Reader, say).
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr("message truncated in %s", what)
	}
	if errcat.Only(err, ErrTransient, errorCategories) {
		return err
	}
	return categorize(ErrTransient, err, fmt.Sprintf("%v: reading %s: %v", ErrTransient, what, err))
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
// transiently (keyring.IsTransient, which wins over the rest), ErrLimit
// when the unwrap budget ran out (keyring.ErrUnwrapLimit stays in the
// chain), ErrNoDecryptionKey otherwise (keyring.ErrInvalidMaterials and
// errors of no category included).
func keyringErr(err error) error {
	switch {
	case keyring.IsTransient(err):
		return categorize(ErrTransient, err, "")
	case errors.Is(err, keyring.ErrUnwrapLimit):
		return categorize(ErrLimit, err, "")
	}
	return categorize(ErrNoDecryptionKey, err, "")
}
