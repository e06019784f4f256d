package s3crypto_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const bucket = "bucket"

// newS3 starts an in-process S3 server with one bucket and returns a real
// *s3.Client for it.
func newS3(t testing.TB) *s3.Client {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func newKeyring(t testing.TB) keyring.Keyring {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES("test", "s3", key)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// setup returns a recording wrapper around a fresh server's client and an
// s3crypto client over it.
func setup(t testing.TB, opts ...s3crypto.Option) (*recorder, *s3crypto.Client) {
	t.Helper()
	rec := &recorder{API: newS3(t)}
	c, err := s3crypto.New(rec, newKeyring(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rec, c
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// onlyReader hides every method but Read, so the length is unknown.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// recorder wraps an API: it records every request body and the calls
// made, and can fail the nth UploadPart.
type recorder struct {
	s3crypto.API
	mu       sync.Mutex
	bodies   [][]byte
	calls    map[string]int
	failPart int32 // fail UploadPart of this part number
	partErr  error // with this error (errInjected when nil)
	onPart   func(n int32)
	inflight int          // UploadPart calls in progress
	peak     int          // the most at once
	got      atomic.Int64 // bytes read from GetObject bodies
	gets     []s3.GetObjectInput
}

var errInjected = errors.New("injected failure")

func (r *recorder) count(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[op]++
}

func (r *recorder) n(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[op]
}

func (r *recorder) record(body io.Reader) (io.Reader, error) {
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.mu.Unlock()
	return bytes.NewReader(b), nil
}

// sawAny reports whether any of 16 32-byte windows spread over pt was in
// a request body.
func (r *recorder) sawAny(pt []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for off := 0; off+32 <= len(pt); off += max(len(pt)/16, 1) {
		for _, b := range r.bodies {
			if bytes.Contains(b, pt[off:off+32]) {
				return true
			}
		}
	}
	return false
}

func (r *recorder) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	r.count("PutObject")
	body, err := r.record(in.Body)
	if err != nil {
		return nil, err
	}
	cp := *in
	cp.Body = body
	return r.API.PutObject(ctx, &cp, optFns...)
}

func (r *recorder) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	r.count("GetObject")
	r.mu.Lock()
	r.gets = append(r.gets, *in)
	r.mu.Unlock()
	out, err := r.API.GetObject(ctx, in, optFns...)
	if err == nil && out.Body != nil {
		out.Body = &countingBody{ReadCloser: out.Body, n: &r.got}
	}
	return out, err
}

// countingBody adds the bytes read from a GetObject body to n.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (r *recorder) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	r.count("HeadObject")
	return r.API.HeadObject(ctx, in, optFns...)
}

func (r *recorder) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	r.count("UploadPart")
	r.mu.Lock()
	r.inflight++
	r.peak = max(r.peak, r.inflight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inflight--
		r.mu.Unlock()
	}()
	if r.onPart != nil {
		r.onPart(aws.ToInt32(in.PartNumber))
	}
	if r.failPart != 0 && aws.ToInt32(in.PartNumber) == r.failPart {
		if r.partErr != nil {
			return nil, r.partErr
		}
		return nil, errInjected
	}
	body, err := r.record(in.Body)
	if err != nil {
		return nil, err
	}
	cp := *in
	cp.Body = body
	return r.API.UploadPart(ctx, &cp, optFns...)
}

func (r *recorder) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	r.count("CreateMultipartUpload")
	return r.API.CreateMultipartUpload(ctx, in, optFns...)
}

func (r *recorder) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	r.count("CompleteMultipartUpload")
	return r.API.CompleteMultipartUpload(ctx, in, optFns...)
}

func (r *recorder) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	r.count("AbortMultipartUpload")
	return r.API.AbortMultipartUpload(ctx, in, optFns...)
}

// raw returns the plain client under the recorder.
func (r *recorder) raw() *s3.Client { return r.API.(*s3.Client) }

func put(t testing.TB, ctx context.Context, c *s3crypto.Client, key string, body io.Reader) {
	t.Helper()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: body}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// get returns the plaintext of key and the GetObject output.
func get(ctx context.Context, c *s3crypto.Client, key string) ([]byte, *s3.GetObjectOutput, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

// rawObject returns the stored bytes and metadata of key.
func rawObject(t testing.TB, cli *s3.Client, key string) ([]byte, map[string]string) {
	t.Helper()
	out, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out.Metadata
}

func rawPut(t testing.TB, cli *s3.Client, key string, body []byte, meta map[string]string) {
	t.Helper()
	_, err := cli.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// signedMessage encrypts pt with the default, signed suite, bound to key
// as s3crypto binds its objects: an object another envelope encoder wrote.
func signedMessage(t testing.TB, kr keyring.Keyring, key string, pt []byte) []byte {
	t.Helper()
	ec := map[string]string{s3crypto.ContextBucket: bucket, s3crypto.ContextKey: key}
	msg, err := envelope.Encrypt(context.Background(), kr, pt, envelope.WithContext(ec), envelope.WithFrameSize(s3crypto.FrameSize))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// putForeign stores msg under key with only the metadata another encoder
// could write: the format and frame size, no lengths.
func putForeign(t testing.TB, cli *s3.Client, key string, msg []byte) {
	t.Helper()
	rawPut(t, cli, key, msg, map[string]string{
		s3crypto.MetaFormat: "envelope", s3crypto.MetaFrameSize: strconv.Itoa(s3crypto.FrameSize),
	})
}
