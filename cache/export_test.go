package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/internal/matcache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The lookups are package envelope's (through internal/matcache); the
// tests of this package call them as envelope does.

func (c *Cache) Encryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, ec map[string]string, plaintextLen int64,
	load func(context.Context) (*keyring.EncryptionMaterials, error)) (*keyring.EncryptionMaterials, error) {
	return (*matcache.Cache)(c).Encryption(ctx, kr, suite, ec, plaintextLen, load)
}

func (c *Cache) Decryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string,
	load func(context.Context) (*keyring.DecryptionMaterials, error)) (*keyring.DecryptionMaterials, error) {
	return (*matcache.Cache)(c).Decryption(ctx, kr, suite, edks, ec, load)
}

// WithClock replaces time.Now as the source of entry ages.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidConfig)
		}
		c.now = now
		return nil
	}
}
