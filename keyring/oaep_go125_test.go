//go:build !go1.26

package keyring_test

import (
	"crypto"
	"crypto/rsa"
	"testing"
)

// encryptOAEP needs rsa.EncryptOAEPWithOptions (Go 1.26); with older
// toolchains the test that needs it is skipped.
func encryptOAEP(t *testing.T, _ *rsa.PublicKey, _ []byte, _, _ crypto.Hash) ([]byte, error) {
	t.Helper()
	t.Skip("encrypting OAEP with a separate MGF1 hash needs Go 1.26")
	return nil, nil
}
