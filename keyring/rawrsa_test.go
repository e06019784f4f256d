package keyring_test

import (
	"context"
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

var paddings = []keyring.RSAPadding{keyring.PKCS1, keyring.OAEPSHA1, keyring.OAEPSHA256, keyring.OAEPSHA384, keyring.OAEPSHA512}

// approved reports whether padding p can be used in the current mode. In
// FIPS 140-3 mode it first checks that NewRawRSA refuses PKCS1 and
// OAEPSHA1, for encrypting and for decrypting, with ErrNotApproved.
func approved(t testing.TB, p keyring.RSAPadding) bool {
	t.Helper()
	if !fips140.Enabled() || (p != keyring.PKCS1 && p != keyring.OAEPSHA1) {
		return true
	}
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	for _, pub := range []*rsa.PublicKey{&priv.PublicKey, nil} {
		kr, err := keyring.NewRawRSA("ns", "k", pub, priv, p)
		require.ErrorIs(t, err, keyring.ErrNotApproved)
		require.ErrorIs(t, err, keyring.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "FIPS 140-3")
		assert.Nil(t, kr)
	}
	return false
}

func newRSA(t testing.TB, ns, name string, pub *rsa.PublicKey, priv *rsa.PrivateKey, p keyring.RSAPadding) *keyring.RawRSA {
	t.Helper()
	kr, err := keyring.NewRawRSA(ns, name, pub, priv, p)
	require.NoError(t, err)
	return kr
}

func TestRawRSARoundTrip(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	ec := map[string]string{"tenant": "acme"}
	for _, p := range paddings {
		for _, s := range suites {
			t.Run(fmt.Sprintf("%v/dk%d", p, s.DataKeyLength), func(t *testing.T) {
				if !approved(t, p) {
					return
				}
				kr := newRSA(t, "ns", "rsa-key", &priv.PublicKey, priv, p)
				m := encrypt(t, kr, s, ec)
				require.Len(t, m.EncryptedDataKeys, 1)
				edk := m.EncryptedDataKeys[0]
				assert.Equal(t, "ns", edk.ProviderID)
				assert.Equal(t, []byte("rsa-key"), edk.ProviderInfo, "provider info is the bare key name")
				assert.Len(t, edk.Ciphertext, 256, "RSA output is the modulus length")
				requireDecrypts(t, kr, s, ec, m.EncryptedDataKeys, m.PlaintextDataKey)
			})
		}
	}
}

func TestRawRSA4096(t *testing.T) {
	priv := testPrivateKey(t, "rsa4096-pkcs8.pem")
	kr := newRSA(t, "aws-raw-vectors-persistant", "rsa-4096-private", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(t, kr, suite256, nil)
	assert.Len(t, m.EncryptedDataKeys[0].Ciphertext, 512)
	requireDecrypts(t, kr, suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)
}

func TestRawRSAHalfKeyrings(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	pubOnly := newRSA(t, "ns", "k", &priv.PublicKey, nil, keyring.OAEPSHA384)
	privOnly := newRSA(t, "ns", "k", nil, priv, keyring.OAEPSHA384)

	m := encrypt(t, pubOnly, suite256, nil)
	requireDecrypts(t, privOnly, suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)

	dm := decMaterials(suite256, nil)
	err := pubOnly.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys)
	require.ErrorIs(t, err, keyring.ErrEncryptOnly)
	assert.Nil(t, dm.PlaintextDataKey)

	em := encMaterials(suite256, nil)
	err = privOnly.OnEncrypt(context.Background(), em)
	require.ErrorIs(t, err, keyring.ErrDecryptOnly, "the public key is never derived from the private key")
	assert.Nil(t, em.PlaintextDataKey)
	assert.Empty(t, em.EncryptedDataKeys)

	assert.Contains(t, pubOnly.String(), "encrypt-only")
	assert.Contains(t, privOnly.String(), "decrypt-only")
}

// TestRawRSAOAEPParameters checks against crypto/rsa directly that OAEP uses
// MGF1 with the OAEP hash and an empty label, and that the keyring reads
// what another implementation wrote that way.
func TestRawRSAOAEPParameters(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs1.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(t, kr, suite256, nil)

	pt, err := priv.Decrypt(nil, m.EncryptedDataKeys[0].Ciphertext, &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256})
	require.NoError(t, err)
	assert.Equal(t, m.PlaintextDataKey, pt)
	_, err = priv.Decrypt(nil, m.EncryptedDataKeys[0].Ciphertext, &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA1})
	require.Error(t, err, "MGF1 must not be SHA-1 for OAEP-SHA256")

	pdk := seqKey(32, 5)
	ct, err := encryptOAEP(t, &priv.PublicKey, pdk, crypto.SHA256, crypto.SHA256)
	require.NoError(t, err)
	edks := []keyring.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}}
	requireDecrypts(t, kr, suite256, nil, edks, pdk)

	// Java's default SunJCE parameters (MGF1-SHA1 with OAEP-SHA256) are not read.
	ct, err = encryptOAEP(t, &priv.PublicKey, pdk, crypto.SHA256, crypto.SHA1)
	require.NoError(t, err)
	requireNoKey(t, kr, suite256, nil, []keyring.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}})

	// A non-empty label is not read either.
	ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, pdk, []byte("label"))
	require.NoError(t, err)
	requireNoKey(t, kr, suite256, nil, []keyring.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}})

	// PKCS #1 v1.5 written by crypto/rsa is read by a PKCS1 keyring.
	if !approved(t, keyring.PKCS1) {
		return
	}
	ct, err = rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, pdk) //nolint:staticcheck // compatibility padding under test
	require.NoError(t, err)
	requireDecrypts(t, newRSA(t, "ns", "k", nil, priv, keyring.PKCS1), suite256, nil,
		[]keyring.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}}, pdk)
}

func TestRawRSANoDecryptionKey(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	other := testPrivateKey(t, "rsa4096-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(t, kr, suite256, nil)

	for desc, c := range map[string]struct {
		kr      *keyring.RawRSA
		notMine bool
	}{
		"wrong namespace": {newRSA(t, "ns2", "k", nil, priv, keyring.OAEPSHA256), true},
		"wrong name":      {newRSA(t, "ns", "k2", nil, priv, keyring.OAEPSHA256), true},
		"wrong key":       {newRSA(t, "ns", "k", nil, other, keyring.OAEPSHA256), false},
		"wrong padding":   {newRSA(t, "ns", "k", nil, priv, keyring.OAEPSHA384), false},
	} {
		t.Run(desc, func(t *testing.T) {
			err := requireNoKey(t, c.kr, suite256, nil, m.EncryptedDataKeys)
			assert.Equal(t, c.notMine, errors.Is(err, keyring.ErrNotMine), "%v", err)
		})
	}

	// Tampered or truncated ciphertexts fail without panicking.
	for _, mutate := range []func([]byte) []byte{
		func(b []byte) []byte { b[0] ^= 1; return b },
		func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		func(b []byte) []byte { return b[:len(b)-1] },
		func(b []byte) []byte { return nil },
		func(b []byte) []byte { return append(b, 0) },
	} {
		edks := cloneEDKs(m.EncryptedDataKeys)
		edks[0].Ciphertext = mutate(edks[0].Ciphertext)
		requireNoKey(t, kr, suite256, nil, edks)
	}

	// A data key of another length than the suite's fails exactly as a
	// wrong key does: same error, no length in it.
	wrongKey := requireNoKey(t, newRSA(t, "ns", "k", nil, other, keyring.OAEPSHA256), suite128, nil, m.EncryptedDataKeys)
	wrongLen := requireNoKey(t, kr, suite128, nil, m.EncryptedDataKeys)
	assert.NotErrorIs(t, wrongLen, keyring.ErrInvalidMaterials)
	assert.Equal(t, wrongKey.Error(), wrongLen.Error())
	assert.NotContains(t, wrongLen.Error(), "32")
	assert.NotContains(t, wrongLen.Error(), "16")
}

func TestRawRSAContextNotBound(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(t, kr, suite192, map[string]string{"a": "1"})
	requireDecrypts(t, kr, suite192, map[string]string{"b": "2"}, m.EncryptedDataKeys, m.PlaintextDataKey)
}

func TestRawRSADecryptOrder(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA512)
	a := encrypt(t, kr, suite256, nil)
	b := encrypt(t, kr, suite256, nil)
	bad := cloneEDKs(a.EncryptedDataKeys)
	bad[0].Ciphertext[5] ^= 0x10
	edks := append(append(bad, b.EncryptedDataKeys...), a.EncryptedDataKeys...)
	requireDecrypts(t, kr, suite256, nil, edks, b.PlaintextDataKey)

	dm := decMaterials(suite256, nil)
	dm.PlaintextDataKey = seqKey(32, 0)
	require.ErrorIs(t, kr.OnDecrypt(context.Background(), dm, edks), keyring.ErrInvalidMaterials)
}

func TestNewRawRSAConfig(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	other := testPrivateKey(t, "rsa4096-pkcs8.pem")
	small := testPrivateKey(t, "rsa1024-pkcs8.pem")
	broken := *priv
	broken.D = new(big.Int).Add(priv.D, big.NewInt(2))

	for desc, c := range map[string]struct {
		ns, name string
		pub      *rsa.PublicKey
		priv     *rsa.PrivateKey
		padding  keyring.RSAPadding
	}{
		"no keys":            {"ns", "k", nil, nil, keyring.OAEPSHA256},
		"mismatched pair":    {"ns", "k", &other.PublicKey, priv, keyring.OAEPSHA256},
		"small public key":   {"ns", "k", &small.PublicKey, nil, keyring.OAEPSHA256},
		"small private key":  {"ns", "k", nil, small, keyring.OAEPSHA256},
		"invalid private":    {"ns", "k", nil, &broken, keyring.OAEPSHA256},
		"empty public key":   {"ns", "k", &rsa.PublicKey{}, nil, keyring.OAEPSHA256},
		"unknown padding":    {"ns", "k", &priv.PublicKey, nil, keyring.RSAPadding(5)},
		"negative padding":   {"ns", "k", &priv.PublicKey, nil, keyring.RSAPadding(-1)},
		"reserved namespace": {"aws-kms-rsa", "k", &priv.PublicKey, nil, keyring.OAEPSHA256},
		"empty name":         {"ns", "", &priv.PublicKey, nil, keyring.OAEPSHA256},
		"empty namespace":    {"", "k", &priv.PublicKey, nil, keyring.OAEPSHA256},
	} {
		t.Run(desc, func(t *testing.T) {
			kr, err := keyring.NewRawRSA(c.ns, c.name, c.pub, c.priv, c.padding)
			require.ErrorIs(t, err, keyring.ErrInvalidConfig)
			assert.Nil(t, kr)
		})
	}
}

func TestRSAPaddingString(t *testing.T) {
	want := []string{"PKCS1", "OAEP-SHA1", "OAEP-SHA256", "OAEP-SHA384", "OAEP-SHA512"}
	for i, p := range paddings {
		assert.Equal(t, want[i], p.String())
	}
	assert.Equal(t, "RSAPadding(9)", keyring.RSAPadding(9).String())
}

func TestRawRSARedacts(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	for _, s := range []string{fmt.Sprintf("%v", kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr)} {
		assert.Contains(t, s, "OAEP-SHA256")
		assert.NotContains(t, s, priv.D.String())
		assert.NotContains(t, s, priv.N.String())
		assert.NotContains(t, s, priv.N.Text(16))
	}
}

func TestRawRSAAccessorsAndMaterials(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA384)
	assert.Equal(t, "ns", kr.Namespace())
	assert.Equal(t, "k", kr.Name())
	assert.Equal(t, keyring.OAEPSHA384, kr.Padding())

	require.ErrorIs(t, kr.OnEncrypt(context.Background(), nil), keyring.ErrInvalidMaterials)
	require.ErrorIs(t, kr.OnDecrypt(context.Background(), nil, nil), keyring.ErrInvalidMaterials)

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
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey, "a cancelled search says nothing about the key")
	assert.Nil(t, dm.PlaintextDataKey)

	var kerr *keyring.KeyringError
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, "ns", kerr.Provider)
	assert.Equal(t, "k", kerr.KeyID)
}
