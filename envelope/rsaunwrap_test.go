package envelope_test

import (
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestRawRSAUnwrapFailuresLookAlike checks that malformed raw RSA
// encrypted data keys cannot be told apart through Decrypt: with PKCS#1
// v1.5 (bad padding, good padding with a wrong length, good padding with
// the right length but another data key) every one fails at the key
// commitment with the same error; with OAEP every failure is the same
// ErrNoDecryptionKey. No error gives a length.
func TestRawRSAUnwrapFailuresLookAlike(t *testing.T) {
	pemBytes, err := os.ReadFile("../keyring/testdata/rsa2048-pkcs8.pem")
	require.NoError(t, err)
	priv, err := keyring.ParseRSAPrivateKeyPEM(pemBytes)
	require.NoError(t, err)
	pub := &priv.PublicKey
	badPadding := randBytes(256)
	badPadding[0] = 0

	pkcs1 := func(pt []byte) []byte {
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, pt) //nolint:staticcheck // padding under test
		require.NoError(t, err)
		return ct
	}
	oaep256 := func(pt []byte) []byte {
		ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, pt, nil)
		require.NoError(t, err)
		return ct
	}
	for _, c := range []struct {
		padding   keyring.RSAPadding
		want      error
		malformed map[string][]byte
	}{
		{keyring.PKCS1, envelope.ErrCommitment, map[string][]byte{
			"bad padding":  badPadding,
			"wrong length": pkcs1([]byte("short")),
			"right length": pkcs1(randBytes(32)),
		}},
		{keyring.OAEPSHA256, envelope.ErrNoDecryptionKey, map[string][]byte{
			"bad padding":  badPadding,
			"wrong length": oaep256([]byte("short")),
			"wrong hash": func() []byte {
				ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, randBytes(32), nil)
				require.NoError(t, err)
				return ct
			}(),
		}},
	} {
		t.Run(c.padding.String(), func(t *testing.T) {
			reader, err := keyring.NewRawRSA("rsa-ns", "k", nil, priv, c.padding)
			if c.padding == keyring.PKCS1 && fips140.Enabled() {
				require.ErrorIs(t, err, keyring.ErrNotApproved, "PKCS#1 v1.5 is refused in FIPS 140-3 mode")
				return
			}
			require.NoError(t, err)
			msgs := map[string]string{}
			for desc, ct := range c.malformed {
				writer := funcKeyring{edks: func([]byte) []keyring.EncryptedDataKey {
					return []keyring.EncryptedDataKey{{ProviderID: "rsa-ns", ProviderInfo: []byte("k"), Ciphertext: ct}}
				}}
				msg, err := envelope.Encrypt(context.Background(), writer, []byte("attack at dawn"))
				require.NoError(t, err)
				_, _, err = envelope.Decrypt(context.Background(), reader, msg)
				requireCategory(t, err, c.want)
				assert.NotErrorIs(t, err, keyring.ErrInvalidMaterials, desc)
				assert.NotContains(t, err.Error(), "5 bytes", desc)
				assert.NotContains(t, err.Error(), "32", desc)
				msgs[desc] = err.Error()
			}
			first := ""
			for desc, m := range msgs {
				if first == "" {
					first = m
				}
				assert.Equal(t, first, m, "%s: errors must not differ", desc)
			}
		})
	}
}

// TestRawRSAPKCS1MultiFallThrough pins the consequence of implicit
// rejection documented on keyring.PKCS1: a PKCS#1 v1.5 child that holds a
// different key pair under the writer's namespace and name "unwraps" a
// random data key, so a Multi keyring stops there and the message fails
// at its key commitment, although the AES child could decrypt it. Under a
// name of its own the RSA child is passed over and the AES child decrypts.
func TestRawRSAPKCS1MultiFallThrough(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("PKCS#1 v1.5 is refused in FIPS 140-3 mode (TestRawRSAUnwrapFailuresLookAlike asserts the refusal)")
	}
	load := func(name string) *rsa.PrivateKey {
		b, err := os.ReadFile("../keyring/testdata/" + name)
		require.NoError(t, err)
		k, err := keyring.ParseRSAPrivateKeyPEM(b)
		require.NoError(t, err)
		return k
	}
	writerKey, readerKey := load("rsa2048-pkcs8.pem"), load("rsa4096-pkcs8.pem")
	aes, err := keyring.NewRawAES("aes-ns", "shared", randBytes(32))
	require.NoError(t, err)
	multi := func(name string, k *rsa.PrivateKey) keyring.Keyring {
		r, err := keyring.NewRawRSA("rsa-ns", name, &k.PublicKey, k, keyring.PKCS1)
		require.NoError(t, err)
		m, err := keyring.NewMulti(r, aes)
		require.NoError(t, err)
		return m
	}
	ctx := context.Background()
	msg, err := envelope.Encrypt(ctx, multi("rsa", writerKey), []byte("attack at dawn"))
	require.NoError(t, err)

	_, _, err = envelope.Decrypt(ctx, multi("rsa", readerKey), msg)
	requireCategory(t, err, envelope.ErrCommitment)

	pt, _, err := envelope.Decrypt(ctx, multi("rsa-reader", readerKey), msg)
	require.NoError(t, err)
	assert.Equal(t, []byte("attack at dawn"), pt)
}
