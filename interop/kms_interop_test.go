package interop_test

// Interop of the AWS KMS keyrings, and of messages encrypted through a
// cache, with the official KmsKeyringNode of the AWS Encryption SDK for
// JavaScript, both talking to one in-process kmstest server through their
// own AWS SDKs. The Node.js side is testdata/kms_interop.js (one message)
// and testdata/kms_decrypt_all.js (many).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func newKMSServer(t testing.TB, opts ...kmstest.Option) *kmstest.Server {
	t.Helper()
	s := kmstest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// kmsEnv is an in-process KMS with one symmetric key and a KMS keyring
// for it, called through the real AWS SDK client.
type kmsEnv struct {
	srv *kmstest.Server
	arn string
	kr  *awskms.Keyring
}

func newKMS(t testing.TB) *kmsEnv {
	t.Helper()
	s := newKMSServer(t)
	arn, err := s.CreateKey()
	require.NoError(t, err)
	// One attempt per call: a retried request would show up in the
	// server's counters, and the tests count calls exactly. The server's
	// client keeps a connection per goroutine of the tests.
	kr, err := awskms.NewKeyring(s.Client(kmstest.ClientRetries(1)), arn)
	require.NoError(t, err)
	return &kmsEnv{srv: s, arn: arn, kr: kr}
}

// runNodeScript runs node with args (a script under testdata first) and
// the JavaScript SDK installed in modules; a failure carries node's
// standard error.
func runNodeScript(modules string, args ...string) error {
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return &jsError{err: err, stderr: stderr.String()}
	}
	return nil
}

type jsError struct {
	err    error
	stderr string
}

func (e *jsError) Error() string { return e.err.Error() + ": " + e.stderr }

// runJS encrypts or decrypts input with KmsKeyringNode against srv.
func runJS(t *testing.T, modules, op string, srv *kmstest.Server, accessKey, keyARN string, input []byte, ec map[string]string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(in, input, 0o600))
	ecJSON, err := json.Marshal(ec)
	require.NoError(t, err)
	if err := runNodeScript(modules, filepath.Join("testdata", "kms_interop.js"), op, srv.URL, accessKey, keyARN, in, out, string(ecJSON)); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// decryptAllJS decrypts every message with testdata/kms_decrypt_all.js, using
// the JavaScript SDK installed in modules.
func decryptAllJS(t *testing.T, modules string, env *kmsEnv, ec map[string]string, cts [][]byte) [][]byte {
	t.Helper()
	dir := t.TempDir()
	ecJSON, err := json.Marshal(ec)
	require.NoError(t, err)
	args := []string{filepath.Join("testdata", "kms_decrypt_all.js"), env.srv.URL, kmstest.DefaultAccessKey, env.arn, string(ecJSON)}
	for i, ct := range cts {
		f := filepath.Join(dir, strconv.Itoa(i))
		require.NoError(t, os.WriteFile(f, ct, 0o600))
		args = append(args, f)
	}
	require.NoError(t, runNodeScript(modules, args...))
	out := make([][]byte, len(cts))
	for i := range cts {
		out[i], err = os.ReadFile(filepath.Join(dir, strconv.Itoa(i)+".pt"))
		require.NoError(t, err)
	}
	return out
}

// Messages from our KMS keyring decrypt with the official JavaScript
// KmsKeyringNode pointed at the same kmstest endpoint, and the reverse.
func TestKMSInteropJavaScript(t *testing.T) {
	modules := jsenv.Modules(t)
	ctx := context.Background()
	s := newKMSServer(t)
	arn, err := s.CreateKey(kmstest.KeyRegion("us-east-1"), kmstest.AllowedCallers(kmstest.DefaultAccessKey))
	require.NoError(t, err)
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

// Messages encrypted from shared cache entries are ordinary messages: they
// decrypt here and with the official JavaScript KmsKeyringNode pointed at
// the same kmstest endpoint, for the signed default suite and the
// unsigned committing suite.
func TestKMSCachedMessagesDecryptWithJavaScript(t *testing.T) {
	const perSuite, perKey = 25, 10
	modules := jsenv.Modules(t)
	ctx := context.Background()
	env := newKMS(t)
	ec := map[string]string{"tenant": "acme", "purpose": "kms-cache-interop"}
	c, err := cache.New(cache.MaxAge(time.Hour), cache.MaxMessages(perKey))
	require.NoError(t, err)

	suites := []envelope.SuiteID{envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384, envelope.AES256GCMHKDFSHA512CommitKey}
	var pts, cts [][]byte
	for _, id := range suites {
		perEDK := map[string]int{}
		for i := range perSuite {
			// Lengths from a few bytes to several 4 KiB frames.
			pt := bytes.Repeat(fmt.Appendf(nil, "suite %04X message %d;", uint16(id), i), 1+i*i*3)
			ct, err := envelope.Encrypt(ctx, env.kr, pt, envelope.WithContext(ec), envelope.WithSuite(id), envelope.WithCache(c))
			require.NoError(t, err)
			got, hdr, err := envelope.Decrypt(ctx, env.kr, ct, envelope.WithContext(ec))
			require.NoError(t, err)
			require.Equal(t, pt, got)
			require.Equal(t, id, hdr.Suite)
			perEDK[string(hdr.EncryptedDataKeys[0].Ciphertext)]++
			pts, cts = append(pts, pt), append(cts, ct)
		}
		counts := make([]int, 0, len(perEDK))
		for _, n := range perEDK {
			counts = append(counts, n)
		}
		assert.ElementsMatch(t, []int{perKey, perKey, perSuite - 2*perKey}, counts, "suite %04X: messages per data key", uint16(id))
	}
	require.Equal(t, uint64(2*3), c.Stats().KeyringCalls, "three entries per suite")

	// One KMS Decrypt per message: the JavaScript SDK has no cache here.
	env.srv.ResetCalls()
	got := decryptAllJS(t, modules, env, ec, cts)
	require.Len(t, got, len(pts))
	for i := range pts {
		assert.Equal(t, pts[i], got[i], "message %d", i)
	}
	assert.Equal(t, len(cts), env.srv.Calls("Decrypt"), "the JavaScript SDK called kmstest once per message")
}
