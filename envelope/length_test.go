package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestBodyLength checks that header + BodyLength is the exact length of a
// message NewWriter writes, for lengths around frame boundaries.
func TestBodyLength(t *testing.T) {
	kr, err := keyring.NewRawAES("ns", "name", make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, fs := range []int{1, 7, 4096} {
		for _, n := range []int{0, 1, fs - 1, fs, fs + 1, 3 * fs, 3*fs + 2} {
			if n < 0 {
				continue
			}
			var out bytes.Buffer
			w, err := envelope.NewWriter(context.Background(), &out, kr,
				envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithFrameSize(fs))
			if err != nil {
				t.Fatal(err)
			}
			hlen := out.Len()
			if _, err := w.Write(make([]byte, n)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := envelope.BodyLength(int64(n), fs)
			if err != nil {
				t.Fatal(err)
			}
			if int64(hlen)+got != int64(out.Len()) {
				t.Errorf("frame %d, %d bytes: header %d + body %d != message %d", fs, n, hlen, got, out.Len())
			}
		}
	}
}

func TestBodyLengthInvalid(t *testing.T) {
	if _, err := envelope.BodyLength(-1, 4096); !errors.Is(err, envelope.ErrInvalidOption) {
		t.Errorf("negative length: %v", err)
	}
	if _, err := envelope.BodyLength(1, 0); !errors.Is(err, envelope.ErrInvalidOption) {
		t.Errorf("zero frame size: %v", err)
	}
	if _, err := envelope.BodyLength(1<<40, 1); !errors.Is(err, envelope.ErrLimit) {
		t.Errorf("too many frames: %v", err)
	}
}
