package awskms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// runJS encrypts or decrypts input with KmsKeyringNode against srv.
func runJS(t *testing.T, modules, op string, srv *kmstest.Server, accessKey, keyARN string, input []byte, ec map[string]string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(in, input, 0o600))
	ecJSON, err := json.Marshal(ec)
	require.NoError(t, err)
	cmd := exec.Command("node", filepath.Join("testdata", "kms_interop.js"), op, srv.URL, accessKey, keyARN, in, out, string(ecJSON))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, &jsError{err: err, stderr: stderr.String()}
	}
	return os.ReadFile(out)
}

type jsError struct {
	err    error
	stderr string
}

func (e *jsError) Error() string { return e.err.Error() + ": " + e.stderr }

// Messages from our KMS keyring decrypt with the official JavaScript
// KmsKeyringNode pointed at the same kmstest endpoint, and the reverse.
func TestKMSInteropJavaScript(t *testing.T) {
	modules := jsenv.Modules(t)
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s, kmstest.KeyRegion("us-east-1"), kmstest.AllowedCallers(kmstest.DefaultAccessKey))
	c := s.Client(kmstest.ClientRegion("us-east-1"))
	kr, err := awskms.NewKeyring(c, arn)
	require.NoError(t, err)
	ec := map[string]string{"tenant": "acme", "zeta": "last", "Alpha": "first"}
	plaintext := bytes.Repeat([]byte("interop "), 2000)

	// Go → JS, default (signed, committing) suite and the unsigned one.
	for _, opts := range [][]envelope.Option{nil, {envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}} {
		ct, err := envelope.Encrypt(ctx, kr, plaintext, append(opts, envelope.WithContext(ec))...)
		require.NoError(t, err)
		pt, err := runJS(t, modules, "decrypt", s, kmstest.DefaultAccessKey, arn, ct, ec)
		require.NoError(t, err)
		assert.Equal(t, plaintext, pt)
	}

	// JS → Go, with the strict and the discovery keyring.
	s.ResetCalls()
	ct, err := runJS(t, modules, "encrypt", s, kmstest.DefaultAccessKey, arn, plaintext, ec)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Calls("GenerateDataKey"), "the JavaScript SDK called kmstest")
	disc, err := awskms.NewDiscoveryKeyring(c, awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	require.NoError(t, err)
	for _, k := range []keyring.Keyring{kr, disc} {
		pt, hdr, err := envelope.Decrypt(ctx, k, ct)
		require.NoError(t, err)
		assert.Equal(t, plaintext, pt)
		assert.Equal(t, "acme", hdr.Context["tenant"])
		assert.Equal(t, arn, string(hdr.EncryptedDataKeys[0].ProviderInfo))
	}

	// The key policy holds for the JavaScript client too.
	_, err = runJS(t, modules, "decrypt", s, "AKIDSTRANGER", arn, ct, ec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AccessDenied")
}
