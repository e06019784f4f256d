package interop_test

// These tests run the strict, discovery and MRK keyrings of package awskms
// against moto (moto_server, version 5.2.1), an independent KMS emulator,
// through the real *kms.Client. The test starts moto itself on a free
// 127.0.0.1 port, or uses the endpoint in CRYPTKEEPER_MOTO_URL when set.
// Without moto_server on PATH the test fails, unless CRYPTKEEPER_NO_MOTO=1.
//
// Where moto differs from AWS KMS (5.2.1, checked against its source):
//   - Signatures and key policies are not checked: every caller may use
//     every key, so policy tests only run against kmstest.
//   - Decrypt with a KeyId other than the ciphertext's key answers
//     AccessDeniedException, where KMS answers IncorrectKeyException.
//   - Key ARNs in requests are reduced to their key id: an ARN naming
//     another Region (or account) still finds a key of that id in the
//     Region of the request. AWS answers NotFoundException. The keyrings
//     never rely on that, since they send the local replica's ARN.
//   - ReplicateKey copies the key, including its material, into the other
//     Region's backend (as KMS shares material between replicas); the
//     replica's description still reports the primary's configuration.
//   - DisableKey and ReplicateKey accept only a bare key id: given a key
//     ARN, moto fails with HTTP 500 (a KeyError in its backend), so the
//     test passes key ids to them.
//   - Disabled keys keep working (DisableKey only flips the Enabled flag
//     that DescribeKey reports), so disabled-key tests only run against
//     kmstest.
//   - Multi-Region keys cannot be decrypted at all: the moto blob header
//     reserves 36 bytes for the key id and "mrk-" ids are 40 characters
//     long, so Decrypt answers AccessDeniedException even in the primary
//     Region. The MRK test therefore checks encryption, replication, and
//     that the MRK-aware keyrings send Decrypt to the replica ARN in their
//     own Region (the error names it); it requires a full round trip as
//     soon as moto decrypts MRK ciphertexts. The MRK round trip itself is
//     tested against kmstest.
//   - The account id is always 123456789012.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
)

const motoAccount = "123456789012"

var (
	suite0478 = keyring.Suite{ID: 0x0478, DataKeyLength: 32}
	suite0114 = keyring.Suite{ID: 0x0114, DataKeyLength: 16}
	testEC    = map[string]string{"tenant": "acme", "purpose": "test"}
)

func encMaterials(suite keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	return &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
}

// wrap runs OnEncrypt on fresh materials and returns them.
func wrap(t *testing.T, kr keyring.Keyring, suite keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	t.Helper()
	m := encMaterials(suite, ec)
	require.NoError(t, kr.OnEncrypt(context.Background(), m))
	require.Len(t, m.PlaintextDataKey, suite.DataKeyLength)
	return m
}

// unwrap runs OnDecrypt and returns the data key or the error; a keyring
// that fails must leave the materials unchanged.
func unwrap(kr keyring.Keyring, suite keyring.Suite, ec map[string]string, edks []keyring.EncryptedDataKey) ([]byte, error) {
	m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
	err := kr.OnDecrypt(context.Background(), m, edks)
	if err != nil && m.PlaintextDataKey != nil {
		panic("materials modified on failure")
	}
	return m.PlaintextDataKey, err
}

func motoClient(url, region string) *kms.Client {
	return kms.New(kms.Options{
		BaseEndpoint:     aws.String(url),
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", ""),
		RetryMaxAttempts: 2,
	})
}

func TestMoto(t *testing.T) {
	ctx := context.Background()
	url := testserver.Moto(t)
	east := motoClient(url, "us-east-1")
	eu := motoClient(url, "eu-west-1")

	create := func(c *kms.Client, mrk bool) string {
		out, err := c.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(mrk)})
		require.NoError(t, err)
		return aws.ToString(out.KeyMetadata.Arn)
	}
	keyID := func(arn string) *string { return aws.String(arn[strings.LastIndex(arn, "/")+1:]) }

	t.Run("strict", func(t *testing.T) {
		arn := create(east, false)
		kr, err := awskms.NewKeyring(east, arn)
		require.NoError(t, err)
		m := wrap(t, kr, suite0478, testEC)
		assert.Equal(t, arn, string(m.EncryptedDataKeys[0].ProviderInfo))
		given := &keyring.EncryptionMaterials{Suite: suite0114, EncryptionContext: testEC, PlaintextDataKey: make([]byte, 16)}
		require.NoError(t, kr.OnEncrypt(ctx, given))

		pdk, err := unwrap(kr, suite0478, testEC, m.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m.PlaintextDataKey, pdk)
		pdk, err = unwrap(kr, suite0114, testEC, given.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, make([]byte, 16), pdk)

		_, err = unwrap(kr, suite0478, map[string]string{"tenant": "other"}, m.EncryptedDataKeys)
		require.ErrorAs(t, err, new(*types.InvalidCiphertextException))

		other, err := awskms.NewKeyring(east, create(east, false))
		require.NoError(t, err)
		_, err = unwrap(other, suite0478, testEC, m.EncryptedDataKeys)
		require.ErrorIs(t, err, keyring.ErrNotMine)

		mk, err := awskms.NewKeyring(east, "arn:aws:kms:us-east-1:"+motoAccount+":key/00000000-0000-0000-0000-000000000000")
		require.NoError(t, err)
		require.ErrorAs(t, mk.OnEncrypt(ctx, encMaterials(suite0478, nil)), new(*types.NotFoundException))
	})

	t.Run("discovery", func(t *testing.T) {
		arn := create(east, false)
		kr, err := awskms.NewKeyring(east, arn)
		require.NoError(t, err)
		m := wrap(t, kr, suite0478, testEC)

		disc, err := awskms.NewDiscoveryKeyring(east, awskms.WithDiscoveryFilter("aws", motoAccount))
		require.NoError(t, err)
		pdk, err := unwrap(disc, suite0478, testEC, m.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m.PlaintextDataKey, pdk)

		foreign, err := awskms.NewDiscoveryKeyring(east, awskms.WithDiscoveryFilter("aws", "999999999999"))
		require.NoError(t, err)
		_, err = unwrap(foreign, suite0478, testEC, m.EncryptedDataKeys)
		require.ErrorIs(t, err, keyring.ErrNotMine)
	})

	t.Run("mrk", func(t *testing.T) {
		primary := create(east, true)
		out, err := east.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: keyID(primary), ReplicaRegion: aws.String("eu-west-1")})
		require.NoError(t, err)
		replica := aws.ToString(out.ReplicaKeyMetadata.Arn)
		assert.Equal(t, strings.Replace(primary, "us-east-1", "eu-west-1", 1), replica)

		enc, err := awskms.NewKeyring(east, primary)
		require.NoError(t, err)
		m := wrap(t, enc, suite0478, testEC)

		assert.Equal(t, primary, string(m.EncryptedDataKeys[0].ProviderInfo))

		dec, err := awskms.NewKeyring(eu, replica)
		require.NoError(t, err)
		disc, err := awskms.NewMRKDiscoveryKeyring(eu, "", awskms.WithDiscoveryFilter("aws", motoAccount))
		require.NoError(t, err)
		for _, kr := range []keyring.Keyring{dec, disc} {
			pdk, err := unwrap(kr, suite0478, testEC, m.EncryptedDataKeys)
			if awskms.IsAccessDenied(err) {
				// moto 5.2.1 cannot decrypt MRK blobs (see above); the
				// request still went to the replica in eu-west-1.
				assert.Contains(t, err.Error(), fmt.Sprintf("%q: kms Decrypt", replica))
				continue
			}
			require.NoError(t, err)
			assert.Equal(t, m.PlaintextDataKey, pdk)
		}

		// A keyring for an unrelated MRK does not even ask.
		other, err := awskms.NewKeyring(eu, strings.Replace(replica, "mrk-", "mrk-0", 1))
		require.NoError(t, err)
		_, err = unwrap(other, suite0478, testEC, m.EncryptedDataKeys)
		require.ErrorIs(t, err, keyring.ErrNotMine)
	})
}
