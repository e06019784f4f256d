package s3crypto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// s3ecFixture is an object written by the official S3 Encryption Client
// for Go v4 (see testdata/s3ec/README.md).
type s3ecFixture struct {
	Key          string            `json:"key"`
	KMSKeyARN    string            `json:"kms_key_arn"`
	Metadata     map[string]string `json:"metadata"`
	PlaintextLen int               `json:"plaintext_len"`
	DataKey      string            `json:"data_key_base64"`
	body         []byte
}

// fixtureKMS answers Decrypt for the recorded objects only: the blob, the
// encryption context and (when sent) the key id must be the recorded ones.
type fixtureKMS struct {
	awskms.Client
	arn   string
	blob  []byte
	ec    map[string]string
	key   []byte
	calls int
}

func (f *fixtureKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.calls++
	if !bytes.Equal(in.CiphertextBlob, f.blob) || !maps.Equal(in.EncryptionContext, f.ec) ||
		(in.KeyId != nil && *in.KeyId != f.arn) {
		return nil, errors.New("InvalidCiphertextException")
	}
	return &kms.DecryptOutput{KeyId: aws.String(f.arn), Plaintext: bytes.Clone(f.key)}, nil
}

func s3ecPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func loadFixtures(t *testing.T) []s3ecFixture {
	t.Helper()
	files, _ := filepath.Glob("testdata/s3ec/*.json")
	if len(files) < 6 {
		t.Fatalf("%d fixtures", len(files))
	}
	var out []s3ecFixture
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fx s3ecFixture
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatal(err)
		}
		if fx.body, err = os.ReadFile(strings.TrimSuffix(f, ".json") + ".body"); err != nil {
			t.Fatal(err)
		}
		out = append(out, fx)
	}
	return out
}

func (fx s3ecFixture) kms(t *testing.T) *fixtureKMS {
	edk, ecJSON := fx.Metadata["x-amz-3"], fx.Metadata["x-amz-t"]
	if edk == "" {
		edk, ecJSON = fx.Metadata["x-amz-key-v2"], fx.Metadata["x-amz-matdesc"]
	}
	f := &fixtureKMS{arn: fx.KMSKeyARN}
	f.blob, _ = base64.StdEncoding.DecodeString(edk)
	f.key, _ = base64.StdEncoding.DecodeString(fx.DataKey)
	if err := json.Unmarshal([]byte(ecJSON), &f.ec); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestS3ECFixtures reads objects of the official client offline: metadata
// and ciphertext byte for byte as it stored them.
func TestS3ECFixtures(t *testing.T) {
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"project": "demo", "team": "crypto"})
	cli := newS3(t)
	for _, fx := range loadFixtures(t) {
		rawPut(t, cli, fx.Key, fx.body, fx.Metadata)
		fk := fx.kms(t)
		kr, err := awskms.NewKeyring(fk, fx.KMSKeyARN)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := s3crypto.New(cli, kr, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
		got, out, err := get(ctx, c, fx.Key)
		if err != nil || !bytes.Equal(got, s3ecPattern(fx.PlaintextLen)) || aws.ToInt64(out.ContentLength) != int64(fx.PlaintextLen) {
			t.Fatalf("%s: %d bytes, %v", fx.Key, len(got), err)
		}
		if fk.calls != 1 {
			t.Fatalf("%s: %d Decrypt calls", fx.Key, fk.calls)
		}
		disc, _ := awskms.NewDiscoveryKeyring(fk, awskms.WithDiscoveryFilter("aws", "123456789012"))
		dc, _ := s3crypto.New(cli, disc, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
		if got, _, err := get(ctx, dc, fx.Key); err != nil || !bytes.Equal(got, s3ecPattern(fx.PlaintextLen)) {
			t.Fatalf("%s with discovery: %v", fx.Key, err)
		}
		// A flipped ciphertext bit fails, releasing nothing.
		bad := bytes.Clone(fx.body)
		bad[len(bad)/2] ^= 1
		rawPut(t, cli, fx.Key+"-bad", bad, fx.Metadata)
		o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(fx.Key + "-bad")})
		var n int
		if err == nil {
			b, rerr := io.ReadAll(o.Body)
			n, err = len(b), rerr
			o.Body.Close()
		}
		if !errors.Is(err, envelope.ErrAuthentication) || n != 0 {
			t.Fatalf("%s tampered: %v, %d bytes", fx.Key, err, n)
		}
		// The V2 objects are refused under the default policy.
		strict, _ := s3crypto.New(cli, kr)
		_, _, err = get(ctx, strict, fx.Key)
		if _, v2 := fx.Metadata["x-amz-key-v2"]; v2 != errors.Is(err, envelope.ErrPolicy) {
			t.Fatalf("%s under RequireEncryptRequireDecrypt: %v", fx.Key, err)
		}
	}
}

// TestS3ECWritesOfficialMetadata checks that s3crypto writes the keys and
// values the official client writes (less the empty ones of V3).
func TestS3ECWritesOfficialMetadata(t *testing.T) {
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"project": "demo", "team": "crypto"})
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	for _, fx := range loadFixtures(t) {
		if fx.PlaintextLen != 1 {
			continue
		}
		opts := []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3)}
		if _, v2 := fx.Metadata["x-amz-key-v2"]; v2 {
			opts = s3ecV2Opts()
		}
		c, _ := s3crypto.New(cli, kr, opts...)
		put(t, ctx, c, "mine-"+fx.Key, bytes.NewReader([]byte{0}))
		_, meta := rawObject(t, cli, "mine-"+fx.Key)
		for k, v := range fx.Metadata {
			mine, ok := meta[k]
			switch k {
			case "x-amz-m", "x-amz-unencrypted-content-length":
				if v == "" {
					if ok {
						t.Errorf("%s: writes the empty %s", fx.Key, k)
					}
					continue
				}
			}
			if !ok {
				t.Errorf("%s: %s missing", fx.Key, k)
				continue
			}
			switch k {
			case "x-amz-c", "x-amz-w", "x-amz-t", "x-amz-matdesc", "x-amz-cek-alg", "x-amz-wrap-alg", "x-amz-tag-len", "x-amz-unencrypted-content-length":
				if mine != v {
					t.Errorf("%s: %s = %q, official %q", fx.Key, k, mine, v)
				}
			}
		}
		if len(meta) > len(fx.Metadata) {
			t.Errorf("%s: extra keys %v", fx.Key, meta)
		}
	}
}
