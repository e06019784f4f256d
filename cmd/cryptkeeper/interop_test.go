package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// cli runs the command in-process and fails the test unless it exits 0.
func cli(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, bytes.NewReader(stdin), &out, &errb); code != 0 {
		t.Fatalf("cryptkeeper %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.Bytes()
}

// The manifest of interop/js/esdk.js (see interop/node_test.go).
type jsKeyring struct {
	Type       string `json:"type"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Key        string `json:"key,omitempty"`
	Padding    string `json:"padding,omitempty"`
	PublicPEM  string `json:"publicKeyPem,omitempty"`
	PrivatePEM string `json:"privateKeyPem,omitempty"`
}

type jsCase struct {
	ID          string            `json:"id"`
	Op          string            `json:"op"`
	Keyring     string            `json:"keyring"`
	Suite       int               `json:"suite,omitempty"`
	FrameLength int               `json:"frameLength,omitempty"`
	Context     map[string]string `json:"context,omitempty"`
	Plaintext   string            `json:"plaintext,omitempty"`
	Output      string            `json:"output,omitempty"`
	Input       string            `json:"input,omitempty"`
}

type jsResult struct {
	OK              bool   `json:"ok"`
	Error           string `json:"error"`
	PlaintextSHA256 string `json:"plaintextSha256"`
	PlaintextLength int    `json:"plaintextLength"`
}

func runESDK(t *testing.T, jsDir, dir string, krs map[string]jsKeyring, cases []jsCase) map[string]jsResult {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keyrings": krs, "cases": cases, "concurrency": 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--security-revert=CVE-2023-46809", "esdk.js", dir)
	cmd.Dir = jsDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node esdk.js: %v: %s", err, out)
	}
	b, err = os.ReadFile(filepath.Join(dir, "manifest.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]jsResult{}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// Files the CLI encrypts with raw AES and raw RSA keys decrypt with the
// official AWS Encryption SDK for JavaScript, and the reverse.
func TestInteropJavaScriptRawKeys(t *testing.T) {
	jsDir := jsenv.Dir(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	cli(t, nil, "keys", "generate", "--aes", p("aes.key"))
	cli(t, nil, "keys", "generate", "--rsa", p("rsa.pem"), "--public", p("rsa-pub.pem"), "--bits", "2048")
	aesKey, _ := os.ReadFile(p("aes.key"))
	privPEM, _ := os.ReadFile(p("rsa.pem"))
	pubPEM, _ := os.ReadFile(p("rsa-pub.pem"))
	krs := map[string]jsKeyring{
		"aes": {Type: "raw-aes", Namespace: "interop", Name: "aes", Key: strings.TrimSpace(string(aesKey))},
		"rsa": {Type: "raw-rsa", Namespace: "interop", Name: "rsa", Padding: "oaep-sha256", PublicPEM: string(pubPEM), PrivatePEM: string(privPEM)},
	}
	keyArgs := map[string][]string{
		"aes": {"--raw-aes-key", p("aes.key"), "--key-namespace", "interop", "--key-name", "aes"},
		"rsa": {"--raw-rsa-key", p("rsa.pem"), "--key-namespace", "interop", "--key-name", "rsa"},
	}
	ec := map[string]string{"tenant": "acme", "purpose": "interop"}
	suites := map[string]int{"AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384": 0x0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY": 0x0478}
	sizes := []int{0, 1, 4096, 100_003}
	var cases []jsCase
	pts := map[string][]byte{}
	for kr := range krs {
		for suite, id := range suites {
			for _, n := range sizes {
				name := fmt.Sprintf("%s-%04x-%d", kr, id, n)
				pt := bytes.Repeat([]byte(name+";"), n/len(name)+1)[:n]
				pts[name] = pt
				if err := os.WriteFile(p(name+".pt"), pt, 0o600); err != nil {
					t.Fatal(err)
				}
				// The CLI encrypts, JavaScript decrypts.
				args := append([]string{"encrypt", "-i", p(name + ".pt"), "-o", p(name + ".go.ct"), "--algorithm", suite,
					"--frame-length", "1024", "-c", "tenant=acme", "-c", "purpose=interop"}, keyArgs[kr]...)
				cli(t, nil, args...)
				cases = append(cases, jsCase{ID: "dec-" + name, Op: "decrypt", Keyring: kr, Input: name + ".go.ct"},
					// JavaScript encrypts, the CLI decrypts below.
					jsCase{ID: "enc-" + name, Op: "encrypt", Keyring: kr, Suite: id, FrameLength: 512, Context: ec,
						Plaintext: name + ".pt", Output: name + ".js.ct"})
			}
		}
	}
	res := runESDK(t, jsDir, dir, krs, cases)
	for name, pt := range pts {
		r := res["dec-"+name]
		sum := sha256.Sum256(pt)
		if !r.OK || r.PlaintextSHA256 != hex.EncodeToString(sum[:]) || r.PlaintextLength != len(pt) {
			t.Errorf("JavaScript decrypting the CLI's %s: %+v", name, r)
		}
		if r := res["enc-"+name]; !r.OK {
			t.Errorf("JavaScript encrypting %s: %s", name, r.Error)
			continue
		}
		kr := strings.SplitN(name, "-", 2)[0]
		args := append([]string{"decrypt", "-i", p(name + ".js.ct"), "-o", p(name + ".js.pt"), "-c", "tenant=acme"}, keyArgs[kr]...)
		cli(t, nil, args...)
		got, err := os.ReadFile(p(name + ".js.pt"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("the CLI decrypting JavaScript's %s: %d bytes, %v", name, len(got), err)
		}
	}
	if t.Failed() {
		return
	}
	// A message for another key fails in JavaScript too: the check can fail.
	other := krs["aes"]
	other.Key = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	res = runESDK(t, jsDir, dir, map[string]jsKeyring{"aes": other}, []jsCase{{ID: "wrong", Op: "decrypt", Keyring: "aes", Input: "aes-0478-4096.go.ct"}})
	if res["wrong"].OK {
		t.Fatal("JavaScript decrypted with the wrong key")
	}
}

// Files the CLI encrypts under a KMS key (kmstest) decrypt with the
// official KmsKeyringNode pointed at the same server, and the reverse.
func TestInteropJavaScriptKMS(t *testing.T) {
	modules := jsenv.Modules(t)
	srv := kmstest.NewServer()
	defer srv.Close()
	arn, err := srv.CreateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", kmstest.DefaultAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", kmstest.DefaultSecretKey)
	t.Setenv("AWS_REGION", srv.Region())
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	script, err := filepath.Abs(filepath.Join("..", "..", "interop", "testdata", "kms_interop.js"))
	if err != nil {
		t.Fatal(err)
	}
	node := func(args ...string) {
		t.Helper()
		cmd := exec.Command("node", append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("node kms_interop.js %s: %v: %s", args[0], err, out)
		}
	}
	kmsArgs := []string{"--endpoint-url", srv.URL, "--wrapping-keys", "key=" + arn, "-c", "tenant=acme"}
	pt := bytes.Repeat([]byte("interop through kmstest "), 3000)
	if err := os.WriteFile(p("pt"), pt, 0o600); err != nil {
		t.Fatal(err)
	}
	ecJSON := `{"tenant":"acme"}`
	for _, suite := range []string{"AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"} {
		cli(t, nil, append([]string{"encrypt", "-i", p("pt"), "-o", p(suite + ".ct"), "--algorithm", suite}, kmsArgs...)...)
		srv.ResetCalls()
		node("decrypt", srv.URL, kmstest.DefaultAccessKey, arn, p(suite+".ct"), p(suite+".js.pt"), ecJSON)
		if got, _ := os.ReadFile(p(suite + ".js.pt")); !bytes.Equal(got, pt) {
			t.Fatalf("%s: JavaScript decrypted %d bytes", suite, len(got))
		}
		if srv.Calls("Decrypt") != 1 {
			t.Fatalf("JavaScript made %d Decrypt calls, want 1", srv.Calls("Decrypt"))
		}
	}
	node("encrypt", srv.URL, kmstest.DefaultAccessKey, arn, p("pt"), p("js.ct"), ecJSON)
	cli(t, nil, append([]string{"decrypt", "-i", p("js.ct"), "-o", p("js.pt")}, kmsArgs...)...)
	if got, _ := os.ReadFile(p("js.pt")); !bytes.Equal(got, pt) {
		t.Fatalf("the CLI decrypted %d bytes of JavaScript's message", len(got))
	}
	cli(t, nil, "decrypt", "-i", p("js.ct"), "-o", p("js2.pt"), "--endpoint-url", srv.URL,
		"--wrapping-keys", "discovery=true,discovery-partition=aws,discovery-account="+srv.Account())
}
