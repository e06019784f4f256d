package envelope

import (
	"errors"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Error categories. Every error returned by Decrypt, NewReader and Read wraps
// exactly one of them, so callers can branch with errors.Is. Authentication
// failures never say which check failed.
var (
	// ErrFormat means the input is not a well-formed message: an unknown
	// version, suite or content type, a bad length, a truncated message or
	// bytes after its end.
	ErrFormat = errors.New("envelope: malformed message")
	// ErrAuthentication means a header tag, frame tag or signature did not
	// verify: the message was altered or the wrong key was used.
	ErrAuthentication = errors.New("envelope: message authentication failed")
	// ErrCommitment means the data key does not match the key commitment
	// stored in the header.
	ErrCommitment = errors.New("envelope: key commitment mismatch")
	// ErrLimit means the message exceeds a configured or format limit
	// (encrypted data keys, header size, frame size, frame count).
	ErrLimit = errors.New("envelope: limit exceeded")
	// ErrNoDecryptionKey means no keyring could unwrap a data key. It is
	// keyring.ErrNoDecryptionKey.
	ErrNoDecryptionKey = keyring.ErrNoDecryptionKey
	// ErrPolicy means the message or request is not allowed by the
	// configuration: a suite the commitment policy forbids, a signed message
	// where only unsigned ones are accepted.
	ErrPolicy = errors.New("envelope: not allowed by policy")
	// ErrContext means the encryption context is invalid or does not match
	// the reproduced or required context.
	ErrContext = errors.New("envelope: encryption context mismatch")
	// ErrInvalidOption means an option was given an invalid value.
	ErrInvalidOption = errors.New("envelope: invalid option")
	// ErrClosed means a Writer was used after Close.
	ErrClosed = errors.New("envelope: writer is closed")
)
