package hierarchy

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// DefaultTTL is how long a keyring uses branch key materials from its
// cache unless WithTTL says otherwise.
const DefaultTTL = 5 * time.Minute

// BranchKeyIDSupplier chooses the branch key id of a message from its
// encryption context, for multi-tenant use: on encrypt it sees the
// context given to Encrypt, on decrypt the message's context (merged with
// the one the caller supplied), so the pairs it reads must be in both. It
// must not modify ec.
type BranchKeyIDSupplier func(ctx context.Context, ec map[string]string) (string, error)

// Option configures a Keyring. An invalid option makes NewKeyring fail
// with an error matching both keyring.ErrInvalidConfig and
// ErrInvalidOption.
type Option func(*config) error

type config struct {
	branchKeyID string
	supplier    BranchKeyIDSupplier
	ttl         time.Duration
	capacity    int
	cache       *BranchKeyCache
	partition   []byte
	storeName   *string
}

// WithBranchKeyID makes the keyring use one branch key id for every
// message. Exactly one of WithBranchKeyID and WithBranchKeyIDSupplier is
// required.
func WithBranchKeyID(id string) Option {
	return func(c *config) error {
		if id == "" || !utf8.ValidString(id) {
			return newConfigError("branch key id must be non-empty UTF-8")
		}
		c.branchKeyID = id
		return nil
	}
}

// WithBranchKeyIDSupplier makes the keyring ask supplier for the branch
// key id of each message (see [BranchKeyIDSupplier] and
// [ContextKeySupplier]).
func WithBranchKeyIDSupplier(supplier BranchKeyIDSupplier) Option {
	return func(c *config) error {
		if supplier == nil {
			return newConfigError("nil branch key id supplier")
		}
		c.supplier = supplier
		return nil
	}
}

// WithTTL sets how long branch key materials are used from the cache after
// they were fetched (default DefaultTTL). After it, the next message
// fetches them again: with a [Store], one DynamoDB read and one KMS
// Decrypt per branch key (and version, for decryption) per ttl. A new
// version made by VersionKey is used for encryption once the ttl of the
// old one has run out. ttl must be positive.
func WithTTL(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl <= 0 {
			return newConfigError("TTL must be positive, got %v", ttl)
		}
		c.ttl = ttl
		return nil
	}
}

// WithCacheCapacity bounds the keyring's own cache to n entries (default
// DefaultCacheCapacity). It cannot be combined with WithSharedCache.
func WithCacheCapacity(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return newConfigError("cache capacity must be positive, got %d", n)
		}
		c.capacity = n
		return nil
	}
}

// WithSharedCache makes the keyring use cache instead of a cache of its
// own, within partition. Keyrings with the same partition and the same
// logical key store name share branch key materials; keyrings with other
// partitions never see each other's entries. partition must not be
// empty and must not contain a NUL byte (cache ids separate their fields
// with NUL). Give one partition only to keyrings that may read each other's
// branch keys, and never give one logical key store name to two different
// tables.
func WithSharedCache(cache *BranchKeyCache, partition string) Option {
	return func(c *config) error {
		if cache == nil || partition == "" || strings.IndexByte(partition, 0) >= 0 {
			return newConfigError("shared cache needs a cache and a non-empty partition without NUL bytes")
		}
		c.cache, c.partition = cache, []byte(partition)
		return nil
	}
}

// WithLogicalKeyStoreName sets the logical key store name that, with the
// partition and branch key id, identifies cache entries. By default it is
// the source's LogicalName() when it has that method (as [Store] does),
// else empty. It must not contain a NUL byte.
func WithLogicalKeyStoreName(name string) Option {
	return func(c *config) error {
		c.storeName = &name
		return nil
	}
}

func buildConfig(src BranchKeySource, opts []Option) (*config, error) {
	c := &config{ttl: DefaultTTL}
	for _, o := range opts {
		if o == nil {
			return nil, newConfigError("nil option")
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	switch {
	case (c.branchKeyID == "") == (c.supplier == nil):
		return nil, newConfigError("exactly one of WithBranchKeyID and WithBranchKeyIDSupplier is required")
	case c.cache != nil && c.capacity != 0:
		return nil, newConfigError("WithCacheCapacity does not apply to a shared cache")
	}
	if c.cache == nil {
		cache, err := NewBranchKeyCache(cmp.Or(c.capacity, DefaultCacheCapacity))
		if err != nil {
			return nil, err
		}
		c.cache = cache
		// A keyring's own partition: 16 random bytes, as in the MPL.
		c.partition = make([]byte, 16)
		if _, err := rand.Read(c.partition); err != nil {
			return nil, err
		}
	}
	if c.storeName == nil {
		name := ""
		if n, ok := src.(interface{ LogicalName() string }); ok {
			name = n.LogicalName()
		}
		c.storeName = &name
	}
	if strings.IndexByte(*c.storeName, 0) >= 0 {
		return nil, newConfigError("logical key store name contains a NUL byte")
	}
	return c, nil
}

// configError is an invalid keyring or cache configuration: it matches
// keyring.ErrInvalidConfig, like every keyring's, and ErrInvalidOption,
// like the store's.
type configError struct{ msg string }

func newConfigError(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

func (e *configError) Error() string { return "hierarchy: invalid configuration: " + e.msg }

// Is reports whether target is keyring.ErrInvalidConfig or ErrInvalidOption.
func (e *configError) Is(target error) bool {
	return target == keyring.ErrInvalidConfig || target == ErrInvalidOption
}
