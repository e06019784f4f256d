package awskms_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// End to end: messages through envelope with the KMS keyrings, the real
// SDK client and kmstest.
func TestEnvelopeWithKMS(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	primary, replica := mrkSetup(t, s)
	east := s.Client(kmstest.ClientRegion("us-east-1"))
	eu := s.Client(kmstest.ClientRegion("eu-west-1"))
	plaintext := bytes.Repeat([]byte("cryptkeeper "), 1000)
	ec := map[string]string{"tenant": "acme"}

	kr, err := awskms.NewKeyring(east, primary)
	require.NoError(t, err)
	for _, suite := range []envelope.SuiteID{0, envelope.AES256GCMHKDFSHA512CommitKey} {
		var opts []envelope.Option
		if suite != 0 {
			opts = append(opts, envelope.WithSuite(suite))
		}
		ct, err := envelope.Encrypt(ctx, kr, plaintext, append(opts, envelope.WithContext(ec))...)
		require.NoError(t, err)

		pt, hdr, err := envelope.Decrypt(ctx, kr, ct)
		require.NoError(t, err)
		assert.Equal(t, plaintext, pt)
		assert.Equal(t, "acme", hdr.Context["tenant"])
		require.Len(t, hdr.EncryptedDataKeys, 1)
		assert.Equal(t, primary, string(hdr.EncryptedDataKeys[0].ProviderInfo))

		// The replica in eu-west-1 and an MRK discovery keyring there decrypt.
		rk, err := awskms.NewKeyring(eu, replica)
		require.NoError(t, err)
		disc, err := awskms.NewMRKDiscoveryKeyring(eu, "", awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
		require.NoError(t, err)
		for _, dk := range []keyring.Keyring{rk, disc} {
			pt, _, err := envelope.Decrypt(ctx, dk, ct)
			require.NoError(t, err)
			assert.Equal(t, plaintext, pt)
		}
		// A filter for another account refuses.
		foreign, err := awskms.NewDiscoveryKeyring(east, awskms.WithDiscoveryFilter("aws", "444455556666"))
		require.NoError(t, err)
		_, _, err = envelope.Decrypt(ctx, foreign, ct)
		require.ErrorIs(t, err, envelope.ErrNoDecryptionKey)
	}

	// The RSA keyring with a non-signing suite; the default (signing)
	// suite is refused.
	rsaARN := createKey(t, s, kmstest.KeySpec(kmstest.RSA4096), kmstest.KeyRegion("us-east-1"))
	rk, err := awskms.NewRSAKeyring(east, rsaARN, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	require.NoError(t, err)
	ct, err := envelope.Encrypt(ctx, rk, plaintext, envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithContext(ec))
	require.NoError(t, err)
	pt, _, err := envelope.Decrypt(ctx, rk, ct)
	require.NoError(t, err)
	assert.Equal(t, plaintext, pt)
	_, err = envelope.Encrypt(ctx, rk, plaintext)
	require.ErrorIs(t, err, awskms.ErrSignedSuite)

	// Access denied surfaces through envelope with the key ARN.
	locked := createKey(t, s, kmstest.AllowedCallers("AKIDOWNER"))
	owner, err := awskms.NewKeyring(s.Client(kmstest.ClientAccessKey("AKIDOWNER")), locked)
	require.NoError(t, err)
	ct, err = envelope.Encrypt(ctx, owner, plaintext)
	require.NoError(t, err)
	stranger, err := awskms.NewKeyring(s.Client(), locked)
	require.NoError(t, err)
	_, _, err = envelope.Decrypt(ctx, stranger, ct)
	require.ErrorIs(t, err, awskms.ErrAccessDenied)
	assert.Contains(t, err.Error(), locked)

	// Rotated key: old messages still decrypt.
	require.NoError(t, s.RotateKey(locked))
	pt, _, err = envelope.Decrypt(ctx, owner, ct)
	require.NoError(t, err)
	assert.Equal(t, plaintext, pt)
}

func TestEnvelopeMultiKeyringWithRecovery(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	gen := createKey(t, s, kmstest.KeyRegion("us-east-1"))
	backup := createKey(t, s, kmstest.KeyRegion("eu-west-1"))
	sup := awskms.CachingSupplier(func(region string) (awskms.Client, error) {
		return s.Client(kmstest.ClientRegion(region)), nil
	})
	mk, err := awskms.NewMultiKeyring(sup, gen, []string{backup})
	require.NoError(t, err)
	ct, err := envelope.Encrypt(ctx, mk, []byte("hello"))
	require.NoError(t, err)

	// With the generator's key disabled, the backup Region still decrypts.
	require.NoError(t, s.DisableKey(gen))
	pt, hdr, err := envelope.Decrypt(ctx, mk, ct)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), pt)
	assert.Len(t, hdr.EncryptedDataKeys, 2)
	require.NoError(t, s.DisableKey(backup))
	_, _, err = envelope.Decrypt(ctx, mk, ct)
	require.ErrorIs(t, err, envelope.ErrNoDecryptionKey)
	require.ErrorAs(t, err, new(*types.DisabledException))
}
