package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// limitWriter takes n bytes and then fails.
type limitWriter struct {
	buf bytes.Buffer
	n   int
	err error
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.buf.Write(p[:k])
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return w.buf.Write(p)
}

// TestGetWriteTo reads envelope objects through the body's WriteTo (what
// io.Copy uses): the whole plaintext, a tampered frame stopping the copy
// at the frame before it, and a failing writer's own error.
func TestGetWriteTo(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	pt := randBytes(1<<20 + 123)
	put(t, ctx, c, "obj", bytes.NewReader(pt))
	getBody := func() io.ReadCloser {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.Body.(io.WriterTo); !ok {
			t.Fatal("the body is not an io.WriterTo")
		}
		return out.Body
	}

	body := getBody()
	var got bytes.Buffer
	n, err := io.Copy(&got, body)
	if err != nil || n != int64(len(pt)) || !bytes.Equal(got.Bytes(), pt) {
		t.Fatalf("io.Copy: %d bytes, %v; plaintext equal: %v", n, err, bytes.Equal(got.Bytes(), pt))
	}
	if n, err := body.(io.WriterTo).WriteTo(&got); n != 0 || err != nil {
		t.Errorf("WriteTo after the end: %d, %v", n, err)
	}
	if k, err := body.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		t.Errorf("Read after the end: %d, %v", k, err)
	}
	body.Close()

	// A writer failing half way: its error comes back as it is.
	errFull := errors.New("disk full")
	body = getBody()
	w := &limitWriter{n: 300 << 10, err: errFull}
	n, err = io.Copy(w, body)
	if !errors.Is(err, errFull) || n != 300<<10 || !bytes.Equal(w.buf.Bytes(), pt[:n]) {
		t.Errorf("failing writer: %d bytes, %v", n, err)
	}
	body.Close()

	// A tampered frame: nothing of it or after it is written.
	raw, meta := rawObject(t, rec.raw(), "obj")
	hlen, err := strconv.Atoi(meta[s3crypto.MetaHeaderLength])
	if err != nil {
		t.Fatal(err)
	}
	const frameLen = 4 + 12 + s3crypto.FrameSize + 16
	const bad = 7
	raw[hlen+(bad-1)*frameLen+4+12+9] ^= 0x80
	rawPut(t, rec.raw(), "obj", raw, meta)
	body = getBody()
	defer body.Close()
	got.Reset()
	n, err = io.Copy(&got, body)
	var e *s3crypto.Error
	if !errors.Is(err, envelope.ErrAuthentication) || !errors.As(err, &e) || e.Key != "obj" {
		t.Fatalf("tampered frame: %v, want ErrAuthentication naming the object", err)
	}
	if n > (bad-1)*s3crypto.FrameSize || !bytes.Equal(got.Bytes(), pt[:n]) {
		t.Errorf("tampered frame: wrote %d bytes, at most %d of the plaintext expected", n, (bad-1)*s3crypto.FrameSize)
	}
	if _, err := body.(io.WriterTo).WriteTo(&got); !errors.Is(err, envelope.ErrAuthentication) {
		t.Errorf("WriteTo after the failure: %v, want the same error", err)
	}
}
