package hierarchy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func TestCacheSingleFlight(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	release := src.hold()
	defer release()
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			errs <- kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
		})
	}
	waitMisses(t, kr, 32) // one fetching, 31 waiting
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), src.calls.Load(), "32 concurrent misses make one store call")
	m := kr.Metrics()
	require.Equal(t, uint64(1), m.StoreCalls)
	require.Equal(t, uint64(32), m.Misses, "the callers that waited count as misses")
	require.Zero(t, m.Hits)
}

func TestCacheWaiterRetriesWhenFetcherGivesUp(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	release := src.hold()
	defer release()
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	ctx, cancel := context.WithCancel(ctxBG)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	}()
	<-src.started // the first caller is fetching
	done := make(chan error, 1)
	go func() { // waits, then fetches itself
		done <- kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	}()
	waitMisses(t, kr, 2)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	<-src.started // the waiter took over the fetch
	release()
	require.NoError(t, <-done)
	require.Equal(t, int64(2), src.calls.Load())
}

func TestCacheWaiterContext(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	release := src.hold()
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	fetched := make(chan error, 1)
	go func() {
		fetched <- kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	}()
	<-src.started
	ctx, cancel := context.WithTimeout(ctxBG, 10*time.Millisecond)
	defer cancel()
	err := kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	release()
	require.NoError(t, <-fetched, "the fetch goes on for its own caller")
	require.Equal(t, int64(1), src.calls.Load(), "the waiter that gave up made no call")
}

func TestCacheTTL(t *testing.T) {
	clock := newFakeClock()
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, clock, WithBranchKeyID("a"), WithTTL(10*time.Second))
	encryptMaterials(t, kr, nil)
	clock.advance(9 * time.Second)
	encryptMaterials(t, kr, nil)
	require.Equal(t, int64(1), src.calls.Load())
	clock.advance(time.Second)
	encryptMaterials(t, kr, nil)
	require.Equal(t, int64(2), src.calls.Load(), "an entry is expired at exactly its TTL")
	m := kr.cache.Metrics()
	require.Equal(t, uint64(2), m.Expired, "the active entry and its version entry")
	require.Equal(t, 2, m.Entries)
}

// cachedKeys returns the cache's entries' key arrays, to check wiping.
func cachedKeys(c *BranchKeyCache) []*[branchKeyLen]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*[branchKeyLen]byte
	for el := c.lru.Front(); el != nil; el = el.Next() {
		out = append(out, &el.Value.(*cacheEntry).mat.key)
	}
	return out
}

func isZero(k *[branchKeyLen]byte) bool { return *k == [branchKeyLen]byte{} }

func TestCacheLRUEvictionWipes(t *testing.T) {
	cache, err := NewBranchKeyCache(2)
	require.NoError(t, err)
	calls := 0
	get := func(name string) {
		t.Helper()
		id := makeCacheID([]byte("p"), "", name, "")
		mat, err := cache.get(ctxBG, id, time.Hour, nil, func(context.Context) (materials, error) {
			calls++
			m := materials{id: name}
			m.key[0] = 1
			return m, nil
		}, nil)
		require.NoError(t, err)
		require.Equal(t, name, mat.id)
	}
	get("a")
	get("b")
	get("a") // a is now the most recently used
	require.Equal(t, 2, calls)
	bKey := cachedKeys(cache)[1]
	require.False(t, isZero(bKey))
	get("c") // evicts b
	require.Equal(t, 3, calls)
	require.True(t, isZero(bKey), "the evicted entry's key was wiped")
	m := cache.Metrics()
	require.Equal(t, uint64(1), m.Evicted)
	require.Equal(t, 2, m.Entries)
	get("a")
	require.Equal(t, 3, calls, "a stayed")
	get("b")
	require.Equal(t, 4, calls, "b was gone")

	keys := cachedKeys(cache)
	cache.Purge()
	for _, k := range keys {
		require.True(t, isZero(k))
	}
	require.Equal(t, 0, cache.Metrics().Entries)
}

// clockedCache returns a fake clock, a source holding the branch keys ids
// and a shared cache of capacity 10 on that clock.
func clockedCache(t *testing.T, ids ...string) (*fakeClock, *memSource, *BranchKeyCache) {
	t.Helper()
	clock := newFakeClock()
	src := newMemSource()
	for _, id := range ids {
		src.add(t, id)
	}
	cache, err := NewBranchKeyCache(10)
	require.NoError(t, err)
	cache.now = clock.now
	return clock, src, cache
}

func TestCacheExpirySweepWipes(t *testing.T) {
	clock, src, cache := clockedCache(t, "a", "b")
	ka := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p"), WithTTL(time.Second))
	kb := newTestKeyring(t, src, nil, WithBranchKeyID("b"), WithSharedCache(cache, "p"), WithTTL(time.Hour))
	encryptMaterials(t, ka, nil)
	aKey := cachedKeys(cache)[0]
	clock.advance(2 * time.Second)
	encryptMaterials(t, kb, nil) // a miss: the sweep drops a's expired entries
	require.True(t, isZero(aKey))
	require.Equal(t, 2, cache.Metrics().Entries, "b's active key, stored as its version too")
	require.Equal(t, uint64(2), cache.Metrics().Expired)
}

func TestSharedCachePartitions(t *testing.T) {
	clock, src, cache := clockedCache(t, "a")
	k1 := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p1"), WithTTL(time.Hour))
	k1b := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p1"), WithTTL(time.Minute))
	k2 := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p2"), WithTTL(time.Hour))
	k3 := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p1"), WithTTL(time.Hour), WithLogicalKeyStoreName("other"))

	encryptMaterials(t, k1, nil)
	encryptMaterials(t, k1b, nil)
	require.Equal(t, int64(1), src.calls.Load(), "same partition and store name share entries")
	encryptMaterials(t, k2, nil)
	require.Equal(t, int64(2), src.calls.Load(), "another partition does not")
	encryptMaterials(t, k3, nil)
	require.Equal(t, int64(3), src.calls.Load(), "another logical store name does not")

	clock.advance(2 * time.Minute)
	encryptMaterials(t, k1b, nil)
	require.Equal(t, int64(4), src.calls.Load(), "k1b applies its own TTL to k1's entry")
	encryptMaterials(t, k1, nil)
	require.Equal(t, int64(4), src.calls.Load(), "k1 uses the entry k1b refreshed")

	require.Equal(t, uint64(4), cache.Metrics().StoreCalls)
	require.Equal(t, uint64(1), k1b.Metrics().StoreCalls)
	require.Equal(t, uint64(1), k1b.Metrics().Hits)
	require.Equal(t, uint64(1), k1.Metrics().Misses)
}

func TestOwnCachesAreSeparate(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	encryptMaterials(t, newTestKeyring(t, src, nil, WithBranchKeyID("a")), nil)
	encryptMaterials(t, newTestKeyring(t, src, nil, WithBranchKeyID("a")), nil)
	require.Equal(t, int64(2), src.calls.Load())
}

func TestDecryptIDMemo(t *testing.T) {
	src := newMemSource()
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithLogicalKeyStoreName("store"))
	for i := range idMemoMax + 10 {
		var v [versionLen]byte
		v[0], v[1] = byte(i), byte(i>>8)
		require.Equal(t, makeCacheID(kr.partition, "store", "a", versionText(v)), kr.decryptIDs.get(kr, "a", v))
		require.LessOrEqual(t, len(kr.decryptIDs.ids), idMemoMax)
	}
}

func TestCapacityOneKeepsActiveKey(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithCacheCapacity(1))
	for range 5 {
		encryptMaterials(t, kr, nil)
	}
	require.Equal(t, int64(1), src.calls.Load(), "the active entry is not evicted by its own version entry")
}

// panicSource panics on its first call, then answers from memSource.
type panicSource struct {
	*memSource
	panicked atomic.Bool
}

func (s *panicSource) GetActiveBranchKey(ctx context.Context, id string) (*BranchKey, error) {
	if !s.panicked.Swap(true) {
		panic("source bug")
	}
	return s.memSource.GetActiveBranchKey(ctx, id)
}

// TestCacheFetchPanicReleasesFlight: a source that panics does not leave
// its branch key blocked: the panic reaches the caller and the next lookup
// fetches again instead of waiting forever.
func TestCacheFetchPanicReleasesFlight(t *testing.T) {
	src := &panicSource{memSource: newMemSource()}
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	require.PanicsWithValue(t, "source bug", func() {
		_ = kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	})
	done := make(chan error, 1)
	go func() {
		done <- kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the lookup after a panicking fetch waits forever")
	}
	require.Equal(t, uint64(2), kr.Metrics().StoreCalls)
	require.Equal(t, uint64(1), kr.Metrics().StoreErrors)
}

// TestCacheExpirySweepOnHits: expired entries are wiped even when every
// lookup is a hit on another entry.
func TestCacheExpirySweepOnHits(t *testing.T) {
	clock, src, cache := clockedCache(t, "a", "b")
	kb := newTestKeyring(t, src, nil, WithBranchKeyID("b"), WithSharedCache(cache, "p"), WithTTL(time.Hour))
	ka := newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithSharedCache(cache, "p"), WithTTL(time.Second))
	encryptMaterials(t, kb, nil)
	encryptMaterials(t, ka, nil)
	aKey := cachedKeys(cache)[0]
	require.False(t, isZero(aKey))
	clock.advance(2 * time.Second)
	encryptMaterials(t, kb, nil) // a hit
	require.Equal(t, int64(2), src.calls.Load())
	require.True(t, isZero(aKey), "a's expired key was wiped")
	require.Equal(t, 2, cache.Metrics().Entries)
}

// TestCacheIDFieldsCannotShift: cache ids join their fields with 0x00, so a
// partition or logical store name holding 0x00 could make two keyrings
// share an entry for different branch keys; such names are refused, and a
// cached entry is used only for the branch key id it holds.
func TestCacheIDFieldsCannotShift(t *testing.T) {
	src := newMemSource()
	src.add(t, "t\x00x")
	src.add(t, "x")
	cache, err := NewBranchKeyCache(10)
	require.NoError(t, err)
	a := newTestKeyring(t, src, nil, WithBranchKeyID("t\x00x"), WithSharedCache(cache, "p"), WithLogicalKeyStoreName("s"))
	encryptMaterials(t, a, nil)
	_, err = NewKeyring(src, WithBranchKeyID("x"), WithSharedCache(cache, "p\x00s"), WithLogicalKeyStoreName("t"))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = NewKeyring(src, WithBranchKeyID("x"), WithSharedCache(cache, "p"), WithLogicalKeyStoreName("s\x00t"))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = NewKeyring(nulNamed{src}, WithBranchKeyID("x"))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)

	// Even if two ids collide, an entry serves only its own branch key.
	b := newTestKeyring(t, src, nil, WithBranchKeyID("x"), WithSharedCache(cache, "p"), WithLogicalKeyStoreName("s"))
	b.encryptID = a.encryptID
	e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
	require.ErrorIs(t, b.OnEncrypt(ctxBG, e), ErrBranchKey)
	require.Empty(t, e.EncryptedDataKeys)
}

type nulNamed struct{ *memSource }

func (nulNamed) LogicalName() string { return "a\x00b" }

// TestCachePurgeDuringFetch: Purge does not disturb a lookup in flight;
// its result is stored when it finishes.
func TestCachePurgeDuringFetch(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	release := src.hold()
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	done := make(chan error, 1)
	go func() {
		done <- kr.OnEncrypt(ctxBG, &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}})
	}()
	<-src.started
	kr.cache.Purge()
	release()
	require.NoError(t, <-done)
	require.Equal(t, 2, kr.cache.Metrics().Entries, "the active entry and its version entry")
	encryptMaterials(t, kr, nil)
	require.Equal(t, int64(1), src.calls.Load())
}

// TestCacheAliasesDoNotHalveCapacity: the version entry stored beside a
// fetched active key is a bonus; it never pushes out active keys, so a
// cache holds as many tenants' active keys as its capacity (as the
// official SDKs' caches do) rather than half as many.
func TestCacheAliasesDoNotHalveCapacity(t *testing.T) {
	const capacity, tenants = 10, 9
	src := newMemSource()
	for i := range tenants {
		src.add(t, fmt.Sprint("t", i))
	}
	kr := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(ContextKeySupplier("tenant", nil)), WithCacheCapacity(capacity))
	var edks []keyring.EncryptedDataKey
	for range 3 {
		for i := range tenants {
			m := encryptMaterials(t, kr, map[string]string{"tenant": fmt.Sprint("t", i)})
			edks = append(edks, m.EncryptedDataKeys...)
		}
	}
	require.Equal(t, int64(tenants), src.calls.Load(), "one fetch per tenant")
	require.LessOrEqual(t, kr.cache.Metrics().Entries, capacity)
	// Decryption still works, fetching the versions the cache had no room for.
	for i, edk := range edks[:tenants] {
		_, err := decryptWith(kr, map[string]string{"tenant": fmt.Sprint("t", i)}, edk)
		require.NoError(t, err)
	}
}
