package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runCLI runs the command line in-process with AWS settings that never
// reach a real account, and returns its status and standard error.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// TestS3PutDoesNotOverwriteWhenHeadFails: a HEAD that fails with anything
// but 404 (here 403) is not taken for an absent object: put and cp refuse
// rather than overwrite without --force.
func TestS3PutDoesNotOverwriteWhenHeadFails(t *testing.T) {
	var writes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodHead:
			w.WriteHeader(http.StatusForbidden)
		default:
			writes.Add(1)
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	key := filepath.Join(dir, "team.key")
	if code, stderr := runCLI(t, "keys", "generate", "--aes", key); code != 0 {
		t.Fatalf("keys generate: %d %s", code, stderr)
	}
	in := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(in, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"s3", "put", in, "s3://b/k"},
		{"s3", "cp", "s3://b/src", "s3://b/k"},
	} {
		args = append(args, "--endpoint-url", srv.URL, "--raw-aes-key", key)
		code, stderr := runCLI(t, args...)
		if code == 0 || code == exitExists {
			t.Errorf("%s: status %d, want a failure other than 'exists'; stderr %q", args[1], code, stderr)
		}
		if !strings.Contains(stderr, "exists") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: stderr %q: want one line about checking whether the object exists", args[1], stderr)
		}
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("%d writes reached S3 after a failed HEAD", n)
	}
}

// TestKMSServeKeepsExistingEnvFile: --env-file never replaces a file that
// exists (which kms serve would then remove on exit).
func TestKMSServeKeepsExistingEnvFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(name, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		code, _ := runCLI(t, "kms", "serve", "--env-file", name)
		done <- code
	}()
	select {
	case code := <-done:
		if code != exitExists {
			t.Errorf("status %d, want %d", code, exitExists)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("kms serve started over an existing --env-file")
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "keep me\n" {
		t.Errorf("existing file now %q, %v", b, err)
	}
}

// TestContextValuesWithCommasAndSpaces: a context value may hold commas and
// spaces; pairs and bare names still separate.
func TestContextValuesWithCommasAndSpaces(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string
	}{
		{[]string{"org=Acme, Inc."}, []string{"org=Acme, Inc."}},
		{[]string{"path=/a b/c,d"}, []string{"path=/a b/c,d"}},
		{[]string{"a=b,c=d"}, []string{"a=b", "c=d"}},
		{[]string{"a=b c=d", "e=f"}, []string{"a=b", "c=d", "e=f"}},
		{[]string{"tenant,owner"}, []string{"tenant", "owner"}},
		{[]string{"a=x,y", "b"}, []string{"a=x,y", "b"}},
		{[]string{"a=", "b="}, []string{"a=", "b="}},
		{[]string{" a=1, b=2 ,c=3 "}, []string{"a=1", "b=2", "c=3"}},
	} {
		got := splitContext(c.in)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("splitContext(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Through the command: encrypt with such a value, decrypt checking it.
	dir := t.TempDir()
	key, in, ct, out := filepath.Join(dir, "k"), filepath.Join(dir, "in"), filepath.Join(dir, "ct"), filepath.Join(dir, "out")
	if code, stderr := runCLI(t, "keys", "generate", "--aes", key); code != 0 {
		t.Fatal(stderr)
	}
	if err := os.WriteFile(in, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runCLI(t, "encrypt", "-i", in, "-o", ct, "--raw-aes-key", key, "-c", "org=Acme, Inc.", "-c", "dept=R D"); code != 0 {
		t.Fatalf("encrypt: %d %s", code, stderr)
	}
	if code, stderr := runCLI(t, "decrypt", "-i", ct, "-o", out, "--raw-aes-key", key, "-c", "org=Acme, Inc.,dept=R D"); code != 0 {
		t.Fatalf("decrypt: %d %s", code, stderr)
	}
	if code, _ := runCLI(t, "decrypt", "-i", ct, "-o", out+"2", "--raw-aes-key", key, "-c", "org=Acme"); code != exitPolicy {
		t.Errorf("decrypt with another value: status %d, want %d", code, exitPolicy)
	}
}

// TestEveryCommandHasExamples walks the whole command tree: every command's
// --help shows examples.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		n++
		if !c.HasExample() {
			t.Errorf("%q --help has no examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root.InitDefaultCompletionCmd()
	walk(root)
	if n < 15 {
		t.Errorf("walked %d commands, want every one (at least 15)", n)
	}
}

// TestDeviceInputIntoDirectory: an input that is not a regular file (a
// device, a pipe) into an output directory lands in that directory, as a
// regular file would.
func TestDeviceInputIntoDirectory(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if code, stderr := runCLI(t, "keys", "generate", "--aes", key); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runCLI(t, "encrypt", "-i", os.DevNull, "-o", out, "--raw-aes-key", key); code != 0 {
		t.Fatalf("status %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, filepath.Base(os.DevNull)+".encrypted")); err != nil {
		t.Error(err)
	}
}

// TestOutputDirectoryMissing: the output into a missing directory is
// named in the error, not its temporary file. (That the SDK's own log lines
// stay off standard error is in testdata/script/kms.txtar.)
func TestOutputDirectoryMissing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "k")
	if code, stderr := runCLI(t, "keys", "generate", "--aes", key); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(dir, "missing", "out")
	code, stderr := runCLI(t, "encrypt", "-i", in, "-o", out, "--raw-aes-key", key)
	if code != exitError || !strings.Contains(stderr, out) || strings.Contains(stderr, tempSuffix) {
		t.Errorf("status %d, stderr %q: want %d naming %s and no temporary file", code, stderr, exitError, out)
	}
}
