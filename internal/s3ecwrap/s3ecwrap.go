// Package s3ecwrap connects the keyrings of this module to the data-key
// wrapping of the Amazon S3 Encryption Client formats (package s3crypto).
//
// Those formats wrap a data key differently from the AWS Encryption SDK
// (one encrypted data key, no provider ID, the algorithm name bound
// instead of the encryption context), so s3crypto cannot use a keyring
// through keyring.Keyring. Each keyring package registers, in its init, a
// function that returns a Wrapper for its keyring types; the wrapping key
// never leaves the keyring package. The package is internal: nothing of it
// is public API.
package s3ecwrap

import (
	"context"
	"errors"
	"sync"
)

// Wrap algorithm names (x-amz-wrap-alg).
const (
	AlgKMSContext = "kms+context"
	AlgKMS        = "kms" // legacy, decrypt only
	AlgAESGCM     = "AES/GCM"
	AlgRSAOAEP    = "RSA-OAEP-SHA1"
)

// ErrNotMine means the wrapper cannot unwrap this encrypted data key (it
// is of another algorithm or another key). Wrappers wrap it in an error
// that also matches keyring.ErrNoDecryptionKey.
var ErrNotMine = errors.New("s3ecwrap: encrypted data key is not this keyring's")

// Wrapper wraps and unwraps S3EC data keys for one keyring.
type Wrapper interface {
	// Alg is the wrap algorithm Wrap writes ("" when the keyring can
	// only unwrap).
	Alg() string
	// Wrap returns dataKey, or a new random data key of n bytes when
	// dataKey is nil, and its encrypted form. cek is the
	// content-encryption algorithm string that the wrap binds
	// ("AES/GCM/NoPadding" or "115"); ec is the full KMS encryption
	// context (kms+context only; nil for the raw algorithms). The
	// returned key is dataKey itself when one was given.
	Wrap(ctx context.Context, dataKey []byte, n int, cek string, ec map[string]string) (dk, edk []byte, err error)
	// Unwrap returns the n-byte data key of edk wrapped with alg, or an
	// error matching keyring.ErrNoDecryptionKey (or keyring.ErrTransient).
	Unwrap(ctx context.Context, alg string, n int, cek string, ec map[string]string, edk []byte) ([]byte, error)
}

var (
	mu      sync.RWMutex
	lookups []func(kr any) (Wrapper, bool)
)

// Register adds a lookup; keyring packages call it from init.
func Register(f func(kr any) (Wrapper, bool)) {
	mu.Lock()
	defer mu.Unlock()
	lookups = append(lookups, f)
}

// For returns the Wrapper of kr, if a keyring package knows kr.
func For(kr any) (Wrapper, bool) {
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range lookups {
		if w, ok := f(kr); ok {
			return w, true
		}
	}
	return nil, false
}
