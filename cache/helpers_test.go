package cache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// suite is a committing, unsigned suite (0x0478): 32-byte data keys.
var suite = keyring.Suite{ID: 0x0478, DataKeyLength: 32}

// fakeKeyring "wraps" a data key by storing it as the EDK ciphertext under
// its own name, and counts its calls.
type fakeKeyring struct {
	name     string
	encrypts atomic.Int64
	decrypts atomic.Int64
}

func (k *fakeKeyring) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	k.encrypts.Add(1)
	if m.PlaintextDataKey == nil {
		m.PlaintextDataKey = make([]byte, m.Suite.DataKeyLength)
		rand.Read(m.PlaintextDataKey)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
		ProviderID: "fake", ProviderInfo: []byte(k.name), Ciphertext: bytes.Clone(m.PlaintextDataKey),
	})
	return nil
}

func (k *fakeKeyring) OnDecrypt(_ context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.decrypts.Add(1)
	for _, e := range edks {
		if e.ProviderID == "fake" && string(e.ProviderInfo) == k.name {
			m.PlaintextDataKey = bytes.Clone(e.Ciphertext)
			return nil
		}
	}
	return keyring.ErrNoDecryptionKey
}

// valueKeyring is not comparable (it holds a slice), so it cannot be part
// of an entry key.
type valueKeyring struct{ names []string }

func (valueKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return (&fakeKeyring{name: "value"}).OnEncrypt(ctx, m)
}

func (valueKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	return (&fakeKeyring{name: "value"}).OnDecrypt(ctx, m, edks)
}

// loader builds load functions like package envelope does and keeps the
// materials it hands to the cache, to check that they get zeroed.
type loader struct {
	mu    sync.Mutex
	calls int
	keys  [][]byte // data keys as handed to the cache
}

func (l *loader) encrypt(kr keyring.Keyring, ec map[string]string) func(context.Context) (*keyring.EncryptionMaterials, error) {
	return func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
		if err := kr.OnEncrypt(ctx, m); err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.calls++
		l.keys = append(l.keys, m.PlaintextDataKey)
		l.mu.Unlock()
		return m, nil
	}
}

func (l *loader) decrypt(kr keyring.Keyring, edks []keyring.EncryptedDataKey, ec map[string]string) func(context.Context) (*keyring.DecryptionMaterials, error) {
	return func(ctx context.Context) (*keyring.DecryptionMaterials, error) {
		m := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
		if err := kr.OnDecrypt(ctx, m, edks); err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.calls++
		l.keys = append(l.keys, m.PlaintextDataKey)
		l.mu.Unlock()
		return m, nil
	}
}

func (l *loader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// key returns the i-th data key handed to the cache (the cache's own copy).
func (l *loader) key(i int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[i]
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return len(b) > 0
}

// clock is a manually advanced time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
