package s3crypto_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// stored is an API whose GetObject serves one stored object from memory.
type stored struct {
	s3crypto.API
	body []byte
	meta map[string]string
}

func (s *stored) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(s.body)), Metadata: s.meta,
		ContentLength: aws.Int64(int64(len(s.body)))}, nil
}

// BenchmarkGetObject measures reading back a 64 MiB envelope object
// served from memory: the client alone.
func BenchmarkGetObject(b *testing.B) {
	kr := newKeyring(b)
	cli := newS3(b)
	w, err := s3crypto.New(cli, kr)
	if err != nil {
		b.Fatal(err)
	}
	pt := randBytes(64 << 20)
	put(b, context.Background(), w, "obj", bytes.NewReader(pt))
	body, meta := rawObject(b, cli, "obj")
	c, err := s3crypto.New(&stored{body: body, meta: meta}, kr)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, out.Body); err != nil || n != int64(len(pt)) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		out.Body.Close()
	}
}
