package matcache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Locking: store.mu guards the maps and lists; entry.mu guards an entry's
// materials and usage. store.mu may be held while taking entry.mu, never
// the reverse. Materials are copied only under entry.mu and zeroed only
// under entry.mu after the entry is marked retired, so no copy can be made
// from a zeroed or zeroing entry.

type entry struct {
	key     entryKey
	created time.Time     // immutable
	lru     *list.Element // guarded by store.mu
	fifo    *list.Element // guarded by store.mu
	// timer retires the entry when it reaches MaxAge, so that its data
	// key is zeroed without waiting for a lookup. Set under store.mu
	// before the entry is visible to other goroutines; stopped on retire.
	timer *time.Timer

	mu       sync.Mutex
	m        zeroer // *keyring.EncryptionMaterials or *keyring.DecryptionMaterials; nil once retired
	messages uint64
	bytes    int64
	retired  bool
}

// call is a load in progress; done is closed when it ends. err is set
// (before done is closed) when the load failed for a reason the waiters
// share; otherwise waiters look the entry up again.
type call struct {
	done chan struct{}
	err  error
}

type zeroer interface{ Zero() }

type materials interface {
	*keyring.EncryptionMaterials | *keyring.DecryptionMaterials
	zeroer
}

// request describes one lookup. usage < 0 means the entry's usage is not
// limited (decryption); otherwise it is the plaintext length of the message.
type request[M materials] struct {
	key   entryKey
	usage int64
	load  func(context.Context) (M, error)
	clone func(M) M
}

// ErrLoadPanicked is returned to requests that waited for a load that
// panicked (the panic itself goes on in the goroutine that ran the load).
var ErrLoadPanicked = errors.New("cache: load panicked")

// Encryption returns encryption materials for (kr, suite, ec) for a message
// of plaintextLen bytes, from the cache or, on a miss, from load. The
// returned materials are the caller's own copy, encryption context map and
// encrypted data keys included: it may zero or modify them without
// affecting other callers (only the signing key is shared and must not be
// modified). Materials returned by load become the cache's; load must not
// keep them.
//
// The caller has already decided the suite may be cached (not an
// identity-KDF suite, plaintext length known); ec is the encryption context
// of the request, before any key the materials add. The cache bypasses
// itself (calls load and stores nothing) when plaintextLen is negative or
// exceeds MaxBytes, when kr is not comparable, or when ec cannot be
// serialized. Errors from load are returned, shared with callers waiting
// for the same entry, and never stored.
func (c *Cache) Encryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, ec map[string]string, plaintextLen int64,
	load func(context.Context) (*keyring.EncryptionMaterials, error)) (*keyring.EncryptionMaterials, error) {
	if c == nil || plaintextLen < 0 || plaintextLen > c.maxBytes || !keyringIdentity(kr) {
		return bypassLoad(ctx, c.st(), load)
	}
	key, ok := c.encryptionKey(kr, suite, ec)
	if !ok {
		return bypassLoad(ctx, c.st(), load)
	}
	return get(ctx, c.store, request[*keyring.EncryptionMaterials]{key: key, usage: plaintextLen, load: load, clone: cloneEncryption})
}

// Decryption returns decryption materials for (kr, suite, edks, ec) from the
// cache or, on a miss, from load. The returned materials are the caller's
// own copy, encryption context map included (only the verification key is
// shared and must not be modified). A hit checks the entry's age only:
// decryption entries have no message or byte limits. It bypasses itself
// like Encryption.
func (c *Cache) Decryption(ctx context.Context, kr keyring.Keyring, suite keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string,
	load func(context.Context) (*keyring.DecryptionMaterials, error)) (*keyring.DecryptionMaterials, error) {
	if c == nil || !keyringIdentity(kr) {
		return bypassLoad(ctx, c.st(), load)
	}
	key, ok := c.decryptionKey(kr, suite, edks, ec)
	if !ok {
		return bypassLoad(ctx, c.st(), load)
	}
	return get(ctx, c.store, request[*keyring.DecryptionMaterials]{key: key, usage: -1, load: load, clone: cloneDecryption})
}

func bypassLoad[M any](ctx context.Context, s *store, load func(context.Context) (M, error)) (M, error) {
	if s != nil {
		s.counters.bypasses.Add(1)
		s.counters.keyringCalls.Add(1)
	}
	return load(ctx)
}

func (c *Cache) st() *store {
	if c == nil {
		return nil
	}
	return c.store
}
