package interop_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// esdkVersion is the version of @aws-crypto/client-node the tests run
// against (pinned in js/package.json and js/package-lock.json).
const esdkVersion = "5.0.2"

// jsCase is one operation for the Node.js runner (see js/esdk.js).
type jsCase struct {
	ID          string            `json:"id"`
	Op          string            `json:"op"` // "encrypt" or "decrypt"
	Keyring     string            `json:"keyring"`
	Suite       int               `json:"suite,omitempty"`
	FrameLength int               `json:"frameLength,omitempty"`
	Context     map[string]string `json:"context,omitempty"`
	Plaintext   string            `json:"plaintext,omitempty"`
	Output      string            `json:"output,omitempty"`
	Input       string            `json:"input,omitempty"`
}

type jsManifest struct {
	Keyrings    map[string]jsKeyring `json:"keyrings"`
	Cases       []jsCase             `json:"cases"`
	Concurrency int                  `json:"concurrency"`
}

// jsHeader is the message header as the JavaScript SDK reports it.
type jsHeader struct {
	Suite       int               `json:"suite"`
	Context     map[string]string `json:"context"`
	FrameLength int               `json:"frameLength"`
	Providers   []string          `json:"providers"`
}

type jsResult struct {
	OK              bool     `json:"ok"`
	Error           string   `json:"error"`
	PlaintextSHA256 string   `json:"plaintextSha256"`
	PlaintextLength int      `json:"plaintextLength"`
	Header          jsHeader `json:"header"`
}

// requireNode returns the directory of the Node.js runner. It fails the
// test when Node.js or the pinned SDK is missing, and skips it only when
// CRYPTKEEPER_NO_NODE=1 asks for that explicitly.
func requireNode(t *testing.T) string {
	t.Helper()
	if os.Getenv("CRYPTKEEPER_NO_NODE") == "1" {
		t.Skip("CRYPTKEEPER_NO_NODE=1: interop with the AWS Encryption SDK for JavaScript not run")
	}
	dir, err := filepath.Abs("js")
	require.NoError(t, err)
	const hint = "run ./scripts/test.sh (it runs `npm ci` in interop/js), or set CRYPTKEEPER_NO_NODE=1 to leave out the JavaScript interop tests"
	_, err = exec.LookPath("node")
	require.NoError(t, err, "interop: node is not on PATH; install Node.js >= 18 and %s", hint)
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node", "package.json"))
	require.NoError(t, err, "interop: %s/node_modules is missing; %s", dir, hint)
	var meta struct {
		Version string `json:"version"`
	}
	require.NoError(t, json.Unmarshal(pkg, &meta))
	require.Equal(t, esdkVersion, meta.Version, "interop: wrong @aws-crypto/client-node installed; %s", hint)
	return dir
}

// runNode runs one manifest through js/esdk.js in a single Node.js process
// and returns its results by case id.
func runNode(ctx context.Context, t *testing.T, jsDir, dir string, m *jsManifest) map[string]jsResult {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o600))
	// PKCS #1 v1.5 decryption is disabled in current Node.js releases
	// (CVE-2023-46809, the Marvin attack) unless reverted explicitly.
	cmd := exec.CommandContext(ctx, "node", "--security-revert=CVE-2023-46809", "esdk.js", dir)
	cmd.Dir = jsDir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node esdk.js: %s", out)
	b, err = os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var res map[string]jsResult
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res, len(m.Cases), "node esdk.js returned a result per case")
	return res
}
