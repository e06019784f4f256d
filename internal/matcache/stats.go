package matcache

import "sync/atomic"

// Counts is a snapshot of a cache's counters (package cache turns it into
// cache.Stats, which documents each field).
type Counts struct {
	Hits, Misses, Bypasses, KeyringCalls uint64
	Age, Bytes, Messages, Capacity       uint64 // evictions by reason
	Entries                              int
}

type reason int

const (
	reasonPurge reason = iota // not counted
	reasonAge
	reasonBytes
	reasonMessages
	reasonCapacity
)

type counters struct {
	hits, misses, bypasses, keyringCalls atomic.Uint64
	age, bytes, messages, capacity       atomic.Uint64
}

func (c *counters) evicted(r reason) {
	switch r {
	case reasonAge:
		c.age.Add(1)
	case reasonBytes:
		c.bytes.Add(1)
	case reasonMessages:
		c.messages.Add(1)
	case reasonCapacity:
		c.capacity.Add(1)
	}
}

// Counts returns a snapshot of the counters. Counters are read one by one,
// so a snapshot taken while the cache is in use may be slightly skewed.
func (c *Cache) Counts() Counts {
	n := c.Len()
	k := &c.counters
	return Counts{
		Hits:         k.hits.Load(),
		Misses:       k.misses.Load(),
		Bypasses:     k.bypasses.Load(),
		KeyringCalls: k.keyringCalls.Load(),
		Age:          k.age.Load(),
		Bytes:        k.bytes.Load(),
		Messages:     k.messages.Load(),
		Capacity:     k.capacity.Load(),
		Entries:      n,
	}
}
