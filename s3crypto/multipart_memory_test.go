package s3crypto_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// discardS3 is an S3 endpoint that accepts multipart uploads and keeps
// nothing, so that the allocations of a test are the client's.
func discardS3(t *testing.T, parts *atomic.Int64) *s3.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		io.Copy(io.Discard, r.Body)
		switch {
		case q.Has("uploads"):
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>`)
		case q.Has("partNumber"):
			parts.Add(1)
			w.Header().Set("ETag", `"e"`)
		case q.Has("uploadId"):
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"e"</ETag></CompleteMultipartUploadResult>`)
		default:
			http.Error(w, "unexpected request", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

// zeros is n zero bytes, of unknown length.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), z.n))
	clear(p[:k])
	z.n -= int64(k)
	return k, nil
}

// A multipart upload holds at most concurrency part buffers, reused from
// part to part (the WithPartSize and WithConcurrency promise): what the
// client allocates for a 64 MiB upload is those buffers, the plaintext it
// reads first to tell a short body of unknown length from a long one,
// and little else, whatever the object size.
func TestPutMultipartMemoryBound(t *testing.T) {
	const (
		size        = 64 << 20
		partSize    = s3crypto.MinPartSize
		concurrency = 2
		// the SDK, HTTP and the envelope writer's batches
		slack = 4 << 20
		// for a body of unknown length, the plaintext PutObject reads
		// first, in buffers doubling up to a part
		probe = 3 * partSize
	)
	for _, known := range []bool{true, false} {
		var parts atomic.Int64
		c, err := s3crypto.New(discardS3(t, &parts), newKeyring(t),
			s3crypto.WithPartSize(partSize), s3crypto.WithConcurrency(concurrency))
		if err != nil {
			t.Fatal(err)
		}
		in := &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: &zeros{size}}
		if known {
			in.ContentLength = aws.Int64(size)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := c.PutObject(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("known length %v: %d parts, %.1f MiB allocated", known, parts.Load(), float64(alloc)/(1<<20))
		if parts.Load() < size/partSize {
			t.Fatalf("%d parts, want at least %d", parts.Load(), size/partSize)
		}
		limit := uint64(concurrency*partSize + slack)
		if !known {
			limit += probe
		}
		if alloc > limit {
			t.Errorf("known length %v: %.1f MiB allocated, want at most %.1f MiB (%d part buffers and slack)",
				known, float64(alloc)/(1<<20), float64(limit)/(1<<20), concurrency)
		}
	}
}
