package s3crypto_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// BenchmarkS3ECPut measures encrypting an S3EC object of unknown length
// and cutting it into parts (the upload itself is dropped); compare with
// BenchmarkPutObject.
func BenchmarkS3ECPut(b *testing.B) {
	c, err := s3crypto.New(&sink{}, newKeyring(b))
	if err != nil {
		b.Fatal(err)
	}
	pt := randBytes(64 << 20)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		cc, _, _, err := s3crypto.NewS3ECContent(s3crypto.S3ECCommit, make([]byte, 32))
		if err != nil {
			b.Fatal(err)
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}
		if _, err := c.PutS3ECBody(context.Background(), in, onlyReader{bytes.NewReader(pt)}, -1, cc, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkS3ECGet measures reading an S3EC object from memory: read
// whole and opened in memory (1 MiB), or hashed into the temporary file
// and checked and decrypted on the way back (64 MiB, past the 4 MiB read
// whole).
func BenchmarkS3ECGet(b *testing.B) {
	_, c := setup(b)
	for _, size := range []int{1 << 20, 64 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			dk := make([]byte, 32)
			cc, id, com, _ := s3crypto.NewS3ECContent(s3crypto.S3ECCommit, dk)
			ct := sealAll(cc, randBytes(size))
			b.SetBytes(int64(size))
			for b.Loop() {
				cc, err := s3crypto.OpenS3ECContent(s3crypto.S3ECCommit, dk, id, com)
				if err != nil {
					b.Fatal(err)
				}
				raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(ct)), ContentLength: aws.Int64(int64(len(ct)))}
				body, err := c.OpenS3ECBody(context.Background(), raw, cc, int64(size))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, body); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				body.Close()
			}
		})
	}
}

// BenchmarkS3ECRoundTrip puts and gets a 32 MiB S3EC object through the
// in-process S3 server.
func BenchmarkS3ECRoundTrip(b *testing.B) {
	rec, c := setup(b)
	cli := rec.raw()
	pt := randBytes(32 << 20)
	dk := make([]byte, 32)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		cc, id, com, _ := s3crypto.NewS3ECContent(s3crypto.S3ECCommit, dk)
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}
		if _, err := c.PutS3ECBody(context.Background(), in, bytes.NewReader(pt), int64(len(pt)), cc, nil); err != nil {
			b.Fatal(err)
		}
		cc, err := s3crypto.OpenS3ECContent(s3crypto.S3ECCommit, dk, id, com)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		if err != nil {
			b.Fatal(err)
		}
		body, err := c.OpenS3ECBody(context.Background(), raw, cc, int64(len(pt)))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, body); err != nil || n != int64(len(pt)) {
			b.Fatal(n, err)
		}
		body.Close()
	}
}

func byteSize(n int) string { return strconv.Itoa(n>>20) + "MiB" }

// sealAll is the whole object of pt under cc, in one AES-GCM Seal.
func sealAll(cc *s3crypto.S3ECContent, pt []byte) []byte {
	key, iv, aad := cc.Parts()
	return sealGCM(key, iv, aad, pt)
}
