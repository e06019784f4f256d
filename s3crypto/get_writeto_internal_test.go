package s3crypto

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// lengthMessage returns a raw AES keyring, n random bytes and their
// envelope message in FrameSize frames.
func lengthMessage(t *testing.T, n int) (keyring.Keyring, []byte, []byte) {
	t.Helper()
	kr, _ := rawAES(t)
	pt := make([]byte, n)
	rand.Read(pt)
	msg, err := envelope.Encrypt(context.Background(), kr, pt, envelope.WithFrameSize(FrameSize))
	if err != nil {
		t.Fatal(err)
	}
	return kr, pt, msg
}

// TestPlainBodyWriteToLength checks that WriteTo holds the plaintext to
// the length the metadata states, as Read does: nothing past it is
// written, and a shorter message fails at its end.
func TestPlainBodyWriteToLength(t *testing.T) {
	kr, pt, msg := lengthMessage(t, 200_000)
	ctx := context.Background()
	for _, tc := range []struct {
		want    int64
		written int64
	}{
		{want: 100, written: 100},
		{want: FrameSize + 1, written: FrameSize + 1},
		{want: 200_001, written: 200_000},
		{want: 300_000, written: 200_000},
	} {
		r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr)
		if err != nil {
			t.Fatal(err)
		}
		b := &plainBody{r: r, raw: io.NopCloser(nil), want: tc.want, bucket: "b", key: "k"}
		var out bytes.Buffer
		n, err := b.WriteTo(&out)
		if !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("want %d: %v, want ErrFormat", tc.want, err)
		}
		if n != tc.written || int64(out.Len()) != n || !bytes.Equal(out.Bytes(), pt[:n]) {
			t.Errorf("want %d: wrote %d bytes (%d in the buffer), want %d", tc.want, n, out.Len(), tc.written)
		}
		if k, rerr := b.Read(make([]byte, 10)); k != 0 || !errors.Is(rerr, envelope.ErrFormat) {
			t.Errorf("want %d: Read after WriteTo failed: %d, %v", tc.want, k, rerr)
		}
		r.Close()
	}
}

// TestPlainBodyReadLength checks that Read, like WriteTo, releases no byte
// past the length the metadata states, however large the caller's buffer.
func TestPlainBodyReadLength(t *testing.T) {
	kr, pt, msg := lengthMessage(t, 200_000)
	ctx := context.Background()
	for _, want := range []int64{0, 100, FrameSize + 1, 199_999} {
		r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr)
		if err != nil {
			t.Fatal(err)
		}
		b := &plainBody{r: r, raw: io.NopCloser(nil), want: want, bucket: "b", key: "k"}
		var got []byte
		buf := make([]byte, 1<<20)
		for {
			n, err := b.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if !errors.Is(err, envelope.ErrFormat) {
					t.Errorf("want %d: %v, want ErrFormat", want, err)
				}
				break
			}
		}
		if int64(len(got)) != want || !bytes.Equal(got, pt[:want]) {
			t.Errorf("want %d: Read released %d bytes", want, len(got))
		}
		r.Close()
	}
}

// zeroWriter accepts nothing and reports no error, against io.Writer's
// contract.
type zeroWriter struct{ calls int }

func (w *zeroWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > 1000 {
		return 0, errors.New("still writing after 1000 empty writes")
	}
	return 0, nil
}

// TestPlainBodyWriteToShortWrite checks that a writer that writes less
// than it is given without an error stops WriteTo with io.ErrShortWrite,
// as io.Copy does, rather than being called again and again.
func TestPlainBodyWriteToShortWrite(t *testing.T) {
	kr, pt, msg := lengthMessage(t, 1000)
	ctx := context.Background()
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := &plainBody{r: r, raw: io.NopCloser(nil), want: int64(len(pt)), bucket: "b", key: "k"}
	w := &zeroWriter{}
	if n, err := b.WriteTo(w); n != 0 || !errors.Is(err, io.ErrShortWrite) || w.calls != 1 {
		t.Fatalf("WriteTo: %d bytes, %v after %d writes, want io.ErrShortWrite after 1", n, err, w.calls)
	}
	// A writer claiming more than it was given fails WriteTo (io.Copy
	// refuses it too) instead of making the body slice past its buffer.
	if n, err := b.WriteTo(overWriter{}); n != 0 || err == nil {
		t.Fatalf("WriteTo to a writer over-reporting: %d bytes, %v", n, err)
	}
}

type overWriter struct{}

func (overWriter) Write(p []byte) (int, error) { return len(p) + 1, nil }
