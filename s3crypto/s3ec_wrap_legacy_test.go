package s3crypto_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

func s3ecCBCEncrypt(key, iv, pt []byte) []byte {
	pad := 16 - len(pt)%16
	p := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(p, p)
	return p
}

// TestS3ECLegacy reads a V1 object wrapped with the legacy kms wrap and a
// V2 CBC object wrapped with AES/GCM, as older official clients wrote
// them: only under ForbidEncryptAllowDecrypt.
func TestS3ECLegacy(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	srv := kmstest.NewServer()
	defer srv.Close()
	arn, _ := srv.CreateKey()
	kmsc := srv.Client()
	dk := randBytes(32)
	iv := randBytes(16)
	pt := []byte("legacy object content")
	enc, err := kmsc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: dk, EncryptionContext: map[string]string{"kms_cmk_id": arn}})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	rawPut(t, cli, "v1", s3ecCBCEncrypt(dk, iv, pt), map[string]string{
		"x-amz-key": b64(enc.CiphertextBlob), "x-amz-iv": b64(iv), "x-amz-matdesc": `{"kms_cmk_id":"` + arn + `"}`,
		"x-amz-unencrypted-content-length": "21",
	})
	kr, _ := awskms.NewKeyring(kmsc, arn)
	legacy, _ := s3crypto.New(cli, kr, s3crypto.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
	if got, out, err := get(ctx, legacy, "v1"); err != nil || !bytes.Equal(got, pt) || aws.ToInt64(out.ContentLength) != 21 {
		t.Fatalf("V1 kms: %q %v", got, err)
	}
	allow, _ := s3crypto.New(cli, kr, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
	if _, _, err := get(ctx, allow, "v1"); !errors.Is(err, envelope.ErrPolicy) {
		t.Fatalf("V1 under RequireEncryptAllowDecrypt: %v", err)
	}

	// V2, CBC content, AES/GCM wrap bound to the CBC algorithm name.
	wrapKey := randBytes(32)
	aesKR, _ := keyring.NewRawAES("ns", "n", wrapKey)
	block, _ := aes.NewCipher(wrapKey)
	aead, _ := cipher.NewGCM(block)
	wiv := randBytes(12)
	edk := aead.Seal(bytes.Clone(wiv), wiv, dk, []byte("AES/CBC/PKCS5Padding"))
	rawPut(t, cli, "v2cbc", s3ecCBCEncrypt(dk, iv, pt), map[string]string{
		"x-amz-key-v2": b64(edk), "x-amz-iv": b64(iv), "x-amz-matdesc": "{}",
		"x-amz-wrap-alg": "AES/GCM", "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
	})
	c, _ := s3crypto.New(cli, aesKR, s3crypto.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
	if got, _, err := get(ctx, c, "v2cbc"); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("V2 CBC: %q %v", got, err)
	}
	strict, _ := s3crypto.New(cli, aesKR)
	if _, _, err := get(ctx, strict, "v2cbc"); !errors.Is(err, envelope.ErrPolicy) {
		t.Fatalf("V2 CBC under the default policy: %v", err)
	}
	if _, err := c.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("v2cbc")}); !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Fatalf("Rewrap of CBC: %v", err)
	}
}

// TestS3ECRSA round-trips objects wrapped with RSA-OAEP-SHA1.
func TestS3ECRSA(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("RSA-OAEP-SHA1 is refused in FIPS 140-3 mode (TestS3ECRSARefusedInFIPS checks the refusal)")
	}
	ctx := context.Background()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.NewRawRSA("ns", "rsa", &priv.PublicKey, priv, keyring.OAEPSHA1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{API: newS3(t)}
	c, _ := s3crypto.New(rec, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	put(t, ctx, c, "rsa", strings.NewReader("rsa wrapped"))
	_, meta := rawObject(t, rec.raw(), "rsa")
	if meta["x-amz-w"] != "22" {
		t.Fatalf("x-amz-w %q", meta["x-amz-w"])
	}
	edk, _ := base64.StdEncoding.DecodeString(meta["x-amz-3"])
	pseudo, err := rsa.DecryptOAEP(sha1.New(), nil, priv, edk, nil)
	if err != nil || len(pseudo) != 1+32+3 || string(pseudo[33:]) != "115" {
		t.Fatalf("pseudo data key: %v", err)
	}
	if got, _, err := get(ctx, c, "rsa"); err != nil || string(got) != "rsa wrapped" {
		t.Fatalf("get: %q %v", got, err)
	}
}

// TestS3ECRangeOptIn: ranges of S3EC objects need the opt-in.
func TestS3ECRangeOptIn(t *testing.T) {
	ctx := context.Background()
	kr := newKeyring(t)
	rec := &recorder{API: newS3(t)}
	c, _ := s3crypto.New(rec, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	pt := randBytes(10000)
	put(t, ctx, c, "r", bytes.NewReader(pt))
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("r"), Range: aws.String("bytes=100-199")}
	if _, err := c.GetObject(ctx, in); !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Fatalf("range without the opt-in: %v", err)
	}
	opt, _ := s3crypto.New(rec, kr, s3crypto.WithUnauthenticatedS3ECRanges())
	out, err := opt.GetObject(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil || !bytes.Equal(got, pt[100:200]) || len(out.Metadata) != 0 {
		t.Fatalf("range: %d bytes, %v, %v", len(got), err, out.Metadata)
	}
}

// TestS3ECRSARefusedInFIPS: the keyring of the RSA-OAEP-SHA1 wrap cannot be
// made in FIPS 140-3 mode (keyring.ErrNotApproved), so no S3EC object is
// wrapped or unwrapped with SHA-1 there; outside it, it can.
func TestS3ECRSARefusedInFIPS(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, err = keyring.NewRawRSA("ns", "rsa", &priv.PublicKey, priv, keyring.OAEPSHA1)
	if fips140.Enabled() {
		if !errors.Is(err, keyring.ErrNotApproved) {
			t.Fatalf("OAEP-SHA1 keyring in FIPS mode: %v", err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
}
