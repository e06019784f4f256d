package awskms_test

import (
	"context"
	"strings"
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

func TestDiscoveryKeyring(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s)
	foreign := createKey(t, s, kmstest.KeyAccount("444455556666"))
	kr, err := awskms.NewKeyring(s.Client(), arn)
	require.NoError(t, err)
	fk, err := awskms.NewKeyring(s.Client(), foreign)
	require.NoError(t, err)
	m := wrap(t, kr, suite0478, testEC)
	fm := wrap(t, fk, suite0478, testEC)

	open, err := awskms.NewDiscoveryKeyring(s.Client())
	require.NoError(t, err)
	require.ErrorIs(t, open.OnEncrypt(context.Background(), encMaterials(suite0478, nil)), keyring.ErrDecryptOnly)
	for _, mm := range []*keyring.EncryptionMaterials{m, fm} {
		pdk, err := unwrap(open, suite0478, testEC, mm.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, mm.PlaintextDataKey, pdk)
	}

	mine, err := awskms.NewDiscoveryKeyring(s.Client(), awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	assert.Contains(t, mine.String(), kmstest.DefaultAccount)
	s.ResetCalls()
	_, err = unwrap(mine, suite0478, testEC, fm.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine, "a key of another account is refused")
	assert.Zero(t, s.Calls("Decrypt"))
	pdk, err := unwrap(mine, suite0478, testEC, append(fm.EncryptedDataKeys, m.EncryptedDataKeys...))
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	assert.Equal(t, 1, s.Calls("Decrypt"))

	otherPartition, err := awskms.NewDiscoveryKeyring(s.Client(), awskms.WithDiscoveryFilter("aws-cn", kmstest.DefaultAccount))
	require.NoError(t, err)
	_, err = unwrap(otherPartition, suite0478, testEC, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)

	_, err = awskms.NewDiscoveryKeyring(s.Client(), awskms.WithDiscoveryFilter("aws"))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewDiscoveryKeyring(nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
}

// mrkSetup makes a multi-Region key in us-east-1 replicated to eu-west-1.
func mrkSetup(t *testing.T, s *kmstest.Server) (primary, replica string) {
	t.Helper()
	out, err := s.Client(kmstest.ClientRegion("us-east-1")).CreateKey(context.Background(), &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	require.NoError(t, err)
	primary = aws.ToString(out.KeyMetadata.Arn)
	replica, err = s.ReplicateKey(primary, "eu-west-1")
	require.NoError(t, err)
	return primary, replica
}

func TestMRKReplicaDecrypts(t *testing.T) {
	s := newServer(t)
	primary, replica := mrkSetup(t, s)
	east := s.Client(kmstest.ClientRegion("us-east-1"))
	eu := s.Client(kmstest.ClientRegion("eu-west-1"))

	enc, err := awskms.NewKeyring(east, primary)
	require.NoError(t, err)
	m := wrap(t, enc, suite0478, testEC)
	assert.Equal(t, primary, string(m.EncryptedDataKeys[0].ProviderInfo))

	dec, err := awskms.NewKeyring(eu, replica)
	require.NoError(t, err)
	pdk, err := unwrap(dec, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)

	// A single-Region key does not match across Regions.
	single := createKey(t, s, kmstest.KeyRegion("us-east-1"))
	sk, err := awskms.NewKeyring(east, single)
	require.NoError(t, err)
	sm := wrap(t, sk, suite0478, nil)
	other, err := awskms.NewKeyring(eu, strings.Replace(single, "us-east-1", "eu-west-1", 1))
	require.NoError(t, err)
	_, err = unwrap(other, suite0478, nil, sm.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)

	// MRK discovery in eu-west-1: the MRK EDK goes to the local replica,
	// the us-east-1 single-Region EDK is skipped.
	disc, err := awskms.NewMRKDiscoveryKeyring(eu, "", awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	assert.Contains(t, disc.String(), "eu-west-1")
	s.ResetCalls()
	pdk, err = unwrap(disc, suite0478, testEC, append(sm.EncryptedDataKeys, m.EncryptedDataKeys...))
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	assert.Equal(t, 1, s.Calls("Decrypt"))

	// A plain discovery keyring in eu-west-1 skips the us-east-1 ARN,
	// which KMS in eu-west-1 does not know, without a call...
	plain, err := awskms.NewDiscoveryKeyring(eu)
	require.NoError(t, err)
	s.ResetCalls()
	_, err = unwrap(plain, suite0478, testEC, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNotMine)
	assert.Zero(t, s.Calls("Decrypt"))

	// ...unless its client hides its Region: then KMS says no.
	hidden, err := awskms.NewDiscoveryKeyring(struct{ awskms.Client }{eu})
	require.NoError(t, err)
	_, err = unwrap(hidden, suite0478, testEC, m.EncryptedDataKeys)
	require.ErrorAs(t, err, new(*types.NotFoundException))
}

func TestMRKDiscoveryNeedsRegion(t *testing.T) {
	s := newServer(t)
	var c awskms.Client = struct{ awskms.Client }{s.Client()} // hides Options()
	_, err := awskms.NewMRKDiscoveryKeyring(c, "")
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewMRKDiscoveryKeyring(c, "us-west-2")
	require.NoError(t, err)
}

func TestARN(t *testing.T) {
	a, err := awskms.ParseARN("arn:aws:kms:us-east-1:111122223333:key/mrk-abc")
	require.NoError(t, err)
	assert.Equal(t, awskms.ARN{Partition: "aws", Region: "us-east-1", Account: "111122223333", ResourceType: "key", ResourceID: "mrk-abc"}, a)
	assert.True(t, a.IsMRK())
	assert.Equal(t, "arn:aws:kms:us-east-1:111122223333:key/mrk-abc", a.String())
	for _, bad := range []string{"", "arn", "arn:aws:kms:us-east-1:111122223333", "arn::kms:r:a:key/x", "arn:aws:kms::a:key/x",
		"arn:aws:kms:r::key/x", "arn:aws:kms:r:a:key/", "arn:aws:kms:r:a:key", "arn:aws:sns:r:a:key/x", "arn:aws:kms:r:a:grant/x", "aws:kms:r:a:key/x"} {
		_, err := awskms.ParseARN(bad)
		assert.ErrorIs(t, err, awskms.ErrInvalidARN, bad)
	}
	alias, err := awskms.ParseARN("arn:aws:kms:r:a:alias/mrk-x")
	require.NoError(t, err)
	assert.False(t, alias.IsMRK(), "an alias named mrk- is not an MRK")

	assert.True(t, awskms.IsMRKIdentifier("mrk-1"))
	assert.False(t, awskms.IsMRKIdentifier("alias/mrk-1"))
	assert.False(t, awskms.IsMRKIdentifier("1234"))
	assert.True(t, awskms.MRKMatch("arn:aws:kms:us-east-1:1:key/mrk-a", "arn:aws:kms:eu-west-1:1:key/mrk-a"))
	assert.False(t, awskms.MRKMatch("arn:aws:kms:us-east-1:1:key/mrk-a", "arn:aws:kms:eu-west-1:2:key/mrk-a"))
	assert.False(t, awskms.MRKMatch("arn:aws:kms:us-east-1:1:key/abc", "arn:aws:kms:eu-west-1:1:key/abc"))
	assert.False(t, awskms.MRKMatch("mrk-a", "arn:aws:kms:eu-west-1:1:key/mrk-a"))
	assert.True(t, awskms.MRKMatch("alias/x", "alias/x"))
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:kms:us-east-1:111122223333:key/mrk-abc")
	f.Add("arn:aws:kms:r:a:alias/x/y:z")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := awskms.ParseARN(s)
		if err == nil && a.String() != s {
			t.Fatalf("round trip %q -> %q", s, a.String())
		}
	})
}
