package cache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// countingKeyring counts the calls that reach a real keyring.
type countingKeyring struct {
	kr       keyring.Keyring
	encrypts atomic.Int64
	decrypts atomic.Int64
}

func (k *countingKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	k.encrypts.Add(1)
	return k.kr.OnEncrypt(ctx, m)
}

func (k *countingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.decrypts.Add(1)
	return k.kr.OnDecrypt(ctx, m, edks)
}

func rawAES(t testing.TB) *countingKeyring {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := keyring.NewRawAES("cache-test", "key-1", key)
	require.NoError(t, err)
	return &countingKeyring{kr: kr}
}

// parallel runs f(i) for i in [0, n) on g goroutines.
func parallel(n, g int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

func TestEnvelopeEncryptThroughCache(t *testing.T) {
	const n, perKey = 10_000, 1000
	ctx := context.Background()
	kr := rawAES(t)
	c := newCache(t, cache.MaxMessages(perKey), cache.MaxBytes(1<<20))
	ec := map[string]string{"tenant": "acme"}

	plaintexts := make([][]byte, n)
	cts := make([][]byte, n)
	parallel(n, 64, func(i int) {
		plaintexts[i] = fmt.Appendf(nil, "message %d", i)
		ct, err := envelope.Encrypt(ctx, kr, plaintexts[i], envelope.WithContext(ec),
			envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithCache(c))
		if assert.NoError(t, err) {
			cts[i] = ct
		}
	})
	assert.Equal(t, int64(n/perKey), kr.encrypts.Load(), "keyring calls")
	assert.Equal(t, uint64(n/perKey), c.Stats().KeyringCalls)

	// Every message decrypts, with a cache (one unwrap per data key) and
	// without; the wrapped data keys in the headers show each data key
	// encrypted exactly perKey messages.
	dc := newCache(t)
	perEDK := map[string]int{}
	var mu sync.Mutex
	parallel(n, 64, func(i int) {
		pt, hdr, err := envelope.Decrypt(ctx, kr, cts[i], envelope.WithContext(ec), envelope.WithCache(dc))
		if !assert.NoError(t, err) {
			return
		}
		assert.Equal(t, plaintexts[i], pt)
		mu.Lock()
		perEDK[string(hdr.EncryptedDataKeys[0].Ciphertext)]++
		mu.Unlock()
	})
	require.Len(t, perEDK, n/perKey)
	for _, count := range perEDK {
		assert.Equal(t, perKey, count)
	}
	assert.Equal(t, int64(n/perKey), kr.decrypts.Load(), "one unwrap per data key")

	for _, i := range []int{0, n / 2, n - 1} {
		pt, _, err := envelope.Decrypt(ctx, kr, cts[i])
		require.NoError(t, err)
		assert.Equal(t, plaintexts[i], pt)
	}
}

func TestEnvelopeSignedSuiteSharesSigningKey(t *testing.T) {
	const n, perKey = 40, 10
	ctx := context.Background()
	kr := rawAES(t)
	c := newCache(t, cache.MaxMessages(perKey))
	pubs := map[string]int{}
	for i := range n {
		ct, err := envelope.Encrypt(ctx, kr, []byte("signed"), envelope.WithCache(c)) // default suite signs
		require.NoError(t, err)
		pt, hdr, err := envelope.Decrypt(ctx, kr, ct)
		require.NoError(t, err, "message %d", i)
		assert.Equal(t, []byte("signed"), pt)
		pubs[hdr.Context[keyring.PublicKeyContextKey]]++
	}
	assert.Equal(t, int64(n/perKey), kr.encrypts.Load())
	require.Len(t, pubs, n/perKey, "one signing key per cached entry")
	for _, count := range pubs {
		assert.Equal(t, perKey, count)
	}
}

func TestEnvelopeNeverCachesSuitesWithoutKDF(t *testing.T) {
	ctx := context.Background()
	kr := rawAES(t)
	c := newCache(t)
	for range 3 {
		ct, err := envelope.Encrypt(ctx, kr, []byte("x"), envelope.WithCache(c),
			envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt), envelope.WithSuite(envelope.AES256GCMNoKDF))
		require.NoError(t, err)
		_, _, err = envelope.Decrypt(ctx, kr, ct, envelope.WithCache(c), envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
		require.NoError(t, err)
	}
	assert.Equal(t, int64(3), kr.encrypts.Load())
	assert.Equal(t, int64(3), kr.decrypts.Load())
	assert.Equal(t, 0, c.Len())
}

func TestEnvelopeWriterUsesCacheOnlyWithDeclaredLength(t *testing.T) {
	ctx := context.Background()
	kr := rawAES(t)
	c := newCache(t)
	msg := bytes.Repeat([]byte("stream "), 1000)
	write := func(opts ...envelope.Option) []byte {
		var buf bytes.Buffer
		w, err := envelope.NewWriter(ctx, &buf, kr, append(opts, envelope.WithCache(c),
			envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithFrameSize(1024))...)
		require.NoError(t, err)
		_, err = w.Write(msg)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	var cts [][]byte
	for range 3 {
		cts = append(cts, write(envelope.WithPlaintextLength(int64(len(msg)))))
	}
	assert.Equal(t, int64(1), kr.encrypts.Load(), "declared length: cached")
	for range 2 {
		cts = append(cts, write())
	}
	assert.Equal(t, int64(3), kr.encrypts.Load(), "unknown length: bypassed")
	for _, ct := range cts {
		pt, _, err := envelope.Decrypt(ctx, kr, ct)
		require.NoError(t, err)
		assert.Equal(t, msg, pt)
	}
}

// BenchmarkEnvelopeEncrypt compares small-message encryption with and
// without a cache (raw AES keyring, committing unsigned suite).
func BenchmarkEnvelopeEncrypt(b *testing.B) {
	ctx := context.Background()
	msg := make([]byte, 1024)
	for _, cached := range []bool{false, true} {
		name := "uncached"
		opts := []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}
		if cached {
			name = "cached"
			opts = append(opts, envelope.WithCache(newCache(b)))
		}
		b.Run(name, func(b *testing.B) {
			kr := rawAES(b)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := envelope.Encrypt(ctx, kr, msg, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
