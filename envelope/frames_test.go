package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func frameTestKR(t testing.TB) keyring.Keyring {
	t.Helper()
	kr, err := keyring.NewRawAES("ns", "frames", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// framedMessage encrypts pt with kr in 100-byte frames of the unsigned
// committing suite, the messages these tests open frame by frame.
func framedMessage(t testing.TB, kr keyring.Keyring, pt []byte) []byte {
	t.Helper()
	msg, err := envelope.Encrypt(context.Background(), kr, pt, envelope.WithFrameSize(100), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// splitFrames returns the serialized frames of a message whose header is
// hlen bytes, with frames of fs bytes of plaintext holding n bytes.
func splitFrames(msg []byte, hlen, fs, n int) [][]byte {
	var out [][]byte
	off := hlen
	for full := n / fs; full > 0; full-- {
		l := envelope.FrameLength(fs, false)
		out = append(out, msg[off:off+l])
		off += l
	}
	return append(out, msg[off:])
}

func TestFrameOpenerOpensEveryFrame(t *testing.T) {
	ctx := context.Background()
	kr := frameTestKR(t)
	for _, n := range []int{0, 1, 99, 100, 101, 1000} {
		pt := make([]byte, n)
		rand.Read(pt)
		msg := framedMessage(t, kr, pt)
		o, err := envelope.OpenHeader(ctx, bytes.NewReader(msg), kr)
		if err != nil {
			t.Fatal(err)
		}
		if o.FrameSize() != 100 || o.Header().FrameSize != 100 {
			t.Fatalf("frame size %d", o.FrameSize())
		}
		frames := splitFrames(msg, o.HeaderLength(), 100, n)
		if want := n/100 + 1; len(frames) != want {
			t.Fatalf("%d frames, want %d", len(frames), want)
		}
		var got []byte
		// Open them out of order: last first.
		last := len(frames) - 1
		tail, err := o.OpenFrame(nil, uint32(last+1), true, frames[last])
		if err != nil {
			t.Fatalf("n=%d final frame: %v", n, err)
		}
		for i := range last {
			if got, err = o.OpenFrame(got, uint32(i+1), false, frames[i]); err != nil {
				t.Fatalf("n=%d frame %d: %v", n, i+1, err)
			}
		}
		got = append(got, tail...)
		if !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: plaintext differs", n)
		}
		o.Close()
		if _, err := o.OpenFrame(nil, 1, last == 0, frames[0]); !errors.Is(err, envelope.ErrClosed) {
			t.Fatalf("after Close: %v", err)
		}
	}
}

func TestFrameOpenerRejectsWrongFrames(t *testing.T) {
	ctx := context.Background()
	kr := frameTestKR(t)
	pt := make([]byte, 250)
	rand.Read(pt)
	msg := framedMessage(t, kr, pt)
	o, err := envelope.OpenHeader(ctx, bytes.NewReader(msg), kr)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	frames := splitFrames(msg, o.HeaderLength(), 100, len(pt))
	tampered := bytes.Clone(frames[1])
	tampered[40] ^= 1
	other := framedMessage(t, kr, pt)
	otherFrames := splitFrames(other, o.HeaderLength(), 100, len(pt))
	for _, tc := range []struct {
		name  string
		seq   uint32
		final bool
		frame []byte
		want  error
	}{
		{"wrong sequence number", 2, false, frames[0], envelope.ErrFormat},
		{"sequence number 0", 0, false, frames[0], envelope.ErrFormat},
		{"regular frame as final", 2, true, frames[1], envelope.ErrFormat},
		{"final frame as regular", 3, false, frames[2], envelope.ErrFormat},
		{"truncated", 2, false, frames[1][:len(frames[1])-1], envelope.ErrFormat},
		{"too long", 2, false, append(bytes.Clone(frames[1]), 0), envelope.ErrFormat},
		{"short header", 2, false, frames[1][:3], envelope.ErrFormat},
		{"tampered", 2, false, tampered, envelope.ErrAuthentication},
		{"frame of another message", 2, false, otherFrames[1], envelope.ErrAuthentication},
	} {
		dst := make([]byte, 3, 200)
		got, err := o.OpenFrame(dst, tc.seq, tc.final, tc.frame)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if len(got) != 3 || bytes.Contains(dst[:cap(dst)], pt[100:132]) {
			t.Errorf("%s: plaintext released or left in dst", tc.name)
		}
	}
	// The right frame still opens after the failures.
	if got, err := o.OpenFrame(nil, 2, false, frames[1]); err != nil || !bytes.Equal(got, pt[100:200]) {
		t.Fatalf("frame 2: %v", err)
	}
}

func TestOpenHeaderRefusesSignedAndNonFramed(t *testing.T) {
	ctx := context.Background()
	kr := frameTestKR(t)
	signed, err := envelope.Encrypt(ctx, kr, []byte("x"), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.OpenHeader(ctx, bytes.NewReader(signed), kr); !errors.Is(err, envelope.ErrPolicy) {
		t.Fatalf("signed: %v, want ErrPolicy", err)
	}
	msg, err := envelope.Encrypt(ctx, kr, []byte("x"), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		t.Fatal(err)
	}
	msg[len(msg)/3] ^= 1 // somewhere in the header
	if _, err := envelope.OpenHeader(ctx, bytes.NewReader(msg), kr); err == nil {
		t.Fatal("tampered header opened")
	}
}

// ExampleOpenHeader decrypts only the second frame of a message.
func ExampleOpenHeader() {
	ctx := context.Background()
	kr, _ := keyring.NewRawAES("example", "key", bytes.Repeat([]byte{1}, 32))
	pt := bytes.Repeat([]byte("0123456789"), 30) // 300 bytes
	msg, _ := envelope.Encrypt(ctx, kr, pt, envelope.WithFrameSize(100), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))

	o, err := envelope.OpenHeader(ctx, bytes.NewReader(msg), kr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()
	start := o.HeaderLength() + envelope.FrameLength(o.FrameSize(), false) // after frame 1
	frame := msg[start : start+envelope.FrameLength(o.FrameSize(), false)]
	got, err := o.OpenFrame(nil, 2, false, frame)
	fmt.Println(len(got), string(got[:10]), err)
	// Output: 100 0123456789 <nil>
}

// FuzzOpenFrame checks that OpenFrame never panics on a hostile frame and
// returns plaintext only for a frame that is the expected one.
func FuzzOpenFrame(f *testing.F) {
	ctx := context.Background()
	kr := frameTestKR(f)
	pt := bytes.Repeat([]byte("frame"), 50)
	msg := framedMessage(f, kr, pt)
	o, err := envelope.OpenHeader(ctx, bytes.NewReader(msg), kr)
	if err != nil {
		f.Fatal(err)
	}
	frames := splitFrames(msg, o.HeaderLength(), 100, len(pt))
	for i, fr := range frames {
		f.Add(fr, uint32(i+1), i == len(frames)-1)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, uint32(1), true)
	f.Fuzz(func(t *testing.T, frame []byte, seq uint32, final bool) {
		got, err := o.OpenFrame(nil, seq, final, frame)
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("%d bytes returned with %v", len(got), err)
			}
			return
		}
		i := int(seq) - 1
		if i >= len(frames) || !bytes.Equal(frame, frames[i]) || final != (i == len(frames)-1) {
			t.Fatalf("frame %d (final %v) opened from other bytes", seq, final)
		}
		if !bytes.Equal(got, pt[i*100:min(i*100+100, len(pt))]) {
			t.Fatalf("frame %d: wrong plaintext", seq)
		}
	})
}
