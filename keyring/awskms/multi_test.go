package awskms_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func supplier(s *kmstest.Server, regions *[]string) awskms.ClientSupplier {
	var mu sync.Mutex
	return awskms.CachingSupplier(func(region string) (awskms.Client, error) {
		mu.Lock()
		*regions = append(*regions, region)
		mu.Unlock()
		if region == "" {
			region = s.Region()
		}
		return s.Client(kmstest.ClientRegion(region)), nil
	})
}

func TestMultiKeyringAcrossRegions(t *testing.T) {
	s := newServer(t)
	gen := createKey(t, s, kmstest.KeyRegion("us-east-1"))
	child := createKey(t, s, kmstest.KeyRegion("eu-west-1"))
	child2 := createKey(t, s, kmstest.KeyAlias("alias/local"))
	var asked []string
	sup := supplier(s, &asked)

	mk, err := awskms.NewMultiKeyring(sup, gen, []string{child, "alias/local"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"us-east-1", "eu-west-1", ""}, asked)
	m := wrap(t, mk, suite0478, testEC)
	require.Len(t, m.EncryptedDataKeys, 3)
	assert.Equal(t, []string{gen, child, child2}, []string{
		string(m.EncryptedDataKeys[0].ProviderInfo), string(m.EncryptedDataKeys[1].ProviderInfo), string(m.EncryptedDataKeys[2].ProviderInfo)})
	assert.Equal(t, 1, s.Calls("GenerateDataKey"))
	assert.Equal(t, 2, s.Calls("Encrypt"))

	// Each wrapping key alone decrypts.
	for _, arn := range []string{gen, child, child2} {
		a, err := awskms.ParseARN(arn)
		require.NoError(t, err)
		kr, err := awskms.NewKeyring(s.Client(kmstest.ClientRegion(a.Region)), arn)
		require.NoError(t, err)
		pdk, err := unwrap(kr, suite0478, testEC, m.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, m.PlaintextDataKey, pdk)
	}

	// Discovery multi-keyring over both Regions.
	dm, err := awskms.NewDiscoveryMultiKeyring(sup, []string{"eu-west-1", "us-east-1"}, awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	pdk, err := unwrap(dm, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	require.Error(t, dm.OnEncrypt(context.Background(), encMaterials(suite0478, nil)))

	// Children only: needs an existing data key.
	ck, err := awskms.NewMultiKeyring(sup, "", []string{child})
	require.NoError(t, err)
	require.Error(t, ck.OnEncrypt(context.Background(), encMaterials(suite0478, nil)))

	_, err = awskms.NewDiscoveryMultiKeyring(sup, nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewDiscoveryMultiKeyring(sup, []string{"us-east-1", ""})
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = awskms.NewMultiKeyring(nil, gen, nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	failing := awskms.ClientSupplier(func(string) (awskms.Client, error) { return nil, errors.New("no such Region") })
	_, err = awskms.NewMultiKeyring(failing, gen, nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
}

func TestMRKMultiKeyring(t *testing.T) {
	s := newServer(t)
	primary, replica := mrkSetup(t, s)
	var asked []string
	sup := supplier(s, &asked)

	_, err := awskms.NewMultiKeyring(sup, primary, []string{replica, createKey(t, s)})
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	assert.ErrorContains(t, err, primary)
	assert.ErrorContains(t, err, replica)

	mk, err := awskms.NewMultiKeyring(sup, primary, nil)
	require.NoError(t, err)
	m := wrap(t, mk, suite0478, testEC)

	dm, err := awskms.NewMRKDiscoveryMultiKeyring(sup, []string{"eu-west-1"}, awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	s.ResetCalls()
	pdk, err := unwrap(dm, suite0478, testEC, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
	assert.Equal(t, 1, s.Calls("Decrypt"))
}

func TestSDKSupplier(t *testing.T) {
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeyRegion("ap-south-1"))
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	sup := awskms.SDKSupplier(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(s.URL) })
	c1, err := sup("ap-south-1")
	require.NoError(t, err)
	c2, err := sup("ap-south-1")
	require.NoError(t, err)
	assert.Same(t, c1, c2, "clients are cached per Region")
	assert.Equal(t, "ap-south-1", c1.(*kms.Client).Options().Region)

	mk, err := awskms.NewMultiKeyring(sup, arn, nil)
	require.NoError(t, err)
	m := wrap(t, mk, suite0478, nil)
	pdk, err := unwrap(mk, suite0478, nil, m.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pdk)
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s)
	kr, err := awskms.NewKeyring(s.Client(kmstest.ClientRetries(3)), arn)
	require.NoError(t, err)
	good := wrap(t, kr, suite0478, testEC)

	// Transient faults are retried by the SDK and the call succeeds.
	for _, f := range []kmstest.Fault{kmstest.Throttling, kmstest.InternalError, kmstest.Unavailable} {
		s.ResetCalls()
		s.FailNext("GenerateDataKey", 2, f)
		wrap(t, kr, suite0478, testEC)
		assert.Equal(t, 3, s.Calls("GenerateDataKey"), "fault %d", f)

		s.FailNext("Decrypt", 2, f)
		pdk, err := unwrap(kr, suite0478, testEC, good.EncryptedDataKeys)
		require.NoError(t, err)
		assert.Equal(t, good.PlaintextDataKey, pdk)
		assert.Equal(t, 3, s.Calls("Decrypt"))
	}

	// A persistent fault surfaces a typed error and leaves materials as
	// they were; the next call after the fault clears succeeds.
	s.FailAlways("", kmstest.InternalError)
	m := encMaterials(suite0478, testEC)
	err = kr.OnEncrypt(ctx, m)
	require.ErrorAs(t, err, new(*types.KMSInternalException))
	require.ErrorIs(t, err, keyring.ErrTransient)
	assert.Nil(t, m.PlaintextDataKey)
	assert.Empty(t, m.EncryptedDataKeys)
	given := &keyring.EncryptionMaterials{Suite: suite0478, PlaintextDataKey: make([]byte, 32)}
	require.Error(t, kr.OnEncrypt(ctx, given))
	assert.Empty(t, given.EncryptedDataKeys)
	_, err = unwrap(kr, suite0478, testEC, good.EncryptedDataKeys)
	require.ErrorAs(t, err, new(*types.KMSInternalException))
	require.ErrorIs(t, err, keyring.ErrTransient, "an outage is not a missing key")
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)

	s.ClearFaults()
	s.FailAlways("Decrypt", kmstest.Throttling)
	_, err = unwrap(kr, suite0478, testEC, good.EncryptedDataKeys)
	assert.True(t, isCode(err, "ThrottlingException"))
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
	s.ClearFaults()
	pdk, err := unwrap(kr, suite0478, testEC, good.EncryptedDataKeys)
	require.NoError(t, err)
	assert.Equal(t, good.PlaintextDataKey, pdk)

	// A cancelled context stops before calling KMS and is transient.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	dm := decMaterials(suite0478, testEC)
	s.ResetCalls()
	err = kr.OnDecrypt(cctx, dm, append(good.EncryptedDataKeys, good.EncryptedDataKeys...))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
	assert.Zero(t, s.Calls("Decrypt"))
	assert.Nil(t, dm.PlaintextDataKey)

	// A permanent failure (access denied) is not transient.
	s.FailAlways("Decrypt", kmstest.AccessDenied)
	_, err = unwrap(kr, suite0478, testEC, good.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	require.NotErrorIs(t, err, keyring.ErrTransient)
	assert.True(t, awskms.IsAccessDenied(err))
	s.ClearFaults()
}

func isCode(err error, code string) bool {
	var api interface{ ErrorCode() string }
	return errors.As(err, &api) && api.ErrorCode() == code
}
