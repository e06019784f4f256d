// Package matcache implements the data-key materials cache behind package
// cache. Package cache gives users the type (cache.Cache is defined on
// Cache) and its options; package envelope converts a *cache.Cache back to
// a *Cache to call the lookups, Encryption and Decryption, which users
// cannot reach. See package cache for the behaviour.
//
// This package imports only the standard library and package keyring.
package matcache

import (
	"container/list"
	"crypto/sha512"
	"errors"
	"sync"
	"time"
)

// ErrNoMaterials reports a load function that returned neither materials
// nor an error.
var ErrNoMaterials = errors.New("cache: load returned no materials")

// Cache is a concurrent, bounded store of encryption and decryption
// materials. A Cache created by New and the views returned by its
// WithPartition method share their entries, limits and counters.
type Cache struct {
	*store
	partition string
	pid       [sha512.Size384]byte // SHA-384 of the partition name
}

// Config holds validated settings; package cache checks them.
type Config struct {
	MaxAge      time.Duration
	MaxBytes    int64
	MaxMessages uint64
	Capacity    int
	Partition   string
	// Now replaces time.Now as the source of entry ages when set (tests).
	Now func() time.Time
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

// New returns an empty cache configured by cfg, which must be valid.
func New(cfg Config) *Cache {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &store{
		maxAge:      cfg.MaxAge,
		maxBytes:    cfg.MaxBytes,
		maxMessages: cfg.MaxMessages,
		capacity:    cfg.Capacity,
		now:         now,
		entries:     make(map[entryKey]*entry),
		lru:         list.New(),
		fifo:        list.New(),
		calls:       make(map[entryKey]*call),
	}
	return s.view(cfg.Partition)
}

func (s *store) view(partition string) *Cache {
	return &Cache{store: s, partition: partition, pid: sha512.Sum384([]byte(partition))}
}

// WithPartition returns a view of c that shares its entries, limits and
// counters but reads and writes the named partition.
func (c *Cache) WithPartition(name string) *Cache {
	return c.view(name)
}

// PartitionName returns the partition c reads and writes.
func (c *Cache) PartitionName() string { return c.partition }

// MaxAge returns the age limit of every entry.
func (c *Cache) MaxAge() time.Duration { return c.maxAge }

// Len returns the number of entries currently stored, in all partitions.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Purge removes every entry, in all partitions, zeroes their data keys and
// stops their expiry timers. Loads in progress are not affected; their
// results are stored as usual. Purged entries are not counted as
// evictions.
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
