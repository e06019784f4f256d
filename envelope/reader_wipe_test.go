package envelope

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wipeMarker fills the plaintext of the messages below, so that plaintext
// left in a buffer is easy to find.
var wipeMarker = []byte("PLAINTEXT-MARKER")

// buffers is a set of arrays, keyed by their first byte.
type buffers map[*byte][]byte

// note adds the whole arrays of the buffers r holds plaintext in: the
// current frame, the batches of the parallel path and the spool's.
func (bs buffers) note(r *Reader) {
	all := [][]byte{r.buf}
	if r.sp != nil {
		all = append(all, r.sp.buffers()...)
	}
	if rp := r.par; rp != nil {
		for _, b := range append(append([]*batch{rp.rel}, rp.inflight...), rp.free...) {
			if b != nil {
				all = append(all, b.buf)
			}
		}
	}
	for _, b := range all {
		if cap(b) > 0 {
			bs[&b[:1][0]] = b[:cap(b)]
		}
	}
}

// plaintext returns how many of the arrays hold plaintext.
func (bs buffers) plaintext() int {
	n := 0
	for _, b := range bs {
		if bytes.Contains(b, wipeMarker) {
			n++
		}
	}
	return n
}

// readNoting reads r in small pieces until it fails, noting after each
// call the buffers r holds, and stops after stopAfter bytes when
// stopAfter is not negative. saw reports whether the buffers held
// plaintext at some point, so that the test looks at the right ones.
func readNoting(r *Reader, stopAfter int) (seen buffers, saw bool, err error) {
	p := make([]byte, 1000)
	seen = buffers{}
	for n := 0; stopAfter < 0 || n < stopAfter; {
		k, err := r.Read(p)
		n += k
		seen.note(r)
		if !saw && err == nil {
			saw = seen.plaintext() > 0
		}
		if err != nil {
			return seen, saw, err
		}
	}
	return seen, saw, nil
}

// TestReaderWipesPlaintext checks that a Reader leaves no plaintext in
// its buffers once it is done with them: after a failed read, after Close
// and at the end of the message, on the calling goroutine and in
// parallel, for signed and unsigned messages.
func TestReaderWipesPlaintext(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []struct {
		name string
		size int
		fs   int
		conc int
	}{
		{"sequential", 5*4096 + 100, 4096, 1},
		{"parallel", 2<<20 + 100, 16 << 10, 2},
	} {
		pt := bytes.Repeat(wipeMarker, mode.size/len(wipeMarker))
		kc := &keyCapture{Keyring: testKR(t)}
		signed, err := Encrypt(ctx, kc, pt, WithFrameSize(mode.fs))
		require.NoError(t, err)
		pdk := kc.key
		unsigned, err := Encrypt(ctx, kc, pt, WithFrameSize(mode.fs), WithSuite(AES256GCMHKDFSHA512CommitKey))
		require.NoError(t, err)
		forged := forgeFirstFrame(t, signed, pdk, bytes.Repeat([]byte("F"), mode.fs))
		truncated := unsigned[:len(unsigned)-100]

		for _, tc := range []struct {
			name      string
			msg       []byte
			stopAfter int // then Close; -1: read until an error
			wantErr   error
		}{
			{"signed to the end", signed, -1, io.EOF},
			{"unsigned to the end", unsigned, -1, io.EOF},
			// The first Read fails: the test sees no plaintext before the
			// Reader is done, only after.
			{"signature fails", forged, -1, ErrAuthentication},
			{"unsigned truncated", truncated, -1, ErrFormat},
			{"unsigned closed early", unsigned, 3 * mode.fs, nil},
			{"signed closed early", signed, 1, nil},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				r, err := NewReader(ctx, bytes.NewReader(tc.msg), kc, WithConcurrency(mode.conc), WithSpoolDir(t.TempDir()), WithSpoolMemory(4096))
				require.NoError(t, err)
				seen, saw, err := readNoting(r, tc.stopAfter)
				if tc.wantErr != nil {
					require.True(t, errors.Is(err, tc.wantErr), "%v, want %v", err, tc.wantErr)
				} else {
					require.NoError(t, err)
					require.NoError(t, r.Close())
				}
				if tc.wantErr != ErrAuthentication {
					assert.True(t, saw, "the buffers never held plaintext")
				}
				seen.note(r)
				assert.Zero(t, seen.plaintext(), "of %d buffers, some hold plaintext", len(seen))
			})
		}
	}
}
