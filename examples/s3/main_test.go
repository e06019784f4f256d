package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	require.Equal(t, `put 12582912 bytes: 3 parts, 1 KMS call(s)
head: ContentLength 12582912 (the plaintext)
range: bytes 1000000-1000039/12582912, 40 bytes "7749.77\n00027778,acme,widget-7832, 27786", equal: true
get: 12582912 bytes, sha256 equal: true
stored: 12589460 bytes (6548 more than the plaintext), holds plaintext: false, format "envelope"
as tenant globex: envelope.ErrContext true, names the object: true
`, out.String())
}
