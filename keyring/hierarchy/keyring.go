package hierarchy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// BranchKeySource gives the keyring branch keys: the active version of a
// branch key id to encrypt with, and any version to decrypt with. *Store
// is one. Both methods return materials the caller owns (the keyring
// copies the key and wipes what it was given); an error should match
// ErrNotFound when there is no such branch key or version, and
// keyring.ErrTransient when retrying may help.
type BranchKeySource interface {
	GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKey, error)
	GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKey, error)
}

// ErrBranchKey means the branch key source returned materials the keyring
// cannot use: another branch key id or version than asked for, a version
// that is not a lowercase UUID, or a key that is not 32 bytes.
var ErrBranchKey = errors.New("hierarchy: unusable branch key materials")

// Keyring is the AWS KMS hierarchical keyring: it wraps each message's
// data key under a key derived from a branch key, one per tenant, that a
// [Store] keeps encrypted by AWS KMS in DynamoDB. Branch keys are cached
// (see [BranchKeyCache]), so a tenant costs one DynamoDB read and one KMS
// call per time-to-live rather than one KMS call per message, and every
// message still has a fresh data key.
//
// Its encrypted data keys are those of the AWS Encryption SDK's
// hierarchical keyring: the official SDKs (KmsHierarchicalKeyRingNode in
// JavaScript, with utf8Sorting enabled) read them and the reverse. An
// encrypted data key has the provider id "aws-kms-hierarchy", the branch
// key id as provider info, and the ciphertext salt[16] ‖ iv[12] ‖
// version[16] ‖ AES-256-GCM(data key) ‖ tag[16], under the key
// HMAC-SHA256(branch key, 00000001 ‖ "aws-kms-hierarchy" ‖ 00 ‖ salt ‖
// 00000100) and with the additional data "aws-kms-hierarchy" ‖ branch key
// id ‖ version ‖ the encryption context serialized in byte order.
//
// Unlike the official SDKs' caches, a fetched active branch key is cached
// as its version too when the cache has room (so a keyring decrypts its
// own messages without a second store call; this extra entry never pushes
// out another, so a cache of n entries holds n branch keys as theirs do),
// and there is no early refresh before expiry: when
// an entry expires, one caller fetches it again while the others for the
// same branch key wait.
//
// Plaintext branch keys live only in the cache, which wipes them when they
// are evicted and, once expired, on its next lookup (see [BranchKeyCache];
// to wipe them all on demand, give the keyring a cache with
// WithSharedCache and call its Purge); the keyring copies a key for the
// message at hand and wipes the copy. A Keyring is safe for concurrent use.
type Keyring struct {
	src         BranchKeySource
	branchKeyID string
	supplier    BranchKeyIDSupplier
	cache       *BranchKeyCache
	partition   []byte
	storeName   string
	ttl         time.Duration
	encryptID   cacheID // the encrypt cache id of branchKeyID, when configured
	decryptIDs  idMemo
	counts      counters
}

// idMemo remembers the decrypt cache ids of recent branch key versions, so
// that a message costs no SHA-384. It forgets everything when full.
type idMemo struct {
	mu  sync.Mutex
	ids map[idMemoKey]cacheID
}

type idMemoKey struct {
	id      string
	version [versionLen]byte
}

const idMemoMax = 4096

func (m *idMemo) get(k *Keyring, id string, version [versionLen]byte) cacheID {
	key := idMemoKey{id, version}
	m.mu.Lock()
	cid, ok := m.ids[key]
	m.mu.Unlock()
	if ok {
		return cid
	}
	cid = makeCacheID(k.partition, k.storeName, id, versionText(version))
	m.mu.Lock()
	if m.ids == nil || len(m.ids) >= idMemoMax {
		m.ids = make(map[idMemoKey]cacheID)
	}
	m.ids[key] = cid
	m.mu.Unlock()
	return cid
}

var _ keyring.Keyring = (*Keyring)(nil)

// NewKeyring returns a hierarchical keyring that gets branch keys from
// src. One of WithBranchKeyID or WithBranchKeyIDSupplier is required; the
// other options are WithTTL, WithCacheCapacity, WithSharedCache and
// WithLogicalKeyStoreName.
func NewKeyring(src BranchKeySource, opts ...Option) (*Keyring, error) {
	if src == nil {
		return nil, newConfigError("nil branch key source")
	}
	c, err := buildConfig(src, opts)
	if err != nil {
		return nil, err
	}
	k := &Keyring{
		src: src, branchKeyID: c.branchKeyID, supplier: c.supplier,
		cache: c.cache, partition: c.partition, storeName: *c.storeName, ttl: c.ttl,
	}
	if k.supplier == nil {
		k.encryptID = makeCacheID(k.partition, k.storeName, k.branchKeyID, "")
	}
	return k, nil
}

// String describes the keyring without secrets.
func (k *Keyring) String() string {
	if k.supplier != nil {
		return fmt.Sprintf("hierarchy.Keyring{store: %q, branch key id from supplier}", k.storeName)
	}
	return fmt.Sprintf("hierarchy.Keyring{store: %q, branch key id: %q}", k.storeName, k.branchKeyID)
}

// Metrics returns the counters of this keyring's cache lookups and store
// calls. The counters of the whole cache, shared or not, are in
// [BranchKeyCache.Metrics].
func (k *Keyring) Metrics() Metrics { return k.counts.snapshot() }

// OnEncrypt fetches the active version of the message's branch key (from
// the cache, or from the source on a miss; a fetched active key is cached
// as its version too if there is room, for decryption), generates the data key if m
// has none, and appends it wrapped under a key derived from the branch key
// with a fresh salt, bound to m.EncryptionContext. On failure m is
// unchanged.
func (k *Keyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if m == nil {
		return k.fail("", fmt.Errorf("%w: nil materials", keyring.ErrInvalidMaterials))
	}
	n := m.Suite.DataKeyLength
	if n != 16 && n != 24 && n != 32 {
		return k.fail("", fmt.Errorf("%w: suite data key length %d", keyring.ErrInvalidMaterials, n))
	}
	if m.PlaintextDataKey != nil && len(m.PlaintextDataKey) != n {
		return k.fail("", fmt.Errorf("%w: data key is %d bytes, suite needs %d", keyring.ErrInvalidMaterials, len(m.PlaintextDataKey), n))
	}
	id, err := k.branchKeyFor(ctx, m.EncryptionContext)
	if err != nil {
		return k.fail("", err)
	}
	cid := k.encryptID
	if k.supplier != nil {
		cid = makeCacheID(k.partition, k.storeName, id, "")
	}
	mat, err := k.cache.get(ctx, cid, k.ttl, &k.counts, func(ctx context.Context) (materials, error) {
		bk, err := k.src.GetActiveBranchKey(ctx, id)
		return checkBranchKey(bk, err, id, "")
	}, func(mat *materials) cacheID {
		// The active branch key is also its version: messages encrypted
		// with it decrypt without another store call.
		return makeCacheID(k.partition, k.storeName, id, mat.version)
	})
	if err != nil {
		return k.fail(id, err)
	}
	defer mat.wipe()
	if mat.id != id {
		return k.fail(id, fmt.Errorf("%w: cache entry holds branch key %q, not %q", ErrBranchKey, mat.id, id))
	}

	aad, err := wrapAAD(id, mat.versionRaw, m.EncryptionContext)
	if err != nil {
		return k.fail(id, err)
	}
	// One read for the salt, the IV and, when m has none, the data key.
	random := make([]byte, saltLen+ivLen, saltLen+ivLen+n)
	pdk, generated := m.PlaintextDataKey, false
	if pdk == nil {
		random = random[:saltLen+ivLen+n]
		pdk, generated = random[saltLen+ivLen:], true
	}
	if _, err := rand.Read(random); err != nil {
		return k.fail(id, err)
	}
	saltIV := random[: saltLen+ivLen : saltLen+ivLen]
	ct, err := sealEDK(mat.key[:], saltIV[:saltLen], saltIV[saltLen:], mat.versionRaw, aad, pdk)
	if err != nil {
		if generated {
			keyring.Wipe(pdk)
		}
		return k.fail(id, err)
	}
	m.PlaintextDataKey = pdk
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
		ProviderID: ProviderID, ProviderInfo: []byte(id), Ciphertext: ct,
	})
	return nil
}

// OnDecrypt sets m's data key from the first of edks that this keyring's
// branch key id wrapped and that unwraps: for each, it fetches the branch
// key version the encrypted data key names (from the cache, or from the
// source on a miss) and unwraps with it. Encrypted data keys of other
// providers or other branch key ids are skipped; one that is malformed, or
// whose version cannot be fetched or does not unwrap, is a failure and the
// search goes on. When none unwraps, m is unchanged and the error matches
// exactly one of keyring.ErrNoDecryptionKey (keyring.ErrNotMine when none
// was this keyring's), keyring.ErrTransient (a store call failed in a way
// that may pass, or ctx ended) and keyring.ErrUnwrapLimit (see
// keyring.WithUnwrapBudget: every attempt counts against it, store calls
// included). A supplier that finds no branch key id fails the same way
// (keyring.ErrTransient if its error is transient, else
// keyring.ErrNoDecryptionKey).
func (k *Keyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	switch {
	case m == nil:
		return k.fail("", fmt.Errorf("%w: nil materials", keyring.ErrInvalidMaterials))
	case m.PlaintextDataKey != nil:
		return k.fail("", fmt.Errorf("%w: materials already hold a data key", keyring.ErrInvalidMaterials))
	}
	n := m.Suite.DataKeyLength
	if n != 16 && n != 24 && n != 32 {
		return k.fail("", fmt.Errorf("%w: suite data key length %d", keyring.ErrInvalidMaterials, n))
	}
	id, err := k.branchKeyFor(ctx, m.EncryptionContext)
	if err != nil {
		// No branch key id, no key to try: a failure of one category,
		// like any other unwrap failure.
		return k.fail("", keyring.UnwrapFailure(err))
	}
	var errs []error
	for i, edk := range edks {
		if edk.ProviderID != ProviderID || !utf8.Valid(edk.ProviderInfo) || string(edk.ProviderInfo) != id {
			continue
		}
		f, err := parseEDK(edk.Ciphertext, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("encrypted data key %d: %w", i, err))
			continue
		}
		pdk, err := keyring.TryUnwrap(ctx, func() ([]byte, error) { return k.unwrap(ctx, id, f, m.EncryptionContext) })
		if err == nil {
			m.PlaintextDataKey = pdk
			return nil
		}
		errs = append(errs, fmt.Errorf("encrypted data key %d (version %s): %w", i, versionText(f.version), err))
		if ctx.Err() != nil || errors.Is(err, keyring.ErrUnwrapLimit) {
			break
		}
	}
	return k.fail(id, keyring.UnwrapFailure(errs...))
}

// unwrap fetches the version f names and opens f with it.
func (k *Keyring) unwrap(ctx context.Context, id string, f edkFields, ec map[string]string) ([]byte, error) {
	cid := k.decryptIDs.get(k, id, f.version)
	mat, err := k.cache.get(ctx, cid, k.ttl, &k.counts, func(ctx context.Context) (materials, error) {
		version := versionText(f.version)
		bk, err := k.src.GetBranchKeyVersion(ctx, id, version)
		return checkBranchKey(bk, err, id, version)
	}, nil)
	if err != nil {
		return nil, err
	}
	defer mat.wipe()
	if mat.id != id || mat.versionRaw != f.version {
		return nil, fmt.Errorf("%w: cache entry holds version %s of branch key %q", ErrBranchKey, mat.version, mat.id)
	}
	aad, err := wrapAAD(id, f.version, ec)
	if err != nil {
		return nil, err
	}
	return openEDK(mat.key[:], f, aad)
}

// branchKeyFor returns the configured branch key id or the supplier's.
func (k *Keyring) branchKeyFor(ctx context.Context, ec map[string]string) (string, error) {
	if k.supplier == nil {
		return k.branchKeyID, nil
	}
	id, err := k.supplier(ctx, maps.Clone(ec))
	if err != nil {
		return "", fmt.Errorf("hierarchy: branch key id supplier: %w", err)
	}
	if id == "" || !utf8.ValidString(id) {
		return "", fmt.Errorf("%w: supplier returned an empty or non-UTF-8 branch key id", keyring.ErrInvalidConfig)
	}
	return id, nil
}

// checkBranchKey turns what the source returned into cache materials,
// checking it is the id and version asked for (any version when version
// is empty), and wipes the source's copy of the key.
func checkBranchKey(bk *BranchKey, err error, id, version string) (materials, error) {
	if err != nil {
		if bk != nil {
			bk.Zero()
		}
		return materials{}, err
	}
	if bk == nil {
		return materials{}, fmt.Errorf("%w: source returned no branch key for %q", ErrBranchKey, id)
	}
	defer bk.Zero()
	switch {
	case bk.ID != id:
		return materials{}, fmt.Errorf("%w: asked for branch key %q, got %q", ErrBranchKey, id, bk.ID)
	case version != "" && bk.Version != version:
		return materials{}, fmt.Errorf("%w: asked for version %q of %q, got %q", ErrBranchKey, version, id, bk.Version)
	case len(bk.Key) != branchKeyLen:
		return materials{}, fmt.Errorf("%w: branch key %q is %d bytes, want %d", ErrBranchKey, id, len(bk.Key), branchKeyLen)
	}
	raw, err := versionBytes(bk.Version)
	if err != nil {
		return materials{}, fmt.Errorf("%w: branch key %q: %w", ErrBranchKey, id, err)
	}
	mat := materials{id: bk.ID, version: bk.Version, versionRaw: raw}
	copy(mat.key[:], bk.Key)
	return mat, nil
}

func (k *Keyring) fail(id string, err error) error {
	if id == "" {
		id = k.branchKeyID
	}
	return &keyring.KeyringError{Provider: ProviderID, KeyID: id, Err: err}
}

// GoString is String.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }
