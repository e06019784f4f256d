package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func parallelKeyring(t *testing.T) keyring.Keyring {
	t.Helper()
	kr, err := keyring.NewRawAES("par-ns", "par-key", bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	return kr
}

// parallelSizes cover messages below one batch, exactly on batch and frame
// boundaries, and many batches with a partial final frame.
func parallelSizes(fs int) []int {
	b := framesPerBatch(fs) * fs
	return []int{0, 1, fs, b - 1, b, 2 * b, 5*b + fs, 7*b + fs/2 + 3}
}

// TestSealFramesParallelIdentical checks that the body sealed on several
// goroutines is byte for byte the sequential one, hash included.
func TestSealFramesParallelIdentical(t *testing.T) {
	ctx := context.Background()
	kr := parallelKeyring(t)
	for _, id := range []SuiteID{AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, fs := range []int{1000, 4096, 64 << 10, batchBytes + 1} {
			c, err := newConfig(opEncrypt, []Option{WithSuite(id), WithFrameSize(fs)})
			require.NoError(t, err)
			sl, err := newSealer(ctx, kr, c, 0)
			require.NoError(t, err)
			for _, n := range parallelSizes(fs) {
				pt := make([]byte, n)
				_, _ = rand.Read(pt)
				var bodies [][]byte
				var sums [][]byte
				for _, workers := range []int{1, 2, 3, 8} {
					if sl.hash != nil {
						sl.hash.Reset()
					}
					body := sl.sealFrames([]byte("prefix"), pt, workers)
					bodies = append(bodies, body)
					if sl.hash != nil {
						sums = append(sums, sl.hash.Sum(nil))
					}
				}
				for i := 1; i < len(bodies); i++ {
					require.Equal(t, bodies[0], bodies[i], "suite %v frame %d size %d", id, fs, n)
					if sl.hash != nil {
						require.Equal(t, sums[0], sums[i])
					}
				}
				assert.Len(t, bodies[0], len("prefix")+int(bodySize(int64(n), fs)))
			}
		}
	}
}

// TestParallelRoundTrip crosses one-shot and streaming encrypt and decrypt
// at several concurrencies.
func TestParallelRoundTrip(t *testing.T) {
	ctx := context.Background()
	kr := parallelKeyring(t)
	for _, id := range []SuiteID{AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, fs := range []int{4096, 100 << 10} {
			for _, n := range parallelSizes(fs) {
				pt := make([]byte, n)
				_, _ = rand.Read(pt)
				for _, conc := range []int{1, 4} {
					name := fmt.Sprintf("%v/frame=%d/n=%d/conc=%d", id, fs, n, conc)
					opts := []Option{WithSuite(id), WithFrameSize(fs), WithConcurrency(conc)}
					ct, err := Encrypt(ctx, kr, pt, opts...)
					require.NoError(t, err, name)
					msgs := [][]byte{ct}
					// Small writes are copied into batches; writes of whole
					// batches are sealed from the caller's buffer.
					for _, chunk := range []int{77777, 600001} {
						var streamed bytes.Buffer
						w, err := NewWriter(ctx, &streamed, kr, opts...)
						require.NoError(t, err, name)
						for rest := pt; len(rest) > 0; {
							k := min(len(rest), chunk)
							_, err := w.Write(rest[:k])
							require.NoError(t, err, name)
							rest = rest[k:]
						}
						require.NoError(t, w.Close(), name)
						if !id.Signed() { // DER signatures vary in length
							require.Len(t, streamed.Bytes(), len(ct), name)
						}
						msgs = append(msgs, streamed.Bytes())
					}
					for _, msg := range msgs {
						got, _, err := Decrypt(ctx, kr, msg, WithConcurrency(conc))
						require.NoError(t, err, name)
						require.True(t, bytes.Equal(pt, got), name)
						r, err := NewReader(ctx, bytes.NewReader(msg), kr, WithConcurrency(conc))
						require.NoError(t, err, name)
						got, err = io.ReadAll(r)
						require.NoError(t, err, name)
						require.True(t, bytes.Equal(pt, got), name)
					}
				}
			}
		}
	}
}

// TestParallelDecryptErrorOrder checks that the parallel decoders report
// the first failure in message order, as the sequential ones do, and
// release nothing past it.
func TestParallelDecryptErrorOrder(t *testing.T) {
	ctx := context.Background()
	kr := parallelKeyring(t)
	fs := minParallelReadFrame // the smallest frame the Reader opens in parallel
	n := 20 * framesPerBatch(fs) * fs
	pt := make([]byte, n)
	_, _ = rand.Read(pt)
	ct, err := Encrypt(ctx, kr, pt, WithSuite(AES256GCMHKDFSHA512CommitKey), WithFrameSize(fs))
	require.NoError(t, err)
	hl := len(ct) - int(bodySize(int64(n), fs))
	flen := regularHeadLen + fs + tagLen
	frameAt := func(i int) int { return hl + i*flen }
	late, early := 15*framesPerBatch(fs)+3, 2*framesPerBatch(fs)+5

	// A tag flipped early and a malformed sequence number later: the tag
	// failure comes first.
	bad := bytes.Clone(ct)
	bad[frameAt(early)+regularHeadLen] ^= 1
	bad[frameAt(late)+3] ^= 1
	for _, conc := range []int{1, 4} {
		_, _, err := Decrypt(ctx, kr, bad, WithConcurrency(conc))
		require.ErrorIs(t, err, ErrAuthentication)
		assert.Contains(t, err.Error(), fmt.Sprintf("frame %d", early+1))
		r, err := NewReader(ctx, bytes.NewReader(bad), kr, WithConcurrency(conc))
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.ErrorIs(t, err, ErrAuthentication)
		assert.Equal(t, pt[:early*fs], got, "frames before the bad one, and only those")
	}
	// Only the malformed sequence number: a format error.
	bad = bytes.Clone(ct)
	bad[frameAt(late)+3] ^= 1
	for _, conc := range []int{1, 4} {
		_, _, err := Decrypt(ctx, kr, bad, WithConcurrency(conc))
		require.ErrorIs(t, err, ErrFormat)
		r, err := NewReader(ctx, bytes.NewReader(bad), kr, WithConcurrency(conc))
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.ErrorIs(t, err, ErrFormat)
		assert.Equal(t, pt[:late*fs], got)
	}
	// Truncated in the middle of a frame, and a tag flipped in the last
	// frame: truncation is found after the tags before it verify.
	for _, conc := range []int{1, 4} {
		_, _, err := Decrypt(ctx, kr, ct[:frameAt(late)+100], WithConcurrency(conc))
		require.ErrorIs(t, err, ErrFormat)
		bad = bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		_, _, err = Decrypt(ctx, kr, bad, WithConcurrency(conc))
		require.ErrorIs(t, err, ErrAuthentication)
	}
}

// TestWriterDoesNotRetainInput reuses the caller's buffer after each Write,
// as io.Writer allows: batches sealed from it must be done by then.
func TestWriterDoesNotRetainInput(t *testing.T) {
	ctx := context.Background()
	kr := parallelKeyring(t)
	pt := make([]byte, 3<<20+12345)
	_, _ = rand.Read(pt)
	var ct bytes.Buffer
	w, err := NewWriter(ctx, &ct, kr, WithSuite(AES256GCMHKDFSHA512CommitKey), WithConcurrency(4))
	require.NoError(t, err)
	buf := make([]byte, 1<<20)
	for rest := pt; len(rest) > 0; {
		k := copy(buf, rest)
		n, err := w.Write(buf[:k])
		require.NoError(t, err)
		require.Equal(t, k, n)
		for i := range buf {
			buf[i] = 0xAA
		}
		rest = rest[k:]
	}
	require.NoError(t, w.Close())
	got, _, err := Decrypt(ctx, kr, ct.Bytes())
	require.NoError(t, err)
	require.True(t, bytes.Equal(pt, got))
}
