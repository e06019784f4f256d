package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	got := out.String()
	for _, want := range []string{
		`decrypted "card ending 4242, expires 09/29"`,
		"format version  2",
		"(0x0578)", // the default suite: committing and signed
		"context         purpose = quickstart",
		"context         tenant = acme",
		"data key        billing",
		"as tenant globex: refused with envelope.ErrContext",
		"stream: 10485760 plaintext bytes",
		"in 65536-byte frames, decrypted and verified",
		"\nok\n",
	} {
		require.Contains(t, got, want)
	}
}

// TestDecryptForChecksContext checks the pattern the example teaches: a
// message is read only by a reader that expects its context.
func TestDecryptForChecksContext(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := keyring.NewRawAES("billing", "key-2026", key)
	require.NoError(t, err)
	ct, err := envelope.Encrypt(ctx, kr, []byte("acme's data"), envelope.WithContext(contextFor("acme")))
	require.NoError(t, err)

	pt, hdr, err := decryptFor(ctx, kr, ct, "acme")
	require.NoError(t, err)
	assert.Equal(t, "acme's data", string(pt))
	assert.Equal(t, "acme", hdr.Context["tenant"])

	pt, hdr, err = decryptFor(ctx, kr, ct, "globex")
	require.ErrorIs(t, err, envelope.ErrContext)
	assert.Nil(t, pt)
	assert.Nil(t, hdr)

	// Made for another purpose: refused as well.
	other, err := envelope.Encrypt(ctx, kr, []byte("x"), envelope.WithContext(map[string]string{"tenant": "acme", "purpose": "export"}))
	require.NoError(t, err)
	_, _, err = decryptFor(ctx, kr, other, "acme")
	require.ErrorIs(t, err, envelope.ErrContext)
}
