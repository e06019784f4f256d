package s3crypto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

func s3ecV2Opts(opts ...s3crypto.Option) []s3crypto.Option {
	return append([]s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv2), s3crypto.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt)}, opts...)
}

func s3ecKeysOf(m map[string]string) string {
	var k []string
	for key := range m {
		k = append(k, strings.ToLower(key))
	}
	sort.Strings(k)
	return strings.Join(k, " ")
}

// kmsKeyring returns a strict KMS keyring on an in-process KMS.
func s3ecKMSKeyring(t testing.TB) (*awskms.Keyring, *kmstest.Server) {
	t.Helper()
	srv := kmstest.NewServer()
	t.Cleanup(srv.Close)
	arn, err := srv.CreateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := awskms.NewKeyring(srv.Client(), arn)
	if err != nil {
		t.Fatal(err)
	}
	return kr, srv
}

func TestS3ECFormatsRoundTrip(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kms, _ := s3ecKMSKeyring(t)
	aes := newKeyring(t)
	for _, tc := range []struct {
		name string
		kr   keyring.Keyring
		opts []s3crypto.Option
		ec   map[string]string
		keys string
	}{
		{"v3 kms", kms, []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}, map[string]string{"project": "demo"},
			"user x-amz-3 x-amz-c x-amz-d x-amz-i x-amz-t x-amz-w"},
		{"v3 aes", aes, []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}, nil,
			"user x-amz-3 x-amz-c x-amz-d x-amz-i x-amz-w"},
		{"v2 kms", kms, s3ecV2Opts(), map[string]string{"project": "demo"},
			"user x-amz-cek-alg x-amz-iv x-amz-key-v2 x-amz-matdesc x-amz-tag-len x-amz-unencrypted-content-length x-amz-wrap-alg"},
	} {
		c, err := s3crypto.New(cli, tc.kr, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctx
		if tc.ec != nil {
			ctx = s3crypto.WithEncryptionContext(ctx, tc.ec)
		}
		for _, n := range []int{0, 1, 100 << 10} {
			key := tc.name + "/" + string(rune('a'+n%26))
			pt := randBytes(n)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
				Body: bytes.NewReader(pt), Metadata: map[string]string{"user": "v"}}); err != nil {
				t.Fatalf("%s %d: %v", tc.name, n, err)
			}
			ct, meta := rawObject(t, cli, key)
			if len(ct) != n+16 || s3ecKeysOf(meta) != tc.keys {
				t.Fatalf("%s %d: stored %d bytes, keys %q", tc.name, n, len(ct), s3ecKeysOf(meta))
			}
			got, out, err := get(ctx, c, key)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%s %d: get %v", tc.name, n, err)
			}
			if aws.ToInt64(out.ContentLength) != int64(n) || s3ecKeysOf(out.Metadata) != "user" {
				t.Fatalf("%s %d: length %v, metadata %v", tc.name, n, out.ContentLength, out.Metadata)
			}
			h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil || aws.ToInt64(h.ContentLength) != int64(n) || s3ecKeysOf(h.Metadata) != "user" {
				t.Fatalf("%s %d: head %v %v", tc.name, n, h, err)
			}
		}
	}
}

func TestS3ECStreamsUnknownLength(t *testing.T) {
	ctx := context.Background()
	rec, c := setup(t, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithPartSize(s3crypto.MinPartSize))
	pt := randBytes(s3crypto.MinPartSize + 1000)
	put(t, ctx, c, "big", onlyReader{bytes.NewReader(pt)})
	if rec.sawAny(pt) {
		t.Fatal("plaintext sent")
	}
	got, out, err := get(ctx, c, "big")
	if err != nil || !bytes.Equal(got, pt) || aws.ToInt64(out.ContentLength) != int64(len(pt)) {
		t.Fatalf("get: %v", err)
	}
}

func TestS3ECOptions(t *testing.T) {
	cli := newS3(t)
	kr := newKeyring(t)
	if _, err := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv2)); !errors.Is(err, s3crypto.ErrInvalidOption) {
		t.Fatalf("V2 under the default policy: %v", err)
	}
	if _, err := s3crypto.New(cli, kr, s3crypto.WithInstructionFile()); !errors.Is(err, s3crypto.ErrInvalidOption) {
		t.Fatalf("instruction file with envelope: %v", err)
	}
	if s3crypto.FormatS3ECv3.String() != "s3ec-v3" || s3crypto.FormatS3ECv2.String() != "s3ec-v2" {
		t.Fatal("format names")
	}
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"),
		Body: strings.NewReader("x"), Metadata: map[string]string{"big": strings.Repeat("x", 2000)}})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Fatalf("over the metadata budget: %v", err)
	}
	_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"),
		Body: strings.NewReader("x"), Metadata: map[string]string{"X-Amz-Iv": "AAAA"}})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Fatalf("S3EC key in the user metadata: %v", err)
	}
}

// TestS3ECPolicyAndContext: a V2 object is refused under the default
// policy, and the expected context must match.
func TestS3ECPolicyAndContext(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	w, _ := s3crypto.New(cli, kr, s3ecV2Opts()...)
	ec := map[string]string{"team": "crypto"}
	put(t, s3crypto.WithEncryptionContext(ctx, ec), w, "v2", strings.NewReader("hello"))
	strict, _ := s3crypto.New(cli, kr)
	if _, _, err := get(ctx, strict, "v2"); !errors.Is(err, envelope.ErrPolicy) {
		t.Fatalf("V2 under RequireEncryptRequireDecrypt: %v", err)
	}
	allow, _ := s3crypto.New(cli, kr, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
	if got, _, err := get(ctx, allow, "v2"); err != nil || string(got) != "hello" {
		t.Fatalf("V2 under RequireEncryptAllowDecrypt: %q %v", got, err)
	}
	if _, _, err := get(s3crypto.WithEncryptionContext(ctx, map[string]string{"team": "other"}), allow, "v2"); !errors.Is(err, envelope.ErrContext) {
		t.Fatalf("wrong context: %v", err)
	}
	if got, _, err := get(s3crypto.WithEncryptionContext(ctx, ec), allow, "v2"); err != nil || string(got) != "hello" {
		t.Fatalf("right context: %v", err)
	}
	other, _ := s3ecKMSKeyring(t)
	wrong, _ := s3crypto.New(cli, other, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
	if _, _, err := get(ctx, wrong, "v2"); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("wrong keyring: %v", err)
	}
	// A plain object is not encrypted: neither metadata nor instruction file.
	rawPut(t, cli, "plain", []byte("plain"), nil)
	if _, _, err := get(ctx, allow, "plain"); !errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Fatalf("plain GET: %v", err)
	}
	if _, err := allow.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("plain")}); !errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Fatalf("plain HEAD: %v", err)
	}
}

func TestS3ECInstructionFile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		opts    []s3crypto.Option
		objKeys string
	}{
		{"v3", []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}, "x-amz-c x-amz-d x-amz-i"},
		{"v2", s3ecV2Opts(), ""},
	} {
		rec, c := setup(t, append(tc.opts, s3crypto.WithInstructionFile())...)
		cli := rec.raw()
		pt := randBytes(1000)
		put(t, ctx, c, "obj", bytes.NewReader(pt))
		_, meta := rawObject(t, cli, "obj")
		if s3ecKeysOf(meta) != tc.objKeys {
			t.Fatalf("%s: object keys %q", tc.name, s3ecKeysOf(meta))
		}
		body, imeta := rawObject(t, cli, "obj.instruction")
		if v, ok := imeta["x-amz-crypto-instr-file"]; !ok || v != "" {
			t.Fatalf("%s: instruction metadata %v", tc.name, imeta)
		}
		var j map[string]string
		if err := json.Unmarshal(body, &j); err != nil {
			t.Fatalf("%s: instruction %s: %v", tc.name, body, err)
		}
		for k := range j {
			if _, dup := meta[k]; dup {
				t.Fatalf("%s: %s in both", tc.name, k)
			}
		}
		got, out, err := get(ctx, c, "obj")
		if err != nil || !bytes.Equal(got, pt) || len(out.Metadata) != 0 {
			t.Fatalf("%s: get %v %v", tc.name, err, out)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		if err != nil || aws.ToInt64(h.ContentLength) != 1000 {
			t.Fatalf("%s: head %v", tc.name, err)
		}
		// The instruction file itself is no encrypted object.
		if _, _, err := get(ctx, c, "obj.instruction"); !errors.Is(err, s3crypto.ErrNotEncrypted) {
			t.Fatalf("%s: GET of the instruction file: %v", tc.name, err)
		}
		// Copy moves both, server-side.
		puts := rec.n("PutObject")
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"),
			CopySource: aws.String(bucket + "/obj")}); err != nil {
			t.Fatalf("%s: copy %v", tc.name, err)
		}
		if rec.n("PutObject") != puts {
			t.Fatalf("%s: copy re-uploaded", tc.name)
		}
		if got, _, err := get(ctx, c, "copy"); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: get copy %v", tc.name, err)
		}
		// Delete removes the instruction file too.
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj.instruction")}); err == nil {
			t.Fatalf("%s: instruction file left behind", tc.name)
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("copy")}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy.instruction")}); err == nil {
			t.Fatalf("%s: DeleteObjects left the instruction file", tc.name)
		}
		// A V3 object without its instruction file: a clear error.
		put(t, ctx, c, "lost", bytes.NewReader(pt))
		if _, err := cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("lost.instruction")}); err != nil {
			t.Fatal(err)
		}
		_, _, err = get(ctx, c, "lost")
		if tc.name == "v3" && !errors.Is(err, s3crypto.ErrInstructionFile) {
			t.Fatalf("v3 without instruction file: %v", err)
		}
		if tc.name == "v2" && !errors.Is(err, s3crypto.ErrNotEncrypted) {
			t.Fatalf("v2 without instruction file: %v", err)
		}
	}
}

func TestS3ECCopyAndRewrap(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, srv := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	ec := map[string]string{"a": "1"}
	pt := randBytes(5000)
	if _, err := c.PutObject(s3crypto.WithEncryptionContext(ctx, ec), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("src"),
		Body: bytes.NewReader(pt), Metadata: map[string]string{"keep": "me"}, ContentType: aws.String("text/x")}); err != nil {
		t.Fatal(err)
	}
	ct, _ := rawObject(t, cli, "src")
	// REPLACE keeps the S3EC keys beside the new user metadata.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("dst"), CopySource: aws.String(bucket + "/src"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"new": "x"}}); err != nil {
		t.Fatal(err)
	}
	got, out, err := get(s3crypto.WithEncryptionContext(ctx, ec), c, "dst")
	if err != nil || !bytes.Equal(got, pt) || out.Metadata["new"] != "x" {
		t.Fatalf("copy: %v %v", err, out)
	}
	// Rewrap to another KMS key and context: the body does not change.
	arn2, _ := srv.CreateKey()
	kr2, _ := awskms.NewKeyring(srv.Client(), arn2)
	ec2 := map[string]string{"b": "2"}
	if _, err := c.Rewrap(s3crypto.WithEncryptionContext(ctx, ec), &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("src"),
		Keyring: kr2, EncryptionContext: ec2}); err != nil {
		t.Fatal(err)
	}
	ct2, meta2 := rawObject(t, cli, "src")
	if !bytes.Equal(ct, ct2) || meta2["keep"] != "me" {
		t.Fatalf("rewrap changed the body or lost metadata: %v", meta2)
	}
	if _, _, err := get(ctx, c, "src"); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("old keyring after rewrap: %v", err)
	}
	c2, _ := s3crypto.New(cli, kr2)
	if got, _, err := get(s3crypto.WithEncryptionContext(ctx, ec2), c2, "src"); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("new keyring after rewrap: %v", err)
	}
	h, _ := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("src")})
	if aws.ToString(h.ContentType) != "text/x" {
		t.Fatalf("content type %q", aws.ToString(h.ContentType))
	}
	// Rewrap with a wrong expected context fails and changes nothing.
	if _, err := c2.Rewrap(s3crypto.WithEncryptionContext(ctx, ec), &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("src")}); !errors.Is(err, envelope.ErrContext) {
		t.Fatalf("rewrap, wrong context: %v", err)
	}
	// Envelope objects are not rewrapped.
	env, _ := s3crypto.New(cli, kr)
	put(t, ctx, env, "env", strings.NewReader("x"))
	if _, err := env.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("env")}); !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Fatalf("rewrap envelope: %v", err)
	}
}

// TestS3ECTamperSweep removes and alters each metadata key of stored V2
// and V3 objects: every GET fails and releases no byte.
func TestS3ECTamperSweep(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	ec := map[string]string{"p": "q"}
	ectx := s3crypto.WithEncryptionContext(ctx, ec)
	for _, opts := range [][]s3crypto.Option{{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}, s3ecV2Opts()} {
		c, _ := s3crypto.New(cli, kr, opts...)
		pt := randBytes(3000)
		put(t, ectx, c, "orig", bytes.NewReader(pt))
		ct, meta := rawObject(t, cli, "orig")
		alter := func(v string) []string {
			out := []string{"", "x", v + "A"}
			if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) > 0 {
				b[len(b)/2] ^= 1
				out = append(out, base64.StdEncoding.EncodeToString(b))
			}
			if strings.HasPrefix(v, "{") {
				out = append(out, strings.Replace(v, `"q"`, `"r"`, 1), strings.Replace(v, `"p"`, `"P"`, 1))
			}
			return out
		}
		for k, v := range meta {
			variants := map[string]map[string]string{}
			m := map[string]string{}
			for k2, v2 := range meta {
				if k2 != k {
					m[k2] = v2
				}
			}
			variants["removed"] = m
			for i, nv := range alter(v) {
				m := map[string]string{}
				for k2, v2 := range meta {
					m[k2] = v2
				}
				m[k] = nv
				variants["altered"+string(rune('0'+i))] = m
			}
			for name, m := range variants {
				key := "t/" + k + "/" + name + "/" + s3ecDigit(len(opts)) // a fresh key: gofakes3 merges metadata into an existing one
				rawPut(t, cli, key, ct, m)
				out, err := c.GetObject(ectx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				var n int
				if err == nil {
					var b []byte
					b, err = io.ReadAll(out.Body)
					n = len(b)
					out.Body.Close()
				}
				if err == nil || n != 0 {
					if k == "x-amz-unencrypted-content-length" && name == "removed" {
						continue // optional in V2
					}
					t.Errorf("%d %s %s: err %v, %d bytes", len(opts), k, name, err, n)
				}
			}
		}
	}
}

func s3ecDigit(i int) string { return string(rune('0' + i)) }

// TestS3ECDeclaredLength: a body that does not hold ContentLength bytes
// is refused, so the recorded V2 length cannot lie.
func TestS3ECDeclaredLength(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, s3ecV2Opts()...)
	for _, n := range []int{5, 15} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"),
			Body: onlyReader{bytes.NewReader(make([]byte, n))}, ContentLength: aws.Int64(10)})
		if !errors.Is(err, s3crypto.ErrInvalidRequest) {
			t.Fatalf("%d bytes for ContentLength 10: %v", n, err)
		}
	}
}

// TestS3ECChecksumsDropped: the checksums S3 reports are of the
// ciphertext, so GetObject and HeadObject drop them.
func TestS3ECChecksumsDropped(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	c, _ := s3crypto.New(cli, newKeyring(t), s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("abc"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || h.ChecksumSHA256 != nil || h.ChecksumCRC32 != nil {
		t.Fatalf("head: %v %v", err, h)
	}
	_, out, err := get(ctx, c, "k")
	if err != nil || out.ChecksumSHA256 != nil || out.ChecksumCRC32 != nil {
		t.Fatalf("get: %v", err)
	}
}
