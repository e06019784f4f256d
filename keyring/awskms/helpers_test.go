package awskms_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

var (
	suite0478 = keyring.Suite{ID: 0x0478, DataKeyLength: 32}
	suite0578 = keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true}
	suite0114 = keyring.Suite{ID: 0x0114, DataKeyLength: 16}
	testEC    = map[string]string{"tenant": "acme", "purpose": "test"}
)

func newServer(t *testing.T, opts ...kmstest.Option) *kmstest.Server {
	t.Helper()
	s := kmstest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func createKey(t *testing.T, s *kmstest.Server, opts ...kmstest.KeyOption) string {
	t.Helper()
	arn, err := s.CreateKey(opts...)
	require.NoError(t, err)
	return arn
}

func encMaterials(suite keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	return &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
}

func decMaterials(suite keyring.Suite, ec map[string]string) *keyring.DecryptionMaterials {
	return &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
}

// wrap runs OnEncrypt on fresh materials and returns them.
func wrap(t *testing.T, kr keyring.Keyring, suite keyring.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	t.Helper()
	m := encMaterials(suite, ec)
	require.NoError(t, kr.OnEncrypt(context.Background(), m))
	require.Len(t, m.PlaintextDataKey, suite.DataKeyLength)
	return m
}

// unwrap runs OnDecrypt and returns the data key or the error.
func unwrap(kr keyring.Keyring, suite keyring.Suite, ec map[string]string, edks []keyring.EncryptedDataKey) ([]byte, error) {
	m := decMaterials(suite, ec)
	err := kr.OnDecrypt(context.Background(), m, edks)
	if err != nil && m.PlaintextDataKey != nil {
		panic("materials modified on failure")
	}
	return m.PlaintextDataKey, err
}
