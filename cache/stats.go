package cache

// Stats is a snapshot of a cache's counters, shared by all its partitions.
// It marshals to JSON as is, so it can be published with expvar:
//
//	expvar.Publish("datakey_cache", expvar.Func(func() any { return c.Stats() }))
type Stats struct {
	// Hits counts requests served from an entry on their first lookup.
	Hits uint64 `json:"hits"`
	// Misses counts requests that found no usable entry on their first
	// lookup (they loaded materials or waited for a concurrent load).
	Misses uint64 `json:"misses"`
	// Bypasses counts requests that could not use the cache at all (a
	// message longer than MaxBytes or of unknown length, a keyring that
	// is not comparable, an invalid encryption context).
	Bypasses uint64 `json:"bypasses"`
	// KeyringCalls counts calls of load functions, including bypasses and
	// failed loads.
	KeyringCalls uint64 `json:"keyring_calls"`
	// Evictions counts entries removed before Purge, by reason.
	Evictions Evictions `json:"evictions"`
	// Entries is the number of entries currently stored.
	Entries int `json:"entries"`
}

// Evictions counts evicted entries by reason. Each entry is counted once.
type Evictions struct {
	// Age: the entry reached MaxAge.
	Age uint64 `json:"age"`
	// Bytes: the entry reached MaxBytes, or a message would have exceeded it.
	Bytes uint64 `json:"bytes"`
	// Messages: the entry reached MaxMessages.
	Messages uint64 `json:"messages"`
	// Capacity: the entry was the least recently used one of a full cache.
	Capacity uint64 `json:"capacity"`
}

// Map returns the counters as flat name/value pairs, for metrics systems.
func (s Stats) Map() map[string]uint64 {
	return map[string]uint64{
		"hits":               s.Hits,
		"misses":             s.Misses,
		"bypasses":           s.Bypasses,
		"keyring_calls":      s.KeyringCalls,
		"evictions_age":      s.Evictions.Age,
		"evictions_bytes":    s.Evictions.Bytes,
		"evictions_messages": s.Evictions.Messages,
		"evictions_capacity": s.Evictions.Capacity,
		"entries":            uint64(s.Entries),
	}
}

// Stats returns a snapshot of the counters. Counters are read one by one,
// so a snapshot taken while the cache is in use may be slightly skewed.
func (c *Cache) Stats() Stats {
	k := c.impl().Counts()
	return Stats{
		Hits:         k.Hits,
		Misses:       k.Misses,
		Bypasses:     k.Bypasses,
		KeyringCalls: k.KeyringCalls,
		Evictions: Evictions{
			Age:      k.Age,
			Bytes:    k.Bytes,
			Messages: k.Messages,
			Capacity: k.Capacity,
		},
		Entries: k.Entries,
	}
}
