package kmstest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func newServer(t *testing.T, opts ...kmstest.Option) *kmstest.Server {
	t.Helper()
	s := kmstest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestEncryptDecryptContextBinding(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn, err := s.CreateKey(kmstest.KeyAlias("alias/app"))
	require.NoError(t, err)
	assert.Regexp(t, `^arn:aws:kms:us-west-2:111122223333:key/[0-9a-f-]{36}$`, arn)
	c := s.Client()
	ec := map[string]string{"tenant": "acme"}

	for _, id := range []string{arn, "alias/app", arn[strings.LastIndex(arn, "/")+1:], "arn:aws:kms:us-west-2:111122223333:alias/app"} {
		enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("secret"), EncryptionContext: ec})
		require.NoError(t, err, id)
		assert.Equal(t, arn, aws.ToString(enc.KeyId))

		// Without KeyId, the blob names the key.
		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		require.NoError(t, err)
		assert.Equal(t, []byte("secret"), dec.Plaintext)
		assert.Equal(t, arn, aws.ToString(dec.KeyId))

		_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(id), CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "evil"}})
		var ice *types.InvalidCiphertextException
		require.ErrorAs(t, err, &ice)
	}

	other, err := s.CreateKey()
	require.NoError(t, err)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("x")})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(other), CiphertextBlob: enc.CiphertextBlob})
	var ike *types.IncorrectKeyException
	require.ErrorAs(t, err, &ike)

	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: make([]byte, 4097)})
	assert.Equal(t, "ValidationException", apiCode(err))
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: make([]byte, 4096)})
	assert.NoError(t, err)

	tampered := append([]byte(nil), enc.CiphertextBlob...)
	tampered[len(tampered)-1] ^= 1
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: tampered})
	require.ErrorAs(t, err, new(*types.InvalidCiphertextException))
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("junk")})
	require.ErrorAs(t, err, new(*types.InvalidCiphertextException))
}

func TestGenerateDataKeyReEncryptRandom(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	a, err := s.CreateKey()
	require.NoError(t, err)
	b, err := s.CreateKey()
	require.NoError(t, err)
	c := s.Client()
	ec := map[string]string{"k": "v"}

	gdk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(a), NumberOfBytes: aws.Int32(32), EncryptionContext: ec})
	require.NoError(t, err)
	assert.Len(t, gdk.Plaintext, 32)
	gdk2, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(a), KeySpec: types.DataKeySpecAes128})
	require.NoError(t, err)
	assert.Len(t, gdk2.Plaintext, 16)
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(a)})
	assert.Equal(t, "ValidationException", apiCode(err))

	wp, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String(a), NumberOfBytes: aws.Int32(24)})
	require.NoError(t, err)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob})
	require.NoError(t, err)
	assert.Len(t, dec.Plaintext, 24)

	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: gdk.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: aws.String(b)})
	require.NoError(t, err)
	assert.Equal(t, a, aws.ToString(re.SourceKeyId))
	assert.Equal(t, b, aws.ToString(re.KeyId))
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(b), CiphertextBlob: re.CiphertextBlob})
	require.NoError(t, err)
	assert.Equal(t, gdk.Plaintext, dec.Plaintext)

	rnd, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(64)})
	require.NoError(t, err)
	assert.Len(t, rnd.Plaintext, 64)
	assert.Equal(t, 3, s.Calls("GenerateDataKey"))
	assert.Equal(t, 1, s.Calls("GenerateRandom"))
}

func TestRSAKeys(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := s.Client()
	out, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	require.NoError(t, err)
	arn := aws.ToString(out.KeyMetadata.Arn)
	assert.Equal(t, types.KeySpecRsa2048, out.KeyMetadata.KeySpec)

	pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	require.NoError(t, err)
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	require.NoError(t, err)
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub.(*rsa.PublicKey), []byte("offline"), nil)
	require.NoError(t, err)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(arn), CiphertextBlob: ct, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	require.NoError(t, err)
	assert.Equal(t, []byte("offline"), dec.Plaintext)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(arn), CiphertextBlob: ct, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
	require.ErrorAs(t, err, new(*types.InvalidCiphertextException))

	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("p"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
	require.NoError(t, err)
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(arn), CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
	require.NoError(t, err)
	assert.Equal(t, []byte("p"), dec.Plaintext)

	sym, err := s.CreateKey()
	require.NoError(t, err)
	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(sym)})
	require.ErrorAs(t, err, new(*types.UnsupportedOperationException))
}

func TestStatesRotationAccess(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn, err := s.CreateKey(kmstest.AllowedCallers("AKIDALLOWED"))
	require.NoError(t, err)
	c := s.Client(kmstest.ClientAccessKey("AKIDALLOWED"))

	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("old")})
	require.NoError(t, err)

	_, err = s.Client().Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	assert.Equal(t, "AccessDeniedException", apiCode(err))
	assert.Contains(t, err.Error(), arn)
	require.NoError(t, s.AddGrantToken(arn, "grant-1"))
	_, err = s.Client().Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, GrantTokens: []string{"grant-1"}})
	require.NoError(t, err)

	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(arn)})
	require.NoError(t, err)
	require.NoError(t, s.RotateKey(arn))
	enc2, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("new")})
	require.NoError(t, err)
	assert.NotEqual(t, enc.CiphertextBlob[:43], enc2.CiphertextBlob[:43], "material version changes")
	for _, blob := range [][]byte{enc.CiphertextBlob, enc2.CiphertextBlob} {
		_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
		require.NoError(t, err)
	}

	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arn)})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, new(*types.DisabledException))
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	require.NoError(t, err)
	assert.False(t, d.KeyMetadata.Enabled)
	require.NoError(t, s.EnableKey(arn))
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)

	require.NoError(t, s.ScheduleKeyDeletion(arn))
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, new(*types.KMSInvalidStateException))

	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(strings.Replace(arn, "key/", "key/0", 1)), CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, new(*types.NotFoundException))
}

func TestMultiRegionReplica(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	east := s.Client(kmstest.ClientRegion("us-east-1"))
	out, err := east.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	require.NoError(t, err)
	primary := aws.ToString(out.KeyMetadata.Arn)
	assert.True(t, strings.HasPrefix(aws.ToString(out.KeyMetadata.KeyId), "mrk-"))

	rep, err := east.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: aws.String(primary), ReplicaRegion: aws.String("eu-west-1")})
	require.NoError(t, err)
	replica := aws.ToString(rep.ReplicaKeyMetadata.Arn)
	assert.Equal(t, strings.Replace(primary, "us-east-1", "eu-west-1", 1), replica)
	assert.Equal(t, types.MultiRegionKeyTypeReplica, rep.ReplicaKeyMetadata.MultiRegionConfiguration.MultiRegionKeyType)

	enc, err := east.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(primary), Plaintext: []byte("hi")})
	require.NoError(t, err)
	eu := s.Client(kmstest.ClientRegion("eu-west-1"))
	dec, err := eu.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(replica), CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)
	assert.Equal(t, replica, aws.ToString(dec.KeyId))
	// The primary's ARN names another Region: not found from eu-west-1.
	_, err = eu.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(primary), CiphertextBlob: enc.CiphertextBlob})
	require.ErrorAs(t, err, new(*types.NotFoundException))

	single, err := s.CreateKey()
	require.NoError(t, err)
	_, err = s.ReplicateKey(single, "eu-west-1")
	require.ErrorIs(t, err, kmstest.ErrInvalidRequest)
}

func TestFaultsAndCounters(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn, err := s.CreateKey()
	require.NoError(t, err)
	c := s.Client(kmstest.ClientRetries(3))
	in := &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("x")}

	s.FailNext("Encrypt", 2, kmstest.Throttling)
	_, err = c.Encrypt(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, 3, s.Calls("Encrypt"))

	s.FailNext("Encrypt", 2, kmstest.InternalError)
	_, err = c.Encrypt(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, 6, s.Calls("Encrypt"))

	s.FailAlways("", kmstest.Unavailable)
	_, err = c.Encrypt(ctx, in)
	assert.Equal(t, "ServiceUnavailableException", apiCode(err))
	s.ClearFaults()
	s.FailNext("", 1, kmstest.AccessDenied)
	_, err = c.Encrypt(ctx, in)
	assert.Equal(t, "AccessDeniedException", apiCode(err))
	assert.Equal(t, 10, s.Calls("Encrypt"))
	s.ResetCalls()
	assert.Zero(t, s.TotalCalls())

	s.SetLatency(time.Second)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = s.Client(kmstest.ClientRetries(1)).Encrypt(cctx, in)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	s.ClearFaults()
}
