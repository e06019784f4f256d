package envelope

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// badKeyring wraps a working keyring and then spoils its output.
type badKeyring struct {
	keyring.Keyring
	spoil func(m *keyring.EncryptionMaterials)
}

func (k *badKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if err := k.Keyring.OnEncrypt(ctx, m); err != nil {
		return err
	}
	k.spoil(m)
	return nil
}

// extraEDKs appends n encrypted data keys with ciphertexts of size bytes.
func extraEDKs(n, size int) func(m *keyring.EncryptionMaterials) {
	return func(m *keyring.EncryptionMaterials) {
		for range n {
			m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
				ProviderID: "other", ProviderInfo: []byte("k"), Ciphertext: make([]byte, size),
			})
		}
	}
}

// TestEncryptRefusesUndecryptableMaterials: a keyring whose output would
// make a message the default decoder refuses must make Encrypt (and
// NewWriter) fail with ErrInvalidMaterials, naming the field, instead of
// writing a message nobody can decrypt.
func TestEncryptRefusesUndecryptableMaterials(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		spoil func(m *keyring.EncryptionMaterials)
		want  string
	}{
		{"non-UTF-8 provider ID", func(m *keyring.EncryptionMaterials) { m.EncryptedDataKeys[0].ProviderID = "raw\xff\xfe" }, "provider ID is not valid UTF-8"},
		{"provider ID too long", func(m *keyring.EncryptionMaterials) {
			m.EncryptedDataKeys[0].ProviderID = string(bytes.Repeat([]byte("p"), 0x10000))
		}, "provider ID longer than 65535"},
		{"provider info too long", func(m *keyring.EncryptionMaterials) { m.EncryptedDataKeys[0].ProviderInfo = make([]byte, 0x10000) }, "provider info longer than 65535"},
		{"ciphertext too long", func(m *keyring.EncryptionMaterials) { m.EncryptedDataKeys[0].Ciphertext = make([]byte, 0x10000) }, "ciphertext longer than 65535"},
		{"65536 keys", extraEDKs(0xffff, 1), "65536 encrypted data keys"},
		{"header over the default limit", extraEDKs(64, 0xffff), "exceeds the 4194304 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := &badKeyring{Keyring: testKR(t), spoil: tc.spoil}
			msg, err := Encrypt(ctx, kr, []byte("data"), WithMaxEncryptedDataKeys(0xffff))
			require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
			assert.Contains(t, err.Error(), tc.want)
			assert.Nil(t, msg)

			_, err = NewWriter(ctx, &bytes.Buffer{}, kr, WithMaxEncryptedDataKeys(0xffff))
			require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
		})
	}
}

// TestEncryptLargestHeaderDecrypts: a header just under
// DefaultMaxHeaderSize is written and decrypts with the default limit.
func TestEncryptLargestHeaderDecrypts(t *testing.T) {
	ctx := context.Background()
	kr := &badKeyring{Keyring: testKR(t), spoil: extraEDKs(63, 0xffff)}
	msg, err := Encrypt(ctx, kr, []byte("data"), WithMaxEncryptedDataKeys(64), WithSuite(AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	assert.Greater(t, headerLen(t, msg), 4_000_000)
	pt, _, err := Decrypt(ctx, testKR(t), msg, WithMaxEncryptedDataKeys(64))
	require.NoError(t, err)
	assert.Equal(t, "data", string(pt))
}
