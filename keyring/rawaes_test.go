package keyring_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func newAES(t testing.TB, ns, name string, key []byte) *keyring.RawAES {
	t.Helper()
	kr, err := keyring.NewRawAES(ns, name, key)
	require.NoError(t, err)
	return kr
}

// checkAESEDK checks the raw AES encrypted-data-key layout of the AWS
// Encryption SDK specification (framework/raw-aes-keyring.md).
func checkAESEDK(t *testing.T, edk keyring.EncryptedDataKey, ns, name string, dataKeyLen int) {
	t.Helper()
	assert.Equal(t, ns, edk.ProviderID)
	info := edk.ProviderInfo
	require.Len(t, info, len(name)+20)
	assert.Equal(t, name, string(info[:len(name)]))
	assert.Equal(t, uint32(128), binary.BigEndian.Uint32(info[len(name):]), "tag length in bits")
	assert.Equal(t, uint32(12), binary.BigEndian.Uint32(info[len(name)+4:]), "IV length in bytes")
	assert.Len(t, edk.Ciphertext, dataKeyLen+16, "encrypted key followed by the 16-byte tag")
}

func TestRawAESRoundTrip(t *testing.T) {
	contexts := []map[string]string{
		nil,
		{"tenant": "acme"},
		{"Zeta": "1", "key1": "2", "aws-crypto-public-key": "AoJvV4eY", "😀": "non-BMP"},
	}
	for _, keyLen := range []int{16, 24, 32} {
		for _, s := range suites {
			for ci, ec := range contexts {
				t.Run(fmt.Sprintf("key%d/dk%d/ec%d", keyLen*8, s.DataKeyLength, ci), func(t *testing.T) {
					kr := newAES(t, "my-namespace", "my-key", seqKey(keyLen, 1))
					m := encrypt(t, kr, s, ec)
					require.Len(t, m.EncryptedDataKeys, 1)
					checkAESEDK(t, m.EncryptedDataKeys[0], "my-namespace", "my-key", s.DataKeyLength)

					// A second keyring built from the same key bytes decrypts.
					kr2 := newAES(t, "my-namespace", "my-key", seqKey(keyLen, 1))
					requireDecrypts(t, kr2, s, ec, m.EncryptedDataKeys, m.PlaintextDataKey)
				})
			}
		}
	}
}

func TestRawAESEDKLayout(t *testing.T) {
	kr := newAES(t, "aws-raw-vectors-persistant", "aes-256", seqKey(32, 0))
	m := encrypt(t, kr, suite256, map[string]string{"a": "b"})
	edk := m.EncryptedDataKeys[0]
	checkAESEDK(t, edk, "aws-raw-vectors-persistant", "aes-256", 32)
	assert.Len(t, edk.Ciphertext, 48)
	assert.Len(t, edk.ProviderInfo, len("aes-256")+20)

	// The IV is fresh per call.
	m2 := encrypt(t, kr, suite256, map[string]string{"a": "b"})
	assert.NotEqual(t, edk.ProviderInfo[len("aes-256")+8:], m2.EncryptedDataKeys[0].ProviderInfo[len("aes-256")+8:])
	assert.NotEqual(t, m.PlaintextDataKey, m2.PlaintextDataKey, "fresh data key per call")
}

// TestRawAESKnownAnswer wraps a data key by hand with crypto/cipher, with
// the provider info and AAD written out byte by byte, and checks that the
// keyring unwraps it: this pins the layout independently of the code.
func TestRawAESKnownAnswer(t *testing.T) {
	wrappingKey := seqKey(32, 0x40)
	iv := seqKey(12, 0xa0)
	pdk := seqKey(32, 0x10)
	ec := map[string]string{"key1": "v", "Zeta": "z"}
	aad := []byte{
		0x00, 0x02, // two pairs, "Zeta" (0x5a) sorts before "key1" (0x6b)
		0x00, 0x04, 'Z', 'e', 't', 'a', 0x00, 0x01, 'z',
		0x00, 0x04, 'k', 'e', 'y', '1', 0x00, 0x01, 'v',
	}
	block, err := aes.NewCipher(wrappingKey)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	ct := gcm.Seal(nil, iv, pdk, aad)

	info := append([]byte("kat-key"), 0, 0, 0, 0x80, 0, 0, 0, 0x0c)
	info = append(info, iv...)
	edk := keyring.EncryptedDataKey{ProviderID: "kat-ns", ProviderInfo: info, Ciphertext: ct}

	kr := newAES(t, "kat-ns", "kat-key", wrappingKey)
	requireDecrypts(t, kr, suite256, ec, []keyring.EncryptedDataKey{edk}, pdk)

	// The same wrapping computed by Node's crypto module (an independent
	// AES-GCM), so the test's own primitive is pinned too.
	assert.Equal(t, "c79e142cf6fe8a3a61765be595a12ee9cf36d7e4c84aa30acaf5c4b1c5ef50d7"+
		"14b3b95bfed8c7625c3705758d599247", hex.EncodeToString(ct))

	// The same key under a locale-style ("key1" before "Zeta") AAD fails.
	badAAD := append(append([]byte{0x00, 0x02}, aad[11:]...), aad[2:11]...)
	bad := gcm.Seal(nil, iv, pdk, badAAD)
	requireNoKey(t, kr, suite256, ec, []keyring.EncryptedDataKey{{ProviderID: "kat-ns", ProviderInfo: info, Ciphertext: bad}})
}

func TestRawAESExistingDataKey(t *testing.T) {
	kr := newAES(t, "ns", "k", seqKey(16, 9))
	prior := keyring.EncryptedDataKey{ProviderID: "other", ProviderInfo: []byte("x"), Ciphertext: []byte("y")}
	pdk := seqKey(24, 3)
	m := &keyring.EncryptionMaterials{Suite: suite192, PlaintextDataKey: pdk, EncryptedDataKeys: []keyring.EncryptedDataKey{prior}}
	require.NoError(t, kr.OnEncrypt(context.Background(), m))
	assert.Equal(t, seqKey(24, 3), m.PlaintextDataKey, "existing data key kept")
	require.Len(t, m.EncryptedDataKeys, 2)
	assert.Equal(t, prior, m.EncryptedDataKeys[0])
	requireDecrypts(t, kr, suite192, nil, m.EncryptedDataKeys, pdk)

	// A data key of the wrong length is refused and nothing is appended.
	m = &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: seqKey(16, 0)}
	err := kr.OnEncrypt(context.Background(), m)
	require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
	assert.Empty(t, m.EncryptedDataKeys)

	// So is a suite with no usable data-key length.
	m = &keyring.EncryptionMaterials{}
	require.ErrorIs(t, kr.OnEncrypt(context.Background(), m), keyring.ErrInvalidMaterials)
	assert.Nil(t, m.PlaintextDataKey)
}

func TestRawAESNoDecryptionKey(t *testing.T) {
	ec := map[string]string{"tenant": "acme"}
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite256, ec)
	edks := m.EncryptedDataKeys

	cases := map[string]struct {
		kr      *keyring.RawAES
		notMine bool
	}{
		"wrong namespace":   {newAES(t, "ns2", "name", seqKey(32, 1)), true},
		"wrong name":        {newAES(t, "ns", "name2", seqKey(32, 1)), true},
		"name prefix":       {newAES(t, "ns", "nam", seqKey(32, 1)), true},
		"same-length name":  {newAES(t, "ns", "nama", seqKey(32, 1)), true},
		"wrong key":         {newAES(t, "ns", "name", seqKey(32, 2)), false},
		"wrong key size":    {newAES(t, "ns", "name", seqKey(16, 1)), false},
		"case of namespace": {newAES(t, "NS", "name", seqKey(32, 1)), true},
	}
	for desc, c := range cases {
		t.Run(desc, func(t *testing.T) {
			err := requireNoKey(t, c.kr, suite256, ec, edks)
			assert.Equal(t, c.notMine, errors.Is(err, keyring.ErrNotMine), "ErrNotMine: %v", err)
			var kerr *keyring.KeyringError
			require.ErrorAs(t, err, &kerr)
			assert.Equal(t, c.kr.Namespace(), kerr.Provider)
			assert.Equal(t, c.kr.Name(), kerr.KeyID)
		})
	}
	// No encrypted data keys at all.
	err := requireNoKey(t, kr, suite256, ec, nil)
	assert.ErrorIs(t, err, keyring.ErrNotMine)
}

func TestRawAESContextBinding(t *testing.T) {
	ec := map[string]string{"tenant": "acme", "purpose": "test"}
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite256, ec)
	for desc, other := range map[string]map[string]string{
		"changed value": {"tenant": "acme2", "purpose": "test"},
		"extra pair":    {"tenant": "acme", "purpose": "test", "x": "y"},
		"missing pair":  {"tenant": "acme"},
		"empty":         nil,
		"renamed key":   {"Tenant": "acme", "purpose": "test"},
	} {
		t.Run(desc, func(t *testing.T) {
			err := requireNoKey(t, kr, suite256, other, m.EncryptedDataKeys)
			assert.NotErrorIs(t, err, keyring.ErrNotMine)
		})
	}
	requireDecrypts(t, kr, suite256, map[string]string{"purpose": "test", "tenant": "acme"}, m.EncryptedDataKeys, m.PlaintextDataKey)
}

func TestRawAESTampered(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(24, 1))
	m := encrypt(t, kr, suite256, nil)
	orig := m.EncryptedDataKeys[0]
	for i := range orig.Ciphertext {
		edks := cloneEDKs(m.EncryptedDataKeys)
		edks[0].Ciphertext[i] ^= 0x01
		requireNoKey(t, kr, suite256, nil, edks)
	}
	// The IV is authenticated through the GCM nonce.
	edks := cloneEDKs(m.EncryptedDataKeys)
	edks[0].ProviderInfo[len(edks[0].ProviderInfo)-1] ^= 0x80
	requireNoKey(t, kr, suite256, nil, edks)

	// Unsupported tag or IV lengths are not ours to try.
	for _, off := range []int{len("name") + 3, len("name") + 7} {
		edks := cloneEDKs(m.EncryptedDataKeys)
		edks[0].ProviderInfo[off] = 0x60
		err := requireNoKey(t, kr, suite256, nil, edks)
		assert.ErrorIs(t, err, keyring.ErrNotMine)
	}

	// Hostile shapes: truncated ciphertexts and provider infos never panic.
	for _, edk := range []keyring.EncryptedDataKey{
		{ProviderID: "ns", ProviderInfo: orig.ProviderInfo, Ciphertext: nil},
		{ProviderID: "ns", ProviderInfo: orig.ProviderInfo, Ciphertext: orig.Ciphertext[:15]},
		{ProviderID: "ns", ProviderInfo: orig.ProviderInfo, Ciphertext: orig.Ciphertext[:16]},
		{ProviderID: "ns", ProviderInfo: orig.ProviderInfo[:len(orig.ProviderInfo)-1], Ciphertext: orig.Ciphertext},
		{ProviderID: "ns", ProviderInfo: nil, Ciphertext: orig.Ciphertext},
		{},
	} {
		requireNoKey(t, kr, suite256, nil, []keyring.EncryptedDataKey{edk})
	}
}

func TestRawAESWrongDataKeyLength(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite128, nil)
	err := requireNoKey(t, kr, suite256, nil, m.EncryptedDataKeys)
	assert.NotErrorIs(t, err, keyring.ErrInvalidMaterials, "fails as any unwrap failure does")
	assert.NotContains(t, err.Error(), "16")
}

func TestRawAESDecryptOrder(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	a := encrypt(t, kr, suite256, nil)
	b := encrypt(t, kr, suite256, nil)
	other := encrypt(t, newAES(t, "other", "name", seqKey(32, 1)), suite256, nil)
	tampered := cloneEDKs(a.EncryptedDataKeys)
	tampered[0].Ciphertext[0] ^= 1

	// Foreign and failing entries are skipped; the first good one wins.
	edks := append(append(append(other.EncryptedDataKeys, tampered...), b.EncryptedDataKeys...), a.EncryptedDataKeys...)
	requireDecrypts(t, kr, suite256, nil, edks, b.PlaintextDataKey)
}

func TestRawAESDecryptRejectsPresentKey(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite256, nil)
	dm := decMaterials(suite256, nil)
	dm.PlaintextDataKey = seqKey(32, 7)
	err := kr.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
	assert.Equal(t, seqKey(32, 7), dm.PlaintextDataKey)
	require.ErrorIs(t, kr.OnDecrypt(context.Background(), nil, m.EncryptedDataKeys), keyring.ErrInvalidMaterials)
	require.ErrorIs(t, kr.OnEncrypt(context.Background(), nil), keyring.ErrInvalidMaterials)
}

func TestRawAESCanceledContext(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite256, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	em := encMaterials(suite256, nil)
	require.ErrorIs(t, kr.OnEncrypt(ctx, em), context.Canceled)
	assert.Empty(t, em.EncryptedDataKeys)
	dm := decMaterials(suite256, nil)
	err := kr.OnDecrypt(ctx, dm, m.EncryptedDataKeys)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
	assert.Nil(t, dm.PlaintextDataKey)
}

func TestNewRawAESConfig(t *testing.T) {
	for desc, c := range map[string]struct {
		ns, name string
		keyLen   int
	}{
		"empty namespace":    {"", "n", 32},
		"empty name":         {"ns", "", 32},
		"reserved namespace": {"aws-kms", "n", 32},
		"reserved prefix":    {"aws-kms-rsa-mine", "n", 32},
		"invalid UTF-8":      {"ns\xff", "n", 32},
		"key too short":      {"ns", "n", 8},
		"key odd size":       {"ns", "n", 20},
		"key too long":       {"ns", "n", 64},
		"no key":             {"ns", "n", 0},
		"name too long":      {"ns", strings.Repeat("n", 65535-19), 32},
	} {
		t.Run(desc, func(t *testing.T) {
			kr, err := keyring.NewRawAES(c.ns, c.name, seqKey(c.keyLen, 0))
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			assert.Nil(t, kr)
		})
	}
	_, err := keyring.NewRawAES("aws-km", strings.Repeat("n", 65535-20), seqKey(16, 0))
	require.NoError(t, err, "aws-km is not reserved; the longest name fits")
}

func TestRawAESKeepsNoReferenceToKey(t *testing.T) {
	key := seqKey(32, 1)
	kr := newAES(t, "ns", "name", key)
	m := encrypt(t, kr, suite256, nil)
	keyring.Wipe(key) // the caller may wipe its copy
	requireDecrypts(t, kr, suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)
	requireDecrypts(t, newAES(t, "ns", "name", seqKey(32, 1)), suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)
}

func TestRawAESRedacts(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	kr := newAES(t, "billing", "key-2026", key)
	for _, s := range []string{
		kr.String(), kr.GoString(),
		fmt.Sprintf("%v", kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr), fmt.Sprintf("%s", kr),
	} {
		assert.Contains(t, s, "billing")
		assert.Contains(t, s, "key-2026")
		assert.NotContains(t, s, "ab")
		assert.NotContains(t, s, "171") // 0xab in decimal
		assert.NotContains(t, s, string(key))
	}
}

func TestRawAESConcurrent(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := encMaterials(suite256, map[string]string{"a": "b"})
			if err := kr.OnEncrypt(context.Background(), m); err != nil {
				errs <- err
				return
			}
			dm := decMaterials(suite256, map[string]string{"a": "b"})
			if err := kr.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(dm.PlaintextDataKey, m.PlaintextDataKey) {
				errs <- errors.New("data key mismatch")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestRawAESInvalidMaterials(t *testing.T) {
	kr := newAES(t, "ns", "name", seqKey(32, 1))
	m := encrypt(t, kr, suite256, nil)
	bad := map[string]string{"k": "\xff"}

	em := encMaterials(suite256, bad)
	require.ErrorIs(t, kr.OnEncrypt(context.Background(), em), keyring.ErrInvalidContext)
	assert.Nil(t, em.PlaintextDataKey)
	assert.Empty(t, em.EncryptedDataKeys)

	dm := decMaterials(suite256, bad)
	require.ErrorIs(t, kr.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys), keyring.ErrInvalidContext)
	assert.Nil(t, dm.PlaintextDataKey)

	dm = decMaterials(keyring.Suite{ID: 0x0478}, nil)
	require.ErrorIs(t, kr.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys), keyring.ErrInvalidMaterials, "no data-key length")
	assert.Nil(t, dm.PlaintextDataKey)
}
