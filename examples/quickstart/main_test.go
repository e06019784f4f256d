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
	got := out.String()
	for _, want := range []string{
		`decrypted "card ending 4242, expires 09/29"`,
		"format version  2",
		"(0x0578)", // the default suite: committing and signed
		"context         purpose = quickstart",
		"context         tenant = acme",
		"data key        billing",
		"stream: 10485760 plaintext bytes",
		"in 65536-byte frames, decrypted and verified",
		"\nok\n",
	} {
		require.Contains(t, got, want)
	}
}
