package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// TestAppendEncryptDecrypt checks that the append calls keep the prefix,
// write into the caller's buffer when it has room, agree with the
// one-shot calls, and leave the prefix alone on failure.
func TestAppendEncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	kr := exampleKeyring()
	for _, tc := range []struct {
		name string
		size int
		opts []envelope.Option // encrypt
		dec  []envelope.Option
	}{
		{"small signed", 1000, nil, nil},
		{"parallel unsigned", 1 << 20, []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithFrameSize(16 << 10), envelope.WithConcurrency(2)}, []envelope.Option{envelope.WithConcurrency(2)}},
		{"parallel signed", 1<<20 + 7, []envelope.Option{envelope.WithFrameSize(16 << 10), envelope.WithConcurrency(2)}, []envelope.Option{envelope.WithConcurrency(2)}},
		{"empty", 0, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := bytes.Repeat([]byte("plaintext "), tc.size/10+1)[:tc.size]
			prefix := []byte("prefix")

			// Growing from a short dst keeps its bytes.
			msg, err := envelope.AppendEncrypt(ctx, bytes.Clone(prefix), kr, pt, tc.opts...)
			require.NoError(t, err)
			require.Equal(t, prefix, msg[:len(prefix)])
			got, _, err := envelope.Decrypt(ctx, kr, msg[len(prefix):])
			require.NoError(t, err)
			assert.Equal(t, pt, got)

			// With room in dst, the message is written there.
			buf := make([]byte, len(prefix), len(msg)+4096)
			copy(buf, prefix)
			msg2, err := envelope.AppendEncrypt(ctx, buf, kr, pt, tc.opts...)
			require.NoError(t, err)
			assert.Same(t, &buf[0], &msg2[0], "AppendEncrypt writes into dst's array")
			assert.InDelta(t, len(msg), len(msg2), 2, "the length of a one-shot message (DER signatures vary by a byte or two)")

			out := make([]byte, len(prefix), len(prefix)+len(pt)+1)
			copy(out, prefix)
			dec, hdr, err := envelope.AppendDecrypt(ctx, out, kr, msg2[len(prefix):], tc.dec...)
			require.NoError(t, err)
			require.NotNil(t, hdr)
			assert.Same(t, &out[0], &dec[0], "AppendDecrypt writes into dst's array")
			assert.Equal(t, append(bytes.Clone(prefix), pt...), dec)

			// A tampered message: nil, dst's prefix untouched, no plaintext
			// left in its spare capacity.
			bad := bytes.Clone(msg2[len(prefix):])
			bad[len(bad)-1] ^= 1
			out = make([]byte, len(prefix), len(prefix)+len(pt)+1)
			copy(out, prefix)
			dec, hdr, err = envelope.AppendDecrypt(ctx, out, kr, bad, tc.dec...)
			require.ErrorIs(t, err, envelope.ErrAuthentication)
			assert.Nil(t, dec)
			assert.Nil(t, hdr)
			assert.Equal(t, prefix, out)
			if len(pt) > 0 {
				assert.False(t, bytes.Contains(out[:cap(out)], pt[:min(len(pt), 64)]), "no plaintext left in dst")
			}
		})
	}
}

// TestAppendEncryptReusedBufferAllocates checks that a reused buffer
// saves the allocation of the message.
func TestAppendEncryptReusedBufferAllocates(t *testing.T) {
	ctx := context.Background()
	kr := exampleKeyring()
	pt := make([]byte, 1<<20)
	opts := []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithConcurrency(1)}
	buf, err := envelope.AppendEncrypt(ctx, nil, kr, pt, opts...)
	require.NoError(t, err)
	var bytesOneShot, bytesAppend uint64
	bytesOneShot = allocBytes(func() { _, _ = envelope.Encrypt(ctx, kr, pt, opts...) })
	bytesAppend = allocBytes(func() { buf, _ = envelope.AppendEncrypt(ctx, buf[:0], kr, pt, opts...) })
	assert.Greater(t, bytesOneShot, uint64(len(pt)))
	assert.Less(t, bytesAppend, uint64(64<<10), "AppendEncrypt into a reused buffer allocates little")
}

func allocBytes(f func()) uint64 {
	return uint64(testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f()
		}
	}).AllocedBytesPerOp())
}

func ExampleAppendEncrypt() {
	ctx := context.Background()
	kr := exampleKeyring()
	// A service reuses one buffer for the messages it writes and one for
	// the plaintexts it reads; neither is allocated again once large
	// enough.
	var msgBuf, ptBuf []byte
	for _, record := range []string{"first record", "second record"} {
		var err error
		msgBuf, err = envelope.AppendEncrypt(ctx, msgBuf[:0], kr, []byte(record),
			envelope.WithContext(map[string]string{"tenant": "acme"}))
		if err != nil {
			log.Fatal(err)
		}
		ptBuf, _, err = envelope.AppendDecrypt(ctx, ptBuf[:0], kr, msgBuf,
			envelope.WithContext(map[string]string{"tenant": "acme"}))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(ptBuf))
	}
	// Output:
	// first record
	// second record
}

func ExampleAppendDecrypt() {
	ctx := context.Background()
	kr := exampleKeyring()
	msg, err := envelope.Encrypt(ctx, kr, []byte(`{"id":1}`))
	if err != nil {
		log.Fatal(err)
	}
	// Append the plaintext to a line being built.
	line := []byte("record: ")
	line, hdr, err := envelope.AppendDecrypt(ctx, line, kr, msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(line), hdr.Suite.Signed())
	// Output:
	// record: {"id":1} true
}

func ExampleWithMaxSpoolSize() {
	ctx := context.Background()
	kr := exampleKeyring()
	msg, err := envelope.Encrypt(ctx, kr, bytes.Repeat([]byte("x"), 100_000))
	if err != nil {
		log.Fatal(err)
	}
	// A signed message is released only once its signature verifies. This
	// reader keeps at most 64 KiB back, in memory, and refuses larger
	// signed messages instead of spooling them to a temporary file.
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr,
		envelope.WithSpoolMemory(64<<10), envelope.WithMaxSpoolSize(64<<10))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	fmt.Println(errors.Is(err, envelope.ErrLimit))
	// Output:
	// true
}

func ExampleWithSpoolDir() {
	ctx := context.Background()
	kr := exampleKeyring()
	pt := bytes.Repeat([]byte("record\n"), 100_000)
	msg, err := envelope.Encrypt(ctx, kr, pt)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "spool")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Beyond 64 KiB the plaintext waits for the signature in a file in
	// dir, sealed under a key that stays in memory; the file is removed
	// at the end of the message, on error and on Close.
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr,
		envelope.WithSpoolMemory(64<<10), envelope.WithSpoolDir(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	fmt.Println(bytes.Equal(got, pt), len(left))
	// Output:
	// true 0
}

func ExampleWithInsecureReleaseBeforeSignature() {
	ctx := context.Background()
	kr := exampleKeyring()
	msg, err := envelope.Encrypt(ctx, kr, []byte("log line 1\nlog line 2\n"), envelope.WithFrameSize(11))
	if err != nil {
		log.Fatal(err)
	}
	// Frames are released as soon as their tags verify, before the
	// signature is checked: any holder of the data key could have forged
	// them. Act on them only once Read has returned io.EOF.
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr, envelope.WithInsecureReleaseBeforeSignature())
	if err != nil {
		log.Fatal(err)
	}
	var pending bytes.Buffer
	if _, err := io.Copy(&pending, r); err != nil {
		log.Fatal(err) // discard pending
	}
	fmt.Print(pending.String())
	// Output:
	// log line 1
	// log line 2
}

// TestAppendOverlap checks that a dst sharing memory with the input is
// refused with ErrInvalidOption before anything is written (it used to
// panic in a worker goroutine, which no caller can recover), and that
// reusing buffers that do not overlap still works.
func TestAppendOverlap(t *testing.T) {
	ctx := context.Background()
	kr := exampleKeyring()
	pt := bytes.Repeat([]byte("overlap "), (4<<20)/8)
	opts := []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithFrameSize(64 << 10), envelope.WithConcurrency(2)}
	ct, err := envelope.Encrypt(ctx, kr, pt, opts...)
	require.NoError(t, err)

	t.Run("AppendDecrypt in place", func(t *testing.T) {
		msg := bytes.Clone(ct)
		out, hdr, err := envelope.AppendDecrypt(ctx, msg[:0], kr, msg, envelope.WithConcurrency(2))
		require.ErrorIs(t, err, envelope.ErrInvalidOption)
		assert.Contains(t, err.Error(), "dst overlaps the ciphertext")
		assert.Nil(t, out)
		assert.Nil(t, hdr)
		assert.Equal(t, ct, msg, "the message is not modified")
	})
	t.Run("AppendDecrypt into spare capacity of the ciphertext", func(t *testing.T) {
		buf := make([]byte, len(ct), 2*len(ct))
		copy(buf, ct)
		// dst starts inside the ciphertext's array; its capacity reaches
		// back over nothing but spans the ciphertext's last byte.
		_, _, err := envelope.AppendDecrypt(ctx, buf[len(buf)-1:len(buf)-1], kr, buf, envelope.WithConcurrency(1))
		require.ErrorIs(t, err, envelope.ErrInvalidOption)
	})
	t.Run("AppendEncrypt in place", func(t *testing.T) {
		buf := make([]byte, len(pt), len(ct)+4096)
		copy(buf, pt)
		out, err := envelope.AppendEncrypt(ctx, buf[:0], kr, buf, opts...)
		require.ErrorIs(t, err, envelope.ErrInvalidOption)
		assert.Contains(t, err.Error(), "dst overlaps the plaintext")
		assert.Nil(t, out)
		assert.Equal(t, pt, buf, "the plaintext is not modified")
	})
	t.Run("disjoint halves of one array", func(t *testing.T) {
		arena := make([]byte, len(ct)+len(pt)+4096)
		msg := arena[:len(ct)]
		copy(msg, ct)
		out, _, err := envelope.AppendDecrypt(ctx, arena[len(ct):len(ct)], kr, msg, envelope.WithConcurrency(2))
		require.NoError(t, err)
		assert.Equal(t, pt, out)
		assert.Same(t, &arena[len(ct)], &out[0], "written into dst's array")

		src := arena[:len(pt)]
		copy(src, pt)
		dst := make([]byte, 0, len(ct)+4096)
		msg2, err := envelope.AppendEncrypt(ctx, dst, kr, src, opts...)
		require.NoError(t, err)
		got, _, err := envelope.Decrypt(ctx, kr, msg2)
		require.NoError(t, err)
		assert.Equal(t, pt, got)
	})
	t.Run("reused buffer", func(t *testing.T) {
		var msgBuf, ptBuf []byte
		for range 2 {
			msgBuf, err = envelope.AppendEncrypt(ctx, msgBuf[:0], kr, pt, opts...)
			require.NoError(t, err)
			ptBuf, _, err = envelope.AppendDecrypt(ctx, ptBuf[:0], kr, msgBuf, envelope.WithConcurrency(2))
			require.NoError(t, err)
			assert.Equal(t, pt, ptBuf)
		}
	})
}
