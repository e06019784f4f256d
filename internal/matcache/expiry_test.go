package matcache

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

var testSuite = keyring.Suite{ID: 0x0478, DataKeyLength: 32}

// nullKeyring is a comparable keyring; the loads below make the materials.
type nullKeyring struct{ name string }

func (*nullKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error { return nil }
func (*nullKeyring) OnDecrypt(context.Context, *keyring.DecryptionMaterials, []keyring.EncryptedDataKey) error {
	return nil
}

func newTestCache(maxAge time.Duration) *Cache {
	return New(Config{MaxAge: maxAge, MaxBytes: 1 << 40, MaxMessages: 1 << 32, Capacity: 100})
}

// storeEncryption stores one encryption entry and returns the data key
// slice the entry holds (the one its load returned).
func storeEncryption(t *testing.T, c *Cache, kr keyring.Keyring) []byte {
	t.Helper()
	key := bytes.Repeat([]byte{0xA7}, 32)
	_, err := c.Encryption(context.Background(), kr, testSuite, nil, 1, func(context.Context) (*keyring.EncryptionMaterials, error) {
		return &keyring.EncryptionMaterials{Suite: testSuite, PlaintextDataKey: key,
			EncryptedDataKeys: []keyring.EncryptedDataKey{{ProviderID: "p", Ciphertext: []byte{1}}}}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())
	return key
}

// waitAgeEvictions waits until n entries were evicted for their age. The
// counter is incremented after the data key is zeroed, so reading it
// orders the test after the zeroing.
func waitAgeEvictions(t *testing.T, c *Cache, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.counters.age.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d age evictions after 10s, want %d", c.counters.age.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// An entry that reaches MaxAge is removed and its data key zeroed by its
// timer, with no lookup after it was stored.
func TestExpiredEntriesWipedWithoutLookup(t *testing.T) {
	c := newTestCache(30 * time.Millisecond)
	enc := storeEncryption(t, c, &nullKeyring{"a"})
	dec := bytes.Repeat([]byte{0x5C}, 32)
	edks := []keyring.EncryptedDataKey{{ProviderID: "p", Ciphertext: []byte{2}}}
	_, err := c.Decryption(context.Background(), &nullKeyring{"a"}, testSuite, edks, nil, func(context.Context) (*keyring.DecryptionMaterials, error) {
		return &keyring.DecryptionMaterials{Suite: testSuite, PlaintextDataKey: dec}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, c.Len())

	waitAgeEvictions(t, c, 2)
	assert.Equal(t, make([]byte, 32), enc, "encryption data key zeroed")
	assert.Equal(t, make([]byte, 32), dec, "decryption data key zeroed")
	assert.Equal(t, 0, c.Len())
	assert.Equal(t, uint64(0), c.counters.hits.Load(), "no lookup besides the two loads")
	assert.Equal(t, uint64(2), c.counters.misses.Load(), "no lookup besides the two loads")
}

// Retiring an entry for any reason stops its timer: Purge leaves no timer
// running and nothing to expire.
func TestRetireStopsTimer(t *testing.T) {
	c := newTestCache(time.Hour)
	key := storeEncryption(t, c, &nullKeyring{"a"})
	c.mu.Lock()
	var e *entry
	for _, x := range c.entries {
		e = x
	}
	c.mu.Unlock()
	require.NotNil(t, e.timer)
	c.Purge()
	assert.False(t, e.timer.Stop(), "Purge stopped the timer")
	assert.Equal(t, make([]byte, 32), key)
	assert.Equal(t, uint64(0), c.counters.age.Load())
}

// A Cache needs no Close: once its entries are purged or expired, nothing
// refers to it and it is collected.
func TestCacheCollectedWithoutClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		end    func(*Cache)
	}{
		{"purged", time.Hour, func(c *Cache) { c.Purge() }},
		{"expired", 20 * time.Millisecond, func(c *Cache) { waitAgeEvictions(t, c, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			collected := make(chan struct{})
			func() {
				c := newTestCache(tc.maxAge)
				storeEncryption(t, c, &nullKeyring{"a"})
				runtime.AddCleanup(c.store, func(ch chan struct{}) { close(ch) }, collected)
				tc.end(c)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				runtime.GC()
				select {
				case <-collected:
					return
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("the cache was not collected")
				}
			}
		})
	}
}
