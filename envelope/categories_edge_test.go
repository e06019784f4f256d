package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestKeyringErrorOneCategory: keyring errors that match several
// categories come back in exactly one, transient first, with their
// causes reachable.
func TestKeyringErrorOneCategory(t *testing.T) {
	ctx := context.Background()
	kr := newAESKeyring(t, "k", 1)
	msg, err := envelope.Encrypt(ctx, kr, []byte("hello"))
	require.NoError(t, err)
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	ke := &keyring.KeyringError{Provider: "p", KeyID: "k", Err: fmt.Errorf("%w: encryption context does not match", keyring.ErrNoDecryptionKey)}
	failWith := func(err error) keyring.Keyring {
		return funcKeyring{dec: func(context.Context, *keyring.DecryptionMaterials, []keyring.EncryptedDataKey) error { return err }}
	}
	for desc, c := range map[string]struct {
		kr    keyring.Keyring
		want  error
		cause any
	}{
		"network error in no key": {failWith(fmt.Errorf("%w: %w", keyring.ErrNoDecryptionKey, opErr)), envelope.ErrTransient, new(*net.OpError)},
		"marked both":             {failWith(fmt.Errorf("%w: %w", keyring.ErrTransient, keyring.ErrNoDecryptionKey)), envelope.ErrTransient, nil},
		"limit and no key":        {failWith(fmt.Errorf("%w: %w", keyring.ErrUnwrapLimit, ke)), envelope.ErrLimit, new(*keyring.KeyringError)},
		"no key and format":       {failWith(fmt.Errorf("%w: %w", keyring.ErrNoDecryptionKey, envelope.ErrFormat)), envelope.ErrNoDecryptionKey, nil},
		"cancelled in attempt": {funcKeyring{dec: func(ctx context.Context, _ *keyring.DecryptionMaterials, _ []keyring.EncryptedDataKey) error {
			ctx, cancel := context.WithCancel(ctx)
			_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) { cancel(); return nil, ke })
			return keyring.UnwrapFailure(err)
		}}, envelope.ErrTransient, new(*keyring.KeyringError)},
	} {
		t.Run(desc, func(t *testing.T) {
			_, _, err := envelope.Decrypt(ctx, c.kr, msg)
			requireCategory(t, err, c.want)
			if c.cause != nil {
				require.ErrorAs(t, err, c.cause)
			}
		})
	}
}

// TestUsageErrors: a nil keyring fails before any input is read, and
// Read after Close is ErrClosed, each in no other category.
func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	_, _, err := envelope.Decrypt(ctx, nil, []byte("garbage"))
	requireCategory(t, err, envelope.ErrInvalidOption)
	_, _, err = envelope.AppendDecrypt(ctx, nil, nil, []byte("garbage"))
	requireCategory(t, err, envelope.ErrInvalidOption)
	src := &failingReader{err: errSource}
	_, err = envelope.NewReader(ctx, src, nil)
	requireCategory(t, err, envelope.ErrInvalidOption)
	_, err = envelope.NewWriter(ctx, io.Discard, nil, envelope.WithPlaintextLength(1<<62))
	requireCategory(t, err, envelope.ErrInvalidOption)

	kr := newAESKeyring(t, "k", 1)
	msg, err := envelope.Encrypt(ctx, kr, randBytes(10000))
	require.NoError(t, err)
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr)
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 10))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = r.Read(make([]byte, 10))
	requireCategory(t, err, envelope.ErrClosed)

	// A source that is itself a Reader failing authentication: the outer
	// Reader's source failed, which is transient.
	tampered := bytes.Clone(msg)
	tampered[len(tampered)/2] ^= 1
	inner, err := envelope.NewReader(ctx, bytes.NewReader(tampered), kr)
	require.NoError(t, err)
	_, err = envelope.NewReader(ctx, inner, kr)
	requireCategory(t, err, envelope.ErrTransient)
}

// edkKeyring writes n encrypted data keys and fails to unwrap each it is
// given, counting its attempts.
func edkKeyring(n int, attempts *int) funcKeyring {
	return funcKeyring{
		edks: func([]byte) []keyring.EncryptedDataKey {
			edks := make([]keyring.EncryptedDataKey, n)
			for i := range edks {
				edks[i] = keyring.EncryptedDataKey{ProviderID: "fake", ProviderInfo: []byte("k"), Ciphertext: []byte{byte(i)}}
			}
			return edks
		},
		dec: func(ctx context.Context, _ *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
			var errs []error
			for range edks {
				_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) {
					*attempts++
					return nil, errors.New("private-key operation failed")
				})
				errs = append(errs, err)
				if errors.Is(err, keyring.ErrUnwrapLimit) {
					break
				}
			}
			return keyring.UnwrapFailure(errs...)
		},
	}
}

// TestUnwrapLimitBoundary: n failed attempts with nothing left to try is
// ErrNoDecryptionKey; n failed attempts and another candidate is ErrLimit,
// without another call.
func TestUnwrapLimitBoundary(t *testing.T) {
	ctx := context.Background()
	n := envelope.DefaultMaxUnwrapAttempts
	for edks, want := range map[int]error{n - 1: envelope.ErrNoDecryptionKey, n: envelope.ErrNoDecryptionKey, n + 1: envelope.ErrLimit} {
		attempts := 0
		kr := edkKeyring(edks, &attempts)
		msg, err := envelope.Encrypt(ctx, kr, []byte("x"))
		require.NoError(t, err)
		_, _, err = envelope.Decrypt(ctx, kr, msg)
		requireCategory(t, err, want)
		assert.Equal(t, min(edks, n), attempts, "%d encrypted data keys", edks)

		attempts = 0
		_, _, err = envelope.Decrypt(ctx, kr, msg, envelope.WithMaxUnwrapAttempts(edks))
		requireCategory(t, err, envelope.ErrNoDecryptionKey)
		assert.Equal(t, edks, attempts)
	}
}

// TestCallerUnwrapBudgetKept: a budget the caller put on the context
// bounds the failed attempts of every message decrypted under it,
// together with each message's own.
func TestCallerUnwrapBudgetKept(t *testing.T) {
	attempts := 0
	kr := edkKeyring(50, &attempts)
	msg, err := envelope.Encrypt(context.Background(), kr, []byte("x"))
	require.NoError(t, err)
	ctx := keyring.WithUnwrapBudget(context.Background(), 2*envelope.DefaultMaxUnwrapAttempts+2)
	for _, want := range []int{envelope.DefaultMaxUnwrapAttempts, envelope.DefaultMaxUnwrapAttempts, 2, 0} {
		attempts = 0
		_, _, err = envelope.Decrypt(ctx, kr, msg)
		requireCategory(t, err, envelope.ErrLimit)
		assert.Equal(t, want, attempts)
	}
	// A smaller caller budget wins over the per-message one.
	attempts = 0
	_, err = envelope.NewReader(keyring.WithUnwrapBudget(context.Background(), 1), bytes.NewReader(msg), kr)
	requireCategory(t, err, envelope.ErrLimit)
	assert.Equal(t, 1, attempts)
}
