// Package cache stores data-key materials so that many messages can share
// one data key, bounded by age, bytes and message count.
//
// Without a cache every message costs one call to the keyring, which for
// AWS KMS is a network round trip. A Cache lets package envelope reuse the
// materials of one keyring call for many messages:
//
//	c, err := cache.New(cache.MaxAge(5*time.Minute), cache.MaxMessages(10_000))
//	ct, err := envelope.Encrypt(ctx, kr, plaintext, envelope.WithCache(c))
//
// Every entry is limited by its age (MaxAge, required), by the number of
// messages it has encrypted (MaxMessages, at most 2^32) and by the number of
// plaintext bytes it has encrypted (MaxBytes). Usage is reserved atomically
// before a message uses an entry, so the limits hold exactly under any
// concurrency; an entry that would exceed a limit is retired, never used
// again, and its data key is zeroed. An entry that reaches MaxAge is
// removed and its data key zeroed at that moment, by a timer, without
// waiting for the next lookup. Concurrent misses for the same entry make
// one call to the keyring; the other callers wait for it. Entries created
// through different keyrings never mix, and the cache holds at most
// Capacity entries, evicting the least recently used.
//
// A Cache needs no Close: a timer refers to the cache only while it holds
// an unexpired entry, so a Cache nobody uses any more is collected at the
// latest MaxAge after its last entry was created, or at once after Purge.
//
// The cache has no cryptographic policy of its own: package envelope decides
// which suites may be cached (never those without a key derivation) and
// bypasses the cache when a message's length is unknown. Only package
// envelope looks materials up; a Cache offers users its partitions, size,
// Stats and Purge.
//
// This package and its implementation, internal/matcache, import only the
// standard library and package keyring.
package cache

import (
	"errors"
	"fmt"
	"math"

	"github.com/cryptkeeper-go/cryptkeeper/internal/matcache"
)

// Limits and defaults.
const (
	// MaxMessagesLimit is the largest MaxMessages value and the default:
	// the format allows at most 2^32 messages per data key.
	MaxMessagesLimit uint64 = 1 << 32
	// DefaultMaxBytes is the default bytes limit per entry (2^63 - 1).
	DefaultMaxBytes int64 = math.MaxInt64
	// DefaultCapacity is the default number of entries.
	DefaultCapacity = 1000
)

// ErrInvalidConfig reports an invalid option given to New.
var ErrInvalidConfig = errors.New("cache: invalid configuration")

// ErrNoMaterials reports a keyring load that returned neither materials
// nor an error.
var ErrNoMaterials = matcache.ErrNoMaterials

// ErrLoadPanicked is returned to requests that waited for a keyring load
// that panicked (the panic itself goes on in the goroutine that ran the
// load).
var ErrLoadPanicked = matcache.ErrLoadPanicked

// Cache is a concurrent, bounded store of encryption and decryption
// materials, for use with envelope.WithCache. It is safe for use by many
// goroutines. A Cache created by New and the views returned by its
// WithPartition method share their entries, limits and counters.
//
// Formatting a Cache with package fmt prints its partition and size, never
// its entries.
type Cache matcache.Cache

func (c *Cache) impl() *matcache.Cache { return (*matcache.Cache)(c) }

// New returns an empty cache. MaxAge is required. It fails with an error
// wrapping ErrInvalidConfig when an option is invalid.
func New(opts ...Option) (*Cache, error) {
	cfg := config{
		maxBytes:    DefaultMaxBytes,
		maxMessages: MaxMessagesLimit,
		capacity:    DefaultCapacity,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.maxAge == 0 {
		return nil, fmt.Errorf("%w: MaxAge is required", ErrInvalidConfig)
	}
	return (*Cache)(matcache.New(matcache.Config{
		MaxAge:      cfg.maxAge,
		MaxBytes:    cfg.maxBytes,
		MaxMessages: cfg.maxMessages,
		Capacity:    cfg.capacity,
		Partition:   cfg.partition,
		Now:         cfg.now,
	})), nil
}

// WithPartition returns a view of c that shares its entries, limits and
// counters but reads and writes the named partition. Views with the same
// partition name share entries; views with different names never do.
func (c *Cache) WithPartition(name string) *Cache {
	return (*Cache)(c.impl().WithPartition(name))
}

// PartitionName returns the partition c reads and writes.
func (c *Cache) PartitionName() string { return c.impl().PartitionName() }

// Len returns the number of entries currently stored, in all partitions.
func (c *Cache) Len() int { return c.impl().Len() }

// Purge removes every entry, in all partitions, and zeroes their data keys.
// Loads in progress are not affected; their results are stored as usual.
// Purged entries are not counted as evictions.
func (c *Cache) Purge() { c.impl().Purge() }

// String describes c by its partition, entry count and age limit.
func (c *Cache) String() string {
	if c == nil {
		return "cache.Cache(nil)"
	}
	return fmt.Sprintf("cache.Cache{Partition:%q Entries:%d MaxAge:%v}", c.PartitionName(), c.Len(), c.impl().MaxAge())
}

// GoString is String: a Cache has no Go syntax worth printing.
func (c *Cache) GoString() string { return c.String() }
