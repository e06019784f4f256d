package keyring_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestOneCategoryWhenBothMatch: failures that match ErrTransient and
// ErrNoDecryptionKey at once come back as ErrTransient alone, with their
// causes still reachable.
func TestOneCategoryWhenBothMatch(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	// A third-party keyring wraps a network error in ErrNoDecryptionKey.
	netNoKey := fmt.Errorf("%w: %w", keyring.ErrNoDecryptionKey, opErr)
	require.True(t, keyring.IsTransient(netNoKey), "transient wins")
	err := keyring.UnwrapFailure(netNoKey, errors.New("wrong key"))
	requireCategory(t, err, keyring.ErrTransient)
	var got *net.OpError
	require.ErrorAs(t, err, &got)
	assert.Same(t, opErr, got)

	// A keyring marks its own error both ways.
	both := fmt.Errorf("%w: %w", keyring.ErrTransient, keyring.ErrNoDecryptionKey)
	requireCategory(t, keyring.UnwrapFailure(both), keyring.ErrTransient)

	// A KeyringError around a limit that also says no key.
	limitNoKey := &keyring.KeyringError{Provider: "p", KeyID: "k", Err: fmt.Errorf("%w: %w", keyring.ErrUnwrapLimit, keyring.ErrNoDecryptionKey)}
	err = keyring.UnwrapFailure(limitNoKey)
	requireCategory(t, err, keyring.ErrUnwrapLimit)
	var ke *keyring.KeyringError
	require.ErrorAs(t, err, &ke)
	assert.Same(t, limitNoKey, ke)
}

// TestTryUnwrapEndedContextHidesNoKey: an attempt whose permanent failure
// (ErrNoDecryptionKey) comes back after the context ended is transient
// only, and carries the context's error.
func TestTryUnwrapEndedContextHidesNoKey(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	noKey := &keyring.KeyringError{Provider: "p", KeyID: "k", Err: fmt.Errorf("%w: encryption context does not match", keyring.ErrNoDecryptionKey)}
	_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) { cancel(); return nil, noKey })
	requireCategory(t, err, keyring.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)
	var ke *keyring.KeyringError
	require.ErrorAs(t, err, &ke)
	assert.Same(t, noKey, ke)
	assert.Contains(t, err.Error(), "encryption context does not match")
	requireCategory(t, keyring.UnwrapFailure(err), keyring.ErrTransient)
}

// TestIsTransientCertificate: a TLS certificate that fails verification is
// a permanent misconfiguration even inside the *url.Error (a net.Error)
// the HTTP client returns; an unknown host and a refused connection may
// pass.
func TestIsTransientCertificate(t *testing.T) {
	post := func(err error) error {
		return fmt.Errorf("operation error KMS: Decrypt, https response error: %w",
			&url.Error{Op: "Post", URL: "https://kms.example", Err: err})
	}
	for desc, c := range map[string]struct {
		err  error
		want bool
	}{
		"unknown authority": {post(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false},
		"bare unknown CA":   {post(x509.UnknownAuthorityError{}), false},
		"wrong host":        {post(x509.HostnameError{Host: "kms.example"}), false},
		"expired":           {post(x509.CertificateInvalidError{Reason: x509.Expired}), false},
		"marked transient":  {fmt.Errorf("%w: %w", keyring.ErrTransient, post(x509.UnknownAuthorityError{})), false},
		"no such host":      {post(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "kms.example", IsNotFound: true}}), true},
		"refused":           {post(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		"cancelled":         {post(context.Canceled), true},
	} {
		t.Run(desc, func(t *testing.T) {
			assert.Equal(t, c.want, keyring.IsTransient(c.err))
			want := keyring.ErrNoDecryptionKey
			if c.want {
				want = keyring.ErrTransient
			}
			requireCategory(t, keyring.UnwrapFailure(c.err), want)
		})
	}
}

// TestUnwrapBudgetNested: a budget set on the context before still
// applies under a nested one, and failures count against both.
func TestUnwrapBudgetNested(t *testing.T) {
	fail := func() ([]byte, error) { return nil, errors.New("wrong key") }
	outer := keyring.WithUnwrapBudget(context.Background(), 7)
	attempts := func(ctx context.Context) int {
		n := 0
		for {
			_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) { n++; return fail() })
			if errors.Is(err, keyring.ErrUnwrapLimit) {
				return n
			}
			require.Less(t, n, 100)
		}
	}
	assert.Equal(t, 5, attempts(keyring.WithUnwrapBudget(outer, 5)), "inner budget")
	assert.Equal(t, 2, attempts(keyring.WithUnwrapBudget(outer, 5)), "what the outer budget has left")
	assert.Equal(t, 0, attempts(keyring.WithUnwrapBudget(outer, 5)))
	assert.Equal(t, 3, attempts(keyring.WithUnwrapBudget(context.Background(), 3)))
}
