package s3crypto_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// sink is an API that drains and drops every body, so a benchmark
// measures the client alone.
type sink struct {
	s3crypto.API
	mu    sync.Mutex
	parts int
}

func (s *sink) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	io.Copy(io.Discard, in.Body)
	return &s3.PutObjectOutput{ETag: aws.String("x")}, nil
}

func (s *sink) CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String("u")}, nil
}

func (s *sink) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	io.Copy(io.Discard, in.Body)
	s.mu.Lock()
	s.parts++
	s.mu.Unlock()
	return &s3.UploadPartOutput{ETag: aws.String("e" + strconv.Itoa(int(aws.ToInt32(in.PartNumber))))}, nil
}

func (s *sink) CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	return &s3.CompleteMultipartUploadOutput{ETag: aws.String("x")}, nil
}

// BenchmarkPutObject measures encrypting and cutting into parts a body
// of unknown length (the upload itself is dropped).
func BenchmarkPutObject(b *testing.B) {
	c, err := s3crypto.New(&sink{}, newKeyring(b))
	if err != nil {
		b.Fatal(err)
	}
	pt := randBytes(64 << 20)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("obj"), Body: onlyReader{bytes.NewReader(pt)},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
