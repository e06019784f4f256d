package cache_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func newCache(t testing.TB, opts ...cache.Option) *cache.Cache {
	t.Helper()
	c, err := cache.New(append([]cache.Option{cache.MaxAge(time.Hour)}, opts...)...)
	require.NoError(t, err)
	return c
}

func TestNewValidatesOptions(t *testing.T) {
	bad := map[string][]cache.Option{
		"no max age":        nil,
		"zero max age":      {cache.MaxAge(0)},
		"negative max age":  {cache.MaxAge(-time.Second)},
		"zero max bytes":    {cache.MaxAge(time.Minute), cache.MaxBytes(0)},
		"zero messages":     {cache.MaxAge(time.Minute), cache.MaxMessages(0)},
		"too many messages": {cache.MaxAge(time.Minute), cache.MaxMessages(cache.MaxMessagesLimit + 1)},
		"zero capacity":     {cache.MaxAge(time.Minute), cache.Capacity(0)},
		"nil clock":         {cache.MaxAge(time.Minute), cache.WithClock(nil)},
	}
	for name, opts := range bad {
		t.Run(name, func(t *testing.T) {
			c, err := cache.New(opts...)
			require.ErrorIs(t, err, cache.ErrInvalidConfig)
			assert.Nil(t, c)
		})
	}
	c, err := cache.New(cache.MaxAge(time.Minute), cache.MaxMessages(cache.MaxMessagesLimit),
		cache.MaxBytes(1), cache.Capacity(1), cache.Partition("p"), cache.WithClock(time.Now))
	require.NoError(t, err)
	assert.Equal(t, "p", c.PartitionName())
}

// New stops at the first invalid option and names it.
func TestNewReturnsFirstInvalidOption(t *testing.T) {
	_, err := cache.New(cache.MaxAge(time.Minute), cache.MaxBytes(-1), cache.Capacity(0))
	require.ErrorIs(t, err, cache.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "MaxBytes")
	assert.NotContains(t, err.Error(), "Capacity")

	// A nil option is ignored.
	c, err := cache.New(nil, cache.MaxAge(time.Minute), nil)
	require.NoError(t, err)
	assert.Equal(t, 0, c.Len())
}

func TestEncryptionHitReturnsPrivateCopies(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "a"}
	var l loader
	ec := map[string]string{"tenant": "acme"}

	m1, err := c.Encryption(ctx, kr, suite, ec, 10, l.encrypt(kr, ec))
	require.NoError(t, err)
	want := append([]byte(nil), m1.PlaintextDataKey...)
	// The caller owns its copy: zero and scribble on it.
	m1.Zero()
	m1.EncryptionContext["tenant"] = "evil"
	m1.EncryptedDataKeys[0].Ciphertext[0] ^= 0xff
	m1.EncryptedDataKeys = append(m1.EncryptedDataKeys, keyring.EncryptedDataKey{ProviderID: "x"})

	m2, err := c.Encryption(ctx, kr, suite, map[string]string{"tenant": "acme"}, 10, l.encrypt(kr, ec))
	require.NoError(t, err)
	assert.Equal(t, 1, l.count())
	assert.Equal(t, want, m2.PlaintextDataKey)
	assert.Equal(t, "acme", m2.EncryptionContext["tenant"])
	require.Len(t, m2.EncryptedDataKeys, 1)
	assert.Equal(t, want, m2.EncryptedDataKeys[0].Ciphertext)
	assert.Equal(t, want, l.key(0), "the cache's own copy is intact")

	s := c.Stats()
	assert.Equal(t, uint64(1), s.Hits)
	assert.Equal(t, uint64(1), s.Misses)
	assert.Equal(t, uint64(1), s.KeyringCalls)
	assert.Equal(t, 1, s.Entries)
}

func TestEncryptionKeyedBySuiteAndContext(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "a"}
	var l loader
	use := func(s keyring.Suite, ec map[string]string) {
		_, err := c.Encryption(ctx, kr, s, ec, 1, l.encrypt(kr, ec))
		require.NoError(t, err)
	}
	use(suite, nil)
	use(suite, map[string]string{}) // the empty context serializes like nil
	use(suite, map[string]string{"a": "1"})
	use(suite, map[string]string{"a": "2"})
	use(keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true}, nil)
	use(suite, map[string]string{"a": "1"})
	assert.Equal(t, 4, l.count())
}

func TestKeyringsNeverShareMaterials(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	a, b := &fakeKeyring{name: "a"}, &fakeKeyring{name: "b"}
	var l loader
	ec := map[string]string{"k": "v"}
	for range 3 {
		ma, err := c.Encryption(ctx, a, suite, ec, 1, l.encrypt(a, ec))
		require.NoError(t, err)
		mb, err := c.Encryption(ctx, b, suite, ec, 1, l.encrypt(b, ec))
		require.NoError(t, err)
		assert.Equal(t, "a", string(ma.EncryptedDataKeys[0].ProviderInfo))
		assert.Equal(t, "b", string(mb.EncryptedDataKeys[0].ProviderInfo))
		assert.NotEqual(t, ma.PlaintextDataKey, mb.PlaintextDataKey)
	}
	assert.Equal(t, int64(1), a.encrypts.Load())
	assert.Equal(t, int64(1), b.encrypts.Load())
}

func TestNonComparableKeyringBypasses(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := valueKeyring{names: []string{"x"}}
	var l loader
	for range 2 {
		m, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
		require.NoError(t, err)
		require.Len(t, m.PlaintextDataKey, 32)
	}
	assert.Equal(t, 2, l.count())
	assert.Equal(t, uint64(2), c.Stats().Bypasses)
	assert.Equal(t, 0, c.Len())

	_, err := c.Encryption(ctx, nil, suite, nil, 1, func(context.Context) (*keyring.EncryptionMaterials, error) {
		return nil, keyring.ErrInvalidMaterials
	})
	require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
}

func TestPartitionsSeparateEntries(t *testing.T) {
	ctx := context.Background()
	a := newCache(t, cache.Partition("a"))
	b := a.WithPartition("b")
	a2 := b.WithPartition("a")
	kr := &fakeKeyring{name: "k"}
	var l loader

	ma, err := a.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	mb, err := b.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 2, l.count(), "partition b does not see a's entry")
	assert.NotEqual(t, ma.PlaintextDataKey, mb.PlaintextDataKey)

	m, err := a2.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 2, l.count(), "a view of partition a shares its entries")
	assert.Equal(t, ma.PlaintextDataKey, m.PlaintextDataKey)
	assert.Equal(t, 2, b.Len(), "views share one store")
	assert.Equal(t, uint64(1), a.Stats().Hits)
}

func TestMessageLongerThanMaxBytesBypasses(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, cache.MaxBytes(100))
	kr := &fakeKeyring{name: "k"}
	var l loader
	for _, n := range []int64{101, 101, -1} {
		_, err := c.Encryption(ctx, kr, suite, nil, n, l.encrypt(kr, nil))
		require.NoError(t, err)
	}
	assert.Equal(t, 3, l.count())
	assert.Equal(t, 0, c.Len())
	assert.Equal(t, uint64(3), c.Stats().Bypasses)

	// A message of exactly MaxBytes may use a fresh data key but fills it:
	// nothing is stored.
	_, err := c.Encryption(ctx, kr, suite, nil, 100, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 0, c.Len())

	_, err = c.Encryption(ctx, kr, suite, nil, 50, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 1, c.Len())
	_, err = c.Encryption(ctx, kr, suite, nil, 50, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 5, l.count(), "the second 50-byte message fills the entry")
	assert.Equal(t, 0, c.Len(), "a full entry is retired at once")
	assert.True(t, isZero(l.key(4)))
	assert.Equal(t, uint64(1), c.Stats().Evictions.Bytes)
}

func TestInvalidContextBypasses(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	ec := map[string]string{"k": "\xff"}
	_, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), c.Stats().Bypasses)
	assert.Equal(t, 0, c.Len())
}

func TestLoadErrorsAreNotCached(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	calls := 0
	failing := func(context.Context) (*keyring.EncryptionMaterials, error) {
		calls++
		return nil, keyring.ErrEncryptOnly
	}
	for range 2 {
		_, err := c.Encryption(ctx, kr, suite, nil, 1, failing)
		require.ErrorIs(t, err, keyring.ErrEncryptOnly)
	}
	assert.Equal(t, 2, calls)
	_, err := c.Encryption(ctx, kr, suite, nil, 1, func(context.Context) (*keyring.EncryptionMaterials, error) { return nil, nil })
	require.ErrorIs(t, err, cache.ErrNoMaterials)
	assert.Equal(t, 0, c.Len())
}

func TestPurgeZeroes(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	for _, v := range []string{"1", "2"} {
		ec := map[string]string{"v": v}
		_, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
		require.NoError(t, err)
	}
	c.Purge()
	assert.Equal(t, 0, c.Len())
	assert.True(t, isZero(l.key(0)))
	assert.True(t, isZero(l.key(1)))
	assert.Equal(t, cache.Evictions{}, c.Stats().Evictions)
}

func TestStatsExport(t *testing.T) {
	s := cache.Stats{Hits: 1, Misses: 2, Bypasses: 3, KeyringCalls: 4,
		Evictions: cache.Evictions{Age: 5, Bytes: 6, Messages: 7, Capacity: 8}, Entries: 9}
	m := s.Map()
	assert.Equal(t, map[string]uint64{
		"hits": 1, "misses": 2, "bypasses": 3, "keyring_calls": 4,
		"evictions_age": 5, "evictions_bytes": 6, "evictions_messages": 7, "evictions_capacity": 8, "entries": 9,
	}, m)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"hits":1,"misses":2,"bypasses":3,"keyring_calls":4,
		"evictions":{"age":5,"bytes":6,"messages":7,"capacity":8},"entries":9}`, string(b))
}

func TestNilCacheLoadsDirectly(t *testing.T) {
	var c *cache.Cache
	kr := &fakeKeyring{name: "k"}
	var l loader
	m, err := c.Encryption(context.Background(), kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Len(t, m.PlaintextDataKey, 32)
	assert.Equal(t, 1, l.count())
}
