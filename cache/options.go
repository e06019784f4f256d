package cache

import (
	"fmt"
	"time"
)

// Option configures a Cache. An option given an invalid value makes New
// fail with an error wrapping ErrInvalidConfig.
type Option func(*config) error

type config struct {
	maxAge      time.Duration
	maxBytes    int64
	maxMessages uint64
	capacity    int
	partition   string
	now         func() time.Time // set by tests
}

// MaxAge bounds how long an entry may be used after its materials were
// requested from the keyring; at that age the entry is removed and its
// data key zeroed. Required; must be positive.
func MaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: MaxAge must be positive, got %v", ErrInvalidConfig, d)
		}
		c.maxAge = d
		return nil
	}
}

// MaxBytes bounds the plaintext bytes encrypted under one entry. Must be
// positive; the default is DefaultMaxBytes. A message longer than n never
// uses the cache.
func MaxBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: MaxBytes must be positive, got %d", ErrInvalidConfig, n)
		}
		c.maxBytes = n
		return nil
	}
}

// MaxMessages bounds the messages encrypted under one entry: 1 to
// MaxMessagesLimit (the default).
func MaxMessages(n uint64) Option {
	return func(c *config) error {
		if n == 0 || n > MaxMessagesLimit {
			return fmt.Errorf("%w: MaxMessages must be in [1, 2^32], got %d", ErrInvalidConfig, n)
		}
		c.maxMessages = n
		return nil
	}
}

// Capacity bounds the number of entries; beyond it the least recently used
// entry is evicted. Must be positive; the default is DefaultCapacity.
func Capacity(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: Capacity must be positive, got %d", ErrInvalidConfig, n)
		}
		c.capacity = n
		return nil
	}
}

// Partition names the partition the returned Cache reads and writes
// (default ""). Views of one cache with different partitions, see
// WithPartition, never share entries.
func Partition(name string) Option {
	return func(c *config) error {
		c.partition = name
		return nil
	}
}
