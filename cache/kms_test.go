package cache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// kmsEnv is an in-process KMS with one symmetric key and a KMS keyring
// for it, called through the real AWS SDK client.
type kmsEnv struct {
	srv *kmstest.Server
	arn string
	kr  *awskms.Keyring
}

func newKMS(t testing.TB) *kmsEnv {
	t.Helper()
	s := kmstest.NewServer()
	t.Cleanup(s.Close)
	arn, err := s.CreateKey()
	require.NoError(t, err)
	// One attempt per call: a retried request would show up in the
	// server's counters, and the tests count calls exactly. The server's
	// client keeps a connection per goroutine of the tests.
	kr, err := awskms.NewKeyring(s.Client(kmstest.ClientRetries(1)), arn)
	require.NoError(t, err)
	return &kmsEnv{srv: s, arn: arn, kr: kr}
}

// encryptAll encrypts n small messages from g goroutines and returns the
// plaintexts and messages.
func encryptAll(t *testing.T, kr *awskms.Keyring, n, g int, opts ...envelope.Option) (pts, cts [][]byte) {
	t.Helper()
	pts, cts = make([][]byte, n), make([][]byte, n)
	parallel(n, g, func(i int) {
		pts[i] = fmt.Appendf(nil, "kms message %d", i)
		ct, err := envelope.Encrypt(context.Background(), kr, pts[i], opts...)
		if assert.NoError(t, err) {
			cts[i] = ct
		}
	})
	require.NotContains(t, cts, []byte(nil), "every message encrypted")
	return pts, cts
}

// A cache with MaxMessages=m cuts the KMS GenerateDataKey calls of n
// messages from n to n/m, however many goroutines encrypt; decrypting
// through a cache calls KMS Decrypt once per distinct data key.
func TestKMSCacheCutsGenerateDataKeyCalls(t *testing.T) {
	const n, perKey, goroutines = 5000, 500, 32
	ctx := context.Background()
	env := newKMS(t)
	ec := map[string]string{"tenant": "acme", "purpose": "kms-cache"}
	opts := []envelope.Option{envelope.WithContext(ec), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}

	// Uncached: one data key, so one KMS round trip, per message.
	_, _ = encryptAll(t, env.kr, n, goroutines, opts...)
	assert.Equal(t, n, env.srv.Calls("GenerateDataKey"), "uncached GenerateDataKey calls")
	assert.Equal(t, n, env.srv.TotalCalls(), "uncached KMS calls")

	// Cached: one KMS round trip per MaxMessages messages.
	env.srv.ResetCalls()
	c := newCache(t, cache.MaxMessages(perKey))
	pts, cts := encryptAll(t, env.kr, n, goroutines, append(opts, envelope.WithCache(c))...)
	assert.Equal(t, n/perKey, env.srv.Calls("GenerateDataKey"), "cached GenerateDataKey calls")
	assert.Equal(t, n/perKey, env.srv.TotalCalls(), "cached KMS calls")
	st := c.Stats()
	assert.Equal(t, uint64(n/perKey), st.KeyringCalls)
	assert.Equal(t, uint64(n/perKey), st.Evictions.Messages, "every entry retired at its limit")
	assert.Equal(t, uint64(n), st.Hits+st.Misses)
	t.Logf("%d messages: %d GenerateDataKey calls uncached, %d cached (stats %+v)", n, n, env.srv.Calls("GenerateDataKey"), st)

	// Decrypt through a cache: one KMS Decrypt per data key, every
	// plaintext intact, every data key used for exactly perKey messages.
	env.srv.ResetCalls()
	dc := newCache(t)
	var mu sync.Mutex
	perEDK := map[string]int{}
	parallel(n, goroutines, func(i int) {
		pt, hdr, err := envelope.Decrypt(ctx, env.kr, cts[i], envelope.WithContext(ec), envelope.WithCache(dc))
		if !assert.NoError(t, err) {
			return
		}
		assert.Equal(t, pts[i], pt)
		if assert.Len(t, hdr.EncryptedDataKeys, 1) {
			assert.Equal(t, env.arn, string(hdr.EncryptedDataKeys[0].ProviderInfo))
			mu.Lock()
			perEDK[string(hdr.EncryptedDataKeys[0].Ciphertext)]++
			mu.Unlock()
		}
	})
	require.Len(t, perEDK, n/perKey, "distinct data keys")
	for _, count := range perEDK {
		assert.Equal(t, perKey, count, "messages per data key")
	}
	assert.Equal(t, n/perKey, env.srv.Calls("Decrypt"), "cached Decrypt calls")
	assert.Equal(t, n/perKey, env.srv.TotalCalls(), "cached KMS calls on decrypt")
	assert.Equal(t, uint64(n/perKey), dc.Stats().KeyringCalls)

	// Without a cache each message costs a Decrypt call again.
	env.srv.ResetCalls()
	for _, i := range []int{0, 1, n / 2, n - 1} {
		pt, _, err := envelope.Decrypt(ctx, env.kr, cts[i], envelope.WithContext(ec))
		require.NoError(t, err)
		assert.Equal(t, pts[i], pt)
	}
	assert.Equal(t, 4, env.srv.Calls("Decrypt"), "uncached Decrypt calls")
}

// BenchmarkKMSEncryptSmall compares 1 KiB encryption with a KMS keyring
// against kmstest with and without a cache: uncached, every message pays
// a GenerateDataKey round trip (loopback HTTP through the AWS SDK, plus
// rtt of simulated network latency); cached, almost none do. The
// kms-calls/op metric shows the round trips made.
func BenchmarkKMSEncryptSmall(b *testing.B) {
	ctx := context.Background()
	msg := make([]byte, 1024)
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		for _, cached := range []bool{false, true} {
			b.Run(fmt.Sprintf("rtt=%v/cached=%v", rtt, cached), func(b *testing.B) {
				env := newKMS(b)
				env.srv.SetLatency(rtt)
				opts := []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}
				if cached {
					opts = append(opts, envelope.WithCache(newCache(b, cache.MaxMessages(cache.MaxMessagesLimit))))
				}
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := envelope.Encrypt(ctx, env.kr, msg, opts...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(env.srv.Calls("GenerateDataKey"))/float64(b.N), "kms-calls/op")
			})
		}
	}
}
