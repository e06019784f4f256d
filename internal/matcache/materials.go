package matcache

import (
	"maps"
	"slices"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Materials handed out by the cache are deep copies: the caller may zero or
// change its copy, including its encryption context map, without affecting
// the entry or other callers. Only the signing and verification keys are
// shared, by pointer; callers must not modify them.
//
// To keep a hit cheap a copy is co-allocated: the materials, the data key
// (up to inlineKeyLen bytes, the longest any suite uses) and, on encrypt,
// a single encrypted data key share one allocation, and the bytes of all
// encrypted data keys share another. Each byte field is capped (s[:n:n]),
// so appending to one reallocates instead of overwriting its neighbour.
// The encryption context is a fresh map: callers own it, so a caller that
// modifies it cannot change the context of other messages using the entry.

// inlineKeyLen is the longest data key copied into the materials' own
// allocation; longer keys are copied separately.
const inlineKeyLen = 32

type encryptionCopy struct {
	m   keyring.EncryptionMaterials
	edk [1]keyring.EncryptedDataKey
	key [inlineKeyLen]byte
}

type decryptionCopy struct {
	m   keyring.DecryptionMaterials
	key [inlineKeyLen]byte
}

// cloneKey copies the data key into inline when it fits.
func cloneKey(k []byte, inline *[inlineKeyLen]byte) []byte {
	if k == nil || len(k) > inlineKeyLen {
		return slices.Clone(k)
	}
	out := inline[:len(k):len(k)]
	copy(out, k)
	return out
}

// cloneEDKs copies edks into dst (or a new slice when dst is too short),
// with all their byte fields in one allocation.
func cloneEDKs(edks []keyring.EncryptedDataKey, dst []keyring.EncryptedDataKey) []keyring.EncryptedDataKey {
	if edks == nil {
		return nil
	}
	if len(dst) < len(edks) {
		dst = make([]keyring.EncryptedDataKey, len(edks))
	}
	out := dst[:len(edks):len(edks)]
	total := 0
	for _, k := range edks {
		total += len(k.ProviderInfo) + len(k.Ciphertext)
	}
	arena := make([]byte, total)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		n := copy(arena, b)
		s := arena[:n:n]
		arena = arena[n:]
		return s
	}
	for i, k := range edks {
		out[i] = keyring.EncryptedDataKey{
			ProviderID:   k.ProviderID,
			ProviderInfo: take(k.ProviderInfo),
			Ciphertext:   take(k.Ciphertext),
		}
	}
	return out
}

func cloneEncryption(m *keyring.EncryptionMaterials) *keyring.EncryptionMaterials {
	c := new(encryptionCopy)
	c.m = keyring.EncryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		PlaintextDataKey:    cloneKey(m.PlaintextDataKey, &c.key),
		EncryptedDataKeys:   cloneEDKs(m.EncryptedDataKeys, c.edk[:]),
		SigningKey:          m.SigningKey,
	}
	return &c.m
}

func cloneDecryption(m *keyring.DecryptionMaterials) *keyring.DecryptionMaterials {
	c := new(decryptionCopy)
	c.m = keyring.DecryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		PlaintextDataKey:    cloneKey(m.PlaintextDataKey, &c.key),
		VerificationKey:     m.VerificationKey,
	}
	return &c.m
}
