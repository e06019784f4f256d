// Package cache stores data-key materials so that many messages can share
// one data key, bounded by age, bytes and message count.
//
// (Stub: the API that package envelope calls. Replace the bodies.)
package cache

import (
	"context"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Cache is a concurrent, bounded store of encryption and decryption materials.
type Cache struct {
	maxAge time.Duration
}

// Option configures a Cache.
type Option func(*Cache)

// MaxAge bounds how long an entry may be used. Required.
func MaxAge(d time.Duration) Option { return func(c *Cache) { c.maxAge = d } }

// New returns a cache.
func New(opts ...Option) (*Cache, error) {
	c := &Cache{}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Encryption returns encryption materials for (kr, suite, ec) for a message
// of plaintextLen bytes, from the cache or, on a miss, from load. The
// returned materials are the caller's own copy: it may zero them. The
// caller has already decided the suite may be cached (not an identity-KDF
// suite, plaintext length known).
func (c *Cache) Encryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, ec map[string]string, plaintextLen int64,
	load func(context.Context) (*keyring.EncryptionMaterials, error)) (*keyring.EncryptionMaterials, error) {
	return load(ctx)
}

// Decryption returns decryption materials for (kr, suite, edks, ec) from the
// cache or, on a miss, from load. The returned materials are the caller's
// own copy.
func (c *Cache) Decryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string,
	load func(context.Context) (*keyring.DecryptionMaterials, error)) (*keyring.DecryptionMaterials, error) {
	return load(ctx)
}
