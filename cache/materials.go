package cache

import (
	"maps"
	"slices"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Materials handed out by the cache are deep copies: the caller may zero or
// change its copy without affecting the entry or other callers. Only the
// signing and verification keys are shared, by pointer; callers must not
// modify them.

func cloneEDKs(edks []keyring.EncryptedDataKey) []keyring.EncryptedDataKey {
	if edks == nil {
		return nil
	}
	out := make([]keyring.EncryptedDataKey, len(edks))
	for i, k := range edks {
		out[i] = keyring.EncryptedDataKey{
			ProviderID:   k.ProviderID,
			ProviderInfo: slices.Clone(k.ProviderInfo),
			Ciphertext:   slices.Clone(k.Ciphertext),
		}
	}
	return out
}

func cloneEncryption(m *keyring.EncryptionMaterials) *keyring.EncryptionMaterials {
	return &keyring.EncryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		PlaintextDataKey:    slices.Clone(m.PlaintextDataKey),
		EncryptedDataKeys:   cloneEDKs(m.EncryptedDataKeys),
		SigningKey:          m.SigningKey,
	}
}

func cloneDecryption(m *keyring.DecryptionMaterials) *keyring.DecryptionMaterials {
	return &keyring.DecryptionMaterials{
		Suite:               m.Suite,
		EncryptionContext:   maps.Clone(m.EncryptionContext),
		RequiredContextKeys: slices.Clone(m.RequiredContextKeys),
		PlaintextDataKey:    slices.Clone(m.PlaintextDataKey),
		VerificationKey:     m.VerificationKey,
	}
}
