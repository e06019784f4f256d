package hierarchy

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// DefaultCacheCapacity is the number of branch key materials a cache holds
// unless told otherwise (as in the official SDKs).
const DefaultCacheCapacity = 1000

// BranchKeyCache holds branch key materials (branch key id, version and
// the 32-byte branch key) for the keyrings that use it, so that a branch
// key is fetched from its store (one DynamoDB read and one KMS Decrypt
// with [Store]) once per time-to-live rather than once per message.
//
// It is bounded: beyond its capacity the least recently used entry is
// dropped. Concurrent misses for one entry make a single store call; the
// other callers wait for its result (single flight). Dropped and expired
// entries have their key bytes overwritten with zeros; expired entries are
// removed when looked up, and by a sweep of the whole cache at most once a
// second on any lookup (a cache nobody uses keeps them until Purge).
// Purge removes them all.
//
// One cache may be shared by several keyrings (WithSharedCache). Entries
// are identified by partition, logical key store name and branch key id
// (and version for decryption), as in the AWS Encryption SDK: keyrings
// share entries only if all of these are equal. Each keyring applies its
// own time-to-live to entries put by others.
//
// A BranchKeyCache is safe for concurrent use.
type BranchKeyCache struct {
	capacity int
	now      func() time.Time // time.Now; replaced by tests

	mu        sync.Mutex
	entries   map[cacheID]*list.Element // of *cacheEntry
	lru       list.List                 // front: most recently used
	flights   map[cacheID]*flight
	lastSweep time.Time

	counts counters
}

type cacheEntry struct {
	id      cacheID
	mat     materials
	created time.Time
	expires time.Time
}

// materials are the branch key materials of one version, by value: the
// cache hands out copies, so it can wipe its own at any time.
type materials struct {
	id         string
	version    string
	versionRaw [versionLen]byte
	key        [branchKeyLen]byte
}

func (m *materials) wipe() { clear(m.key[:]) }

// flight is a fetch in progress. Its waiters read the result from the
// cache once done is closed, so no copy of the key stays behind in it.
type flight struct {
	done chan struct{}
	err  error
}

type counters struct {
	hits, misses, storeCalls, storeErrors atomic.Uint64
	evicted, expired                      atomic.Uint64
}

// Metrics is a snapshot of a cache's or a keyring's counters. It marshals
// to JSON as is (for expvar).
type Metrics struct {
	// Hits counts lookups served from an entry at once.
	Hits uint64 `json:"hits"`
	// Misses counts lookups that found no usable entry: they called the
	// store or waited for a concurrent call for the same entry.
	Misses uint64 `json:"misses"`
	// StoreCalls counts calls of GetActiveBranchKey and
	// GetBranchKeyVersion, failed ones included. With a [Store] each is
	// one DynamoDB GetItem and at most one KMS Decrypt.
	StoreCalls uint64 `json:"store_calls"`
	// StoreErrors counts the store calls that failed.
	StoreErrors uint64 `json:"store_errors"`
	// Evicted counts entries dropped because the cache was full; Expired
	// those dropped because their time-to-live ran out. Both are counted
	// by the cache only (zero in a keyring's Metrics).
	Evicted uint64 `json:"evicted"`
	Expired uint64 `json:"expired"`
	// Entries is the number of entries in the cache (zero in a keyring's
	// Metrics).
	Entries int `json:"entries"`
}

func (c *counters) snapshot() Metrics {
	return Metrics{
		Hits: c.hits.Load(), Misses: c.misses.Load(),
		StoreCalls: c.storeCalls.Load(), StoreErrors: c.storeErrors.Load(),
		Evicted: c.evicted.Load(), Expired: c.expired.Load(),
	}
}

// NewBranchKeyCache returns an empty cache of at most capacity entries
// (capacity > 0). Use it with WithSharedCache to share branch keys between
// keyrings; a keyring without one makes its own.
func NewBranchKeyCache(capacity int) (*BranchKeyCache, error) {
	if capacity <= 0 {
		return nil, newConfigError("cache capacity must be positive, got %d", capacity)
	}
	return &BranchKeyCache{
		capacity: capacity,
		now:      time.Now,
		entries:  make(map[cacheID]*list.Element),
		flights:  make(map[cacheID]*flight),
	}, nil
}

// Metrics returns the cache's counters, summed over every keyring using
// it.
func (c *BranchKeyCache) Metrics() Metrics {
	m := c.counts.snapshot()
	c.mu.Lock()
	m.Entries = len(c.entries)
	c.mu.Unlock()
	return m
}

// Purge removes every entry and overwrites its key bytes with zeros.
// Lookups in flight are not affected; their results are stored when they
// finish.
func (c *BranchKeyCache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, el := range c.entries {
		el.Value.(*cacheEntry).mat.wipe()
	}
	clear(c.entries)
	c.lru.Init()
}

// fetchFunc loads the materials of a missing entry.
type fetchFunc func(ctx context.Context) (materials, error)

// get returns a copy of the materials of entry id, fresh for ttl (the
// entry's own expiry and ttl since it was put both hold), fetching them
// with fetch on a miss. Concurrent misses for id share one fetch. Callers
// wipe the returned materials when done. kc counts for the calling
// keyring as well as for the cache. When alias is not nil, fetched
// materials are also stored under alias(materials) if there is room (see
// putAlias): the active branch key is stored as its version too.
func (c *BranchKeyCache) get(ctx context.Context, id cacheID, ttl time.Duration, kc *counters, fetch fetchFunc, alias func(*materials) cacheID) (materials, error) {
	counted := false
	for {
		c.mu.Lock()
		now := c.now()
		if el, ok := c.entries[id]; ok {
			e := el.Value.(*cacheEntry)
			if now.Before(e.expires) && now.Sub(e.created) <= ttl {
				c.lru.MoveToFront(el)
				mat := e.mat
				c.sweep(now)
				c.mu.Unlock()
				if !counted {
					c.count(kc, func(k *counters) { k.hits.Add(1) })
				}
				return mat, nil
			}
			if !now.Before(e.expires) {
				c.remove(el)
				c.counts.expired.Add(1)
			}
		}
		if !counted {
			counted = true
			c.count(kc, func(k *counters) { k.misses.Add(1) })
		}
		if f, ok := c.flights[id]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return materials{}, fmt.Errorf("hierarchy: waiting for branch key: %w: %w", keyring.ErrTransient, ctx.Err())
			}
			if f.err == nil || isContextError(f.err) && ctx.Err() == nil {
				// Read the stored entry; or the fetching caller gave up
				// (its context ended): try again with ctx.
				continue
			}
			return materials{}, f.err
		}
		f := &flight{done: make(chan struct{})}
		c.flights[id] = f
		c.mu.Unlock()

		return c.load(ctx, id, f, ttl, kc, fetch, alias)
	}
}

// errFetchPanicked is what the waiters of a fetch that panicked get.
var errFetchPanicked = errors.New("hierarchy: branch key source panicked")

// load runs the fetch of flight f for entry id and stores its result. The
// flight ends even if fetch panics (the panic goes on to the caller), so
// that later lookups fetch again instead of waiting forever.
func (c *BranchKeyCache) load(ctx context.Context, id cacheID, f *flight, ttl time.Duration, kc *counters, fetch fetchFunc, alias func(*materials) cacheID) (mat materials, err error) {
	c.count(kc, func(k *counters) { k.storeCalls.Add(1) })
	finished := false
	defer func() {
		if !finished {
			c.count(kc, func(k *counters) { k.storeErrors.Add(1) })
			c.mu.Lock()
			delete(c.flights, id)
			c.mu.Unlock()
			f.err = errFetchPanicked
			close(f.done)
		}
	}()
	mat, err = fetch(ctx)
	finished = true
	if err != nil {
		c.count(kc, func(k *counters) { k.storeErrors.Add(1) })
	}

	c.mu.Lock()
	delete(c.flights, id)
	if err == nil {
		now := c.now()
		c.put(id, mat, now, ttl)
		if alias != nil {
			c.putAlias(alias(&mat), mat, now, ttl)
		}
	}
	c.mu.Unlock()
	f.err = err
	close(f.done)
	return mat, err
}

func (c *BranchKeyCache) count(kc *counters, add func(*counters)) {
	add(&c.counts)
	if kc != nil {
		add(kc)
	}
}

// put stores a copy of mat under id; c.mu is held.
func (c *BranchKeyCache) put(id cacheID, mat materials, now time.Time, ttl time.Duration) {
	if el, ok := c.entries[id]; ok {
		if !now.Before(el.Value.(*cacheEntry).expires) {
			c.counts.expired.Add(1)
		}
		c.remove(el)
	}
	e := &cacheEntry{id: id, mat: mat, created: now, expires: now.Add(ttl)}
	c.entries[id] = c.lru.PushFront(e)
	for len(c.entries) > c.capacity {
		c.remove(c.lru.Back())
		c.counts.evicted.Add(1)
	}
	c.sweep(now)
}

// sweep removes the expired entries, at most once a second; c.mu is held.
func (c *BranchKeyCache) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < time.Second {
		return
	}
	c.lastSweep = now
	for el := c.lru.Back(); el != nil; {
		prev := el.Prev()
		if e := el.Value.(*cacheEntry); !now.Before(e.expires) {
			c.remove(el)
			c.counts.expired.Add(1)
		}
		el = prev
	}
}

// putAlias stores a copy of mat under id as the least recently used
// entry, unless a fresh entry is there or the cache is full: an alias (the
// version entry of a fetched active key) never pushes out another entry,
// so it cannot halve the number of branch keys the cache holds. c.mu is
// held.
func (c *BranchKeyCache) putAlias(id cacheID, mat materials, now time.Time, ttl time.Duration) {
	if el, ok := c.entries[id]; ok {
		if now.Before(el.Value.(*cacheEntry).expires) {
			return
		}
		c.remove(el)
		c.counts.expired.Add(1)
	}
	if len(c.entries) >= c.capacity {
		return
	}
	c.entries[id] = c.lru.PushBack(&cacheEntry{id: id, mat: mat, created: now, expires: now.Add(ttl)})
}

// remove drops an entry and wipes its key; c.mu is held.
func (c *BranchKeyCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	delete(c.entries, e.id)
	c.lru.Remove(el)
	e.mat.wipe()
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// String describes the cache without its contents.
func (c *BranchKeyCache) String() string {
	m := c.Metrics()
	return fmt.Sprintf("hierarchy.BranchKeyCache{capacity: %d, entries: %d}", c.capacity, m.Entries)
}

// GoString is String: no verb prints the cached keys.
func (c *BranchKeyCache) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *BranchKeyCache) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }
