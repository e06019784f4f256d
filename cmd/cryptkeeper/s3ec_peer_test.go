package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
)

// s3ecPeer builds the official Amazon S3 Encryption Client for Go v4 CLI
// (../shared/peers/s3ec beside the repository, or CRYPTKEEPER_S3EC_PEER:
// its source directory or a built binary). Without it the test fails when
// CI is set and is skipped otherwise.
func s3ecPeer(t *testing.T) string {
	t.Helper()
	src := os.Getenv("CRYPTKEEPER_S3EC_PEER")
	if src == "" {
		src = filepath.Join("..", "..", "tools", "s3ec")
		if _, err := os.Stat(src); err != nil {
			src = filepath.Join("..", "..", "..", "shared", "peers", "s3ec")
		}
	}
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		return src
	}
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no S3EC peer at %s: %v", src, err)
		}
		t.Skipf("no S3EC peer at %s: %v", src, err)
	}
	bin := filepath.Join(t.TempDir(), "s3ec")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the S3EC peer: %v\n%s", err, out)
	}
	return bin
}

func peer(t *testing.T, bin string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("s3ec %s: %v: %s", args[0], err, errb.String())
	}
	return out.Bytes()
}

// Objects the CLI puts in the S3EC V3 format are read by the official S3 Encryption Client, and the CLI reads
// the official client's V3 and V2 objects, through one moto_server (S3
// and KMS).
func TestS3ECPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	bin := s3ecPeer(t)
	url := testserver.Moto(t)
	peer(t, bin, nil, "mkbucket", "-endpoint", url, "-bucket", "peerbucket")
	arn := strings.TrimSpace(string(peer(t, bin, nil, "mkkey", "-endpoint", url)))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	common := []string{"-endpoint", url, "-region", "us-east-1", "-bucket", "peerbucket"}
	flags := []string{"--endpoint-url", url, "--wrapping-keys", "key=" + arn, "-c", "project=demo"}
	dir := t.TempDir()
	for _, n := range []int{0, 1, 100 << 10, 6<<20 + 3} {
		pt := bytes.Repeat([]byte(fmt.Sprintf("object of %d bytes;", n)), n/10+1)[:n]
		in := filepath.Join(dir, fmt.Sprint(n))
		if err := os.WriteFile(in, pt, 0o600); err != nil {
			t.Fatal(err)
		}
		// (Metadata only: the official client fetches instruction files
		// from AWS's own endpoint, whatever endpoint it was given.)
		key := fmt.Sprintf("cli-%d", n)
		cli(t, nil, append([]string{"s3", "put", "--format", "s3ec-v3", in, "s3://peerbucket/" + key}, flags...)...)
		got := peer(t, bin, nil, append([]string{"get"}, append(common, "-key", key, "-kms-key", arn, "-ec", "project=demo")...)...)
		if !bytes.Equal(got, pt) {
			t.Fatalf("the official client read %d bytes of %s, want %d", len(got), key, n)
		}
		// The official client writes, the CLI reads.
		for _, format := range []string{"v3", "v2"} {
			key := fmt.Sprintf("peer-%s-%d", format, n)
			peer(t, bin, pt, append([]string{"put"}, append(common, "-key", key, "-kms-key", arn, "-format", format, "-ec", "project=demo")...)...)
			args := append([]string{"s3", "get", "s3://peerbucket/" + key, "-", "--commitment-policy", "require-encrypt-allow-decrypt"}, flags...)
			if got := cli(t, nil, args...); !bytes.Equal(got, pt) {
				t.Fatalf("the CLI read %d bytes of %s, want %d", len(got), key, n)
			}
		}
	}
	// A V2 object under the default policy is refused (exit status 5).
	var errb bytes.Buffer
	code := run(append([]string{"s3", "get", "s3://peerbucket/peer-v2-1", "-"}, flags...), nil, &bytes.Buffer{}, &errb)
	if code != exitPolicy {
		t.Fatalf("V2 object under the default policy: exit %d: %s", code, errb.String())
	}
}
