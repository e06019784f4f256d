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
// again, and its data key is zeroed. Concurrent misses for the same entry
// make one call to the keyring; the other callers wait for it. Entries
// created through different keyrings never mix, and the cache holds at most
// Capacity entries, evicting the least recently used.
//
// The cache has no cryptographic policy of its own: package envelope decides
// which suites may be cached (never those without a key derivation) and
// bypasses the cache when a message's length is unknown.
//
// This package imports only the standard library and package keyring.
package cache

import (
	"container/list"
	"crypto/sha512"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
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

// ErrNoMaterials reports a load function that returned neither materials
// nor an error.
var ErrNoMaterials = errors.New("cache: load returned no materials")

// Cache is a concurrent, bounded store of encryption and decryption
// materials. It is safe for use by many goroutines. A Cache created by New
// and the views returned by its WithPartition method share their entries,
// limits and counters.
type Cache struct {
	*store
	partition string
	pid       [sha512.Size384]byte // SHA-384 of the partition name
}

// store is the state shared by a Cache and its partition views.
type store struct {
	maxAge      time.Duration
	maxBytes    int64
	maxMessages uint64
	capacity    int
	now         func() time.Time

	mu      sync.Mutex
	entries map[entryKey]*entry
	lru     *list.List // of *entry, most recently used first
	fifo    *list.List // of *entry, in insertion (creation) order
	calls   map[entryKey]*call

	counters counters
}

type config struct {
	maxAge      time.Duration
	maxBytes    int64
	maxMessages uint64
	capacity    int
	partition   string
	now         func() time.Time
	errs        []error
}

// Option configures a Cache. Options are validated by New.
type Option func(*config)

// MaxAge bounds how long an entry may be used after its materials were
// requested from the keyring. Required; must be positive.
func MaxAge(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: MaxAge must be positive, got %v", ErrInvalidConfig, d))
		}
		c.maxAge = d
	}
}

// MaxBytes bounds the plaintext bytes encrypted under one entry. Must be
// positive; the default is DefaultMaxBytes. A message longer than n never
// uses the cache.
func MaxBytes(n int64) Option {
	return func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: MaxBytes must be positive, got %d", ErrInvalidConfig, n))
		}
		c.maxBytes = n
	}
}

// MaxMessages bounds the messages encrypted under one entry: 1 to
// MaxMessagesLimit (the default).
func MaxMessages(n uint64) Option {
	return func(c *config) {
		if n == 0 || n > MaxMessagesLimit {
			c.errs = append(c.errs, fmt.Errorf("%w: MaxMessages must be in [1, 2^32], got %d", ErrInvalidConfig, n))
		}
		c.maxMessages = n
	}
}

// Capacity bounds the number of entries; beyond it the least recently used
// entry is evicted. Must be positive; the default is DefaultCapacity.
func Capacity(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: Capacity must be positive, got %d", ErrInvalidConfig, n))
		}
		c.capacity = n
	}
}

// Partition names the partition the returned Cache reads and writes
// (default ""). Views of one cache with different partitions, see
// WithPartition, never share entries.
func Partition(name string) Option {
	return func(c *config) { c.partition = name }
}

// WithClock replaces time.Now as the source of entry ages (for tests).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil clock", ErrInvalidConfig))
		}
		c.now = now
	}
}

// New returns an empty cache. MaxAge is required.
func New(opts ...Option) (*Cache, error) {
	cfg := config{
		maxBytes:    DefaultMaxBytes,
		maxMessages: MaxMessagesLimit,
		capacity:    DefaultCapacity,
		now:         time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxAge == 0 && len(cfg.errs) == 0 {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: MaxAge is required", ErrInvalidConfig))
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	s := &store{
		maxAge:      cfg.maxAge,
		maxBytes:    cfg.maxBytes,
		maxMessages: cfg.maxMessages,
		capacity:    cfg.capacity,
		now:         cfg.now,
		entries:     make(map[entryKey]*entry),
		lru:         list.New(),
		fifo:        list.New(),
		calls:       make(map[entryKey]*call),
	}
	return s.view(cfg.partition), nil
}

func (s *store) view(partition string) *Cache {
	return &Cache{store: s, partition: partition, pid: sha512.Sum384([]byte(partition))}
}

// WithPartition returns a view of c that shares its entries, limits and
// counters but reads and writes the named partition. Views with the same
// partition name share entries; views with different names never do.
func (c *Cache) WithPartition(name string) *Cache {
	return c.view(name)
}

// PartitionName returns the partition c reads and writes.
func (c *Cache) PartitionName() string { return c.partition }

// Len returns the number of entries currently stored, in all partitions.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Purge removes every entry, in all partitions, and zeroes their data keys.
// Loads in progress are not affected; their results are stored as usual.
// Purged entries are not counted as evictions.
func (c *Cache) Purge() {
	c.mu.Lock()
	victims := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		c.unlink(e)
		victims = append(victims, e)
	}
	c.mu.Unlock()
	for _, e := range victims {
		c.retire(e, reasonPurge)
	}
}
