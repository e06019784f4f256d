package awskms_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

var decryptCategories = []error{
	envelope.ErrFormat, envelope.ErrAuthentication, envelope.ErrCommitment, envelope.ErrLimit,
	envelope.ErrNoDecryptionKey, envelope.ErrPolicy, envelope.ErrContext, envelope.ErrTransient,
	envelope.ErrInvalidOption,
}

// requireCategory checks that err matches want and no other category.
func requireCategory(t testing.TB, err, want error) {
	t.Helper()
	require.Error(t, err)
	var got []error
	for _, c := range decryptCategories {
		if errors.Is(err, c) {
			got = append(got, c)
		}
	}
	require.Equal(t, []error{want}, got, "%v", err)
}

// forged returns n encrypted data keys naming arn with ciphertexts KMS
// cannot decrypt, as anyone who knows the ARN can write them.
func forged(arn string, n int) funcEDKs {
	edks := make(funcEDKs, n)
	for i := range edks {
		edks[i] = keyring.EncryptedDataKey{
			ProviderID: awskms.ProviderID, ProviderInfo: []byte(arn), Ciphertext: []byte{byte(i), byte(i >> 8), 1, 2, 3},
		}
	}
	return edks
}

// TestEnvelopeUnwrapBudgetKMS: 300 encrypted data keys naming the
// reader's key cost at most the unwrap budget in KMS calls.
func TestEnvelopeUnwrapBudgetKMS(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s)
	ct, err := envelope.Encrypt(ctx, forged(arn, 300), []byte("x"))
	require.NoError(t, err)

	for _, kr := range []keyring.Keyring{
		must(awskms.NewKeyring(s.Client(), arn)),
		must(awskms.NewDiscoveryKeyring(s.Client(), awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))),
	} {
		s.ResetCalls()
		_, _, err = envelope.Decrypt(ctx, kr, ct)
		requireCategory(t, err, envelope.ErrLimit)
		require.ErrorIs(t, err, keyring.ErrUnwrapLimit)
		assert.Equal(t, envelope.DefaultMaxUnwrapAttempts, s.Calls("Decrypt"), "%v", kr)
	}

	// The budget is the caller's to set.
	s.ResetCalls()
	kr := must(awskms.NewKeyring(s.Client(), arn))
	_, _, err = envelope.Decrypt(ctx, kr, ct, envelope.WithMaxUnwrapAttempts(20))
	requireCategory(t, err, envelope.ErrLimit)
	assert.Equal(t, 20, s.Calls("Decrypt"))
}

// TestEnvelopeRightKeyAfterForeignKeys: a discovery reader that may use
// only the last of five recipients' keys still decrypts by default (four
// failed attempts), and a strict reader makes a single call however many
// other recipients there are.
func TestEnvelopeRightKeyAfterForeignKeys(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	owner := s.Client(kmstest.ClientAccessKey("AKIDOWNER"))
	var others []keyring.Keyring
	for range 4 {
		arn := createKey(t, s, kmstest.AllowedCallers("AKIDOWNER"))
		others = append(others, must(awskms.NewKeyring(owner, arn)))
	}
	mine := createKey(t, s, kmstest.AllowedCallers("AKIDOWNER", kmstest.DefaultAccessKey))
	writer, err := keyring.NewMulti(others[0], append(others[1:], must(awskms.NewKeyring(owner, mine)))...)
	require.NoError(t, err)
	ct, err := envelope.Encrypt(ctx, writer, []byte("hello"))
	require.NoError(t, err)

	disc := must(awskms.NewDiscoveryKeyring(s.Client(), awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount)))
	strict := must(awskms.NewKeyring(s.Client(), mine))
	for kr, calls := range map[keyring.Keyring]int{disc: 5, strict: 1} {
		s.ResetCalls()
		pt, _, err := envelope.Decrypt(ctx, kr, ct)
		require.NoError(t, err, "%v", kr)
		assert.Equal(t, []byte("hello"), pt)
		assert.Equal(t, calls, s.Calls("Decrypt"), "%v", kr)
	}
}

// TestEnvelopeTransientKMS: throttling, 5xx answers and an unreachable
// KMS are ErrTransient, never ErrNoDecryptionKey, with the SDK's error
// reachable; access denied is ErrNoDecryptionKey.
func TestEnvelopeTransientKMS(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s)
	c := s.Client(kmstest.ClientRetries(1))
	kr := must(awskms.NewKeyring(c, arn))
	ct, err := envelope.Encrypt(ctx, kr, []byte("hello"))
	require.NoError(t, err)

	for f, code := range map[kmstest.Fault]string{
		kmstest.Throttling:    "ThrottlingException",
		kmstest.InternalError: "KMSInternalException",
		kmstest.Unavailable:   "ServiceUnavailableException",
		kmstest.AccessDenied:  "AccessDeniedException",
	} {
		s.FailAlways("Decrypt", f)
		_, _, err := envelope.Decrypt(ctx, kr, ct)
		s.ClearFaults()
		want := envelope.ErrTransient
		if f == kmstest.AccessDenied {
			want = envelope.ErrNoDecryptionKey
		}
		requireCategory(t, err, want)
		var api smithy.APIError
		require.ErrorAs(t, err, &api, code)
		assert.Equal(t, code, api.ErrorCode())
	}
	s.FailAlways("Decrypt", kmstest.InternalError)
	_, _, err = envelope.Decrypt(ctx, kr, ct)
	s.ClearFaults()
	require.ErrorAs(t, err, new(*types.KMSInternalException))

	// One recipient denied and another throttled: transient, since the
	// throttled one may yet decrypt.
	other := createKey(t, s)
	multi, err := keyring.NewMulti(kr, must(awskms.NewKeyring(c, other)))
	require.NoError(t, err)
	ct2, err := envelope.Encrypt(ctx, multi, []byte("hello"))
	require.NoError(t, err)
	s.FailNext("Decrypt", 1, kmstest.AccessDenied)
	s.FailNext("Decrypt", 1, kmstest.Throttling)
	_, _, err = envelope.Decrypt(ctx, multi, ct2)
	requireCategory(t, err, envelope.ErrTransient)
	s.ClearFaults()

	// KMS unreachable: a network error.
	gone := kmstest.NewServer()
	goneClient := gone.Client(kmstest.ClientRetries(1))
	gone.Close()
	_, _, err = envelope.Decrypt(ctx, must(awskms.NewKeyring(goneClient, arn)), ct)
	requireCategory(t, err, envelope.ErrTransient)
	var ne net.Error
	require.ErrorAs(t, err, &ne)

	// A cancelled context never reaches KMS.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	s.ResetCalls()
	_, _, err = envelope.Decrypt(cctx, kr, ct)
	requireCategory(t, err, envelope.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, s.TotalCalls())
}

func must[K any](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

// TestDiscoveryMultiRegionWithinBudget: a discovery multi-keyring over
// three Regions reading a message for keys in each, of which it may use
// only the last, asks each Region about its own key only and decrypts
// within a budget of three failed attempts (two are spent).
func TestDiscoveryMultiRegionWithinBudget(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	sup := awskms.CachingSupplier(func(region string) (awskms.Client, error) {
		return s.Client(kmstest.ClientRegion(region)), nil
	})
	ownerSup := awskms.CachingSupplier(func(region string) (awskms.Client, error) {
		return s.Client(kmstest.ClientRegion(region), kmstest.ClientAccessKey("AKIDOWNER")), nil
	})
	var arns []string
	for i, r := range regions {
		callers := []string{"AKIDOWNER"}
		if i == len(regions)-1 {
			callers = append(callers, kmstest.DefaultAccessKey)
		}
		arns = append(arns, createKey(t, s, kmstest.KeyRegion(r), kmstest.AllowedCallers(callers...)))
	}
	writer, err := awskms.NewMultiKeyring(ownerSup, arns[0], arns[1:])
	require.NoError(t, err)
	ct, err := envelope.Encrypt(ctx, writer, []byte("hello"))
	require.NoError(t, err)

	reader, err := awskms.NewDiscoveryMultiKeyring(sup, regions, awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	s.ResetCalls()
	pt, _, err := envelope.Decrypt(ctx, reader, ct, envelope.WithMaxUnwrapAttempts(3))
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), pt)
	assert.Equal(t, 3, s.Calls("Decrypt"), "one call per Region")
}
