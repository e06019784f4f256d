package envelope

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// keyCapture is a keyring that remembers the last data key it made, as
// any recipient of a message could recover it.
type keyCapture struct {
	keyring.Keyring
	key []byte
}

func (k *keyCapture) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if err := k.Keyring.OnEncrypt(ctx, m); err != nil {
		return err
	}
	k.key = bytes.Clone(m.PlaintextDataKey)
	return nil
}

// forgeFirstFrame replaces the plaintext of frame 1 of msg (regular frames
// of fs bytes) by re-sealing it with the data key, as a recipient can.
// The frame's tag verifies; only the signature can tell.
func forgeFirstFrame(t *testing.T, msg, pdk []byte, forged []byte) []byte {
	t.Helper()
	h, err := parseHeader(bytes.NewReader(msg), DefaultMaxHeaderSize, 0xffff)
	require.NoError(t, err)
	require.Len(t, forged, h.FrameSize)
	s, _ := lookupSuite(h.Suite)
	dataKey, _, err := deriveKeys(s, pdk, h.MessageID)
	require.NoError(t, err)
	aead, err := newGCM(dataKey)
	require.NoError(t, err)
	var fc frameCrypter
	fc.init(aead, h.MessageID)
	out := bytes.Clone(msg)
	off := headerLen(t, msg)
	fc.appendFrame(out[off:off], 1, forged, false)
	return out
}

// signedMessage encrypts pt with the default (signed) suite and returns
// the message and its data key.
func signedMessage(t *testing.T, pt []byte, fs int) (msg, pdk []byte, kr keyring.Keyring) {
	t.Helper()
	kc := &keyCapture{Keyring: testKR(t)}
	msg, err := Encrypt(context.Background(), kc, pt, WithFrameSize(fs))
	require.NoError(t, err)
	return msg, kc.key, kc
}

func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// readOneByOne reads r one byte at a time and returns what was released
// and the error that ended it.
func readOneByOne(r io.Reader) ([]byte, error) {
	var got []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		got = append(got, one[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// TestSignedReaderReleasesNoForgedFrame forges the first frame of a signed
// message with the data key: its tag verifies, the signature does not. The
// Reader must release nothing, on the calling goroutine and in parallel,
// unless WithInsecureReleaseBeforeSignature asks for the old behaviour.
func TestSignedReaderReleasesNoForgedFrame(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		size int
		fs   int
		opts []Option
	}{
		{"sequential", 3*4096 + 10, 4096, []Option{WithConcurrency(1)}},
		{"parallel", 1<<20 + 10, 16 << 10, []Option{WithConcurrency(2)}},
		{"spilled to a file", 3*4096 + 10, 4096, []Option{WithConcurrency(1), WithSpoolMemory(100), WithSpoolDir(t.TempDir())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := patterned(tc.size)
			msg, pdk, kr := signedMessage(t, pt, tc.fs)
			forgedPT := bytes.Repeat([]byte("forged!"), tc.fs/7+1)[:tc.fs]
			bad := forgeFirstFrame(t, msg, pdk, forgedPT)

			r, err := NewReader(ctx, bytes.NewReader(bad), kr, tc.opts...)
			require.NoError(t, err)
			got, err := readOneByOne(r)
			require.ErrorIs(t, err, ErrAuthentication)
			assert.Empty(t, got, "nothing is released before the signature verifies")

			r, err = NewReader(ctx, bytes.NewReader(bad), kr, tc.opts...)
			require.NoError(t, err)
			var sink bytes.Buffer
			_, err = r.WriteTo(&sink)
			require.ErrorIs(t, err, ErrAuthentication)
			assert.Zero(t, sink.Len())

			// The opt-in releases the forged frame before failing. It takes
			// no spool options, only the concurrency (opts[0]).
			early := []Option{WithInsecureReleaseBeforeSignature(), tc.opts[0]}
			r, err = NewReader(ctx, bytes.NewReader(bad), kr, early...)
			require.NoError(t, err)
			got, err = readOneByOne(r)
			require.ErrorIs(t, err, ErrAuthentication)
			require.GreaterOrEqual(t, len(got), tc.fs)
			assert.Equal(t, forgedPT, got[:tc.fs], "the opt-in releases frames before the signature")

			// The intact message reads in full either way.
			for _, opts := range [][]Option{tc.opts, early} {
				r, err = NewReader(ctx, bytes.NewReader(msg), kr, opts...)
				require.NoError(t, err)
				all, err := io.ReadAll(r)
				require.NoError(t, err)
				assert.Equal(t, pt, all)
			}
		})
	}
}

// dirFiles lists the names in dir.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestSignedReaderSpoolFile reads a signed message larger than the memory
// spool: the rest goes through a temporary file that holds no plaintext
// and is removed at the end.
func TestSignedReaderSpoolFile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fs   int
		conc int
	}{
		{"4 KiB frames", 4096, 1},
		{"64 KiB frames in parallel", 64 << 10, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := patterned(3<<20 + 123)
			msg, _, kr := signedMessage(t, pt, tc.fs)
			dir := t.TempDir()
			r, err := NewReader(ctx, bytes.NewReader(msg), kr, WithSpoolMemory(1<<20), WithSpoolDir(dir), WithConcurrency(tc.conc))
			require.NoError(t, err)
			first := make([]byte, 1)
			_, err = io.ReadFull(r, first)
			require.NoError(t, err)

			files := dirFiles(t, dir)
			require.Len(t, files, 1, "the plaintext beyond the memory spool is in one file")
			disk, err := os.ReadFile(filepath.Join(dir, files[0]))
			require.NoError(t, err)
			assert.GreaterOrEqual(t, len(disk), len(pt)-1<<20, "the file holds the rest of the message")
			for off := 1 << 20; off+64 <= len(pt); off += 4099 {
				if bytes.Contains(disk, pt[off:off+64]) {
					t.Fatalf("plaintext at offset %d is in the spool file", off)
				}
			}

			rest, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, pt, append(first, rest...))
			assert.Empty(t, dirFiles(t, dir), "the spool file is removed at the end")
		})
	}
}

// TestSignedReaderSpoolCleanup checks that the spool file goes away on
// Close and on failure, and that a modified file is detected.
func TestSignedReaderSpoolCleanup(t *testing.T) {
	ctx := context.Background()
	pt := patterned(1 << 20)
	msg, pdk, kr := signedMessage(t, pt, 4096)
	opts := func(dir string) []Option { return []Option{WithSpoolMemory(4096), WithSpoolDir(dir)} }

	t.Run("Close", func(t *testing.T) {
		dir := t.TempDir()
		r, err := NewReader(ctx, bytes.NewReader(msg), kr, opts(dir)...)
		require.NoError(t, err)
		_, err = r.Read(make([]byte, 10))
		require.NoError(t, err)
		require.Len(t, dirFiles(t, dir), 1)
		require.NoError(t, r.Close())
		assert.Empty(t, dirFiles(t, dir))
		_, err = r.Read(make([]byte, 10))
		assert.ErrorIs(t, err, ErrClosed)
	})
	t.Run("dropped without Close", func(t *testing.T) {
		dir := t.TempDir()
		func() {
			r, err := NewReader(ctx, bytes.NewReader(msg), kr, opts(dir)...)
			require.NoError(t, err)
			_, err = r.Read(make([]byte, 10))
			require.NoError(t, err)
			require.Len(t, dirFiles(t, dir), 1)
		}()
		for range 100 {
			runtime.GC()
			if len(dirFiles(t, dir)) == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		assert.Empty(t, dirFiles(t, dir), "the file of a collected Reader is removed")
	})
	t.Run("forged frame", func(t *testing.T) {
		dir := t.TempDir()
		bad := forgeFirstFrame(t, msg, pdk, make([]byte, 4096))
		r, err := NewReader(ctx, bytes.NewReader(bad), kr, opts(dir)...)
		require.NoError(t, err)
		n, err := io.Copy(io.Discard, r)
		require.ErrorIs(t, err, ErrAuthentication)
		assert.Zero(t, n)
		assert.Empty(t, dirFiles(t, dir))
	})
	t.Run("context cancelled", func(t *testing.T) {
		dir := t.TempDir()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		src := &cancelAfter{r: bytes.NewReader(msg), n: len(msg) / 2, cancel: cancel}
		r, err := NewReader(cctx, src, kr, opts(dir)...)
		require.NoError(t, err)
		n, err := io.Copy(io.Discard, r)
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, n)
		assert.Empty(t, dirFiles(t, dir))
	})
	t.Run("modified file", func(t *testing.T) {
		dir := t.TempDir()
		r, err := NewReader(ctx, bytes.NewReader(msg), kr, opts(dir)...)
		require.NoError(t, err)
		_, err = r.Read(make([]byte, 10))
		require.NoError(t, err)
		files := dirFiles(t, dir)
		require.Len(t, files, 1)
		f, err := os.OpenFile(filepath.Join(dir, files[0]), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte{0xFF}, 100000)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = io.Copy(io.Discard, r)
		assert.ErrorIs(t, err, ErrAuthentication)
		assert.Empty(t, dirFiles(t, dir))
	})
}

// TestSignedReaderSpoolLimit checks WithMaxSpoolSize: larger signed
// messages are refused with ErrLimit and release nothing; smaller ones
// stay in memory.
func TestSignedReaderSpoolLimit(t *testing.T) {
	ctx := context.Background()
	pt := patterned(10000)
	msg, _, kr := signedMessage(t, pt, 4096)
	for _, limit := range []int64{0, 4096, 9999} {
		r, err := NewReader(ctx, bytes.NewReader(msg), kr, WithMaxSpoolSize(limit))
		require.NoError(t, err)
		got, err := readOneByOne(r)
		assert.ErrorIs(t, err, ErrLimit, "limit %d", limit)
		assert.Empty(t, got)
	}
	dir := t.TempDir()
	r, err := NewReader(ctx, bytes.NewReader(msg), kr, WithMaxSpoolSize(10000), WithSpoolMemory(10000), WithSpoolDir(dir))
	require.NoError(t, err)
	first := make([]byte, 1)
	_, err = io.ReadFull(r, first)
	require.NoError(t, err)
	assert.Empty(t, dirFiles(t, dir), "within the memory spool nothing goes to disk")
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, pt, append(first, rest...))

	// Unsigned messages are not kept back, so the limit does not apply.
	unsigned, err := Encrypt(ctx, kr, pt, WithSuite(AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	r, err = NewReader(ctx, bytes.NewReader(unsigned), kr, WithMaxSpoolSize(0))
	require.NoError(t, err)
	all, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, pt, all)

	for _, o := range []Option{WithMaxSpoolSize(-1), WithSpoolMemory(-1)} {
		_, err := NewReader(ctx, bytes.NewReader(msg), kr, o)
		assert.ErrorIs(t, err, ErrInvalidOption)
	}
}

// TestUnsignedReaderReleasesEarly checks that unsigned messages still
// release each frame once its tag verifies: a message cut after two
// frames releases them before the error.
func TestUnsignedReaderReleasesEarly(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	pt := patterned(3*4096 + 10)
	msg, err := Encrypt(ctx, kr, pt, WithSuite(AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	cut := msg[:headerLen(t, msg)+2*(regularHeadLen+4096+tagLen)+3]
	r, err := NewReader(ctx, bytes.NewReader(cut), kr, WithConcurrency(1))
	require.NoError(t, err)
	got, err := readOneByOne(r)
	require.ErrorIs(t, err, ErrFormat)
	assert.Equal(t, pt[:2*4096], got)
}

// cancelAfter reads from r and cancels a context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestSpoolDirTransient checks that a spool directory that passed the
// check in NewReader but fails later (here it is removed, as a cleaner of
// temporary files might) makes the read fail with ErrTransient, and
// releases nothing.
func TestSpoolDirTransient(t *testing.T) {
	ctx := context.Background()
	pt := patterned(3 * 4096)
	msg, _, kr := signedMessage(t, pt, 4096)
	dir := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.Mkdir(dir, 0o700))
	r, err := NewReader(ctx, bytes.NewReader(msg), kr, WithSpoolMemory(10), WithSpoolDir(dir))
	require.NoError(t, err)
	require.NoError(t, os.Remove(dir))
	got, err := readOneByOne(r)
	require.ErrorIs(t, err, ErrTransient)
	assert.NotErrorIs(t, err, ErrInvalidOption)
	assert.Empty(t, got)
}
