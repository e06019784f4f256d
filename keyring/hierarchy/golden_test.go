package hierarchy

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The worked example of the reference (HIERARCHY.md section 4): bytes
// written by the official JavaScript SDK 5.0.2 (KmsHierarchicalKeyRingNode
// with a real BranchKeyStoreNode over stubbed clients and patched random
// bytes) and decrypted back by it. These are external vectors, not our own
// output recorded yesterday.
var golden = struct {
	branchKey, salt, iv, dataKey []byte
	branchKeyID, version         string
	ec                           map[string]string
	storeName, partition         string

	kdfMsg, derivedKey, serEC, aad, edk, tagEmptyEC, cacheEnc, cacheDec string
}{
	branchKey:   seq(0x00, 32),
	salt:        seq(0xa0, 16),
	iv:          seq(0xb0, 12),
	dataKey:     seq(0xc0, 32),
	branchKeyID: "bbb9baf1-03e6-4716-a586-6bf29995314b",
	version:     "83eec007-5659-4554-bf11-699b90f41ac6",
	ec:          map[string]string{"tenant": "acme", "purpose": "example"},
	storeName:   "example-logical-keystore",
	partition:   "example-partition",

	kdfMsg:     "000000016177732d6b6d732d68696572617263687900a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00000100",
	derivedKey: "e5bb8edd42332babcda1e0bea19df88f3d9baa54461f50df2cc426a942b5e4e6",
	serEC:      "00020007707572706f736500076578616d706c65000674656e616e74000461636d65",
	aad: "6177732d6b6d732d686965726172636879" +
		"62626239626166312d303365362d343731362d613538362d366266323939393533313462" +
		"83eec00756594554bf11699b90f41ac6",
	edk: "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" + "b0b1b2b3b4b5b6b7b8b9babb" +
		"83eec00756594554bf11699b90f41ac6" +
		"35f1fc32dd2ac9d53febb4dff345e3cc839de538f3959f4b51ed15236531ebdf" +
		"c0e2646db2d9cb08971378bd40f1d7f1",
	tagEmptyEC: "db623dc062381fb63a25bbd0e6c338c1",
	cacheEnc:   "f3c926ef07f6f81ce383f556d4b91ea73184a5b4e01f9e0dbc037faf9b4479618825e068d3277dc48f51dbff139bb102",
	cacheDec:   "4623004c092a7bb401bb3efdb5c0320620ec81a851f3f534cfc091ad1abd43af0634e80f244215621d360461a8bbffef",
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestGoldenDerivation(t *testing.T) {
	var dk [derivedKeyLen]byte
	deriveWrappingKey(&dk, golden.branchKey, golden.salt)
	require.Equal(t, golden.derivedKey, hex.EncodeToString(dk[:]))
}

func TestGoldenAAD(t *testing.T) {
	sec, err := keyring.SerializeContext(golden.ec)
	require.NoError(t, err)
	require.Equal(t, golden.serEC, hex.EncodeToString(sec))

	v, err := versionBytes(golden.version)
	require.NoError(t, err)
	aad, err := wrapAAD(golden.branchKeyID, v, golden.ec)
	require.NoError(t, err)
	require.Equal(t, golden.aad+golden.serEC, hex.EncodeToString(aad))
}

func TestGoldenEDK(t *testing.T) {
	v, err := versionBytes(golden.version)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		ec   map[string]string
		want string
	}{
		{"context", golden.ec, golden.edk},
		{"empty context", nil, golden.edk[:2*(edkOverhead-tagLen+32)] + golden.tagEmptyEC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aad, err := wrapAAD(golden.branchKeyID, v, tc.ec)
			require.NoError(t, err)
			ct, err := sealEDK(golden.branchKey, golden.salt, golden.iv, v, aad, golden.dataKey)
			require.NoError(t, err)
			require.Equal(t, tc.want, hex.EncodeToString(ct))

			f, err := parseEDK(unhex(t, tc.want), 32)
			require.NoError(t, err)
			require.Equal(t, golden.version, versionText(f.version))
			pdk, err := openEDK(golden.branchKey, f, aad)
			require.NoError(t, err)
			require.Equal(t, golden.dataKey, pdk)
		})
	}
}

func TestGoldenEDKLengthPerSuite(t *testing.T) {
	v, err := versionBytes(golden.version)
	require.NoError(t, err)
	for _, n := range []int{16, 24, 32} {
		ct, err := sealEDK(golden.branchKey, golden.salt, golden.iv, v, nil, seq(0, n))
		require.NoError(t, err)
		require.Len(t, ct, 60+n)
		_, err = parseEDK(ct, n)
		require.NoError(t, err)
		_, err = parseEDK(ct[:len(ct)-1], n)
		require.ErrorIs(t, err, ErrMalformedEDK)
		require.ErrorIs(t, err, keyring.ErrNoDecryptionKey)
	}
}

func TestGoldenCacheIDs(t *testing.T) {
	enc := makeCacheID([]byte(golden.partition), golden.storeName, golden.branchKeyID, "")
	require.Equal(t, golden.cacheEnc, hex.EncodeToString(enc[:]))
	dec := makeCacheID([]byte(golden.partition), golden.storeName, golden.branchKeyID, golden.version)
	require.Equal(t, golden.cacheDec, hex.EncodeToString(dec[:]))
}

func TestGoldenKDFMessage(t *testing.T) {
	// The derivation is HMAC-SHA256 over exactly the reference's message.
	msg := unhex(t, golden.kdfMsg)
	require.Len(t, msg, 4+len(ProviderID)+1+saltLen+4)
	require.Equal(t, ProviderID, string(msg[4:4+len(ProviderID)]))
	require.Equal(t, golden.salt, msg[4+len(ProviderID)+1:4+len(ProviderID)+1+saltLen])
}

func TestVersionText(t *testing.T) {
	for _, bad := range []string{
		"", "83EEC007-5659-4554-bf11-699b90f41ac6", "83eec007a5659-4554-bf11-699b90f41ac6",
		"83eec007-5659-4554-bf11-699b90f41ac", "83eec007-5659-4554-bf11-699b90f41ac6x",
		"83eec007-5659-4554-bf11-699b90f41acg", "{3eec007-5659-4554-bf11-699b90f41ac6",
	} {
		_, err := versionBytes(bad)
		require.ErrorIs(t, err, ErrInvalidVersion, "%q", bad)
	}
	v, err := versionBytes(golden.version)
	require.NoError(t, err)
	require.Equal(t, golden.version, versionText(v))
}

// The JS-written encrypted data key of the reference decrypts through the
// whole keyring, with the version looked up by the text of its bytes.
func TestGoldenOnDecrypt(t *testing.T) {
	src := newMemSource()
	src.versions[golden.branchKeyID] = []*BranchKey{{ID: golden.branchKeyID, Version: golden.version, Key: golden.branchKey}}
	kr := newTestKeyring(t, src, nil, WithBranchKeyID(golden.branchKeyID), WithLogicalKeyStoreName(golden.storeName))
	edk := keyring.EncryptedDataKey{ProviderID: ProviderID, ProviderInfo: []byte(golden.branchKeyID), Ciphertext: unhex(t, golden.edk)}
	m := &keyring.DecryptionMaterials{Suite: keyring.Suite{ID: 0x0478, DataKeyLength: 32}, EncryptionContext: golden.ec}
	require.NoError(t, kr.OnDecrypt(ctxBG, m, []keyring.EncryptedDataKey{edk}))
	require.Equal(t, golden.dataKey, m.PlaintextDataKey)

	m = &keyring.DecryptionMaterials{Suite: keyring.Suite{ID: 0x0478, DataKeyLength: 32}}
	require.ErrorIs(t, kr.OnDecrypt(ctxBG, m, []keyring.EncryptedDataKey{edk}), keyring.ErrNoDecryptionKey, "the tag binds the context")
}
