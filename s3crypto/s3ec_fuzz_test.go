package s3crypto

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// fuzzKey is the data key of FuzzS3ECBody's objects.
var fuzzKey = bytes.Repeat([]byte{7}, 32)

// FuzzS3ECBody reads hostile object bodies through the GCM and CBC
// readers, with or without a stated length: they must not panic, and
// what they release must be the plaintext the body is an encryption of.
func FuzzS3ECBody(f *testing.F) {
	iv := bytes.Repeat([]byte{3}, 16)
	block, _ := aes.NewCipher(fuzzKey)
	aead, _ := cipher.NewGCM(block)
	for _, n := range []int{0, 1, 16, 40} {
		pt := bytes.Repeat([]byte{'p'}, n)
		f.Add(aead.Seal(nil, iv[:12], pt, nil), int64(n), false, true)
		f.Add(cbcSeal(pt, iv), int64(n), true, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, plainLen int64, cbc, known bool) {
		suite, n := s3ecGCM, 12
		if cbc {
			suite, n = s3ecCBC, 16
		}
		cc, err := openS3ECContent(suite, fuzzKey, iv[:n], nil)
		if err != nil {
			t.Fatal(err)
		}
		raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(data))}
		if known {
			raw.ContentLength = aws.Int64(int64(len(data)))
		}
		body, err := (&Client{}).openS3ECBody(context.Background(), raw, cc, plainLen)
		if err != nil {
			return
		}
		defer body.Close()
		pt, err := io.ReadAll(body)
		if cbc {
			if err == nil && !bytes.Equal(cbcSeal(pt, iv), data) {
				t.Fatal("CBC plaintext is not what the body encrypts")
			}
			return
		}
		if len(pt) != 0 && err != nil {
			t.Fatalf("%d bytes released before failing: %v", len(pt), err)
		}
		if err == nil && !bytes.Equal(aead.Seal(nil, iv[:12], pt, nil), data) {
			t.Fatal("GCM plaintext is not what the body encrypts")
		}
	})
}

func cbcSeal(pt, iv []byte) []byte {
	pad := 16 - len(pt)%16
	buf := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(fuzzKey)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}
