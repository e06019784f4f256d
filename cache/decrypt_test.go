package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func edksFor(t testing.TB, krs ...*fakeKeyring) []keyring.EncryptedDataKey {
	t.Helper()
	m := &keyring.EncryptionMaterials{Suite: suite}
	for _, kr := range krs {
		require.NoError(t, kr.OnEncrypt(context.Background(), m))
	}
	return m.EncryptedDataKeys
}

func TestDecryptionCachesByEDKsAndContext(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, cache.MaxMessages(1), cache.MaxBytes(1))
	a, b := &fakeKeyring{name: "a"}, &fakeKeyring{name: "b"}
	edks := edksFor(t, a, b)
	ec := map[string]string{"k": "v"}
	var l loader
	dec := func(kr keyring.Keyring, edks []keyring.EncryptedDataKey, ec map[string]string) *keyring.DecryptionMaterials {
		t.Helper()
		m, err := c.Decryption(ctx, kr, suite, edks, ec, l.decrypt(kr, edks, ec))
		require.NoError(t, err)
		return m
	}

	m1 := dec(a, edks, ec)
	want := append([]byte(nil), m1.PlaintextDataKey...)
	m1.Zero()
	// Decryption entries have no message or byte limits.
	for range 5 {
		assert.Equal(t, want, dec(a, edks, ec).PlaintextDataKey)
	}
	assert.Equal(t, 1, l.count())

	// The order of the EDKs does not matter.
	dec(a, []keyring.EncryptedDataKey{edks[1], edks[0]}, ec)
	assert.Equal(t, 1, l.count())

	// Different EDKs, context, suite or keyring do.
	dec(a, edks[:1], ec)
	dec(a, edks, map[string]string{"k": "w"})
	dec(b, edks, ec)
	_, err := c.Decryption(ctx, a, keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true}, edks, ec, l.decrypt(a, edks, ec))
	require.NoError(t, err)
	assert.Equal(t, 5, l.count())
	assert.Equal(t, int64(4), a.decrypts.Load())
	assert.Equal(t, int64(1), b.decrypts.Load())
}

func TestDecryptionAndEncryptionEntriesAreDistinct(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	_, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	edks := edksFor(t, kr)
	_, err = c.Decryption(ctx, kr, suite, edks, nil, l.decrypt(kr, edks, nil))
	require.NoError(t, err)
	assert.Equal(t, 2, l.count())
	assert.Equal(t, 2, c.Len())
}

func TestDecryptionExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c, err := cache.New(cache.MaxAge(time.Minute), cache.WithClock(clk.Now))
	require.NoError(t, err)
	kr := &fakeKeyring{name: "k"}
	edks := edksFor(t, kr)
	var l loader
	for range 3 {
		_, err := c.Decryption(ctx, kr, suite, edks, nil, l.decrypt(kr, edks, nil))
		require.NoError(t, err)
		clk.Advance(30 * time.Second)
	}
	assert.Equal(t, 2, l.count(), "the entry expired after a minute")
	assert.True(t, isZero(l.key(0)))
	assert.Equal(t, uint64(1), c.Stats().Evictions.Age)
}

func TestDecryptionErrorsAreNotCached(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	other := edksFor(t, &fakeKeyring{name: "other"})
	var l loader
	for range 2 {
		_, err := c.Decryption(ctx, kr, suite, other, nil, l.decrypt(kr, other, nil))
		require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	}
	assert.Equal(t, int64(2), kr.decrypts.Load())
	assert.Equal(t, 0, c.Len())
}

func TestDecryptionNonComparableKeyringBypasses(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := valueKeyring{}
	edks := edksFor(t, &fakeKeyring{name: "value"})
	var l loader
	for range 2 {
		m, err := c.Decryption(ctx, kr, suite, edks, nil, l.decrypt(kr, edks, nil))
		require.NoError(t, err)
		assert.Equal(t, edks[0].Ciphertext, m.PlaintextDataKey)
	}
	assert.Equal(t, 2, l.count())
	assert.Equal(t, uint64(2), c.Stats().Bypasses)
}
