package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

var ctxBG = context.Background()

func TestRoundTripAllSuites(t *testing.T) {
	src := newMemSource()
	src.add(t, "tenant-a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("tenant-a"))
	ec := map[string]string{"Department": "x", "abc": "y", "a_b": "z"}
	for _, suite := range envelope.Suites() {
		t.Run(suite.String(), func(t *testing.T) {
			opts := []envelope.Option{envelope.WithSuite(suite), envelope.WithContext(ec)}
			if !suite.Committing() {
				opts = append(opts, envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
			}
			ct, err := envelope.Encrypt(ctxBG, kr, []byte("hello"), opts...)
			require.NoError(t, err)
			pt, h, err := envelope.Decrypt(ctxBG, kr, ct, opts[2:]...)
			require.NoError(t, err)
			require.Equal(t, "hello", string(pt))
			require.Len(t, h.EncryptedDataKeys, 1)
			edk := h.EncryptedDataKeys[0]
			require.Equal(t, ProviderID, edk.ProviderID)
			require.Equal(t, "tenant-a", string(edk.ProviderInfo))
			require.Len(t, edk.Ciphertext, 60+suite.DataKeyLength())
		})
	}
	require.Equal(t, int64(1), src.calls.Load(), "the active key, fetched once, serves decryption too")
	require.True(t, src.allWiped(), "every key the source gave was wiped")
}

// encryptMaterials wraps a fresh data key for ec with kr.
func encryptMaterials(t *testing.T, kr keyring.Keyring, ec map[string]string) *keyring.EncryptionMaterials {
	t.Helper()
	m := &keyring.EncryptionMaterials{Suite: keyring.Suite{ID: 0x0478, DataKeyLength: 32}, EncryptionContext: ec}
	require.NoError(t, kr.OnEncrypt(ctxBG, m))
	return m
}

func decryptWith(kr keyring.Keyring, ec map[string]string, edks ...keyring.EncryptedDataKey) (*keyring.DecryptionMaterials, error) {
	m := &keyring.DecryptionMaterials{Suite: keyring.Suite{ID: 0x0478, DataKeyLength: 32}, EncryptionContext: ec}
	return m, kr.OnDecrypt(ctxBG, m, edks)
}

func TestOnEncryptKeepsGivenDataKey(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	pdk := make([]byte, 32)
	pdk[0] = 7
	m := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}, PlaintextDataKey: pdk}
	require.NoError(t, kr.OnEncrypt(ctxBG, m))
	require.Equal(t, pdk, m.PlaintextDataKey)
	d, err := decryptWith(kr, nil, m.EncryptedDataKeys...)
	require.NoError(t, err)
	require.Equal(t, pdk, d.PlaintextDataKey)

	bad := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}, PlaintextDataKey: make([]byte, 16)}
	require.ErrorIs(t, kr.OnEncrypt(ctxBG, bad), keyring.ErrInvalidMaterials)
	require.Empty(t, bad.EncryptedDataKeys)
}

func TestOnDecryptSkipsOtherKeys(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	src.add(t, "b")
	ka := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	kb := newTestKeyring(t, src, nil, WithBranchKeyID("b"))
	ec := map[string]string{"tenant": "a"}
	good := encryptMaterials(t, ka, ec)
	other := encryptMaterials(t, kb, ec).EncryptedDataKeys[0]
	edk := good.EncryptedDataKeys[0]

	foreign := keyring.EncryptedDataKey{ProviderID: "aws-kms", ProviderInfo: []byte("a"), Ciphertext: edk.Ciphertext}
	nonUTF8 := keyring.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte{0xff, 'a'}, Ciphertext: edk.Ciphertext}
	short := keyring.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte("a"), Ciphertext: edk.Ciphertext[:91]}
	tampered := edk
	tampered.Ciphertext = append([]byte(nil), edk.Ciphertext...)
	tampered.Ciphertext[50] ^= 1

	m, err := decryptWith(ka, ec, foreign, nonUTF8, other, short, tampered, edk)
	require.NoError(t, err, "the last key unwraps after failures and skips")
	require.Equal(t, good.PlaintextDataKey, m.PlaintextDataKey)

	m, err = decryptWith(ka, ec, foreign, nonUTF8, other)
	require.ErrorIs(t, err, keyring.ErrNotMine)
	require.Nil(t, m.PlaintextDataKey)

	_, err = decryptWith(ka, ec, short, tampered)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	require.ErrorIs(t, err, ErrMalformedEDK)
	require.False(t, keyring.IsTransient(err))
	var ke *keyring.KeyringError
	require.ErrorAs(t, err, &ke)
	require.Equal(t, ProviderID, ke.Provider)
	require.Equal(t, "a", ke.KeyID)
}

func TestOnDecryptBindsContext(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	m := encryptMaterials(t, kr, map[string]string{"tenant": "a"})
	for _, ec := range []map[string]string{nil, {"tenant": "b"}, {"tenant": "a", "x": "y"}} {
		d, err := decryptWith(kr, ec, m.EncryptedDataKeys...)
		require.ErrorIs(t, err, keyring.ErrNoDecryptionKey, "%v", ec)
		require.Nil(t, d.PlaintextDataKey)
	}
}

func TestOnDecryptRefusesFilledMaterials(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	m := encryptMaterials(t, kr, nil)
	d := &keyring.DecryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}, PlaintextDataKey: make([]byte, 32)}
	require.ErrorIs(t, kr.OnDecrypt(ctxBG, d, m.EncryptedDataKeys), keyring.ErrInvalidMaterials)
}

func TestOnDecryptErrorCategories(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	m := encryptMaterials(t, kr, nil)

	// Another keyring (its own cache) must go to the source for the version.
	fresh := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	src.setErr(fmt.Errorf("%w: throttled", keyring.ErrTransient))
	_, err := decryptWith(fresh, nil, m.EncryptedDataKeys...)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)

	src.setErr(fmt.Errorf("%w: gone", ErrNotFound))
	_, err = decryptWith(fresh, nil, m.EncryptedDataKeys...)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	require.ErrorIs(t, err, ErrNotFound)
	require.False(t, keyring.IsTransient(err))

	// Failures are not cached: once the source answers, decryption works.
	src.setErr(nil)
	d, err := decryptWith(fresh, nil, m.EncryptedDataKeys...)
	require.NoError(t, err)
	require.Equal(t, m.PlaintextDataKey, d.PlaintextDataKey)

	// Encrypt failures keep the materials unchanged.
	src.setErr(errors.New("boom"))
	e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
	err = newTestKeyring(t, src, nil, WithBranchKeyID("a")).OnEncrypt(ctxBG, e)
	require.ErrorContains(t, err, "boom")
	require.Nil(t, e.PlaintextDataKey)
	require.Empty(t, e.EncryptedDataKeys)
}

func TestUnwrapBudgetBoundsStoreCalls(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	m := encryptMaterials(t, kr, nil)
	// A hostile message: many keys naming versions that do not exist.
	var edks []keyring.EncryptedDataKey
	for range 50 {
		ct := append([]byte(nil), m.EncryptedDataKeys[0].Ciphertext...)
		v, err := versionBytes(newUUID(t))
		require.NoError(t, err)
		copy(ct[saltLen+ivLen:], v[:])
		edks = append(edks, keyring.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte("a"), Ciphertext: ct})
	}
	before := src.calls.Load()
	d := &keyring.DecryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
	err := kr.OnDecrypt(keyring.WithUnwrapBudget(ctxBG, 3), d, edks)
	require.ErrorIs(t, err, keyring.ErrUnwrapLimit)
	require.Equal(t, int64(3), src.calls.Load()-before)
}

func TestSourceMaterialsChecked(t *testing.T) {
	for name, mangle := range map[string]func(*BranchKey){
		"other id":      func(bk *BranchKey) { bk.ID = "b" },
		"short key":     func(bk *BranchKey) { bk.Key = bk.Key[:31] },
		"upper version": func(bk *BranchKey) { bk.Version = "83EEC007-5659-4554-BF11-699B90F41AC6" },
	} {
		t.Run(name, func(t *testing.T) {
			src := newMemSource()
			src.add(t, "a")
			src.mangle = mangle
			kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
			e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
			require.ErrorIs(t, kr.OnEncrypt(ctxBG, e), ErrBranchKey)
			require.Empty(t, e.EncryptedDataKeys)
		})
	}
	// A version fetch answered with another version is refused.
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	m := encryptMaterials(t, kr, nil)
	src.add(t, "a")
	src.mangle = func(bk *BranchKey) { bk.Version = src.versions["a"][1].Version }
	_, err := decryptWith(newTestKeyring(t, src, nil, WithBranchKeyID("a")), nil, m.EncryptedDataKeys...)
	require.ErrorIs(t, err, ErrBranchKey)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
}

func TestRotationAfterTTL(t *testing.T) {
	clock := newFakeClock()
	src := newMemSource()
	v1 := src.add(t, "a")
	kr := newTestKeyring(t, src, clock, WithBranchKeyID("a"), WithTTL(time.Minute))
	old := encryptMaterials(t, kr, nil)
	v2 := src.add(t, "a") // VersionKey

	version := func(m *keyring.EncryptionMaterials) string {
		f, err := parseEDK(m.EncryptedDataKeys[0].Ciphertext, 32)
		require.NoError(t, err)
		return versionText(f.version)
	}
	require.Equal(t, v1, version(old))
	clock.advance(59 * time.Second)
	require.Equal(t, v1, version(encryptMaterials(t, kr, nil)), "the cached active version is used until the TTL ends")
	clock.advance(2 * time.Second)
	newer := encryptMaterials(t, kr, nil)
	require.Equal(t, v2, version(newer))
	for _, m := range []*keyring.EncryptionMaterials{old, newer} {
		d, err := decryptWith(kr, nil, m.EncryptedDataKeys...)
		require.NoError(t, err)
		require.Equal(t, m.PlaintextDataKey, d.PlaintextDataKey)
	}
}

func TestSupplierPerTenant(t *testing.T) {
	src := newMemSource()
	src.add(t, "bk-acme")
	src.add(t, "bk-zeta")
	kr := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(
		ContextKeySupplier("tenant", map[string]string{"acme": "bk-acme", "zeta": "bk-zeta"})))
	for _, tenant := range []string{"acme", "zeta"} {
		ec := map[string]string{"tenant": tenant}
		m := encryptMaterials(t, kr, ec)
		require.Equal(t, "bk-"+tenant, string(m.EncryptedDataKeys[0].ProviderInfo))
		d, err := decryptWith(kr, ec, m.EncryptedDataKeys...)
		require.NoError(t, err)
		require.Equal(t, m.PlaintextDataKey, d.PlaintextDataKey)
	}
	e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}, EncryptionContext: map[string]string{"tenant": "nobody"}}
	require.ErrorIs(t, kr.OnEncrypt(ctxBG, e), ErrUnknownTenant)
	_, err := decryptWith(kr, nil)
	require.ErrorIs(t, err, ErrUnknownTenant)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey, "a decrypt failure has a category")
	transientSupplier := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(func(context.Context, map[string]string) (string, error) {
		return "", fmt.Errorf("%w: tenant directory down", keyring.ErrTransient)
	}))
	_, err = decryptWith(transientSupplier, nil)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)

	// With a nil map the tenant is the branch key id.
	direct := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(ContextKeySupplier("tenant", nil)))
	m := encryptMaterials(t, direct, map[string]string{"tenant": "bk-zeta"})
	require.Equal(t, "bk-zeta", string(m.EncryptedDataKeys[0].ProviderInfo))
}

func TestSupplierCannotChangeContext(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(func(_ context.Context, ec map[string]string) (string, error) {
		ec["tenant"] = "changed"
		return "a", nil
	}))
	ec := map[string]string{"tenant": "a"}
	encryptMaterials(t, kr, ec)
	require.Equal(t, "a", ec["tenant"])
}

func TestNewKeyringConfig(t *testing.T) {
	src := newMemSource()
	shared, err := NewBranchKeyCache(10)
	require.NoError(t, err)
	for name, opts := range map[string][]Option{
		"no id":           nil,
		"id and supplier": {WithBranchKeyID("a"), WithBranchKeyIDSupplier(ContextKeySupplier("t", nil))},
		"empty id":        {WithBranchKeyID("")},
		"zero ttl":        {WithBranchKeyID("a"), WithTTL(0)},
		"zero capacity":   {WithBranchKeyID("a"), WithCacheCapacity(0)},
		"capacity+shared": {WithBranchKeyID("a"), WithCacheCapacity(5), WithSharedCache(shared, "p")},
		"empty partition": {WithBranchKeyID("a"), WithSharedCache(shared, "")},
		"nil option":      {WithBranchKeyID("a"), nil},
	} {
		_, err := NewKeyring(src, opts...)
		require.ErrorIs(t, err, keyring.ErrInvalidConfig, name)
		require.ErrorIs(t, err, ErrInvalidOption, name)
	}
	_, err = NewKeyring(nil, WithBranchKeyID("a"))
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	require.ErrorIs(t, err, ErrInvalidOption)
	_, err = NewBranchKeyCache(0)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	require.ErrorIs(t, err, ErrInvalidOption)
	require.NotErrorIs(t, err, ErrInvalidItem)
	require.Contains(t, err.Error(), "cache capacity")
}

func TestNothingPrintsKeys(t *testing.T) {
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	encryptMaterials(t, kr, nil)
	key := src.versions["a"][0].Key
	for _, s := range []string{fmt.Sprint(kr), fmt.Sprintf("%#v", kr), fmt.Sprintf("%+v", kr.cache), fmt.Sprintf("%#v", kr.cache), fmt.Sprintf("%x", kr.cache)} {
		require.NotContains(t, s, fmt.Sprintf("%x", key[:8]))
		require.NotContains(t, s, fmt.Sprint(key[:8]))
	}
	require.Contains(t, fmt.Sprint(kr.cache), "entries: 2")
}

// namedSource has a logical key store name, as *Store does.
type namedSource struct{ *memSource }

func (namedSource) LogicalName() string { return "named-store" }

// nilSource answers without a branch key and without an error.
type nilSource struct{}

func (nilSource) GetActiveBranchKey(context.Context, string) (*BranchKey, error) { return nil, nil }
func (nilSource) GetBranchKeyVersion(context.Context, string, string) (*BranchKey, error) {
	return nil, nil
}

func TestLogicalNameFromSource(t *testing.T) {
	src := namedSource{newMemSource()}
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyID("a"))
	require.Equal(t, "named-store", kr.storeName)
	require.Equal(t, makeCacheID(kr.partition, "named-store", "a", ""), kr.encryptID)
	kr = newTestKeyring(t, src, nil, WithBranchKeyID("a"), WithLogicalKeyStoreName("override"))
	require.Equal(t, "override", kr.storeName)
	require.Contains(t, kr.String(), `"override"`)
}

func TestNilBranchKeyRefused(t *testing.T) {
	kr := newTestKeyring(t, nilSource{}, nil, WithBranchKeyID("a"))
	e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
	require.ErrorIs(t, kr.OnEncrypt(ctxBG, e), ErrBranchKey)
}

// TestContextKeySupplierEmptyTenant: an empty tenant, or a tenant mapped
// to an empty id, is no tenant (ErrUnknownTenant), on encrypt and decrypt.
func TestContextKeySupplierEmptyTenant(t *testing.T) {
	for _, sup := range []BranchKeyIDSupplier{
		ContextKeySupplier("tenant", nil),
		ContextKeySupplier("tenant", map[string]string{"": "a", "acme": ""}),
	} {
		for _, ec := range []map[string]string{{"tenant": ""}, {"tenant": "acme"}} {
			id, err := sup(ctxBG, ec)
			if ec["tenant"] == "acme" && err == nil && id == "acme" {
				continue // the nil map: the tenant is the id
			}
			require.ErrorIs(t, err, ErrUnknownTenant, "%v", ec)
			require.Empty(t, id)
		}
	}
	src := newMemSource()
	src.add(t, "a")
	kr := newTestKeyring(t, src, nil, WithBranchKeyIDSupplier(ContextKeySupplier("tenant", nil)))
	e := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}, EncryptionContext: map[string]string{"tenant": ""}}
	require.ErrorIs(t, kr.OnEncrypt(ctxBG, e), ErrUnknownTenant)
}
