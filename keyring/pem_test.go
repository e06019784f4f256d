package keyring_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func TestParseRSAPEM(t *testing.T) {
	pkcs8, err := keyring.ParseRSAPrivateKeyPEM(readTestdata(t, "rsa2048-pkcs8.pem"))
	require.NoError(t, err)
	pkcs1, err := keyring.ParseRSAPrivateKeyPEM(readTestdata(t, "rsa2048-pkcs1.pem"))
	require.NoError(t, err)
	assert.True(t, pkcs8.Equal(pkcs1), "PKCS #8 and PKCS #1 forms hold the same key")
	assert.Equal(t, 2048, pkcs8.N.BitLen())

	spki, err := keyring.ParseRSAPublicKeyPEM(readTestdata(t, "rsa2048-spki.pem"))
	require.NoError(t, err)
	pub1, err := keyring.ParseRSAPublicKeyPEM(readTestdata(t, "rsa2048-pkcs1-pub.pem"))
	require.NoError(t, err)
	assert.True(t, spki.Equal(pub1))
	assert.True(t, spki.Equal(&pkcs8.PublicKey))

	// Blocks of other types before the key (here a private key) are skipped.
	mixed := append(readTestdata(t, "ec-p256-pkcs8.pem"), readTestdata(t, "rsa2048-spki.pem")...)
	pub, err := keyring.ParseRSAPublicKeyPEM(append([]byte("comment line\n"), mixed...))
	require.NoError(t, err)
	assert.True(t, pub.Equal(spki))
}

func TestParseRSAPEMRejects(t *testing.T) {
	ecPriv := readTestdata(t, "ec-p256-pkcs8.pem")
	ecPub := readTestdata(t, "ec-p256-spki.pem")
	rsaPriv := readTestdata(t, "rsa2048-pkcs8.pem")
	rsaPub := readTestdata(t, "rsa2048-spki.pem")
	corrupt := bytes.Replace(rsaPriv, []byte("MII"), []byte("AAA"), 1)
	encrypted := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")

	for desc, in := range map[string][]byte{
		"nothing":          nil,
		"not PEM":          []byte("hello"),
		"EC private key":   ecPriv,
		"public not priv":  rsaPub,
		"corrupt":          corrupt,
		"encrypted PEM":    encrypted,
		"truncated armour": rsaPriv[:len(rsaPriv)-10],
	} {
		t.Run("private/"+desc, func(t *testing.T) {
			k, err := keyring.ParseRSAPrivateKeyPEM(in)
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			assert.Nil(t, k)
		})
	}
	for desc, in := range map[string][]byte{
		"nothing":         nil,
		"EC public key":   ecPub,
		"private not pub": rsaPriv,
		"corrupt":         bytes.Replace(rsaPub, []byte("MII"), []byte("AAA"), 1),
	} {
		t.Run("public/"+desc, func(t *testing.T) {
			k, err := keyring.ParseRSAPublicKeyPEM(in)
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			assert.Nil(t, k)
		})
	}
}

func FuzzParseRSAPrivateKeyPEM(f *testing.F) {
	f.Add(readTestdata(f, "rsa2048-pkcs8.pem"))
	f.Add(readTestdata(f, "rsa2048-pkcs1.pem"))
	f.Add(readTestdata(f, "ec-p256-pkcs8.pem"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keyring.ParseRSAPrivateKeyPEM(data)
		if err != nil {
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			require.Nil(t, k)
			return
		}
		require.NotNil(t, k)
	})
}

func FuzzParseRSAPublicKeyPEM(f *testing.F) {
	f.Add(readTestdata(f, "rsa2048-spki.pem"))
	f.Add(readTestdata(f, "rsa2048-pkcs1-pub.pem"))
	f.Add(readTestdata(f, "ec-p256-spki.pem"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keyring.ParseRSAPublicKeyPEM(data)
		if err != nil {
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			require.Nil(t, k)
			return
		}
		require.NotNil(t, k)
	})
}
