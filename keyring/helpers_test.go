package keyring_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Suites with each data-key length (IDs as in the AWS Encryption SDK specification,
// framework/algorithm-suites.md).
var (
	suite128 = keyring.Suite{ID: 0x0114, DataKeyLength: 16}
	suite192 = keyring.Suite{ID: 0x0346, DataKeyLength: 24, Signed: true}
	suite256 = keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true}
	suites   = []keyring.Suite{suite128, suite192, suite256}
)

func encMaterials(s keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	return &keyring.EncryptionMaterials{Suite: s, EncryptionContext: ec}
}

func decMaterials(s keyring.Suite, ec map[string]string) *keyring.DecryptionMaterials {
	return &keyring.DecryptionMaterials{Suite: s, EncryptionContext: ec}
}

// seqKey returns n bytes start, start+1, ...
func seqKey(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func testPrivateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	priv, err := keyring.ParseRSAPrivateKeyPEM(readTestdata(t, name))
	require.NoError(t, err)
	return priv
}

// encrypt runs kr.OnEncrypt on fresh materials and returns them.
func encrypt(t testing.TB, kr keyring.Keyring, s keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	t.Helper()
	m := encMaterials(s, ec)
	require.NoError(t, kr.OnEncrypt(context.Background(), m))
	require.Len(t, m.PlaintextDataKey, s.DataKeyLength)
	return m
}

// requireDecrypts checks that kr unwraps edks to want.
func requireDecrypts(t testing.TB, kr keyring.Keyring, s keyring.Suite, ec map[string]string, edks []keyring.EncryptedDataKey, want []byte) {
	t.Helper()
	m := decMaterials(s, ec)
	require.NoError(t, kr.OnDecrypt(context.Background(), m, edks))
	require.Equal(t, want, m.PlaintextDataKey)
}

// requireNoKey checks that kr unwraps nothing, with an error matching
// ErrNoDecryptionKey, and leaves the materials exactly as they were.
func requireNoKey(t testing.TB, kr keyring.Keyring, s keyring.Suite, ec map[string]string, edks []keyring.EncryptedDataKey) error {
	t.Helper()
	m := decMaterials(s, ec)
	before := cloneDec(m)
	err := kr.OnDecrypt(context.Background(), m, edks)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	require.Equal(t, before, m, "materials must be unchanged after a failed decrypt")
	return err
}

func cloneDec(m *keyring.DecryptionMaterials) *keyring.DecryptionMaterials {
	c := *m
	c.PlaintextDataKey = bytes.Clone(m.PlaintextDataKey)
	c.RequiredContextKeys = slices.Clone(m.RequiredContextKeys)
	if m.EncryptionContext != nil {
		c.EncryptionContext = make(map[string]string, len(m.EncryptionContext))
		for k, v := range m.EncryptionContext {
			c.EncryptionContext[k] = v
		}
	}
	return &c
}

func cloneEnc(m *keyring.EncryptionMaterials) *keyring.EncryptionMaterials {
	c := *m
	c.PlaintextDataKey = bytes.Clone(m.PlaintextDataKey)
	c.EncryptedDataKeys = slices.Clone(m.EncryptedDataKeys)
	return &c
}

func cloneEDKs(edks []keyring.EncryptedDataKey) []keyring.EncryptedDataKey {
	out := make([]keyring.EncryptedDataKey, len(edks))
	for i, e := range edks {
		out[i] = keyring.EncryptedDataKey{
			ProviderID:   e.ProviderID,
			ProviderInfo: bytes.Clone(e.ProviderInfo),
			Ciphertext:   bytes.Clone(e.Ciphertext),
		}
	}
	return out
}
