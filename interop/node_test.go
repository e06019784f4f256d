package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

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

// runNode runs the cases of m through js/esdk.js, split over one Node.js
// process per CPU (each runs its share in one process: node start-up is
// slow), and returns the results by case id.
func runNode(ctx context.Context, t *testing.T, jsDir, dir string, m *jsManifest) map[string]jsResult {
	t.Helper()
	shards := make([]jsManifest, min(runtime.GOMAXPROCS(0), max(len(m.Cases), 1)))
	for i := range shards {
		shards[i] = jsManifest{Keyrings: m.Keyrings, Concurrency: m.Concurrency}
	}
	for i, c := range m.Cases {
		sh := &shards[i%len(shards)]
		sh.Cases = append(sh.Cases, c)
	}
	outs := make([][]byte, len(shards))
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i := range shards {
		name := fmt.Sprintf("manifest-%d", i)
		b, err := json.Marshal(&shards[i])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), b, 0o600))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// PKCS #1 v1.5 decryption is disabled in current Node.js
			// releases (CVE-2023-46809, the Marvin attack) unless reverted.
			cmd := exec.CommandContext(ctx, "node", "--security-revert=CVE-2023-46809", "esdk.js", dir, name)
			cmd.Dir = jsDir
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	res := map[string]jsResult{}
	for i := range shards {
		require.NoError(t, errs[i], "node esdk.js: %s", outs[i])
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("manifest-%d.results.json", i)))
		require.NoError(t, err)
		var part map[string]jsResult
		require.NoError(t, json.Unmarshal(b, &part))
		maps.Copy(res, part)
	}
	require.Len(t, res, len(m.Cases), "node esdk.js returned a result per case")
	return res
}
