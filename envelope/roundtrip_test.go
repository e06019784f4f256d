package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func testKeyring(t testing.TB) *keyring.RawAES {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	kr, err := keyring.NewRawAES("test-ns", "test-key", key)
	require.NoError(t, err)
	return kr
}

func policyFor(id envelope.SuiteID) envelope.Option {
	if id.Committing() {
		return envelope.WithCommitmentPolicy(envelope.RequireEncryptRequireDecrypt)
	}
	return envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRoundTripAllSuites(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	ec := map[string]string{"tenant": "acme", "Zeta": "1", "😀": "🎉"}
	for _, id := range envelope.Suites() {
		for _, fs := range []int{1, 7, 4096} {
			for _, n := range []int{0, 1, fs - 1, fs, fs + 1, 3*fs + 5} {
				if n < 0 {
					continue
				}
				t.Run(fmt.Sprintf("%v/frame%d/len%d", id, fs, n), func(t *testing.T) {
					pt := randBytes(n)
					opts := []envelope.Option{envelope.WithSuite(id), envelope.WithFrameSize(fs), envelope.WithContext(ec), policyFor(id)}
					ct, err := envelope.Encrypt(ctx, kr, pt, opts...)
					require.NoError(t, err)
					got, hdr, err := envelope.Decrypt(ctx, kr, ct, policyFor(id))
					require.NoError(t, err)
					assert.Equal(t, pt, got)
					assert.Equal(t, id, hdr.Suite)
					assert.Equal(t, fs, hdr.FrameSize)
					assert.Equal(t, "acme", hdr.Context["tenant"])
					assert.Equal(t, id.Signed(), hdr.Context[keyring.PublicKeyContextKey] != "")

					// Streaming writer output decrypts the same, and the reader
					// reads the one-shot output.
					var buf bytes.Buffer
					w, err := envelope.NewWriter(ctx, &buf, kr, opts...)
					require.NoError(t, err)
					for i := 0; i < len(pt); i += 3 {
						_, err := w.Write(pt[i:min(i+3, len(pt))])
						require.NoError(t, err)
					}
					require.NoError(t, w.Close())
					r, err := envelope.NewReader(ctx, &buf, kr, policyFor(id))
					require.NoError(t, err)
					got, err = io.ReadAll(r)
					require.NoError(t, err)
					assert.Equal(t, pt, got)
				})
			}
		}
	}
}
