package awskms_test

import (
	"context"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func TestRSAKeyring(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeySpec(kmstest.RSA2048))
	c := s.Client()

	for _, alg := range []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256} {
		s.ResetCalls()
		kr, err := awskms.NewRSAKeyring(c, arn, alg)
		require.NoError(t, err)
		if fips140.Enabled() && alg == types.EncryptionAlgorithmSpecRsaesOaepSha1 {
			// The Go Cryptographic Module does not approve SHA-1 for OAEP.
			m := encMaterials(suite0478, testEC)
			err := kr.OnEncrypt(ctx, m)
			require.ErrorIs(t, err, keyring.ErrNotApproved)
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			assert.Contains(t, err.Error(), "FIPS 140-3")
			assert.Nil(t, m.PlaintextDataKey)
			assert.Empty(t, m.EncryptedDataKeys)
			continue
		}
		m1 := wrap(t, kr, suite0478, testEC)
		m2 := wrap(t, kr, suite0114, nil)
		assert.Equal(t, 1, s.Calls("GetPublicKey"), "public key fetched once")
		assert.Zero(t, s.Calls("Encrypt"), "encryption is offline")
		edk := m1.EncryptedDataKeys[0]
		assert.Equal(t, "aws-kms-rsa", edk.ProviderID)
		assert.Equal(t, arn, string(edk.ProviderInfo))
		assert.Len(t, edk.Ciphertext, 256)

		pdk, err := unwrap(kr, suite0478, testEC, m1.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m1.PlaintextDataKey, pdk)
		pdk, err = unwrap(kr, suite0114, nil, m2.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m2.PlaintextDataKey, pdk)

		// The context is bound through the SHA-384 digest.
		_, err = unwrap(kr, suite0478, map[string]string{"tenant": "acme"}, m1.EncryptedDataKeys)
		require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)

		// The wrapped plaintext is SHA-384(serialized EC) ‖ data key.
		out, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(arn), CiphertextBlob: edk.Ciphertext, EncryptionAlgorithm: alg})
		require.NoError(t, err)
		ser, err := keyring.SerializeContext(testEC)
		require.NoError(t, err)
		digest := sha512.Sum384(ser)
		assert.Equal(t, append(digest[:], m1.PlaintextDataKey...), out.Plaintext)

		// Signing suites are refused both ways.
		sm := encMaterials(suite0578, testEC)
		require.ErrorIs(t, kr.OnEncrypt(ctx, sm), awskms.ErrSignedSuite)
		assert.Nil(t, sm.PlaintextDataKey)
		_, err = unwrap(kr, suite0578, testEC, m1.EncryptedDataKeys)
		require.ErrorIs(t, err, awskms.ErrSignedSuite)
	}

	// A symmetric KMS EDK is not for this keyring.
	kr, err := awskms.NewRSAKeyring(c, arn, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	require.NoError(t, err)
	sym, err := awskms.NewKeyring(c, createKey(t, s))
	require.NoError(t, err)
	_, err = unwrap(kr, suite0478, nil, wrap(t, sym, suite0478, nil).EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)
}

func TestRSAKeyringGivenPublicKey(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeySpec(kmstest.RSA3072))
	out, err := s.Client().GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: out.PublicKey})

	offline, err := awskms.NewRSAKeyring(nil, arn, types.EncryptionAlgorithmSpecRsaesOaepSha256, awskms.WithPublicKey(pemKey))
	require.NoError(t, err)
	s.ResetCalls()
	m := wrap(t, offline, suite0478, testEC)
	assert.Zero(t, s.TotalCalls(), "no KMS call at all")
	_, err = unwrap(offline, suite0478, testEC, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrEncryptOnly)

	online, err := awskms.NewRSAKeyring(s.Client(), arn, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	require.NoError(t, err)
	pdk, err := unwrap(online, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)

	// Given data key: wrapped as is.
	given := &keyring.EncryptionMaterials{Suite: suite0478, PlaintextDataKey: make([]byte, 32)}
	require.NoError(t, offline.OnEncrypt(ctx, given))
	pdk, err = unwrap(online, suite0478, nil, given.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 32), pdk)
}

func TestRSAKeyringConfig(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeySpec(kmstest.RSA2048))
	c := s.Client()
	_, err := awskms.NewRSAKeyring(c, "alias/rsa", types.EncryptionAlgorithmSpecRsaesOaepSha256)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig, "alias not allowed")
	_, err = awskms.NewRSAKeyring(c, arn, types.EncryptionAlgorithmSpecSymmetricDefault)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewRSAKeyring(nil, arn, types.EncryptionAlgorithmSpecRsaesOaepSha1)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewRSAKeyring(c, arn, types.EncryptionAlgorithmSpecRsaesOaepSha1, awskms.WithPublicKey([]byte("junk")))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)

	// GetPublicKey on a symmetric key fails with the SDK's typed error; the
	// next call tries again.
	symARN := createKey(t, s)
	kr, err := awskms.NewRSAKeyring(c, symARN, types.EncryptionAlgorithmSpecRsaesOaepSha1)
	require.NoError(t, err)
	m := encMaterials(suite0478, nil)
	require.ErrorAs(t, kr.OnEncrypt(context.Background(), m), new(*types.UnsupportedOperationException))
	assert.Nil(t, m.PlaintextDataKey)
	require.Error(t, kr.OnEncrypt(context.Background(), m))
	assert.Equal(t, 2, s.Calls("GetPublicKey"))
}

// TestRSAKeyringFIPS: in FIPS 140-3 mode the keyring does not encrypt with
// a public key the Go Cryptographic Module does not approve; outside it,
// it does.
func TestRSAKeyringFIPS(t *testing.T) {
	pemBytes, err := os.ReadFile("../testdata/rsa2048-pkcs8.pem")
	require.NoError(t, err)
	priv, err := keyring.ParseRSAPrivateKeyPEM(pemBytes)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: priv.N, E: 3})
	require.NoError(t, err)
	arn := "arn:aws:kms:us-west-2:111122223333:key/ae2ff301-79c6-4c35-85f2-e24622b3fea5"
	kr, err := awskms.NewRSAKeyring(nil, arn, types.EncryptionAlgorithmSpecRsaesOaepSha256, awskms.WithPublicKey(der))
	require.NoError(t, err)
	m := encMaterials(suite0478, testEC)
	err = kr.OnEncrypt(context.Background(), m)
	if fips140.Enabled() {
		require.ErrorIs(t, err, keyring.ErrNotApproved)
		assert.Empty(t, m.EncryptedDataKeys)
	} else {
		require.NoError(t, err)
		assert.Len(t, m.EncryptedDataKeys, 1)
	}
}
