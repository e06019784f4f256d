package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// checkAborted checks that the upload was aborted, not completed, and
// that no upload is left on the server.
func checkAborted(t *testing.T, rec *recorder) {
	t.Helper()
	if rec.n("AbortMultipartUpload") != 1 || rec.n("CompleteMultipartUpload") != 0 {
		t.Errorf("calls %v, want one abort and no complete", rec.calls)
	}
	out, err := rec.raw().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left", len(out.Uploads))
	}
}

func TestAbortOnPartFailure(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize), s3crypto.WithConcurrency(2))
	rec.failPart = 3
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), Body: onlyReader{bytes.NewReader(randBytes(20 << 20))},
	})
	if !errors.Is(err, errInjected) {
		t.Fatalf("PutObject: %v, want the part failure", err)
	}
	if errors.Is(err, envelope.ErrTransient) {
		t.Errorf("a permanent failure is marked transient: %v", err)
	}
	checkAborted(t, rec)
}

func TestTransientPartFailure(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	rec.failPart = 2
	rec.partErr = &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}},
		Err:      errors.New("slow down"),
	}
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), Body: onlyReader{bytes.NewReader(randBytes(12 << 20))},
	})
	var re *smithyhttp.ResponseError
	if !errors.Is(err, envelope.ErrTransient) || !errors.As(err, &re) {
		t.Fatalf("PutObject: %v, want ErrTransient with the S3 error kept", err)
	}
	checkAborted(t, rec)
}

func TestAbortOnCancel(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.onPart = func(n int32) {
		if n == 2 {
			cancel()
		}
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), Body: onlyReader{bytes.NewReader(randBytes(20 << 20))},
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, envelope.ErrTransient) {
		t.Fatalf("PutObject: %v, want context.Canceled, transient", err)
	}
	checkAborted(t, rec)
}

type failingReader struct{ n int }

var errBody = errors.New("body failed")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBody
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestAbortOnBodyFailure(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	for _, length := range []*int64{nil, aws.Int64(20 << 20)} {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("obj"), Body: &failingReader{n: 12 << 20}, ContentLength: length,
		})
		if !errors.Is(err, errBody) {
			t.Fatalf("PutObject (ContentLength %v): %v, want the body's error", length, err)
		}
		checkAborted(t, rec)
		rec.calls = nil
	}
}

func TestAbortOnShortBody(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), ContentLength: aws.Int64(6 << 20),
		Body: onlyReader{bytes.NewReader(randBytes(6<<20 - 1))},
	})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Fatalf("a body shorter than ContentLength: %v, want ErrInvalidRequest", err)
	}
	checkAborted(t, rec)
}

func TestAbortOnLongBody(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), ContentLength: aws.Int64(6 << 20),
		Body: onlyReader{bytes.NewReader(randBytes(6<<20 + 1))},
	})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Fatalf("a body longer than ContentLength: %v, want ErrInvalidRequest", err)
	}
	checkAborted(t, rec)
}

func TestTooManyParts(t *testing.T) {
	rec, c := setup(t)
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("obj"), ContentLength: aws.Int64(10000 * s3crypto.DefaultPartSize),
		Body: onlyReader{bytes.NewReader(nil)},
	})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) || rec.n("CreateMultipartUpload") != 0 {
		t.Fatalf("%v (calls %v), want ErrInvalidRequest before any request", err, rec.calls)
	}
}

func TestConcurrencyBound(t *testing.T) {
	for _, n := range []int{1, 3} {
		rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize), s3crypto.WithConcurrency(n))
		rec.onPart = func(int32) { time.Sleep(20 * time.Millisecond) } // let parts overlap
		put(t, context.Background(), c, "obj", onlyReader{bytes.NewReader(randBytes(26 << 20))})
		if rec.peak > n || rec.n("UploadPart") != 6 {
			t.Errorf("concurrency %d: %d parts at once, %d parts", n, rec.peak, rec.n("UploadPart"))
		}
	}
}

func TestNilBody(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	got, out, err := get(ctx, c, "empty")
	if err != nil || len(got) != 0 || aws.ToInt64(out.ContentLength) != 0 {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestRefusedPutInput(t *testing.T) {
	rec, c := setup(t)
	base := func() *s3.PutObjectInput {
		return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Body: bytes.NewReader([]byte("hello"))}
	}
	cases := map[string]func(*s3.PutObjectInput){
		"ContentMD5":        func(in *s3.PutObjectInput) { in.ContentMD5 = aws.String("XUFAKrxLKna5cZ2REBfFkg==") },
		"ChecksumSHA256":    func(in *s3.PutObjectInput) { in.ChecksumSHA256 = aws.String("x") },
		"ChecksumCRC32":     func(in *s3.PutObjectInput) { in.ChecksumCRC32 = aws.String("x") },
		"negative length":   func(in *s3.PutObjectInput) { in.ContentLength = aws.Int64(-1) },
		"longer length":     func(in *s3.PutObjectInput) { in.ContentLength = aws.Int64(6) },
		"shorter length":    func(in *s3.PutObjectInput) { in.ContentLength = aws.Int64(4) },
		"reserved metadata": func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"Cryptkeeper-Format": "x"} },
		"missing key":       func(in *s3.PutObjectInput) { in.Key = nil },
		"write offset":      func(in *s3.PutObjectInput) { in.WriteOffsetBytes = aws.Int64(0) },
	}
	for name, mod := range cases {
		in := base()
		mod(in)
		_, err := c.PutObject(context.Background(), in)
		if !errors.Is(err, s3crypto.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{s3crypto.ContextKey: "other"})
	if _, err := c.PutObject(ctx, base()); !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Errorf("reserved context key: %v, want ErrInvalidRequest", err)
	}
	if n := rec.n("PutObject"); n != 0 {
		t.Errorf("%d refused requests reached S3", n)
	}
}

// TestPlaintextNeverSent scans every request body of single, multipart
// and copy uploads for the plaintext.
func TestPlaintextNeverSent(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	ctx := context.Background()
	small, large := randBytes(100<<10), randBytes(12<<20)
	put(t, ctx, c, "small", bytes.NewReader(small))
	put(t, ctx, c, "large", onlyReader{bytes.NewReader(large)})
	put(t, ctx, c, "known", bytes.NewReader(large))
	for _, src := range []string{"small", "large"} {
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(src + "-copy"), CopySource: aws.String(bucket + "/" + src),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if rec.n("UploadPart") < 6 || rec.n("PutObject") != 2 {
		t.Fatalf("calls %v, want single and multipart uploads", rec.calls)
	}
	if rec.sawAny(small) || rec.sawAny(large) {
		t.Error("plaintext sent to S3")
	}
}

func TestInputsNotModified(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"a": "b"})
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{10, 6 << 20} {
		in := &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("obj"), Body: bytes.NewReader(randBytes(n)),
			Metadata: map[string]string{"color": "blue"}, ContentType: aws.String("text/plain"),
			Expires: &exp, StorageClass: types.StorageClassStandard,
		}
		before := *in
		before.Metadata = maps.Clone(in.Metadata)
		if _, err := c.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, *in) {
			t.Errorf("%d bytes: PutObject modified its input:\n%+v\n%+v", n, before, *in)
		}
	}
	gin := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}
	gbefore := *gin
	out, err := c.GetObject(ctx, gin)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, out.Body)
	out.Body.Close()
	if !reflect.DeepEqual(gbefore, *gin) {
		t.Error("GetObject modified its input")
	}
	cin := &s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/obj"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"x": "y"},
	}
	cbefore := *cin
	cbefore.Metadata = maps.Clone(cin.Metadata)
	if _, err := c.CopyObject(ctx, cin); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cbefore, *cin) {
		t.Error("CopyObject modified its input")
	}
	_ = rec
}

func TestCommitmentPolicy(t *testing.T) {
	rec, strict := setup(t)
	kr := newKeyring(t)
	legacy, err := s3crypto.New(rec, kr, s3crypto.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
	if err != nil {
		t.Fatal(err)
	}
	allow, err := s3crypto.New(rec, kr, s3crypto.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
	if err != nil {
		t.Fatal(err)
	}
	strictSameKey, err := s3crypto.New(rec, kr)
	if err != nil {
		t.Fatal(err)
	}
	_ = strict
	ctx := context.Background()
	put(t, ctx, legacy, "old", bytes.NewReader([]byte("legacy")))
	if _, _, err := get(ctx, strictSameKey, "old"); !errors.Is(err, envelope.ErrPolicy) {
		t.Errorf("default policy read a non-committing object: %v", err)
	}
	if got, _, err := get(ctx, allow, "old"); err != nil || string(got) != "legacy" {
		t.Errorf("RequireEncryptAllowDecrypt: %q, %v", got, err)
	}
}

func TestNewInvalid(t *testing.T) {
	cli := newS3(t)
	kr := newKeyring(t)
	if _, err := s3crypto.New(nil, kr); !errors.Is(err, s3crypto.ErrInvalidOption) {
		t.Errorf("nil client: %v", err)
	}
	if _, err := s3crypto.New(cli, nil); !errors.Is(err, s3crypto.ErrInvalidOption) {
		t.Errorf("nil keyring: %v", err)
	}
	for name, o := range map[string]s3crypto.Option{
		"part size too small": s3crypto.WithPartSize(s3crypto.MinPartSize - 1),
		"part size too large": s3crypto.WithPartSize(s3crypto.MaxPartSize + 1),
		"concurrency 0":       s3crypto.WithConcurrency(0),
		"unknown format":      s3crypto.WithFormat(s3crypto.Format(99)),
		"unknown policy":      s3crypto.WithCommitmentPolicy(envelope.CommitmentPolicy(99)),
	} {
		if _, err := s3crypto.New(cli, kr, o); !errors.Is(err, s3crypto.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatEnvelope), s3crypto.WithCache(nil), nil); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
