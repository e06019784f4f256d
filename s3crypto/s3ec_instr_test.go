package s3crypto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// inputLog records the GetObject and PutObject inputs that reach S3. It
// drops the optFns of the calls, so the SSE-C inputs reach the plain-HTTP
// test server (which ignores them).
type inputLog struct {
	s3crypto.API
	mu   sync.Mutex
	gets []s3.GetObjectInput
	puts []s3.PutObjectInput
}

func (l *inputLog) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	l.mu.Lock()
	l.gets = append(l.gets, *in)
	l.mu.Unlock()
	return l.API.GetObject(ctx, in) // no optFns: gofakes3 is plain HTTP, and only the requests matter here
}

func (l *inputLog) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	l.mu.Lock()
	l.puts = append(l.puts, *in)
	l.mu.Unlock()
	return l.API.PutObject(ctx, in)
}

// TestS3ECInstructionRequests: the instruction file is written and read
// with the object's SSE-C key and owner, and read without its VersionId.
func TestS3ECInstructionRequests(t *testing.T) {
	ctx := context.Background()
	log := &inputLog{API: newS3(t)}
	c, _ := s3crypto.New(log, newKeyring(t), s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	// gofakes3 ignores SSE-C; the test only looks at the requests.
	alg, key, md5 := aws.String("AES256"), aws.String("a2V5"), aws.String("bWQ1")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Body: strings.NewReader("x"),
		SSECustomerAlgorithm: alg, SSECustomerKey: key, SSECustomerKeyMD5: md5}); err != nil {
		t.Fatal(err)
	}
	var sawInstr bool
	for _, p := range log.puts {
		if aws.ToString(p.Key) == "o.instruction" {
			sawInstr = true
			if p.SSECustomerKey != key || p.SSECustomerKeyMD5 != md5 || p.SSECustomerAlgorithm != alg {
				t.Fatal("instruction file written without the SSE-C key")
			}
		}
	}
	if !sawInstr {
		t.Fatal("no instruction file written")
	}
	head, _ := log.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("o")})
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), VersionId: head.VersionId,
		SSECustomerAlgorithm: alg, SSECustomerKey: key, SSECustomerKeyMD5: md5, ExpectedBucketOwner: aws.String("123")})
	if err != nil {
		t.Fatal(err)
	}
	sawInstr = false
	for _, g := range log.gets {
		if aws.ToString(g.Key) == "o.instruction" {
			sawInstr = true
			if g.SSECustomerKey != key || g.SSECustomerKeyMD5 != md5 || aws.ToString(g.ExpectedBucketOwner) != "123" || g.VersionId != nil {
				t.Fatalf("instruction file read with %+v", g)
			}
		}
	}
	if !sawInstr {
		t.Fatal("instruction file not read")
	}
}

// TestS3ECInstructionTamper removes and alters each member of an
// instruction file: every GET fails and releases no byte.
func TestS3ECInstructionTamper(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	ectx := s3crypto.WithEncryptionContext(ctx, map[string]string{"p": "q"})
	for _, opts := range [][]s3crypto.Option{{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}, s3ecV2Opts()} {
		c, _ := s3crypto.New(cli, kr, append(opts, s3crypto.WithInstructionFile())...)
		put(t, ectx, c, "o", bytes.NewReader(randBytes(500)))
		ct, meta := rawObject(t, cli, "o")
		body, _ := rawObject(t, cli, "o.instruction")
		var instr map[string]string
		if err := json.Unmarshal(body, &instr); err != nil {
			t.Fatal(err)
		}
		var variants []map[string]string
		for k, v := range instr {
			m := map[string]string{}
			for k2, v2 := range instr {
				if k2 != k {
					m[k2] = v2
				}
			}
			variants = append(variants, m)
			alts := []string{"", "x"}
			if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) > 0 {
				b[0] ^= 0x80
				alts = append(alts, base64.StdEncoding.EncodeToString(b))
			}
			for _, a := range alts {
				m := map[string]string{}
				for k2, v2 := range instr {
					m[k2] = v2
				}
				m[k] = a
				variants = append(variants, m)
			}
		}
		// The object's own V3 keys copied into the instruction file.
		if len(meta) > 0 {
			m := map[string]string{}
			for k, v := range instr {
				m[k] = v
			}
			for k, v := range meta {
				m[k] = v
			}
			variants = append(variants, m)
		}
		for i, m := range variants {
			key := "t" + s3ecDigit(len(opts)) + "-" + strings.Repeat("i", i)
			b, _ := json.Marshal(m)
			rawPut(t, cli, key, ct, meta)
			rawPut(t, cli, key+".instruction", b, map[string]string{"x-amz-crypto-instr-file": ""})
			out, err := c.GetObject(ectx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			n := 0
			if err == nil {
				got, rerr := io.ReadAll(out.Body)
				out.Body.Close()
				n, err = len(got), rerr
			}
			if err == nil || n != 0 {
				t.Errorf("variant %v: err %v, %d bytes", m, err, n)
			}
		}
	}
}

// TestS3ECRewrapInstruction: re-keying an object with an instruction file
// rewrites only the instruction file.
func TestS3ECRewrapInstruction(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	old, srv := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, old, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	pt := randBytes(777)
	put(t, ctx, c, "o", bytes.NewReader(pt))
	before, _ := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("o")})
	oldInstr, _ := rawObject(t, cli, "o.instruction")
	arn, _ := srv.CreateKey()
	kr2, _ := awskms.NewKeyring(srv.Client(), arn)
	if _, err := c.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("o"), Keyring: kr2,
		EncryptionContext: map[string]string{"city": "Zürich"}}); err != nil {
		t.Fatal(err)
	}
	after, _ := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("o")})
	if aws.ToString(before.ETag) != aws.ToString(after.ETag) || !after.LastModified.Equal(*before.LastModified) {
		t.Fatal("the object was rewritten")
	}
	newInstr, _ := rawObject(t, cli, "o.instruction")
	if bytes.Equal(oldInstr, newInstr) {
		t.Fatal("instruction file unchanged")
	}
	for _, b := range newInstr {
		if b >= 0x80 {
			t.Fatalf("instruction file not US-ASCII: %s", newInstr)
		}
	}
	c2, _ := s3crypto.New(cli, kr2)
	got, _, err := get(s3crypto.WithEncryptionContext(ctx, map[string]string{"city": "Zürich"}), c2, "o")
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("after rewrap: %v", err)
	}
}

// TestS3ECNonASCIIContext: a context with non-ASCII text is stored as
// US-ASCII JSON and reads back.
func TestS3ECNonASCIIContext(t *testing.T) {
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"city": "Zürich", "名": "値 😀"})
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	put(t, ctx, c, "o", strings.NewReader("x"))
	_, meta := rawObject(t, cli, "o")
	if v := meta["x-amz-t"]; !strings.Contains(v, `Z\u00fcrich`) || !strings.Contains(v, `\ud83d\ude00`) {
		t.Fatalf("x-amz-t %q", v)
	}
	if got, _, err := get(ctx, c, "o"); err != nil || string(got) != "x" {
		t.Fatalf("get: %v", err)
	}
}

// deniedInstr answers every GET of an instruction file with 403, as S3
// does for a missing key to a caller without s3:ListBucket.
type deniedInstr struct{ s3crypto.API }

func (d deniedInstr) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Key), s3crypto.InstructionSuffix) {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	}
	return d.API.GetObject(ctx, in, o...)
}

func TestS3ECInstructionDenied(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	rawPut(t, cli, "plain", []byte("p"), nil)
	c, _ := s3crypto.New(deniedInstr{cli}, newKeyring(t))
	_, _, err := get(ctx, c, "plain")
	var ae smithy.APIError
	if !errors.Is(err, s3crypto.ErrNotEncrypted) || !errors.As(err, &ae) {
		t.Fatalf("plain object, instruction file denied: %v", err)
	}
	w, _ := s3crypto.New(cli, newKeyring(t), s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	put(t, ctx, w, "v3", strings.NewReader("x"))
	if _, _, err := get(ctx, c, "v3"); !errors.Is(err, s3crypto.ErrInstructionFile) || errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Fatalf("V3 object, instruction file denied: %v", err)
	}
}
