package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/cryptkeeper-go/cryptkeeper/internal/awserr"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Provider ids written into encrypted data keys.
const (
	ProviderID    = "aws-kms"
	RSAProviderID = "aws-kms-rsa"
)

var (
	// ErrAccessDenied matches a KMS AccessDeniedException: the caller's
	// identity may not use the key (key policy, IAM policy or grant).
	ErrAccessDenied = errors.New("awskms: access denied by KMS")
	// ErrInvalidARN means a key identifier or provider info is not a
	// valid KMS ARN (or not of the kind required).
	ErrInvalidARN = errors.New("awskms: invalid KMS key identifier")
	// ErrResponse means KMS answered with something the keyring must not
	// accept: another key ARN than requested, or a data key of the wrong
	// length.
	ErrResponse = errors.New("awskms: unexpected KMS response")
	// ErrSignedSuite means the aws-kms-rsa keyring was used with a signing
	// algorithm suite, which it refuses.
	ErrSignedSuite = errors.New("awskms: the aws-kms-rsa keyring refuses signing suites")
)

// IsAccessDenied reports whether err comes from a KMS AccessDeniedException.
func IsAccessDenied(err error) bool {
	if errors.Is(err, ErrAccessDenied) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
}

// kmsError wraps an error returned by a KMS call so that it names the key
// and keeps the SDK error matchable. A failure that may pass (the context
// ended, throttling, a 5xx answer, a network error: what the SDK's
// standard retryer retries) also matches keyring.ErrTransient.
func kmsError(provider, keyID, op string, err error) error {
	switch {
	case IsAccessDenied(err):
		err = fmt.Errorf("kms %s: %w: %w", op, ErrAccessDenied, err)
	case awserr.Transient(err):
		err = fmt.Errorf("kms %s: %w: %w", op, keyring.ErrTransient, err)
	default:
		err = fmt.Errorf("kms %s: %w", op, err)
	}
	return &keyring.KeyringError{Provider: provider, KeyID: keyID, Err: err}
}

func keyError(provider, keyID string, err error) error {
	return &keyring.KeyringError{Provider: provider, KeyID: keyID, Err: err}
}

// unwrapFirst sets m's data key from the first of edks that match claims
// (returning its unwrap call; nil to skip the key) and that unwraps. A
// match error (a malformed encrypted data key) fails at once. Each unwrap
// runs through keyring.TryUnwrap, within the budget of ctx; an ended ctx
// or a spent budget stops the search. With no success the error is
// keyring.UnwrapFailure's (ErrTransient, ErrUnwrapLimit or
// ErrNoDecryptionKey; ErrNotMine when nothing was tried) and names
// provider and keyID.
func unwrapFirst(ctx context.Context, m *keyring.DecryptionMaterials, provider, keyID string, edks []keyring.EncryptedDataKey,
	match func(keyring.EncryptedDataKey) (func() ([]byte, error), error)) error {
	var errs []error
	for _, edk := range edks {
		unwrap, err := match(edk)
		if err != nil {
			return keyError(provider, keyID, err)
		}
		if unwrap == nil {
			continue
		}
		pdk, err := keyring.TryUnwrap(ctx, unwrap)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil || errors.Is(err, keyring.ErrUnwrapLimit) {
				break
			}
			continue
		}
		m.PlaintextDataKey = pdk
		return nil
	}
	return keyError(provider, keyID, keyring.UnwrapFailure(errs...))
}
