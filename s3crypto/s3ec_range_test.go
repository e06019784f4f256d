package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// TestS3ECRange checks ranged reads of S3EC objects: refused without the
// opt-in, and with it exactly the requested plaintext, fetched alone,
// conditional on the ETag; S3's answers for ranges out of bounds.
func TestS3ECRange(t *testing.T) {
	ctx := context.Background()
	rec, c := setup(t)
	n := 100000
	o := s3ecPut(t, c, s3crypto.S3ECCommit, "obj", randBytes(n), nil, int64(n))
	objLen := int64(len(o.want))
	head, err := rec.raw().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	in := func(r string) *s3.GetObjectInput {
		return &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Range: aws.String(r)}
	}

	_, err = c.GetS3ECRange(ctx, in("bytes=0-9"), o.open(t), objLen, head.ETag)
	if !errors.Is(err, s3crypto.ErrUnsupported) || !strings.Contains(err.Error(), "WithUnauthenticatedS3ECRanges") {
		t.Fatalf("without the opt-in: %v", err)
	}
	if rec.n("GetObject") != 0 {
		t.Fatal("a refused range was fetched")
	}

	rec, c = setup(t, s3crypto.WithUnauthenticatedS3ECRanges())
	for _, suite := range []s3crypto.S3ECSuite{s3crypto.S3ECCommit, s3crypto.S3ECGCM} {
		o := s3ecPut(t, c, suite, "obj", randBytes(n), nil, int64(n))
		head, err := rec.raw().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			r           string
			first, last int
		}{
			{"bytes=0-0", 0, 0}, {"bytes=0-15", 0, 15}, {"bytes=1-16", 1, 16}, {"bytes=17-4113", 17, 4113},
			{"bytes=99990-", 99990, n - 1}, {"bytes=5-999999", 5, n - 1}, {"bytes=-7", n - 7, n - 1},
			{"bytes=-200000", 0, n - 1}, {"bytes=0-", 0, n - 1}, {fmt.Sprintf("bytes=%d-%d", n-1, n-1), n - 1, n - 1},
		} {
			before, gets := rec.got.Load(), len(rec.gets)
			out, err := c.GetS3ECRange(ctx, in(tc.r), o.open(t), int64(len(o.want)), head.ETag)
			if err != nil {
				t.Fatalf("%s: %v", tc.r, err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, o.pt[tc.first:tc.last+1]) {
				t.Fatalf("%s: %d bytes, err %v", tc.r, len(got), err)
			}
			want := int64(tc.last - tc.first + 1)
			if aws.ToInt64(out.ContentLength) != want || aws.ToString(out.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", tc.first, tc.last, n) {
				t.Fatalf("%s: ContentLength %d, ContentRange %s", tc.r, aws.ToInt64(out.ContentLength), aws.ToString(out.ContentRange))
			}
			if fetched := rec.got.Load() - before; fetched != want {
				t.Fatalf("%s: fetched %d bytes for %d", tc.r, fetched, want)
			}
			if len(rec.gets) != gets+1 || aws.ToString(rec.gets[gets].IfMatch) != aws.ToString(head.ETag) {
				t.Fatalf("%s: not one GET conditional on the ETag", tc.r)
			}
			if out.Metadata["user"] != "kept" || out.Metadata["x-amz-c"] != "" {
				t.Fatalf("%s: metadata %v", tc.r, out.Metadata)
			}
		}
		for _, r := range []string{fmt.Sprintf("bytes=%d-", n), "bytes=-0", fmt.Sprintf("bytes=%d-%d", n+5, n+9)} {
			if _, err := c.GetS3ECRange(ctx, in(r), o.open(t), int64(len(o.want)), head.ETag); !errors.Is(err, s3crypto.ErrInvalidRange) {
				t.Fatalf("%s: %v", r, err)
			}
		}
		for _, r := range []string{"bytes=5-1", "bytes=a-", "items=0-1", "bytes=0-1,3-4"} {
			if _, err := c.GetS3ECRange(ctx, in(r), o.open(t), int64(len(o.want)), head.ETag); !errors.Is(err, s3crypto.ErrInvalidRequest) {
				t.Fatalf("%s: %v", r, err)
			}
		}
	}

	// An empty object has no range; a body shorter than the range fails.
	o = s3ecPut(t, c, s3crypto.S3ECCommit, "empty", nil, nil, 0)
	if _, err := c.GetS3ECRange(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("empty"), Range: aws.String("bytes=0-")}, o.open(t), 16, nil); !errors.Is(err, s3crypto.ErrInvalidRange) {
		t.Fatalf("range of an empty object: %v", err)
	}
	o = s3ecPut(t, c, s3crypto.S3ECCommit, "obj", randBytes(100), nil, 100)
	if _, err := c.GetS3ECRange(ctx, in("bytes=90-"), o.open(t), 100+16+50, nil); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("object shorter than stated: %v", err)
	}
}

// shortAPI answers every GetObject with a body shorter than its
// Content-Length says.
type shortAPI struct{ s3crypto.API }

func (shortAPI) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(make([]byte, 50))), ContentLength: aws.Int64(200)}, nil
}

// TestS3ECRangeBodyErrors checks that a range body cut short fails with
// an *s3crypto.Error naming the object, matching envelope.ErrFormat, and
// that a read after Close fails with envelope.ErrClosed.
func TestS3ECRangeBodyErrors(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, s3crypto.WithUnauthenticatedS3ECRanges())
	o := s3ecPut(t, c, s3crypto.S3ECGCM, "obj", randBytes(1000), nil, 1000)
	short, err := s3crypto.New(shortAPI{}, newKeyring(t), s3crypto.WithUnauthenticatedS3ECRanges())
	if err != nil {
		t.Fatal(err)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Range: aws.String("bytes=400-599")}
	out, err := short.GetS3ECRange(ctx, in, o.open(t), int64(len(o.want)), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	var e *s3crypto.Error
	if !errors.As(err, &e) || e.Key != "obj" || e.Op != "GetObject" || !errors.Is(err, envelope.ErrFormat) || len(got) != 50 {
		t.Fatalf("%d bytes, err %v", len(got), err)
	}
	if _, err2 := out.Body.Read(make([]byte, 1)); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	out, err = short.GetS3ECRange(ctx, in, o.open(t), int64(len(o.want)), nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if _, err := out.Body.Read(make([]byte, 1)); !errors.Is(err, envelope.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}
