//go:build go1.26

package keyring_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// encryptOAEP encrypts msg with RSAES-OAEP using hash for the label and
// mgfHash for MGF1, as another implementation may (crypto/rsa offers the
// separate MGF1 hash from Go 1.26 on).
func encryptOAEP(t *testing.T, pub *rsa.PublicKey, msg []byte, hash, mgfHash crypto.Hash) ([]byte, error) {
	t.Helper()
	return rsa.EncryptOAEPWithOptions(rand.Reader, pub, msg, &rsa.OAEPOptions{Hash: hash, MGFHash: mgfHash})
}
