package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Golden tests for the byte-level rules of the message format. Expected
// values come from testdata files computed with an independent HKDF, or are
// written out by hand from the field tables of the format description.

// unhex decodes hex written with optional spaces, for readable literals.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

// hkdfExtractRef and hkdfExpandRef are RFC 5869 written with crypto/hmac
// alone, independent of the crypto/hkdf used by the package.
func hkdfExtractRef(h func() hash.Hash, salt, ikm []byte) []byte {
	if len(salt) == 0 {
		salt = make([]byte, h().Size())
	}
	m := hmac.New(h, salt)
	m.Write(ikm)
	return m.Sum(nil)
}

func hkdfExpandRef(h func() hash.Hash, prk, info []byte, n int) []byte {
	var out, prev []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(h, prk)
		m.Write(prev)
		m.Write(info)
		m.Write([]byte{i})
		prev = m.Sum(nil)
		out = append(out, prev...)
	}
	return out[:n]
}

func TestGoldenHKDFReference(t *testing.T) {
	// RFC 5869 appendix A.1 checks the reference HKDF itself.
	prk := hkdfExtractRef(sha256.New, unhex(t, "000102030405060708090a0b0c"), bytes.Repeat([]byte{0x0b}, 22))
	assert.Equal(t, unhex(t, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"), prk)
	okm := hkdfExpandRef(sha256.New, prk, unhex(t, "f0f1f2f3f4f5f6f7f8f9"), 42)
	assert.Equal(t, unhex(t, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), okm)
}

type kdfVector struct {
	Suite      string `json:"suite"`
	KDF        string `json:"kdf"`
	PDK        string `json:"pdk"`
	MessageID  string `json:"messageID"`
	Salt       string `json:"salt"`
	Info       string `json:"info"`
	DataKey    string `json:"dataKey"`
	CommitInfo string `json:"commitInfo"`
	CommitKey  string `json:"commitKey"`
}

func TestGoldenKeyDerivation(t *testing.T) {
	var file struct{ Vectors []kdfVector }
	loadJSON(t, "kdf.json", &file)
	require.Len(t, file.Vectors, 8)
	hashes := map[string]func() hash.Hash{"hkdf-sha256": sha256.New, "hkdf-sha384": sha512.New384, "hkdf-sha512-commit": sha512.New}
	for _, v := range file.Vectors {
		t.Run(v.Suite, func(t *testing.T) {
			sid := unhex(t, v.Suite)
			s, ok := lookupSuite(SuiteID(uint16(sid[0])<<8 | uint16(sid[1])))
			require.True(t, ok)
			pdk, mid := unhex(t, v.PDK), unhex(t, v.MessageID)
			info := unhex(t, v.Info)

			// The info bytes follow the rule of the suite's format version.
			if s.version == 2 {
				assert.Equal(t, append(sid, unhex(t, "44 45 52 49 56 45 4B 45 59")...), info, "suite id ‖ DERIVEKEY")
				assert.Equal(t, unhex(t, "43 4F 4D 4D 49 54 4B 45 59"), unhex(t, v.CommitInfo), "COMMITKEY, no suite id")
				assert.Equal(t, mid, unhex(t, v.Salt), "salt is the 32-byte message id")
				assert.Len(t, mid, 32)
			} else {
				assert.Equal(t, append(sid, mid...), info, "suite id ‖ 16-byte message id")
				assert.Len(t, mid, 16)
				assert.Empty(t, v.Salt)
			}

			// The independent HKDF reproduces the stored keys ...
			h := hashes[v.KDF]
			require.NotNil(t, h, v.KDF)
			prk := hkdfExtractRef(h, unhex(t, v.Salt), pdk)
			assert.Equal(t, unhex(t, v.DataKey), hkdfExpandRef(h, prk, info, s.keyLen))
			if s.version == 2 {
				assert.Equal(t, unhex(t, v.CommitKey), hkdfExpandRef(h, prk, unhex(t, v.CommitInfo), 32))
			}

			// ... and so does the package.
			dk, ck, err := deriveKeys(s, pdk, mid)
			require.NoError(t, err)
			assert.Equal(t, unhex(t, v.DataKey), dk)
			if s.version == 2 {
				assert.Equal(t, unhex(t, v.CommitKey), ck)
			} else {
				assert.Nil(t, ck)
			}
		})
	}
}

func TestGoldenIdentityKDF(t *testing.T) {
	for _, id := range []SuiteID{AES128GCMNoKDF, AES192GCMNoKDF, AES256GCMNoKDF} {
		s, _ := lookupSuite(id)
		pdk := bytes.Repeat([]byte{0x5a}, s.keyLen)
		dk, ck, err := deriveKeys(s, pdk, bytes.Repeat([]byte{1}, 16))
		require.NoError(t, err)
		assert.Equal(t, pdk, dk, "%v: data key is the plaintext data key", id)
		assert.Nil(t, ck)
		dk[0] ^= 1
		assert.Equal(t, byte(0x5a), pdk[0], "%v: derived key must not alias the input", id)
	}
	// A data key of the wrong length is refused for every KDF.
	for _, id := range Suites() {
		s, _ := lookupSuite(id)
		_, _, err := deriveKeys(s, make([]byte, s.keyLen+1), make([]byte, s.messageIDLen()))
		assert.ErrorIs(t, err, keyring.ErrInvalidMaterials, "%v", id)
	}
}

type aadVector struct {
	MessageID string `json:"messageID"`
	Kind      string `json:"kind"`
	Label     string `json:"label"`
	Seq       uint32 `json:"seq"`
	Length    uint64 `json:"length"`
	AAD       string `json:"aad"`
}

func TestGoldenBodyAAD(t *testing.T) {
	// The labels are exact ASCII, without a terminating NUL.
	assert.Equal(t, unhex(t, "41 57 53 4B 4D 53 45 6E 63 72 79 70 74 69 6F 6E 43 6C 69 65 6E 74 20 46 72 61 6D 65"), []byte(labelFrame))
	assert.Equal(t, unhex(t, "41 57 53 4B 4D 53 45 6E 63 72 79 70 74 69 6F 6E 43 6C 69 65 6E 74 20 46 69 6E 61 6C 20 46 72 61 6D 65"), []byte(labelFinalFrame))
	assert.Equal(t, unhex(t, "41 57 53 4B 4D 53 45 6E 63 72 79 70 74 69 6F 6E 43 6C 69 65 6E 74 20 53 69 6E 67 6C 65 20 42 6C 6F 63 6B"), []byte(labelSingle))

	var file struct{ Vectors []aadVector }
	loadJSON(t, "body_aad.json", &file)
	require.Len(t, file.Vectors, 12)
	labels := map[string]string{"frame": labelFrame, "final": labelFinalFrame, "single": labelSingle}
	seen := map[int]bool{}
	for _, v := range file.Vectors {
		mid := unhex(t, v.MessageID)
		seen[len(mid)] = true
		label := labels[v.Kind]
		require.NotEmpty(t, label, v.Kind)
		assert.Equal(t, unhex(t, v.Label), []byte(label))
		fc := newFrameCrypter(nil, mid)
		// Call twice: the scratch buffer must be rewritten, not appended to.
		fc.setAAD(labelSingle, 99, 99)
		got := fc.setAAD(label, v.Seq, v.Length)
		assert.Equal(t, unhex(t, v.AAD), got, "%s seq %d len %d mid %d bytes", v.Kind, v.Seq, v.Length, len(mid))
		assert.Len(t, got, len(mid)+len(label)+12)
	}
	assert.Equal(t, map[int]bool{16: true, 32: true}, seen, "both message id lengths are covered")
}

func TestGoldenFrameIV(t *testing.T) {
	for _, tc := range []struct {
		seq  uint32
		want string
	}{
		{1, "00000000 00000000 00000001"},
		{2, "00000000 00000000 00000002"},
		{0x01020304, "00000000 00000000 01020304"},
		{0xFFFFFFFF, "00000000 00000000 FFFFFFFF"},
	} {
		var iv [ivLen]byte
		for i := range iv {
			iv[i] = 0xEE // frameIV must overwrite every byte
		}
		frameIV(&iv, tc.seq)
		assert.Equal(t, unhex(t, tc.want), iv[:], "seq %d", tc.seq)
		assert.True(t, checkIV(iv[:], tc.seq))
		assert.False(t, checkIV(iv[:], tc.seq-1))
	}
}

func TestGoldenContextSerialization(t *testing.T) {
	for _, tc := range []struct {
		name string
		ec   map[string]string
		want string
	}{
		{"nil", nil, ""},
		{"empty", map[string]string{}, ""},
		{"one pair", map[string]string{"a": "b"}, "0001 0001 61 0001 62"},
		// Bytewise: 'Z' (5A) sorts before 'k' (6B); locale order would not.
		{"ascii case", map[string]string{"key1": "2", "Zeta": "1"}, "0002 0004 5A657461 0001 31 0004 6B657931 0001 32"},
		// U+E000 (EE 80 80) < U+1F600 (F0 9F 98 80) bytewise, although its
		// UTF-16 form (E000) sorts after the surrogate pair (D83D DE00).
		{"non-BMP", map[string]string{"😀": "x", "\ue000": "y", "a": "🎉"},
			"0003 0001 61 0004 F09F8E89 0003 EE8080 0001 79 0004 F09F9880 0001 78"},
		{"prefix sorts first", map[string]string{"ab": "2", "a": "1", "b": "3"},
			"0003 0001 61 0001 31 0002 6162 0001 32 0001 62 0001 33"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keyring.SerializeContext(tc.ec)
			require.NoError(t, err)
			if tc.want == "" {
				assert.Empty(t, got, "an empty context serializes to zero bytes, not a count")
			} else {
				assert.Equal(t, unhex(t, tc.want), got)
			}
			back, err := parseContext(got)
			require.NoError(t, err)
			if len(tc.ec) == 0 {
				assert.Empty(t, back)
			} else {
				assert.Equal(t, tc.ec, back)
			}
		})
	}
}

func TestGoldenContextParse(t *testing.T) {
	accept := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"absent", "", map[string]string{}},
		{"count zero (L = 2)", "0000", map[string]string{}},
		{"stored order is not checked", "0002 0001 62 0001 31 0001 61 0001 32", map[string]string{"b": "1", "a": "2"}},
		{"empty key and value are readable", "0001 0000 0000", map[string]string{"": ""}},
	}
	for _, tc := range accept {
		got, err := parseContext(unhex(t, tc.in))
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	reject := []struct{ name, in string }{
		{"one byte", "00"},
		{"count zero with extra bytes", "0000 00"},
		{"count zero with a pair", "0000 0001 61 0001 62"},
		{"duplicate key", "0002 0001 61 0001 31 0001 61 0001 32"},
		{"invalid UTF-8 key", "0001 0001 FF 0001 31"},
		{"invalid UTF-8 value", "0001 0001 61 0002 C328"},
		{"lone surrogate", "0001 0003 EDA080 0001 31"},
		{"count larger than pairs", "0002 0001 61 0001 31"},
		{"bytes after the pairs", "0001 0001 61 0001 31 00"},
		{"key length overruns", "0001 0005 61"},
		{"value length overruns", "0001 0001 61 0009 31"},
	}
	for _, tc := range reject {
		_, err := parseContext(unhex(t, tc.in))
		assert.ErrorIs(t, err, ErrFormat, tc.name)
	}
	// Every proper non-empty prefix of a valid serialization is truncated.
	full := unhex(t, "0002 0004 5A657461 0001 31 0004 6B657931 0001 32")
	for n := 1; n < len(full); n++ {
		_, err := parseContext(full[:n])
		assert.ErrorIs(t, err, ErrFormat, "prefix of %d bytes", n)
	}
}

// goldenEDK is the single encrypted data key of the hand-built headers.
var goldenEDK = keyring.EncryptedDataKey{ProviderID: "ns", ProviderInfo: []byte("info"), Ciphertext: []byte{0xAA, 0xAA, 0xAA, 0xAA}}

// Header bodies written out field by field from the tables of the AWS
// Encryption SDK specification (data-format/message-header.md, versions 1
// and 2). The context is {"Zeta": "1", "key1": "2"} (20 bytes).
const (
	goldenV1Header = "" +
		"01" + // 0: version
		"80" + // 1: type
		"0178" + // 2: suite id
		"000102030405060708090A0B0C0D0E0F" + // 4: message id (16)
		"0014" + // 20: AAD length
		"0002 0004 5A657461 0001 31 0004 6B657931 0001 32" + // 22: context
		"0001" + // EDK count
		"0002 6E73 0004 696E666F 0004 AAAAAAAA" + // provider id, info, ciphertext
		"02" + // content type: framed
		"00000000" + // reserved
		"0C" + // IV length
		"00001000" // frame length 4096
	goldenV2Header = "" +
		"02" + // 0: version
		"0478" + // 1: suite id
		"000102030405060708090A0B0C0D0E0F 101112131415161718191A1B1C1D1E1F" + // 3: message id (32)
		"0014" + // 35: AAD length
		"0002 0004 5A657461 0001 31 0004 6B657931 0001 32" +
		"0001" +
		"0002 6E73 0004 696E666F 0004 AAAAAAAA" +
		"02" + // content type
		"00001000" + // frame length
		"C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF" // commitment key
)

func TestGoldenHeader(t *testing.T) {
	ec := map[string]string{"key1": "2", "Zeta": "1"}
	stored, err := keyring.SerializeContext(ec)
	require.NoError(t, err)
	mid := make([]byte, 32)
	ck := make([]byte, 32)
	for i := range mid {
		mid[i], ck[i] = byte(i), byte(0xC0+i)
	}
	for _, tc := range []struct {
		name string
		h    *Header
		want string
		auth string
	}{
		{"v1", &Header{Version: 1, Suite: AES256GCMHKDFSHA256, MessageID: mid[:16]}, goldenV1Header,
			"000000000000000000000000" + "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"},
		{"v2", &Header{Version: 2, Suite: AES256GCMHKDFSHA512CommitKey, MessageID: mid, commitKey: ck}, goldenV2Header,
			"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			h.EncryptedDataKeys = []keyring.EncryptedDataKey{goldenEDK}
			h.ContentType = Framed
			h.FrameSize = 4096
			want := unhex(t, tc.want)
			assert.Equal(t, want, h.marshal(stored))

			// Parsing the hand-built bytes gives back every field.
			auth := unhex(t, tc.auth)
			in := append(append(bytes.Clone(want), auth...), 0xEE) // one body byte follows
			r := bytes.NewReader(in)
			p, err := parseHeader(r, DefaultMaxHeaderSize, 0xffff)
			require.NoError(t, err)
			assert.Equal(t, 1, r.Len(), "the parser stops at the end of the header")
			assert.Equal(t, h.Version, p.Version)
			assert.Equal(t, h.Suite, p.Suite)
			assert.Equal(t, h.MessageID, p.MessageID)
			assert.Equal(t, ec, p.Context)
			assert.Equal(t, []keyring.EncryptedDataKey{goldenEDK}, p.EncryptedDataKeys)
			assert.Equal(t, Framed, p.ContentType)
			assert.Equal(t, 4096, p.FrameSize)
			assert.Equal(t, want, p.raw)
			assert.Equal(t, auth[len(auth)-16:], p.authTag)
			if h.Version == 1 {
				assert.Equal(t, auth[:12], p.headerIV)
				assert.Nil(t, p.commitKey)
			} else {
				assert.Equal(t, ck, p.commitKey)
				assert.Nil(t, p.headerIV)
			}
		})
	}
}

func TestGoldenHeaderEmptyContext(t *testing.T) {
	h := &Header{Version: 1, Suite: AES128GCMNoKDF, MessageID: make([]byte, 16),
		EncryptedDataKeys: []keyring.EncryptedDataKey{goldenEDK}, ContentType: NonFramed}
	want := unhex(t, "01 80 0014 00000000000000000000000000000000 0000 0001 0002 6E73 0004 696E666F 0004 AAAAAAAA 01 00000000 0C 00000000")
	assert.Equal(t, want, h.marshal(nil), "an empty context is written as AAD length 0")

	// The early-SDK form (AAD length 2, count 0) is read as an empty context.
	early := bytes.Clone(want[:20])
	early = append(early, unhex(t, "0002 0000")...)
	early = append(early, want[22:]...)
	early = append(early, make([]byte, 28)...)
	p, err := parseHeader(bytes.NewReader(early), DefaultMaxHeaderSize, 0xffff)
	require.NoError(t, err)
	assert.Empty(t, p.Context)
	assert.Equal(t, NonFramed, p.ContentType)
	assert.Equal(t, 0, p.FrameSize)
}

func TestGoldenHeaderRejects(t *testing.T) {
	v1 := unhex(t, goldenV1Header+"000000000000000000000000 F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF")
	v2 := unhex(t, goldenV2Header+"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF")
	// Offsets of the v1 fields after the context (22 + 20).
	const edkOff = 42
	const ctOff = edkOff + 2 + 16
	edit := func(b []byte, off int, hexs string) []byte {
		out := bytes.Clone(b)
		copy(out[off:], unhex(t, hexs))
		return out
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"version 3", edit(v1, 0, "03"), ErrFormat},
		{"base64 text", []byte("AYAAFHg="), ErrFormat},
		{"type 0x81", edit(v1, 1, "81"), ErrFormat},
		{"suite 0000", edit(v1, 2, "0000"), ErrFormat},
		{"S3EC suite", edit(v1, 2, "0070"), ErrFormat},
		{"v1 header with v2 suite", edit(v1, 2, "0478"), ErrFormat},
		{"v2 header with v1 suite", edit(v2, 1, "0178"), ErrFormat},
		{"zero EDKs", edit(v1, edkOff, "0000"), ErrFormat},
		{"content type 3", edit(v1, ctOff, "03"), ErrFormat},
		{"reserved not zero", edit(v1, ctOff+1, "00000001"), ErrFormat},
		{"IV length 16", edit(v1, ctOff+5, "10"), ErrFormat},
		{"framed with frame length 0", edit(v1, ctOff+6, "00000000"), ErrFormat},
		{"non-framed with frame length", edit(v1, ctOff, "01"), ErrFormat},
		{"frame length 2^31", edit(v1, ctOff+6, "80000000"), ErrLimit},
		{"context length overruns", edit(v1, 20, "FFFF"), ErrFormat},
		{"context length too short", edit(v1, 20, "0013"), ErrFormat},
	} {
		_, err := parseHeader(bytes.NewReader(tc.in), DefaultMaxHeaderSize, 0xffff)
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	// Every truncation of a header is a format error.
	for _, full := range [][]byte{v1, v2} {
		for n := range full {
			_, err := parseHeader(bytes.NewReader(full[:n]), DefaultMaxHeaderSize, 0xffff)
			require.ErrorIs(t, err, ErrFormat, "prefix of %d bytes", n)
		}
	}
	// Size and EDK-count limits apply while parsing.
	_, err := parseHeader(bytes.NewReader(v1), len(v1)-1, 0xffff)
	assert.ErrorIs(t, err, ErrLimit)
	_, err = parseHeader(bytes.NewReader(edit(v1, edkOff, "0002")), DefaultMaxHeaderSize, 1)
	assert.ErrorIs(t, err, ErrLimit)
}

// refSuite is the suite table of the AWS Encryption SDK specification
// (framework/algorithm-suites.md), written out independently.
type refSuite struct {
	version byte
	keyLen  int
	kdf     func() hash.Hash // nil for the identity KDF
	curve   elliptic.Curve
	sigHash func() hash.Hash
}

var refSuites = map[uint16]refSuite{
	0x0014: {1, 16, nil, nil, nil},
	0x0046: {1, 24, nil, nil, nil},
	0x0078: {1, 32, nil, nil, nil},
	0x0114: {1, 16, sha256.New, nil, nil},
	0x0146: {1, 24, sha256.New, nil, nil},
	0x0178: {1, 32, sha256.New, nil, nil},
	0x0214: {1, 16, sha256.New, elliptic.P256(), sha256.New},
	0x0346: {1, 24, sha512.New384, elliptic.P384(), sha512.New384},
	0x0378: {1, 32, sha512.New384, elliptic.P384(), sha512.New384},
	0x0478: {2, 32, sha512.New, nil, nil},
	0x0578: {2, 32, sha512.New, elliptic.P384(), sha512.New384},
}

func TestGoldenSuiteTable(t *testing.T) {
	require.Len(t, Suites(), len(refSuites))
	for _, id := range Suites() {
		ref, ok := refSuites[uint16(id)]
		require.True(t, ok, "%v", id)
		s, _ := lookupSuite(id)
		assert.Equal(t, ref.version, s.version, "%v", id)
		assert.Equal(t, ref.keyLen, s.keyLen, "%v", id)
		assert.Equal(t, ref.keyLen, id.DataKeyLength(), "%v", id)
		assert.Equal(t, ref.curve != nil, id.Signed(), "%v", id)
		assert.Equal(t, ref.version == 2, id.Committing(), "%v", id)
		assert.Equal(t, ref.curve, s.curve, "%v", id)
	}
	for _, id := range []SuiteID{0, 0x0070, 0x0072, 0x0074, 0x6700, 0x6701, 0x0578 + 1} {
		_, ok := lookupSuite(id)
		assert.False(t, ok, "%v is not a message suite", id)
	}
}

// refReader reads big-endian fields, remembering the first error.
type refReader struct {
	b   []byte
	off int
	err error
}

func (r *refReader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("truncated in %s", what)
		return nil
	}
	out := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return out
}

func (r *refReader) uint(n int, what string) uint64 {
	var v uint64
	for _, c := range r.take(uint64(n), what) {
		v = v<<8 | uint64(c)
	}
	return v
}

// refDecrypt decrypts msg following the AWS Encryption SDK specification
// alone: field offsets, raw AES unwrapping, HKDF, commitment, header tag,
// frame AADs and IVs, signature.
// It shares no code with the package besides the standard library.
func refDecrypt(msg, wrapKey []byte, namespace, keyName string) ([]byte, error) {
	r := &refReader{b: msg}
	version := r.uint(1, "version")
	if version == 1 && r.uint(1, "type") != 0x80 {
		return nil, errors.New("type")
	}
	sidBytes := r.take(2, "suite")
	if r.err != nil {
		return nil, r.err
	}
	sid := uint16(sidBytes[0])<<8 | uint16(sidBytes[1])
	s, ok := refSuites[sid]
	if !ok || uint64(s.version) != version {
		return nil, fmt.Errorf("suite %04x in version %d", sid, version)
	}
	mid := r.take(map[byte]uint64{1: 16, 2: 32}[s.version], "message id")
	ecBytes := r.take(r.uint(2, "AAD length"), "context")
	type edk struct{ pid, info, ct []byte }
	var edks []edk
	for range r.uint(2, "EDK count") {
		edks = append(edks, edk{r.take(r.uint(2, "pid len"), "pid"), r.take(r.uint(2, "info len"), "info"), r.take(r.uint(2, "ct len"), "ct")})
	}
	contentType := r.uint(1, "content type")
	if s.version == 1 && (r.uint(4, "reserved") != 0 || r.uint(1, "IV length") != 12) {
		return nil, errors.New("reserved or IV length")
	}
	frameLen := r.uint(4, "frame length")
	commit := r.take(map[byte]uint64{1: 0, 2: 32}[s.version], "commitment")
	headerBody := msg[:r.off]
	headerIV := make([]byte, 12)
	if s.version == 1 {
		headerIV = r.take(12, "header IV")
	}
	headerTag := r.take(16, "header tag")
	if r.err != nil {
		return nil, r.err
	}

	// The context must be stored canonically: count, then pairs sorted by key bytes.
	ec := map[string]string{}
	ecr := &refReader{b: ecBytes}
	var keys []string
	if len(ecBytes) > 0 {
		for range ecr.uint(2, "count") {
			k := string(ecr.take(ecr.uint(2, "key len"), "key"))
			ec[k] = string(ecr.take(ecr.uint(2, "value len"), "value"))
			keys = append(keys, k)
		}
	}
	if ecr.err != nil || ecr.off != len(ecBytes) || !slices.IsSorted(keys) || len(keys) != len(ec) {
		return nil, errors.New("context not canonical")
	}

	// Raw AES unwrapping: info = name ‖ u32(128) ‖ u32(12) ‖ IV, AAD = context.
	block, _ := aes.NewCipher(wrapKey)
	wrap, _ := cipher.NewGCM(block)
	var pdk []byte
	for _, e := range edks {
		prefix := append([]byte(keyName), 0, 0, 0, 128, 0, 0, 0, 12)
		if string(e.pid) != namespace || len(e.info) != len(prefix)+12 || !bytes.HasPrefix(e.info, prefix) {
			continue
		}
		if k, err := wrap.Open(nil, e.info[len(prefix):], e.ct, ecBytes); err == nil {
			pdk = k
			break
		}
	}
	if len(pdk) != s.keyLen {
		return nil, errors.New("no data key")
	}

	dataKey := pdk
	switch {
	case s.version == 2:
		prk := hkdfExtractRef(s.kdf, mid, pdk)
		dataKey = hkdfExpandRef(s.kdf, prk, append(bytes.Clone(sidBytes), "DERIVEKEY"...), 32)
		if !hmac.Equal(commit, hkdfExpandRef(s.kdf, prk, []byte("COMMITKEY"), 32)) {
			return nil, errors.New("commitment")
		}
	case s.kdf != nil:
		dataKey = hkdfExpandRef(s.kdf, hkdfExtractRef(s.kdf, nil, pdk), append(bytes.Clone(sidBytes), mid...), s.keyLen)
	}
	block, _ = aes.NewCipher(dataKey)
	aead, _ := cipher.NewGCM(block)
	if _, err := aead.Open(nil, headerIV, headerTag, headerBody); err != nil {
		return nil, errors.New("header tag")
	}

	seqIV := func(seq uint32) []byte { return binary.BigEndian.AppendUint32(make([]byte, 8), seq) }
	open := func(iv []byte, seq uint32, label string, n uint64) ([]byte, error) {
		if !bytes.Equal(iv, seqIV(seq)) {
			return nil, fmt.Errorf("frame %d IV %x", seq, iv)
		}
		ct := r.take(n+16, "frame")
		if r.err != nil {
			return nil, r.err
		}
		aad := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(append(bytes.Clone(mid), label...), seq), n)
		return aead.Open(nil, iv, ct, aad)
	}
	var pt []byte
	switch contentType {
	case 1:
		iv := r.take(12, "IV")
		p, err := open(iv, 1, "AWSKMSEncryptionClient Single Block", r.uint(8, "length"))
		if err != nil {
			return nil, err
		}
		pt = p
	case 2:
		for seq := uint32(1); ; seq++ {
			first := r.uint(4, "seq")
			final := first == 0xFFFFFFFF
			if final {
				first = r.uint(4, "final seq")
			}
			if first != uint64(seq) {
				return nil, fmt.Errorf("frame %d numbered %d", seq, first)
			}
			iv := r.take(12, "IV")
			n, label := frameLen, "AWSKMSEncryptionClient Frame"
			if final {
				n, label = r.uint(4, "final length"), "AWSKMSEncryptionClient Final Frame"
				if n > frameLen {
					return nil, errors.New("final frame too long")
				}
			}
			p, err := open(iv, seq, label, n)
			if err != nil {
				return nil, err
			}
			pt = append(pt, p...)
			if final {
				break
			}
		}
	default:
		return nil, errors.New("content type")
	}
	if s.curve != nil {
		signed := msg[:r.off]
		sig := r.take(r.uint(2, "signature length"), "signature")
		raw, err := base64.StdEncoding.DecodeString(ec["aws-crypto-public-key"])
		if err != nil || r.err != nil {
			return nil, errors.New("public key or signature missing")
		}
		x, y := elliptic.UnmarshalCompressed(s.curve, raw) //nolint:staticcheck // wire format
		if x == nil {
			return nil, errors.New("public key")
		}
		h := s.sigHash()
		h.Write(signed)
		if !ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: s.curve, X: x, Y: y}, h.Sum(nil), sig) {
			return nil, errors.New("signature")
		}
	} else if _, ok := ec["aws-crypto-public-key"]; ok {
		return nil, errors.New("public key on an unsigned suite")
	}
	if r.err != nil || r.off != len(msg) {
		return nil, fmt.Errorf("%v; %d bytes left", r.err, len(msg)-r.off)
	}
	return pt, nil
}

// TestGoldenReferenceDecrypt checks that what Encrypt and Writer produce
// follows the format description byte for byte, by decrypting it with
// refDecrypt.
func TestGoldenReferenceDecrypt(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	ec := map[string]string{"key1": "2", "Zeta": "1", "😀": "x", "\ue000": "y"}
	for _, id := range Suites() {
		for _, n := range []int{0, 5, 16, 40} {
			pt := bytes.Repeat([]byte{byte(n)}, n)
			opts := []Option{WithSuite(id), WithFrameSize(16), WithContext(ec), encryptPolicy(id)}
			msg, err := Encrypt(ctx, kr, pt, opts...)
			require.NoError(t, err)
			got, err := refDecrypt(msg, testWrapKey, testNamespace, testKeyName)
			require.NoError(t, err, "%v, %d bytes, Encrypt", id, n)
			assert.Equal(t, string(pt), string(got))

			var buf bytes.Buffer
			w, err := NewWriter(ctx, &buf, kr, opts...)
			require.NoError(t, err)
			_, err = w.Write(pt)
			require.NoError(t, err)
			require.NoError(t, w.Close())
			got, err = refDecrypt(buf.Bytes(), testWrapKey, testNamespace, testKeyName)
			require.NoError(t, err, "%v, %d bytes, Writer", id, n)
			assert.Equal(t, string(pt), string(got))
		}
	}
}

// TestGoldenHandBuiltMessages decrypts messages built by handMessage,
// including layouts the encoder does not write.
func TestGoldenHandBuiltMessages(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	pt := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name string
		hm   handMessage
	}{
		{"exact multiple, empty final frame", handMessage{suite: AES256GCMHKDFSHA512CommitKey, frameSize: 4, plaintext: pt}},
		{"exact multiple, full final frame", handMessage{suite: AES256GCMHKDFSHA512CommitKey, frameSize: 4, plaintext: pt, fullFinal: true}},
		{"one full final frame", handMessage{suite: AES256GCMHKDFSHA256, frameSize: 16, plaintext: pt, fullFinal: true}},
		{"non-framed v1", handMessage{suite: AES256GCMHKDFSHA256, nonFramed: true, plaintext: pt}},
		{"non-framed identity KDF", handMessage{suite: AES128GCMNoKDF, nonFramed: true, plaintext: pt}},
		{"non-framed empty", handMessage{suite: AES256GCMHKDFSHA256, nonFramed: true}},
		{"non-framed signed", handMessage{suite: AES256GCMHKDFSHA384ECDSAP384, nonFramed: true, plaintext: pt}},
		{"non-framed v2", handMessage{suite: AES256GCMHKDFSHA512CommitKeyECDSAP384, nonFramed: true, plaintext: pt}},
		{"early empty context 00 02 00 00", handMessage{suite: AES256GCMHKDFSHA512CommitKey, frameSize: 7, plaintext: pt, rawEC: []byte{0, 0}}},
		{"context stored unsorted", handMessage{suite: AES256GCMHKDFSHA512CommitKey, frameSize: 7, plaintext: pt,
			ec: map[string]string{"a": "1", "b": "2"}, rawEC: unhex(t, "0002 0001 62 0001 32 0001 61 0001 31")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.hm.build(t)
			if tc.hm.rawEC == nil {
				got, err := refDecrypt(msg, testWrapKey, testNamespace, testKeyName)
				require.NoError(t, err)
				assert.Equal(t, tc.hm.plaintext, got)
			}
			got, h, err := Decrypt(ctx, kr, msg, allowAll())
			require.NoError(t, err)
			assert.Equal(t, string(tc.hm.plaintext), string(got))
			assert.Equal(t, tc.hm.suite, h.Suite)
			r, err := NewReader(ctx, bytes.NewReader(msg), kr, allowAll())
			require.NoError(t, err)
			got, err = io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, string(tc.hm.plaintext), string(got))
		})
	}
}
