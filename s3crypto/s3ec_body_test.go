package s3crypto_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// s3ecObject is what the tests keep of an S3EC object they stored: enough
// to open it again as a reader with the metadata would.
type s3ecObject struct {
	suite      s3crypto.S3ECSuite
	dataKey    []byte
	iv         []byte // or message ID
	commitment []byte
	pt         []byte
	want       []byte // crypto/cipher's AES-GCM Seal of pt
}

// s3ecPut stores pt under key through putS3ECBody, reading it from body
// (pt itself when nil) with the declared length plainLen.
func s3ecPut(t *testing.T, c *s3crypto.Client, suite s3crypto.S3ECSuite, key string, pt []byte, body io.Reader, plainLen int64) *s3ecObject {
	t.Helper()
	o := &s3ecObject{suite: suite, dataKey: randBytes(32), pt: pt}
	cc, iv, commitment, err := s3crypto.NewS3ECContent(suite, o.dataKey)
	if err != nil {
		t.Fatal(err)
	}
	o.iv, o.commitment = iv, commitment
	k, nonce, aad := cc.Parts()
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCM(block)
	o.want = aead.Seal(nil, nonce, pt, aad)
	if body == nil {
		body = bytes.NewReader(pt)
	}
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/plain")}
	meta := map[string]string{"x-amz-c": "115", "user": "kept"}
	if _, err := c.PutS3ECBody(context.Background(), in, body, plainLen, cc, meta); err != nil {
		t.Fatalf("putS3ECBody %s: %v", key, err)
	}
	return o
}

// open returns a fresh content cipher for o, as the metadata gives it.
func (o *s3ecObject) open(t testing.TB) *s3crypto.S3ECContent {
	t.Helper()
	cc, err := s3crypto.OpenS3ECContent(o.suite, o.dataKey, o.iv, o.commitment)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// s3ecGet GETs key with the plain client and reads it through
// openS3ECBody. It returns the bytes released before the error.
func s3ecGet(t testing.TB, cli *s3.Client, c *s3crypto.Client, key string, cc *s3crypto.S3ECContent, plainLen int64) ([]byte, error) {
	t.Helper()
	raw, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return readS3EC(c, raw, cc, plainLen)
}

func readS3EC(c *s3crypto.Client, raw *s3.GetObjectOutput, cc *s3crypto.S3ECContent, plainLen int64) ([]byte, error) {
	body, err := c.OpenS3ECBody(context.Background(), raw, cc, plainLen)
	if err != nil {
		raw.Body.Close()
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// TestS3ECRoundTrip stores objects of several sizes, known and unknown
// length, through one PutObject or a multipart upload, and checks that
// the stored bytes are crypto/cipher's AES-GCM of the whole plaintext
// (the format is one GCM message), that no request carried plaintext,
// that every part but the last is a whole part, and that they read back.
func TestS3ECRoundTrip(t *testing.T) {
	const part = 5 << 20
	cases := []struct {
		name    string
		n       int
		unknown bool // no declared length, a non-seekable body
		parts   int  // 0: one PutObject
	}{
		{"empty", 0, false, 0},
		{"one", 1, false, 0},
		{"block", 16, false, 0},
		{"part-1", part - 1, false, 0},
		{"part", part, true, 0},
		{"part+1", part + 1, false, 2},
		{"part+1-unknown", part + 1, true, 2},
		{"2part-16", 2*part - 16, false, 2}, // the tag fills the last part exactly
		{"2part-15", 2*part - 15, true, 3},  // one byte of the tag in the third part
		{"empty-unknown", 0, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, suite := range []s3crypto.S3ECSuite{s3crypto.S3ECCommit, s3crypto.S3ECGCM} {
				rec, c := setup(t, s3crypto.WithPartSize(part), s3crypto.WithConcurrency(2))
				pt := randBytes(tc.n)
				var body io.Reader
				plainLen := int64(tc.n)
				if tc.unknown {
					body, plainLen = onlyReader{bytes.NewReader(pt)}, -1
				}
				o := s3ecPut(t, c, suite, "obj", pt, body, plainLen)
				stored, meta := rawObject(t, rec.raw(), "obj")
				if !bytes.Equal(stored, o.want) {
					t.Fatalf("suite %#x: stored object (%d bytes) is not AES-GCM of the plaintext (%d bytes)", suite, len(stored), len(o.want))
				}
				if meta["user"] != "kept" || meta["x-amz-c"] != "115" {
					t.Fatalf("metadata %v", meta)
				}
				if tc.n >= 32 && rec.sawAny(pt) {
					t.Fatal("plaintext was sent")
				}
				if got := rec.n("UploadPart"); got != tc.parts {
					t.Fatalf("%d parts, want %d", got, tc.parts)
				}
				if tc.parts == 0 && rec.n("PutObject") != 1 {
					t.Fatalf("%d PutObject requests", rec.n("PutObject"))
				}
				if tc.parts > 0 {
					short := 0
					for _, b := range rec.bodies {
						if len(b) < part {
							short++
						}
					}
					if short > 1 {
						t.Fatalf("%d parts shorter than the part size", short)
					}
				}
				got, err := s3ecGet(t, rec.raw(), c, "obj", o.open(t), int64(tc.n))
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("read back %d bytes, err %v", len(got), err)
				}
				got, err = s3ecGet(t, rec.raw(), c, "obj", o.open(t), -1)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("read back without a length: %d bytes, err %v", len(got), err)
				}
			}
		})
	}
}

// TestS3ECPutLengthMismatch checks that a body longer or shorter than the
// declared length fails, with the multipart upload aborted.
func TestS3ECPutLengthMismatch(t *testing.T) {
	const part = 5 << 20
	for _, tc := range []struct{ declared, n int }{{10, 5}, {5, 10}, {part + 10, part + 5}, {part + 5, 2*part + 10}} {
		rec, c := setup(t, s3crypto.WithPartSize(part))
		cc, _, _, err := s3crypto.NewS3ECContent(s3crypto.S3ECCommit, randBytes(32))
		if err != nil {
			t.Fatal(err)
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}
		_, err = c.PutS3ECBody(context.Background(), in, onlyReader{bytes.NewReader(randBytes(tc.n))}, int64(tc.declared), cc, nil)
		if !errors.Is(err, s3crypto.ErrInvalidRequest) {
			t.Fatalf("declared %d, body %d: %v", tc.declared, tc.n, err)
		}
		if tc.declared > part && (rec.n("AbortMultipartUpload") != 1 || rec.n("CompleteMultipartUpload") != 0) {
			t.Fatalf("declared %d, body %d: upload not aborted", tc.declared, tc.n)
		}
		if _, err := rec.raw().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}); err == nil {
			t.Fatal("an object was stored")
		}
	}
}

// TestS3ECPutPartFailure checks that a failing part aborts the upload.
func TestS3ECPutPartFailure(t *testing.T) {
	rec, c := setup(t, s3crypto.WithPartSize(5<<20))
	rec.failPart = 2
	cc, _, _, _ := s3crypto.NewS3ECContent(s3crypto.S3ECGCM, randBytes(32))
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")}
	_, err := c.PutS3ECBody(context.Background(), in, bytes.NewReader(randBytes(11<<20)), 11<<20, cc, nil)
	if !errors.Is(err, errInjected) || rec.n("AbortMultipartUpload") != 1 {
		t.Fatalf("err %v, %d aborts", err, rec.n("AbortMultipartUpload"))
	}
}

// tamper stores body under key with the metadata of a plain object.
func tamper(t *testing.T, rec *recorder, key string, body []byte) {
	t.Helper()
	rawPut(t, rec.raw(), key, body, map[string]string{"x-amz-c": "115"})
}

// TestS3ECTamper flips bits across the content and the tag, truncates
// and extends the object, and checks that every read fails with
// envelope.ErrAuthentication or envelope.ErrFormat and releases nothing,
// in memory and through the spool file.
func TestS3ECTamper(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spooled=%v", spooled), func(t *testing.T) {
			if spooled {
				defer s3crypto.SetS3ECSpoolMemory(64 << 10)()
			}
			rec, c := setup(t)
			n := 300 << 10
			o := s3ecPut(t, c, s3crypto.S3ECCommit, "obj", randBytes(n), nil, int64(n))
			stored := o.want
			for _, pos := range []int{0, 1, 15, 16, 64 << 10, n / 2, n - 1, n, n + 7, n + 15} {
				bad := bytes.Clone(stored)
				bad[pos] ^= 0x80
				tamper(t, rec, "bad", bad)
				for _, plainLen := range []int64{int64(n), -1} {
					got, err := s3ecGet(t, rec.raw(), c, "bad", o.open(t), plainLen)
					if !errors.Is(err, envelope.ErrAuthentication) || len(got) != 0 {
						t.Fatalf("flipped byte %d: %d bytes released, err %v", pos, len(got), err)
					}
				}
			}
			for _, bad := range [][]byte{stored[:len(stored)-1], stored[:n], stored[:10], nil, append(bytes.Clone(stored), 0), append(bytes.Clone(stored), stored...)} {
				tamper(t, rec, "bad", bad)
				for _, plainLen := range []int64{int64(n), -1} {
					got, err := s3ecGet(t, rec.raw(), c, "bad", o.open(t), plainLen)
					if !(errors.Is(err, envelope.ErrAuthentication) || errors.Is(err, envelope.ErrFormat)) || len(got) != 0 {
						t.Fatalf("object of %d bytes, length %d: %d bytes released, err %v", len(bad), plainLen, len(got), err)
					}
				}
			}
			// A lying Content-Length is caught too: the body is cut short
			// or runs on past it.
			for _, bad := range [][]byte{stored[:len(stored)-20], append(bytes.Clone(stored), 1, 2, 3)} {
				raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(bad)), ContentLength: aws.Int64(int64(len(stored)))}
				got, err := readS3EC(c, raw, o.open(t), -1)
				if !(errors.Is(err, envelope.ErrAuthentication) || errors.Is(err, envelope.ErrFormat)) || len(got) != 0 {
					t.Fatalf("body of %d bytes under Content-Length %d: %d bytes released, err %v", len(bad), len(stored), len(got), err)
				}
			}
			// Another data key fails the commitment before anything is read.
			if _, err := s3crypto.OpenS3ECContent(s3crypto.S3ECCommit, randBytes(32), o.iv, o.commitment); !errors.Is(err, envelope.ErrAuthentication) {
				t.Fatalf("wrong data key: %v", err)
			}
		})
	}
}

// readCounter counts what was read from it.
type readCounter struct {
	r io.Reader
	n int
}

func (c *readCounter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += k
	return k, err
}

// TestS3ECSpool checks that a body larger than the memory bound is kept
// in a temporary file that holds the stored ciphertext and no plaintext,
// that nothing is released before the whole object was read,
// and that the file is gone at the end, on Close and on failure.
func TestS3ECSpool(t *testing.T) {
	defer s3crypto.SetS3ECSpoolMemory(64 << 10)()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	rec, c := setup(t)
	n := 1<<20 + 3
	o := s3ecPut(t, c, s3crypto.S3ECCommit, "obj", randBytes(n), nil, int64(n))

	src := &readCounter{r: bytes.NewReader(o.want)}
	raw := &s3.GetObjectOutput{Body: io.NopCloser(src), ContentLength: aws.Int64(int64(len(o.want)))}
	body, err := c.OpenS3ECBody(context.Background(), raw, o.open(t), int64(n))
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 100)
	if k, err := io.ReadFull(body, first); err != nil || k != 100 {
		t.Fatal(err)
	}
	if src.n != len(o.want) {
		t.Fatalf("released plaintext after reading %d of %d bytes", src.n, len(o.want))
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("%d files in the spool directory, want 1", len(files))
	}
	disk, err := os.ReadFile(dir + "/" + files[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	// The file holds the content as stored (ciphertext under the content
	// key; all of it, as its length is known to exceed the memory bound),
	// and no plaintext.
	if !bytes.Equal(disk, o.want[:n]) {
		t.Fatalf("spool file of %d bytes is not the stored content", len(disk))
	}
	for off := 0; off+32 <= n; off += 50 << 10 {
		if bytes.Contains(disk, o.pt[off:off+32]) {
			t.Fatalf("plaintext at offset %d of the object is in the spool file", off)
		}
	}
	rest, err := io.ReadAll(body)
	if err != nil || !bytes.Equal(append(first, rest...), o.pt) {
		t.Fatalf("read %d bytes, err %v", 100+len(rest), err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatal("the spool file outlived the end of the body")
	}
	body.Close()

	// Close in the middle, and a failure, remove it too.
	body, err = c.OpenS3ECBody(context.Background(), &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.want))}, o.open(t), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := body.Read(first); err != nil {
		t.Fatal(err)
	}
	body.Close()
	if _, err := body.Read(first); !errors.Is(err, envelope.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	bad := bytes.Clone(o.want)
	bad[len(bad)-1] ^= 1
	tamper(t, rec, "bad", bad)
	if got, err := s3ecGet(t, rec.raw(), c, "bad", o.open(t), int64(n)); err == nil || len(got) != 0 {
		t.Fatal("tampered object read")
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("%d spool files left", len(files))
	}
}

// TestS3ECReadContext checks that an ended context stops the read, as
// ErrTransient.
func TestS3ECReadContext(t *testing.T) {
	_, c := setup(t)
	o := &s3ecObject{suite: s3crypto.S3ECGCM, dataKey: randBytes(32)}
	_, iv, _, _ := s3crypto.NewS3ECContent(o.suite, o.dataKey)
	o.iv = iv
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(make([]byte, 100)))}
	body, err := c.OpenS3ECBody(ctx, raw, o.open(t), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(body); !errors.Is(err, context.Canceled) || !errors.Is(err, envelope.ErrTransient) {
		t.Fatalf("err %v", err)
	}
}

func sealGCM(key, iv, aad, pt []byte) []byte {
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return aead.Seal(nil, iv, pt, aad)
}

// TestS3ECGetErrorNamesObject checks that a tampered S3EC object fails
// through GetObject's body (Read and WriteTo, in memory and spooled) with
// an *s3crypto.Error naming the bucket and key, as envelope objects do.
func TestS3ECGetErrorNamesObject(t *testing.T) {
	defer s3crypto.SetS3ECSpoolMemory(64 << 10)()
	t.Setenv("TMPDIR", t.TempDir())
	rec, c := setup(t, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	ctx := context.Background()
	for _, n := range []int{1000, 300 << 10} {
		put(t, ctx, c, "obj", bytes.NewReader(randBytes(n)))
		stored, meta := rawObject(t, rec.raw(), "obj")
		stored[n/2] ^= 1
		rawPut(t, rec.raw(), "obj", stored, meta)
		for _, writeTo := range []bool{false, true} {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
			if err != nil {
				t.Fatal(err)
			}
			if writeTo {
				_, err = out.Body.(io.WriterTo).WriteTo(io.Discard)
			} else {
				_, err = io.ReadAll(out.Body)
			}
			out.Body.Close()
			var e *s3crypto.Error
			if !errors.Is(err, envelope.ErrAuthentication) || !errors.As(err, &e) || e.Op != "GetObject" || e.Bucket != bucket || e.Key != "obj" {
				t.Errorf("%d bytes, WriteTo %v: %v, want ErrAuthentication naming the object", n, writeTo, err)
			}
		}
	}
}
