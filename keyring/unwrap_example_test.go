package keyring_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// hsmKeyring is a custom keyring whose every unwrap is a costly call.
type hsmKeyring struct{ calls *int }

func (hsmKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return keyring.ErrDecryptOnly
}

// OnDecrypt tries each of its encrypted data keys through TryUnwrap, so
// that the caller's budget bounds the calls, and reports the failures
// through UnwrapFailure, which picks their one category.
func (k hsmKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	var errs []error
	for _, edk := range edks {
		if edk.ProviderID != "hsm" {
			continue
		}
		pdk, err := keyring.TryUnwrap(ctx, func() ([]byte, error) {
			*k.calls++
			return nil, errors.New("hsm: unwrap failed")
		})
		if err == nil {
			m.PlaintextDataKey = pdk
			return nil
		}
		errs = append(errs, err)
	}
	return keyring.UnwrapFailure(errs...)
}

func ExampleTryUnwrap() {
	calls := 0
	kr := hsmKeyring{calls: &calls}
	edks := make([]keyring.EncryptedDataKey, 100)
	for i := range edks {
		edks[i] = keyring.EncryptedDataKey{ProviderID: "hsm", ProviderInfo: []byte("key-1"), Ciphertext: []byte{byte(i)}}
	}
	ctx := keyring.WithUnwrapBudget(context.Background(), 3)
	m := &keyring.DecryptionMaterials{Suite: keyring.Suite{ID: 0x0478, DataKeyLength: 32}}
	err := kr.OnDecrypt(ctx, m, edks)
	fmt.Println(calls, errors.Is(err, keyring.ErrUnwrapLimit), errors.Is(err, keyring.ErrNoDecryptionKey))
	// Output: 3 true false
}
