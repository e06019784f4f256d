package interop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// The official Amazon S3 Encryption Client for Go v4, as the s3ec CLI
// (CRYPTKEEPER_S3EC_PEER: its source directory or a built binary; by
// default tools/s3ec, else ../shared/peers/s3ec beside the repository). It
// is built once per test binary, into a temporary directory. Without it
// the test fails when CI is set and is skipped otherwise.
var (
	peerOnce sync.Once
	peerBin  string
	peerDir  string // the temporary build directory, removed by TestMain
	peerErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if peerDir != "" {
		os.RemoveAll(peerDir)
	}
	os.Exit(code)
}

func s3ecPeer(t *testing.T) string {
	t.Helper()
	peerOnce.Do(func() {
		src := os.Getenv("CRYPTKEEPER_S3EC_PEER")
		if src == "" {
			// tools/s3ec in the repository, else the shared peer beside it.
			_, file, _, _ := runtime.Caller(0)
			root := filepath.Join(filepath.Dir(file), "..")
			src = filepath.Join(root, "tools", "s3ec")
			if _, err := os.Stat(src); err != nil {
				src = filepath.Join(root, "..", "shared", "peers", "s3ec")
			}
		}
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			peerBin = src
			return
		}
		if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
			peerErr = fmt.Errorf("no S3EC peer source at %s: %w", src, err)
			return
		}
		dir, err := os.MkdirTemp("", "s3ec-peer")
		if err != nil {
			peerErr = err
			return
		}
		peerDir = dir
		bin := filepath.Join(dir, "s3ec")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			peerErr = fmt.Errorf("building the S3EC peer: %v\n%s", err, out)
			return
		}
		peerBin = bin
	})
	if peerErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(peerErr)
		}
		t.Skip(peerErr)
	}
	return peerBin
}

// runPeer runs the peer with args and stdin, and returns its stdout.
func runPeer(t *testing.T, bin string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("s3ec %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func motoS3(url string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(url), UsePathStyle: true, Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 2,
	})
}

func ecArg(ec map[string]string) string {
	var kv []string
	for k, v := range ec {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// TestS3ECPeer moves objects both ways between s3crypto and the official
// S3 Encryption Client for Go v4, through one moto_server (S3 and KMS).
func TestS3ECPeer(t *testing.T) {
	bin := s3ecPeer(t)
	url := testserver.Moto(t)
	ctx := context.Background()
	common := []string{"-endpoint", url, "-region", "us-east-1", "-bucket", "peer"}
	if _, err := runPeer(t, bin, nil, "mkbucket", "-endpoint", url, "-bucket", "peer"); err != nil {
		t.Fatal(err)
	}
	out, err := runPeer(t, bin, nil, "mkkey", "-endpoint", url)
	if err != nil {
		t.Fatal(err)
	}
	arn := strings.TrimSpace(string(out))
	kmsc := kms.New(kms.Options{BaseEndpoint: aws.String(url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 2})
	kr, err := awskms.NewKeyring(kmsc, arn)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := awskms.NewDiscoveryKeyring(kmsc, awskms.WithDiscoveryFilter("aws", "123456789012"))
	if err != nil {
		t.Fatal(err)
	}
	cli := motoS3(url)
	ec := map[string]string{"project": "demo", "team": "crypto"}
	ectx := s3crypto.WithEncryptionContext(ctx, ec)
	sizes := []int{0, 1, 100 << 10, 1<<20 + 17}
	record := os.Getenv("CRYPTKEEPER_S3EC_RECORD")

	// The peer writes, s3crypto reads.
	for _, format := range []string{"v3", "v2"} {
		for _, n := range sizes {
			key := fmt.Sprintf("peer-%s-%d", format, n)
			pt := pattern(n)
			args := append([]string{"put"}, common...)
			args = append(args, "-key", key, "-kms-key", arn, "-format", format, "-ec", ecArg(ec))
			if _, err := runPeer(t, bin, pt, args...); err != nil {
				t.Fatal(err)
			}
			for _, k := range []keyring.Keyring{kr, disc} {
				c, err := s3crypto.New(cli, k, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
				if err != nil {
					t.Fatal(err)
				}
				got, err := getAll(ectx, c, key)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("%s with %T: %d bytes, %v", key, k, len(got), err)
				}
				h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("peer"), Key: aws.String(key)})
				if err != nil || aws.ToInt64(h.ContentLength) != int64(n) || len(h.Metadata) != 0 {
					t.Fatalf("%s: head %v %v", key, h, err)
				}
			}
			strict, _ := s3crypto.New(cli, kr)
			_, err := getAll(ectx, strict, key)
			if format == "v2" && !errors.Is(err, envelope.ErrPolicy) {
				t.Fatalf("%s under RequireEncryptRequireDecrypt: %v", key, err)
			}
			if format == "v3" && err != nil {
				t.Fatalf("%s under RequireEncryptRequireDecrypt: %v", key, err)
			}
			if record != "" && n <= 100<<10 {
				recordFixture(t, ctx, cli, kmsc, record, key, pt)
			}
		}
	}

	// s3crypto writes, the peer reads.
	for _, tc := range []struct {
		name string
		opts []s3crypto.Option
	}{
		{"v3", []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}},
		{"v2", []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv2), s3crypto.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt)}},
	} {
		c, err := s3crypto.New(cli, kr, append(tc.opts, s3crypto.WithPartSize(s3crypto.MinPartSize))...)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range append(sizes, s3crypto.MinPartSize+100) {
			key := fmt.Sprintf("ck-%s-%d", tc.name, n)
			pt := pattern(n)
			var body io.Reader = bytes.NewReader(pt)
			if n > s3crypto.MinPartSize {
				body = io.MultiReader(body) // unknown length: a multipart upload
			}
			if _, err := c.PutObject(ectx, &s3.PutObjectInput{Bucket: aws.String("peer"), Key: aws.String(key), Body: body}); err != nil {
				t.Fatal(err)
			}
			for _, withKey := range []bool{true, false} {
				args := append([]string{"get"}, common...)
				args = append(args, "-key", key, "-policy", "require-allow", "-ec", ecArg(ec))
				if withKey {
					args = append(args, "-kms-key", arn)
				}
				got, err := runPeer(t, bin, nil, args...)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("peer get %s (kms key %v): %d bytes, %v", key, withKey, len(got), err)
				}
			}
			args := append([]string{"get"}, common...)
			args = append(args, "-key", key, "-ec", "project=other")
			if _, err := runPeer(t, bin, nil, args...); err == nil {
				t.Fatalf("peer get %s with a wrong context succeeded", key)
			}
		}
	}
}

func getAll(ctx context.Context, c *s3crypto.Client, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("peer"), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// s3ecFixture is an object the official client wrote (its metadata here,
// its body in <key>.body), with its data key, read from moto's KMS while
// recording, so that tests can answer KMS offline. The plaintext is
// pattern(PlaintextLen). s3crypto's fixture test reads these files.
type s3ecFixture struct {
	Key          string            `json:"key"`
	KMSKeyARN    string            `json:"kms_key_arn"`
	Metadata     map[string]string `json:"metadata"`
	PlaintextLen int               `json:"plaintext_len"`
	DataKey      string            `json:"data_key_base64"`
}

func recordFixture(t *testing.T, ctx context.Context, cli *s3.Client, kmsc *kms.Client, dir, key string, pt []byte) {
	t.Helper()
	raw, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("peer"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(raw.Body)
	raw.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := raw.Metadata
	edk, ecJSON := m["x-amz-3"], m["x-amz-t"]
	if edk == "" {
		edk, ecJSON = m["x-amz-key-v2"], m["x-amz-matdesc"]
	}
	blob, _ := base64.StdEncoding.DecodeString(edk)
	var ec map[string]string
	if err := json.Unmarshal([]byte(ecJSON), &ec); err != nil {
		t.Fatal(err)
	}
	dec, err := kmsc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	f := s3ecFixture{Key: key, KMSKeyARN: aws.ToString(dec.KeyId), Metadata: m, PlaintextLen: len(pt),
		DataKey: base64.StdEncoding.EncodeToString(dec.Plaintext)}
	b, _ := json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, key+".body"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
