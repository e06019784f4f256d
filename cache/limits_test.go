package cache_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
)

type usage struct{ messages, bytes int64 }

// hammer makes n Encryption requests from g goroutines, with message
// lengths from size, and returns the usage recorded per data key.
func hammer(t *testing.T, c *cache.Cache, kr *fakeKeyring, l *loader, n, g int, size func(i int) int64) map[string]usage {
	t.Helper()
	ctx := context.Background()
	ec := map[string]string{"purpose": "test"}
	var (
		next atomic.Int64
		mu   sync.Mutex
		used = map[string]usage{}
		wg   sync.WaitGroup
	)
	for range g {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				plen := size(i)
				m, err := c.Encryption(ctx, kr, suite, ec, plen, l.encrypt(kr, ec))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				u := used[string(m.PlaintextDataKey)]
				u.messages++
				u.bytes += plen
				used[string(m.PlaintextDataKey)] = u
				mu.Unlock()
				m.Zero() // callers zero their copy; the entry must not notice
			}
		})
	}
	wg.Wait()
	return used
}

func TestMessageLimitUnderConcurrency(t *testing.T) {
	const maxBytes = 1 << 20
	c := newCache(t, cache.MaxMessages(1000), cache.MaxBytes(maxBytes))
	kr := &fakeKeyring{name: "k"}
	var l loader
	used := hammer(t, c, kr, &l, 10_000, 64, func(int) int64 { return 100 })

	assert.Equal(t, 10, l.count(), "load calls")
	assert.Equal(t, int64(10), kr.encrypts.Load(), "keyring calls")
	require.Len(t, used, 10, "distinct data keys")
	for _, u := range used {
		assert.Equal(t, int64(1000), u.messages)
		assert.LessOrEqual(t, u.bytes, int64(maxBytes))
	}
	for i := range 10 {
		assert.True(t, isZero(l.key(i)), "retired key %d zeroed", i)
	}
	s := c.Stats()
	assert.Equal(t, uint64(10), s.KeyringCalls)
	assert.Equal(t, uint64(10), s.Evictions.Messages)
	assert.Equal(t, uint64(10_000), s.Hits+s.Misses)
	assert.Equal(t, 0, s.Entries)
}

func TestByteLimitUnderConcurrency(t *testing.T) {
	const maxBytes = 10_000
	c := newCache(t, cache.MaxMessages(1000), cache.MaxBytes(maxBytes))
	kr := &fakeKeyring{name: "k"}
	var l loader
	used := hammer(t, c, kr, &l, 10_000, 64, func(int) int64 { return 100 })
	assert.Equal(t, 100, l.count(), "each key serves exactly 100 messages of 100 bytes")
	for _, u := range used {
		assert.Equal(t, int64(maxBytes), u.bytes)
	}
	assert.Equal(t, uint64(100), c.Stats().Evictions.Bytes)
}

func TestMixedSizesNeverExceedLimits(t *testing.T) {
	const maxBytes, maxMessages = 50_000, 300
	c := newCache(t, cache.MaxMessages(maxMessages), cache.MaxBytes(maxBytes))
	kr := &fakeKeyring{name: "k"}
	var l loader
	sizes := make([]int64, 10_000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range sizes {
		sizes[i] = rng.Int64N(1000)
	}
	used := hammer(t, c, kr, &l, len(sizes), 64, func(i int) int64 { return sizes[i] })

	assert.Equal(t, l.count(), len(used), "one data key per load")
	var total int64
	for _, u := range used {
		total += u.messages
		assert.LessOrEqual(t, u.messages, int64(maxMessages))
		assert.LessOrEqual(t, u.bytes, int64(maxBytes))
	}
	assert.Equal(t, int64(len(sizes)), total)
	s := c.Stats()
	assert.Equal(t, uint64(l.count()), s.KeyringCalls)
}

func TestSequentialMessageLimit(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, cache.MaxMessages(3))
	kr := &fakeKeyring{name: "k"}
	var l loader
	var keys []string
	for range 7 {
		m, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
		require.NoError(t, err)
		keys = append(keys, string(m.PlaintextDataKey))
	}
	assert.Equal(t, 3, l.count())
	assert.Equal(t, keys[0], keys[2])
	assert.NotEqual(t, keys[2], keys[3])
	assert.Equal(t, keys[3], keys[5])
	assert.NotEqual(t, keys[5], keys[6])
	assert.True(t, isZero(l.key(0)))
	assert.True(t, isZero(l.key(1)))
	assert.False(t, isZero(l.key(2)), "the current entry is live")
}

func TestMaxMessagesOneStoresNothing(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, cache.MaxMessages(1))
	kr := &fakeKeyring{name: "k"}
	var l loader
	for range 3 {
		_, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
		require.NoError(t, err)
	}
	assert.Equal(t, 3, l.count())
	assert.Equal(t, 0, c.Len())
}

func TestExpiryWithClock(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c, err := cache.New(cache.MaxAge(time.Minute), cache.WithClock(clk.Now))
	require.NoError(t, err)
	kr := &fakeKeyring{name: "k"}
	var l loader

	m1, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	clk.Advance(time.Minute - time.Nanosecond)
	m2, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, m1.PlaintextDataKey, m2.PlaintextDataKey)
	assert.Equal(t, 1, l.count())

	clk.Advance(time.Nanosecond) // age == MaxAge: expired
	m3, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.NotEqual(t, m1.PlaintextDataKey, m3.PlaintextDataKey)
	assert.Equal(t, 2, l.count())
	assert.True(t, isZero(l.key(0)), "expired key zeroed")
	assert.Equal(t, uint64(1), c.Stats().Evictions.Age)
}

func TestExpiredEntriesSweptByOtherRequests(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c, err := cache.New(cache.MaxAge(time.Minute), cache.WithClock(clk.Now))
	require.NoError(t, err)
	kr := &fakeKeyring{name: "k"}
	var l loader
	a, b := map[string]string{"e": "a"}, map[string]string{"e": "b"}
	_, err = c.Encryption(ctx, kr, suite, a, 1, l.encrypt(kr, a))
	require.NoError(t, err)
	clk.Advance(30 * time.Second)
	_, err = c.Encryption(ctx, kr, suite, b, 1, l.encrypt(kr, b))
	require.NoError(t, err)
	clk.Advance(30 * time.Second)

	// A request for b (still fresh) removes and zeroes the expired a.
	_, err = c.Encryption(ctx, kr, suite, b, 1, l.encrypt(kr, b))
	require.NoError(t, err)
	assert.Equal(t, 2, l.count())
	assert.True(t, isZero(l.key(0)))
	assert.False(t, isZero(l.key(1)))
	assert.Equal(t, 1, c.Len())
	assert.Equal(t, uint64(1), c.Stats().Evictions.Age)
}

func TestCapacityEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, cache.Capacity(2))
	kr := &fakeKeyring{name: "k"}
	var l loader
	use := func(v string) {
		ec := map[string]string{"v": v}
		_, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
		require.NoError(t, err)
	}
	use("a") // key 0
	use("b") // key 1
	use("a") // hit: b is now least recently used
	use("c") // key 2, evicts b
	assert.Equal(t, 3, l.count())
	assert.Equal(t, 2, c.Len())
	assert.True(t, isZero(l.key(1)), "evicted key zeroed")
	assert.False(t, isZero(l.key(0)))
	assert.Equal(t, uint64(1), c.Stats().Evictions.Capacity)

	use("a")
	assert.Equal(t, 3, l.count(), "a survived")
	use("b")
	assert.Equal(t, 4, l.count(), "b was evicted")
}

// An entry that reaches MaxAge is removed and its data key zeroed then,
// with no further lookup.
func TestExpiryWipesWithoutLookup(t *testing.T) {
	ctx := context.Background()
	c, err := cache.New(cache.MaxAge(30 * time.Millisecond))
	require.NoError(t, err)
	kr := &fakeKeyring{name: "k"}
	var l loader
	_, err = c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())
	// The age eviction is counted after the key is zeroed: waiting for it
	// orders the checks below after the zeroing.
	require.Eventually(t, func() bool { return c.Stats().Evictions.Age == 1 }, 10*time.Second, time.Millisecond)
	assert.True(t, isZero(l.key(0)), "expired key zeroed")
	assert.Equal(t, 0, c.Len())
	assert.Equal(t, uint64(0), c.Stats().Hits)
}
