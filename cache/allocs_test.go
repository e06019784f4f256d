package cache_test

import (
	"context"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

var sink map[string]string

// A hit allocates the caller's copy and nothing else: one allocation for
// the materials with their data key (and, on encrypt, a single encrypted
// data key), one for the bytes of the encrypted data keys, and the fresh
// context map. Computing the entry key allocates nothing.
func TestHitAllocations(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	ec := map[string]string{"tenant": "acme", "purpose": "test"}
	mapAllocs := testing.AllocsPerRun(100, func() { sink = maps.Clone(ec) })
	require.Positive(t, mapAllocs)

	kr := &fakeKeyring{name: "k"}
	var l loader
	enc := l.encrypt(kr, ec)
	encrypt := func() {
		m, err := c.Encryption(ctx, kr, suite, ec, 1024, enc)
		if err != nil {
			panic(err)
		}
		m.Zero()
	}
	encrypt()
	assert.LessOrEqual(t, testing.AllocsPerRun(200, encrypt), mapAllocs+2, "encryption hit")

	// Three encrypted data keys add one allocation: their own slice.
	krs := []*fakeKeyring{{name: "a"}, {name: "b"}, {name: "c"}}
	multiLoads := 0
	multi := func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		multiLoads++
		m := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: maps.Clone(ec)}
		for _, k := range krs {
			if err := k.OnEncrypt(ctx, m); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	encryptMulti := func() {
		m, err := c.Encryption(ctx, krs[0], suite, ec, 1024, multi)
		if err != nil {
			panic(err)
		}
		m.Zero()
	}
	encryptMulti()
	assert.LessOrEqual(t, testing.AllocsPerRun(200, encryptMulti), mapAllocs+3, "encryption hit, three EDKs")

	edks := edksFor(t, krs...)
	dec := l.decrypt(krs[1], edks, ec)
	decrypt := func() {
		m, err := c.Decryption(ctx, krs[1], suite, edks, ec, dec)
		if err != nil {
			panic(err)
		}
		m.Zero()
	}
	decrypt()
	assert.LessOrEqual(t, testing.AllocsPerRun(200, decrypt), mapAllocs+1, "decryption hit")

	assert.Equal(t, 2, l.count(), "every run after the first was a hit")
	assert.Equal(t, 1, multiLoads)
}

func TestHitCopiesAreIndependent(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "info"}
	var l loader
	ec := map[string]string{"tenant": "acme"}

	m1, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
	require.NoError(t, err)
	m2, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
	require.NoError(t, err)
	want := append([]byte(nil), m2.PlaintextDataKey...)
	wantCT := append([]byte(nil), m2.EncryptedDataKeys[0].Ciphertext...)

	// Growing one field of a copy never overwrites the next one.
	e := &m2.EncryptedDataKeys[0]
	e.ProviderInfo = append(e.ProviderInfo, "-grown"...)
	assert.Equal(t, "info-grown", string(e.ProviderInfo))
	assert.Equal(t, wantCT, e.Ciphertext)
	m2.PlaintextDataKey = append(m2.PlaintextDataKey, 0xff)
	assert.Equal(t, want, m2.PlaintextDataKey[:len(want)])

	// Zeroing and changing one copy leaves the others and the entry intact.
	m1.Zero()
	m1.EncryptedDataKeys[0].Ciphertext[0] ^= 0xff
	m1.EncryptionContext["tenant"] = "evil"
	m3, err := c.Encryption(ctx, kr, suite, ec, 1, l.encrypt(kr, ec))
	require.NoError(t, err)
	assert.Equal(t, want, m3.PlaintextDataKey)
	assert.Equal(t, wantCT, m3.EncryptedDataKeys[0].Ciphertext)
	assert.Equal(t, "info", string(m3.EncryptedDataKeys[0].ProviderInfo))
	assert.Equal(t, map[string]string{"tenant": "acme"}, m3.EncryptionContext)
	assert.Equal(t, 1, l.count())

	edks := edksFor(t, kr)
	d1, err := c.Decryption(ctx, kr, suite, edks, ec, l.decrypt(kr, edks, ec))
	require.NoError(t, err)
	d2, err := c.Decryption(ctx, kr, suite, edks, ec, l.decrypt(kr, edks, ec))
	require.NoError(t, err)
	want = append([]byte(nil), d2.PlaintextDataKey...)
	d1.Zero()
	d1.EncryptionContext["tenant"] = "evil"
	assert.Equal(t, want, d2.PlaintextDataKey)
	assert.Len(t, d2.PlaintextDataKey, cap(d2.PlaintextDataKey))
	assert.Equal(t, "acme", d2.EncryptionContext["tenant"])
	d3, err := c.Decryption(ctx, kr, suite, edks, ec, l.decrypt(kr, edks, ec))
	require.NoError(t, err)
	assert.Equal(t, want, d3.PlaintextDataKey)
	assert.Equal(t, "acme", d3.EncryptionContext["tenant"])
	assert.Equal(t, 2, l.count())
}
