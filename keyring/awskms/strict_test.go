package awskms_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func TestStrictRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s)
	kr, err := awskms.NewKeyring(s.Client(), arn)
	require.NoError(t, err)

	for _, suite := range []keyring.Suite{suite0478, suite0114} {
		m := wrap(t, kr, suite, testEC)
		require.Len(t, m.EncryptedDataKeys, 1)
		edk := m.EncryptedDataKeys[0]
		assert.Equal(t, "aws-kms", edk.ProviderID)
		assert.Equal(t, arn, string(edk.ProviderInfo))

		pdk, err := unwrap(kr, suite, testEC, m.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m.PlaintextDataKey, pdk)

		_, err = unwrap(kr, suite, map[string]string{"tenant": "other"}, m.EncryptedDataKeys)
		require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
		require.ErrorAs(t, err, new(*types.InvalidCiphertextException))
	}
	assert.Equal(t, 2, s.Calls("GenerateDataKey"))

	// With a data key present, OnEncrypt wraps it with Encrypt.
	m := &keyring.EncryptionMaterials{Suite: suite0478, EncryptionContext: testEC, PlaintextDataKey: make([]byte, 32)}
	require.NoError(t, kr.OnEncrypt(ctx, m))
	assert.Equal(t, 1, s.Calls("Encrypt"))
	pdk, err := unwrap(kr, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 32), pdk)
}

func TestStrictAliasEncryptsButCannotDecrypt(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeyAlias("alias/app"))
	kr, err := awskms.NewKeyring(s.Client(), "alias/app")
	require.NoError(t, err)
	m := wrap(t, kr, suite0478, nil)
	assert.Equal(t, arn, string(m.EncryptedDataKeys[0].ProviderInfo), "provider info is the key ARN, not the alias")
	_, err = unwrap(kr, suite0478, nil, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)
	assert.Zero(t, s.Calls("Decrypt"))
}

func TestStrictFilters(t *testing.T) {
	s := newServer(t)
	a, b := createKey(t, s), createKey(t, s)
	ka, err := awskms.NewKeyring(s.Client(), a)
	require.NoError(t, err)
	kb, err := awskms.NewKeyring(s.Client(), b)
	require.NoError(t, err)
	ma := wrap(t, ka, suite0478, nil)

	_, err = unwrap(kb, suite0478, nil, ma.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)
	assert.Zero(t, s.Calls("Decrypt"), "an EDK of another key is never sent to KMS")

	// Other providers are skipped; a KMS EDK whose provider info is not a
	// key ARN fails the call.
	other := keyring.EncryptedDataKey{ProviderID: "raw", ProviderInfo: []byte("x"), Ciphertext: []byte("y")}
	pdk, err := unwrap(ka, suite0478, nil, append([]keyring.EncryptedDataKey{other}, ma.EncryptedDataKeys...))
	require.NoError(t, err)
	assert.Equal(t, ma.PlaintextDataKey, pdk)
	bad := keyring.EncryptedDataKey{ProviderID: "aws-kms", ProviderInfo: []byte("alias/app"), Ciphertext: []byte("y")}
	_, err = unwrap(ka, suite0478, nil, append([]keyring.EncryptedDataKey{bad}, ma.EncryptedDataKeys...))
	require.ErrorIs(t, err, awskms.ErrInvalidARN)

	// A data key already present is refused.
	m := decMaterials(suite0478, nil)
	m.PlaintextDataKey = make([]byte, 32)
	require.ErrorIs(t, ka.OnDecrypt(context.Background(), m, ma.EncryptedDataKeys), keyring.ErrInvalidMaterials)
}

func TestStrictFirstFailureThenSuccess(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s)
	kr, err := awskms.NewKeyring(s.Client(), arn)
	require.NoError(t, err)
	m := wrap(t, kr, suite0478, testEC)
	corrupt := m.EncryptedDataKeys[0]
	corrupt.Ciphertext = []byte("garbage")
	pdk, err := unwrap(kr, suite0478, testEC, []keyring.EncryptedDataKey{corrupt, m.EncryptedDataKeys[0]})
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	assert.Equal(t, 2, s.Calls("Decrypt"))
}

func TestStrictConstructor(t *testing.T) {
	s := newServer(t)
	c := s.Client()
	for _, id := range []string{"", "arn:aws:s3:::bucket", "arn:aws:kms:us-west-2:111122223333:", "arn:aws:kms:us-west-2:111122223333:grant/x", "alias/"} {
		_, err := awskms.NewKeyring(c, id)
		assert.ErrorIs(t, err, keyring.ErrInvalidConfig, id)
	}
	_, err := awskms.NewKeyring(nil, "alias/x")
	assert.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewKeyring(c, "alias/x", awskms.WithDiscoveryFilter("aws", "1"))
	assert.ErrorIs(t, err, keyring.ErrInvalidConfig, "discovery filter does not apply")
	_, err = awskms.NewKeyring(c, "alias/x", awskms.WithGrantTokens(""))
	assert.ErrorIs(t, err, keyring.ErrInvalidConfig)
	kr, err := awskms.NewKeyring(c, "mrk-1234")
	require.NoError(t, err)
	assert.Equal(t, "mrk-1234", kr.KeyID())
	assert.Contains(t, kr.String(), "mrk-1234")
}

func TestPolicyDeniedCaller(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s, kmstest.AllowedCallers("AKIDWRITER"))
	writer, err := awskms.NewKeyring(s.Client(kmstest.ClientAccessKey("AKIDWRITER")), arn)
	require.NoError(t, err)
	m := wrap(t, writer, suite0478, testEC)

	reader, err := awskms.NewKeyring(s.Client(kmstest.ClientAccessKey("AKIDREADER")), arn)
	require.NoError(t, err)
	_, err = unwrap(reader, suite0478, testEC, m.EncryptedDataKeys)
	require.Error(t, err)
	assert.ErrorIs(t, err, awskms.ErrAccessDenied)
	assert.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	assert.True(t, awskms.IsAccessDenied(err))
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, "AccessDeniedException", api.ErrorCode())
	var ke *keyring.KeyringError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, arn, ke.KeyID)
	assert.Contains(t, err.Error(), arn)
	assert.Equal(t, 1, s.Calls("Decrypt"), "AccessDenied is not retried")

	// Also on encrypt, and grant tokens are passed through.
	_, err = unwrap(reader, suite0478, testEC, m.EncryptedDataKeys)
	require.True(t, awskms.IsAccessDenied(err))
	require.NoError(t, s.AddGrantToken(arn, "token-reader"))
	granted, err := awskms.NewKeyring(s.Client(kmstest.ClientAccessKey("AKIDREADER")), arn, awskms.WithGrantTokens("token-reader"))
	require.NoError(t, err)
	pdk, err := unwrap(granted, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	em := encMaterials(suite0478, nil)
	err = reader.OnEncrypt(context.Background(), em)
	assert.True(t, awskms.IsAccessDenied(err))
	assert.Nil(t, em.PlaintextDataKey)
	assert.Empty(t, em.EncryptedDataKeys)
	assert.False(t, awskms.IsAccessDenied(errors.New("AccessDeniedException")))
}

func TestDisabledAndRotatedKey(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s)
	kr, err := awskms.NewKeyring(s.Client(), arn)
	require.NoError(t, err)
	old := wrap(t, kr, suite0478, testEC)

	require.NoError(t, s.RotateKey(arn))
	fresh := wrap(t, kr, suite0478, testEC)
	for _, m := range []*keyring.EncryptionMaterials{old, fresh} {
		pdk, err := unwrap(kr, suite0478, testEC, m.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m.PlaintextDataKey, pdk)
	}

	require.NoError(t, s.DisableKey(arn))
	_, err = unwrap(kr, suite0478, testEC, old.EncryptedDataKeys)
	require.ErrorAs(t, err, new(*types.DisabledException))
	assert.Contains(t, err.Error(), arn)
	m := encMaterials(suite0478, testEC)
	require.ErrorAs(t, kr.OnEncrypt(context.Background(), m), new(*types.DisabledException))
	assert.Nil(t, m.PlaintextDataKey)
	require.NoError(t, s.EnableKey(arn))
	_, err = unwrap(kr, suite0478, testEC, old.EncryptedDataKeys)
	require.NoError(t, err)

	missing := strings.Replace(arn, "key/", "key/0", 1)
	gone, err := awskms.NewKeyring(s.Client(), missing)
	require.NoError(t, err)
	require.ErrorAs(t, gone.OnEncrypt(context.Background(), encMaterials(suite0478, nil)), new(*types.NotFoundException))
}
