package keyring_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// FuzzRawAESOnDecrypt feeds hostile encrypted data keys to a raw AES
// keyring: it must never panic, and every failure must leave the materials
// untouched and match ErrNoDecryptionKey.
func FuzzRawAESOnDecrypt(f *testing.F) {
	kr := newAES(f, "ns", "name", seqKey(32, 1))
	m := encrypt(f, kr, suite256, map[string]string{"a": "b"})
	edk := m.EncryptedDataKeys[0]
	f.Add("ns", edk.ProviderInfo, edk.Ciphertext)
	f.Add("ns", edk.ProviderInfo[:10], edk.Ciphertext[:3])
	f.Add("other", []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, id string, info, ct []byte) {
		dm := decMaterials(suite256, map[string]string{"a": "b"})
		err := kr.OnDecrypt(context.Background(), dm, []keyring.EncryptedDataKey{{ProviderID: id, ProviderInfo: info, Ciphertext: ct}})
		if err != nil {
			require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
			require.Nil(t, dm.PlaintextDataKey)
			return
		}
		require.Len(t, dm.PlaintextDataKey, 32)
	})
}

// FuzzRawRSAOnDecrypt does the same for a raw RSA keyring.
func FuzzRawRSAOnDecrypt(f *testing.F) {
	priv := testPrivateKey(f, "rsa2048-pkcs8.pem")
	kr := newRSA(f, "ns", "name", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(f, kr, suite256, nil)
	f.Add("ns", []byte("name"), m.EncryptedDataKeys[0].Ciphertext)
	f.Add("ns", []byte("name"), []byte{0})
	f.Fuzz(func(t *testing.T, id string, info, ct []byte) {
		dm := decMaterials(suite256, nil)
		err := kr.OnDecrypt(context.Background(), dm, []keyring.EncryptedDataKey{{ProviderID: id, ProviderInfo: info, Ciphertext: ct}})
		if err != nil {
			require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
			require.Nil(t, dm.PlaintextDataKey)
			return
		}
		require.Len(t, dm.PlaintextDataKey, 32)
	})
}
