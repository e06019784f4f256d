package envelope_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// The benchmarks measure the paths the targets are about; the
// script scripts/bench.sh runs the same workloads side by side with the raw
// AES-GCM limit and the AWS Encryption SDK for JavaScript.

const benchLarge = 64 << 20

var benchSuites = []envelope.SuiteID{
	envelope.AES256GCMHKDFSHA512CommitKey,
	envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384,
}

var benchFrames = []int{4 << 10, 64 << 10, 1 << 20}

func BenchmarkEncryptLarge(b *testing.B) {
	kr := testKeyring(b)
	pt := randBytes(benchLarge)
	for _, id := range benchSuites {
		for _, fs := range benchFrames {
			b.Run(fmt.Sprintf("suite=%04X/frame=%dK", uint16(id), fs>>10), func(b *testing.B) {
				opts := []envelope.Option{envelope.WithSuite(id), envelope.WithFrameSize(fs)}
				b.SetBytes(int64(len(pt)))
				for b.Loop() {
					_, err := envelope.Encrypt(context.Background(), kr, pt, opts...)
					require.NoError(b, err)
				}
			})
		}
	}
}

func BenchmarkDecryptLarge(b *testing.B) {
	kr := testKeyring(b)
	pt := randBytes(benchLarge)
	for _, id := range benchSuites {
		for _, fs := range benchFrames {
			b.Run(fmt.Sprintf("suite=%04X/frame=%dK", uint16(id), fs>>10), func(b *testing.B) {
				ct, err := envelope.Encrypt(context.Background(), kr, pt, envelope.WithSuite(id), envelope.WithFrameSize(fs))
				require.NoError(b, err)
				b.SetBytes(int64(len(pt)))
				for b.Loop() {
					_, _, err := envelope.Decrypt(context.Background(), kr, ct)
					require.NoError(b, err)
				}
			})
		}
	}
}

// BenchmarkAppendLarge is BenchmarkEncryptLarge and BenchmarkDecryptLarge
// with 64 KiB frames into a reused buffer: the parallel speed without the
// cost of allocating and faulting in a fresh 64 MiB output per call.
func BenchmarkAppendLarge(b *testing.B) {
	kr := testKeyring(b)
	pt := randBytes(benchLarge)
	ctx := context.Background()
	for _, id := range benchSuites {
		opts := []envelope.Option{envelope.WithSuite(id), envelope.WithFrameSize(64 << 10)}
		ct, err := envelope.Encrypt(ctx, kr, pt, opts...)
		require.NoError(b, err)
		b.Run(fmt.Sprintf("op=encrypt/suite=%04X/frame=64K", uint16(id)), func(b *testing.B) {
			buf := make([]byte, 0, len(ct)+256)
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				buf, err = envelope.AppendEncrypt(ctx, buf[:0], kr, pt, opts...)
				require.NoError(b, err)
			}
		})
		b.Run(fmt.Sprintf("op=decrypt/suite=%04X/frame=64K", uint16(id)), func(b *testing.B) {
			buf := make([]byte, 0, len(pt))
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				buf, _, err = envelope.AppendDecrypt(ctx, buf[:0], kr, ct)
				require.NoError(b, err)
			}
		})
	}
}

// BenchmarkStream pipes a Writer into a Reader, as a service that
// re-encrypts a stream would.
func BenchmarkStream(b *testing.B) {
	kr := testKeyring(b)
	pt := randBytes(benchLarge)
	for _, id := range benchSuites {
		b.Run(fmt.Sprintf("suite=%04X/frame=64K", uint16(id)), func(b *testing.B) {
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				var ct bytes.Buffer
				w, err := envelope.NewWriter(context.Background(), &ct, kr, envelope.WithSuite(id), envelope.WithFrameSize(64<<10))
				require.NoError(b, err)
				_, err = w.Write(pt)
				require.NoError(b, err)
				require.NoError(b, w.Close())
				r, err := envelope.NewReader(context.Background(), &ct, kr)
				require.NoError(b, err)
				n, err := io.Copy(io.Discard, r)
				require.NoError(b, err)
				require.Equal(b, int64(len(pt)), n)
			}
		})
	}
}

// BenchmarkSmall measures 1 KiB messages, with and without a cache of
// materials, on the unsigned committing suite; allocations per message are
// reported.
func BenchmarkSmall(b *testing.B) {
	kr := testKeyring(b)
	pt := randBytes(1 << 10)
	ctx := context.Background()
	ec := envelope.WithContext(map[string]string{"tenant": "acme"})
	suite := envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)
	for _, cached := range []bool{false, true} {
		opts := []envelope.Option{ec, suite}
		dec := []envelope.Option{ec} // a reader takes the suite from the message
		if cached {
			c, err := cache.New(cache.MaxAge(time.Hour), cache.MaxMessages(1<<32))
			require.NoError(b, err)
			opts = append(opts, envelope.WithCache(c))
			dec = append(dec, envelope.WithCache(c))
		}
		ct, err := envelope.Encrypt(ctx, kr, pt, opts...)
		require.NoError(b, err)
		b.Run(fmt.Sprintf("op=encrypt/cached=%v", cached), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				_, err := envelope.Encrypt(ctx, kr, pt, opts...)
				require.NoError(b, err)
			}
		})
		b.Run(fmt.Sprintf("op=decrypt/cached=%v", cached), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				_, _, err := envelope.Decrypt(ctx, kr, ct, dec...)
				require.NoError(b, err)
			}
		})
	}
}

// BenchmarkRawGCM is the limit: AES-256-GCM over the whole buffer with one
// nonce, on one goroutine.
func BenchmarkRawGCM(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 32))
	require.NoError(b, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(b, err)
	pt := randBytes(benchLarge)
	nonce := make([]byte, aead.NonceSize())
	ct := aead.Seal(nil, nonce, pt, nil)
	out := make([]byte, 0, len(ct))
	b.Run("op=seal", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			out = aead.Seal(out[:0], nonce, pt, nil)
		}
	})
	b.Run("op=open", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			_, err := aead.Open(out[:0], nonce, ct, nil)
			require.NoError(b, err)
		}
	})
}

// BenchmarkSHA384 is the rate that bounds signed suites.
func BenchmarkSHA384(b *testing.B) {
	pt := randBytes(benchLarge)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		sha512.Sum384(pt)
	}
}
