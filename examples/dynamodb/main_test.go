package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
)

func TestRun(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil && os.Getenv("CRYPTKEEPER_NO_MOTO") == "1" {
		t.Skip("moto_server not on PATH and CRYPTKEEPER_NO_MOTO=1")
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, nil))
	require.Equal(t, `table cryptkeeper-example-customers: index email-index on the 10-bit email beacon (attribute ck$b_email)
put 3 customers: 2 KMS calls (one data key for all three through the cache, one to unwrap the beacon key)
get c2: name Grace, email grace@example.com, city London
stored c2: 9 attributes, email stored as ciphertext: true, city in plaintext: London
update c2: email grace.hopper@example.com, visits 1
query email = grace.hopper@example.com: [c2]
query email = grace@example.com: []
scan begins_with(email, ...): refused: true
`, out.String())
}

func TestNoMoto(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := run(context.Background(), &bytes.Buffer{}, nil)
	require.ErrorIs(t, err, errNoMoto)
	require.Contains(t, err.Error(), "pip install 'moto[server]==5.2.1'")
}

// TestRunEndpoint runs the program against an endpoint given by flag,
// with credentials from the default chain.
func TestRunEndpoint(t *testing.T) {
	url := testserver.Moto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "example")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, []string{"-endpoint", url, "-table", "flagged"}))
	require.Contains(t, out.String(), "table flagged: index email-index")
	require.Contains(t, out.String(), "query email = grace.hopper@example.com: [c2]\n")
}
