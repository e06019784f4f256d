package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The fixed raw AES wrapping key of the internal tests and stored vectors.
const (
	testNamespace = "cryptkeeper-test"
	testKeyName   = "aes-256"
)

var testWrapKey = []byte("0123456789abcdef0123456789abcdef")

func testKR(t testing.TB) *keyring.RawAES {
	t.Helper()
	kr, err := keyring.NewRawAES(testNamespace, testKeyName, testWrapKey)
	require.NoError(t, err)
	return kr
}

// encryptPolicy is a commitment policy that allows encrypting with id.
func encryptPolicy(id SuiteID) Option {
	if id.Committing() {
		return WithCommitmentPolicy(RequireEncryptRequireDecrypt)
	}
	return WithCommitmentPolicy(ForbidEncryptAllowDecrypt)
}

// allowAll is a decrypt policy that accepts every suite.
func allowAll() Option { return WithCommitmentPolicy(RequireEncryptAllowDecrypt) }

// categories are the error sentinels every decrypt failure must match.
var categories = []error{ErrFormat, ErrAuthentication, ErrCommitment, ErrLimit, ErrNoDecryptionKey, ErrPolicy, ErrContext, ErrTransient}

func category(err error) error {
	for _, c := range categories {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// handMessage builds a message field by field from the format description,
// independently of the encoder, so tests can make layouts the encoder never
// writes: non-framed bodies, a full final frame, a non-canonical context.
type handMessage struct {
	suite     SuiteID
	ec        map[string]string // caller pairs; the public key is added on signed suites
	rawEC     []byte            // when set, stored as the header context field instead of ec's serialization
	nonFramed bool
	frameSize int  // header frame length of a framed message
	fullFinal bool // an exact multiple ends with a full final frame instead of an empty one
	plaintext []byte
}

// parts returns the header (body and auth), the message body and the
// footer. signBody signs header ‖ body for signed suites, so a caller
// that replaces the body can re-sign it.
func (hm handMessage) parts(t testing.TB) (header, body []byte, signBody func(body []byte) []byte) {
	t.Helper()
	ref := refSuites[uint16(hm.suite)]
	m := &keyring.EncryptionMaterials{Suite: keyring.Suite{ID: uint16(hm.suite), DataKeyLength: ref.keyLen, Signed: ref.curve != nil}}
	m.EncryptionContext = maps.Clone(hm.ec)
	if m.EncryptionContext == nil {
		m.EncryptionContext = map[string]string{}
	}
	var priv *ecdsa.PrivateKey
	if ref.curve != nil {
		var err error
		priv, err = ecdsa.GenerateKey(ref.curve, rand.Reader)
		require.NoError(t, err)
		m.EncryptionContext[keyring.PublicKeyContextKey] = base64.StdEncoding.EncodeToString(
			elliptic.MarshalCompressed(ref.curve, priv.X, priv.Y)) //nolint:staticcheck // wire format
	}
	require.NoError(t, testKR(t).OnEncrypt(context.Background(), m))
	ecBytes, err := keyring.SerializeContext(m.EncryptionContext)
	require.NoError(t, err)
	if hm.rawEC != nil {
		ecBytes = hm.rawEC
	}
	sid := []byte{byte(hm.suite >> 8), byte(hm.suite)}
	mid := make([]byte, 16*int(ref.version))
	rand.Read(mid)

	h := []byte{ref.version}
	if ref.version == 1 {
		h = append(h, 0x80)
	}
	h = append(append(h, sid...), mid...)
	h = append(binary.BigEndian.AppendUint16(h, uint16(len(ecBytes))), ecBytes...)
	h = binary.BigEndian.AppendUint16(h, uint16(len(m.EncryptedDataKeys)))
	for _, e := range m.EncryptedDataKeys {
		h = append(binary.BigEndian.AppendUint16(h, uint16(len(e.ProviderID))), e.ProviderID...)
		h = append(binary.BigEndian.AppendUint16(h, uint16(len(e.ProviderInfo))), e.ProviderInfo...)
		h = append(binary.BigEndian.AppendUint16(h, uint16(len(e.Ciphertext))), e.Ciphertext...)
	}
	frameLen := uint32(hm.frameSize)
	if hm.nonFramed {
		h, frameLen = append(h, 1), 0
	} else {
		h = append(h, 2)
	}
	if ref.version == 1 {
		h = append(h, 0, 0, 0, 0, 12)
	}
	h = binary.BigEndian.AppendUint32(h, frameLen)
	dataKey := m.PlaintextDataKey
	switch {
	case ref.version == 2:
		prk := hkdfExtractRef(ref.kdf, mid, m.PlaintextDataKey)
		dataKey = hkdfExpandRef(ref.kdf, prk, append(sid, "DERIVEKEY"...), 32)
		h = append(h, hkdfExpandRef(ref.kdf, prk, []byte("COMMITKEY"), 32)...)
	case ref.kdf != nil:
		dataKey = hkdfExpandRef(ref.kdf, hkdfExtractRef(ref.kdf, nil, m.PlaintextDataKey), append(sid, mid...), ref.keyLen)
	}
	block, err := aes.NewCipher(dataKey)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	zero := make([]byte, 12)
	headerBody := h
	if ref.version == 1 {
		h = append(h, zero...)
	}
	header = aead.Seal(h, zero, nil, headerBody)

	seal := func(dst []byte, seq uint32, label string, pt []byte) []byte {
		iv := binary.BigEndian.AppendUint32(make([]byte, 8), seq)
		aad := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(append(bytes.Clone(mid), label...), seq), uint64(len(pt)))
		return aead.Seal(append(dst, iv...), iv, pt, aad)
	}
	pt := hm.plaintext
	if hm.nonFramed {
		iv := binary.BigEndian.AppendUint32(make([]byte, 8), 1)
		body = binary.BigEndian.AppendUint64(append(body, iv...), uint64(len(pt)))
		aad := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(append(bytes.Clone(mid), "AWSKMSEncryptionClient Single Block"...), 1), uint64(len(pt)))
		body = aead.Seal(body, iv, pt, aad)
	} else {
		seq := uint32(1)
		for len(pt) > hm.frameSize || (len(pt) == hm.frameSize && !hm.fullFinal) {
			body = seal(binary.BigEndian.AppendUint32(body, seq), seq, "AWSKMSEncryptionClient Frame", pt[:hm.frameSize])
			pt = pt[hm.frameSize:]
			seq++
		}
		final := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 0xFFFFFFFF), seq)
		iv := binary.BigEndian.AppendUint32(make([]byte, 8), seq)
		final = binary.BigEndian.AppendUint32(append(final, iv...), uint32(len(pt)))
		aad := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(append(bytes.Clone(mid), "AWSKMSEncryptionClient Final Frame"...), seq), uint64(len(pt)))
		body = aead.Seal(append(body, final...), iv, pt, aad)
	}
	signBody = func(b []byte) []byte {
		if priv == nil {
			return nil
		}
		hs := ref.sigHash()
		hs.Write(header)
		hs.Write(b)
		sig, err := ecdsa.SignASN1(rand.Reader, priv, hs.Sum(nil))
		require.NoError(t, err)
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(sig))), sig...)
	}
	return header, body, signBody
}

func (hm handMessage) build(t testing.TB) []byte {
	header, body, sign := hm.parts(t)
	return append(append(bytes.Clone(header), body...), sign(body)...)
}

// decryptBoth decrypts msg with Decrypt and with a streaming Reader and
// returns both errors and the Decrypt plaintext.
func decryptBoth(kr keyring.Keyring, msg []byte, opts ...Option) (pt []byte, errDecrypt, errStream error) {
	ctx := context.Background()
	pt, _, errDecrypt = Decrypt(ctx, kr, msg, opts...)
	r, errStream := NewReader(ctx, bytes.NewReader(msg), kr, opts...)
	if errStream == nil {
		_, errStream = io.ReadAll(r)
	}
	return pt, errDecrypt, errStream
}

// requireRejected fails unless both decrypt paths refuse msg with an error
// of one of the categories, and returns the category of Decrypt's error.
func requireRejected(t *testing.T, kr keyring.Keyring, msg []byte, what string, opts ...Option) error {
	t.Helper()
	pt, errD, errS := decryptBoth(kr, msg, opts...)
	if errD == nil || errS == nil || pt != nil {
		t.Fatalf("%s: accepted (Decrypt err %v, stream err %v)", what, errD, errS)
	}
	if category(errD) == nil || category(errS) == nil {
		t.Fatalf("%s: error without a category: Decrypt %v; stream %v", what, errD, errS)
	}
	return category(errD)
}

type tamperCase struct {
	name string
	msg  []byte
	pt   []byte
}

func tamperMessages(t *testing.T) []tamperCase {
	ctx := context.Background()
	kr := testKR(t)
	pt := []byte("hello")
	ec := map[string]string{"k": "v"}
	var out []tamperCase
	for _, id := range []SuiteID{AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384, AES256GCMHKDFSHA384ECDSAP384, AES256GCMHKDFSHA256} {
		msg, err := Encrypt(ctx, kr, pt, WithSuite(id), WithFrameSize(2), WithContext(ec), encryptPolicy(id))
		require.NoError(t, err)
		out = append(out, tamperCase{fmt.Sprintf("framed %04X", uint16(id)), msg, pt})
	}
	// Signed non-framed bodies are covered by TestSignedStreamWithholdsFinalFrame;
	// a sweep over one would mostly repeat the framed signed sweeps at the
	// cost of an ECDSA verification per flipped signature bit.
	for _, id := range []SuiteID{AES256GCMHKDFSHA256, AES256GCMHKDFSHA512CommitKey} {
		msg := handMessage{suite: id, ec: ec, nonFramed: true, plaintext: pt}.build(t)
		out = append(out, tamperCase{fmt.Sprintf("non-framed %04X", uint16(id)), msg, pt})
	}
	return out
}

// TestTamperSweep flips every bit, truncates at every length and appends a
// byte to small messages of each kind: every variant must be refused by
// Decrypt and by the streaming Reader with a categorized error. The cases
// run in parallel: the signed ones verify a signature per flipped
// signature bit.
func TestTamperSweep(t *testing.T) {
	kr := testKR(t)
	for _, tc := range tamperMessages(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pt, errD, errS := decryptBoth(kr, tc.msg, allowAll())
			require.NoError(t, errD)
			require.NoError(t, errS)
			require.Equal(t, tc.pt, pt)

			counts := map[error]int{}
			buf := make([]byte, len(tc.msg))
			for bit := range 8 * len(tc.msg) {
				copy(buf, tc.msg)
				buf[bit/8] ^= 1 << (bit % 8)
				counts[requireRejected(t, kr, buf, fmt.Sprintf("bit %d flipped", bit), allowAll())]++
			}
			for n := range len(tc.msg) {
				requireRejected(t, kr, tc.msg[:n], fmt.Sprintf("truncated to %d bytes", n), allowAll())
			}
			for _, b := range []byte{0, 0xFF} {
				requireRejected(t, kr, append(bytes.Clone(tc.msg), b), "trailing byte", allowAll())
			}
			t.Logf("%d bytes: %d bit flips rejected by category %v", len(tc.msg), 8*len(tc.msg), counts)
		})
	}
}

// TestSignedStreamWithholdsFinalFrame feeds a streaming Reader a signed
// message whose last signature byte is flipped: nothing may be released
// (WithInsecureReleaseBeforeSignature is tested in spool_test.go).
func TestSignedStreamWithholdsFinalFrame(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	pt := []byte("0123456789") // frames of 4: "0123", "4567", final "89"
	framed, err := Encrypt(ctx, kr, pt, WithFrameSize(4))
	require.NoError(t, err)
	nonFramed := handMessage{suite: AES256GCMHKDFSHA384ECDSAP384, nonFramed: true, plaintext: pt}.build(t)
	for _, tc := range []struct {
		name     string
		msg      []byte
		released string
	}{
		{"framed 0578", framed, ""},
		{"non-framed 0378", nonFramed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(tc.msg)
			bad[len(bad)-1] ^= 0x01
			r, err := NewReader(ctx, bytes.NewReader(bad), kr, allowAll())
			require.NoError(t, err)
			var got []byte
			one := make([]byte, 1)
			for {
				n, err := r.Read(one)
				got = append(got, one[:n]...)
				if err != nil {
					require.ErrorIs(t, err, ErrAuthentication)
					break
				}
			}
			assert.Equal(t, tc.released, string(got), "nothing is released before the signature verifies")
			// The error is sticky.
			_, err = r.Read(one)
			assert.ErrorIs(t, err, ErrAuthentication)

			// WriteTo releases the same and no more.
			r, err = NewReader(ctx, bytes.NewReader(bad), kr, allowAll())
			require.NoError(t, err)
			var sink bytes.Buffer
			_, err = r.WriteTo(&sink)
			assert.ErrorIs(t, err, ErrAuthentication)
			assert.Equal(t, tc.released, sink.String())

			out, _, err := Decrypt(ctx, kr, bad, allowAll())
			assert.ErrorIs(t, err, ErrAuthentication)
			assert.Nil(t, out, "Decrypt releases nothing")

			// The intact message reads in full.
			r, err = NewReader(ctx, bytes.NewReader(tc.msg), kr, allowAll())
			require.NoError(t, err)
			all, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, pt, all)
		})
	}
}

// countingKeyring records how often a data key was asked for.
type countingKeyring struct {
	keyring.Keyring
	decrypts int
}

func (k *countingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.decrypts++
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

// headerLen returns the length of msg's header including its auth fields.
func headerLen(t *testing.T, msg []byte) int {
	r := bytes.NewReader(msg)
	_, err := parseHeader(r, DefaultMaxHeaderSize, 0xffff)
	require.NoError(t, err)
	return len(msg) - r.Len()
}

func TestUnsignedOnly(t *testing.T) {
	ctx := context.Background()
	kr := &countingKeyring{Keyring: testKR(t)}
	for _, id := range []SuiteID{AES256GCMHKDFSHA512CommitKeyECDSAP384, AES256GCMHKDFSHA384ECDSAP384, AES128GCMHKDFSHA256ECDSAP256} {
		msg, err := Encrypt(ctx, kr, []byte("signed"), WithSuite(id), encryptPolicy(id))
		require.NoError(t, err)
		// Only the header is given: the refusal comes right after it,
		// before any data key is unwrapped.
		_, err = NewReader(ctx, bytes.NewReader(msg[:headerLen(t, msg)]), kr, WithUnsignedOnly(), allowAll())
		assert.ErrorIs(t, err, ErrPolicy, "%v", id)
		_, _, err = Decrypt(ctx, kr, msg, WithUnsignedOnly(), allowAll())
		assert.ErrorIs(t, err, ErrPolicy, "%v", id)
		assert.Zero(t, kr.decrypts, "%v: no keyring call", id)
	}
	msg, err := Encrypt(ctx, kr, []byte("unsigned"), WithSuite(AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	pt, _, err := Decrypt(ctx, kr, msg, WithUnsignedOnly())
	require.NoError(t, err)
	assert.Equal(t, "unsigned", string(pt))
}

func TestCommitmentPolicyOnDecrypt(t *testing.T) {
	ctx := context.Background()
	kr := &countingKeyring{Keyring: testKR(t)}
	for _, id := range Suites() {
		if id.Committing() {
			continue
		}
		msg, err := Encrypt(ctx, kr, []byte("x"), WithSuite(id), encryptPolicy(id))
		require.NoError(t, err)
		kr.decrypts = 0
		_, errD, errS := decryptBoth(kr, msg) // default policy
		assert.ErrorIs(t, errD, ErrPolicy, "%v", id)
		assert.ErrorIs(t, errS, ErrPolicy, "%v", id)
		_, errD, errS = decryptBoth(kr, msg, WithCommitmentPolicy(RequireEncryptRequireDecrypt))
		assert.ErrorIs(t, errD, ErrPolicy, "%v", id)
		assert.ErrorIs(t, errS, ErrPolicy, "%v", id)
		assert.Zero(t, kr.decrypts, "refused before any key is unwrapped")
		for _, p := range []CommitmentPolicy{RequireEncryptAllowDecrypt, ForbidEncryptAllowDecrypt} {
			pt, errD, errS := decryptBoth(kr, msg, WithCommitmentPolicy(p))
			require.NoError(t, errD, "%v under %v", id, p)
			require.NoError(t, errS, "%v under %v", id, p)
			assert.Equal(t, "x", string(pt))
		}
	}
	// The suite id must match the format version.
	v1, err := Encrypt(ctx, kr, []byte("x"), WithSuite(AES256GCMHKDFSHA256), encryptPolicy(AES256GCMHKDFSHA256))
	require.NoError(t, err)
	v1[2], v1[3] = 0x04, 0x78
	_, errD, errS := decryptBoth(kr, v1, allowAll())
	assert.ErrorIs(t, errD, ErrFormat)
	assert.ErrorIs(t, errS, ErrFormat)
	v2, err := Encrypt(ctx, kr, []byte("x"), WithSuite(AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	v2[1], v2[2] = 0x01, 0x78
	_, errD, errS = decryptBoth(kr, v2, allowAll())
	assert.ErrorIs(t, errD, ErrFormat)
	assert.ErrorIs(t, errS, ErrFormat)
}

func TestMaxEncryptedDataKeys(t *testing.T) {
	ctx := context.Background()
	var krs []keyring.Keyring
	for i := range 3 {
		k, err := keyring.NewRawAES(testNamespace, fmt.Sprintf("key-%d", i), bytes.Repeat([]byte{byte(i + 1)}, 32))
		require.NoError(t, err)
		krs = append(krs, k)
	}
	multi, err := keyring.NewMulti(krs[0], krs[1:]...)
	require.NoError(t, err)
	_, err = Encrypt(ctx, multi, []byte("x"), WithMaxEncryptedDataKeys(2))
	assert.ErrorIs(t, err, ErrLimit)
	msg, err := Encrypt(ctx, multi, []byte("x"))
	require.NoError(t, err)

	spy := &countingKeyring{Keyring: krs[2]}
	_, errD, errS := decryptBoth(spy, msg, WithMaxEncryptedDataKeys(2))
	assert.ErrorIs(t, errD, ErrLimit)
	assert.ErrorIs(t, errS, ErrLimit)
	assert.Zero(t, spy.decrypts, "the limit is checked before any key is unwrapped")
	pt, errD, errS := decryptBoth(spy, msg, WithMaxEncryptedDataKeys(3))
	require.NoError(t, errD)
	require.NoError(t, errS)
	assert.Equal(t, "x", string(pt))
}

func TestMaxFrameSize(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	msg, err := Encrypt(ctx, kr, make([]byte, 100), WithFrameSize(64))
	require.NoError(t, err)
	_, errD, errS := decryptBoth(kr, msg, WithMaxFrameSize(63))
	assert.ErrorIs(t, errD, ErrLimit)
	assert.ErrorIs(t, errS, ErrLimit)
	_, errD, errS = decryptBoth(kr, msg, WithMaxFrameSize(64))
	assert.NoError(t, errD)
	assert.NoError(t, errS)

	nf := handMessage{suite: AES256GCMHKDFSHA256, nonFramed: true, plaintext: make([]byte, 100)}.build(t)
	_, errD, errS = decryptBoth(kr, nf, WithMaxFrameSize(99), allowAll())
	assert.ErrorIs(t, errD, ErrLimit)
	assert.ErrorIs(t, errS, ErrLimit)
	_, errD, errS = decryptBoth(kr, nf, WithMaxFrameSize(100), allowAll())
	assert.NoError(t, errD)
	assert.NoError(t, errS)
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileLengthsDoNotAllocate declares huge lengths in authenticated
// headers and bodies backed by a few bytes of input: decryption must fail
// without allocating anything near the declared size.
func TestHostileLengthsDoNotAllocate(t *testing.T) {
	const budget = 4 << 20
	kr := testKR(t)
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	iv1 := cat(make([]byte, 8), u32(1))
	tail := bytes.Repeat([]byte{0xAB}, 40)

	hugeFrames, _, _ := handMessage{suite: AES256GCMHKDFSHA256, frameSize: MaxFrameSize, plaintext: []byte("abc")}.parts(t)
	nonFramed, _, _ := handMessage{suite: AES256GCMHKDFSHA256, nonFramed: true}.parts(t)
	// A header claiming 65535 EDKs, and one claiming a 65535-byte context.
	manyEDKs := cat(unhex(t, "01 80 0178"), make([]byte, 16), unhex(t, "0000 FFFF"), tail)
	bigEC := cat(unhex(t, "01 80 0178"), make([]byte, 16), unhex(t, "FFFF 0001"), tail)

	for _, tc := range []struct {
		name string
		msg  []byte
		want error
		opts []Option
	}{
		{"regular frame of 2^31-1 bytes", cat(hugeFrames, u32(1), iv1, tail), ErrFormat, nil},
		{"final frame of 2^31-1 bytes", cat(hugeFrames, u32(finalFrameSeq), u32(1), iv1, u32(MaxFrameSize), tail), ErrFormat, nil},
		{"non-framed 2^36 bytes", cat(nonFramed, iv1, u64(1<<36), tail), ErrFormat, nil},
		{"non-framed 2^36-32 bytes", cat(nonFramed, iv1, u64(1<<36-32), tail), ErrLimit, nil},
		{"non-framed 2^36-32 bytes, limit raised", cat(nonFramed, iv1, u64(1<<36-32), tail), ErrFormat, []Option{WithMaxFrameSize(1 << 40)}},
		{"65535 EDKs", manyEDKs, ErrFormat, nil},
		{"65535-byte context", bigEC, ErrFormat, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{allowAll()}, tc.opts...)
			var errD, errS error
			n := allocated(func() { _, errD, errS = decryptBoth(kr, tc.msg, opts...) })
			assert.ErrorIs(t, errD, tc.want)
			assert.ErrorIs(t, errS, tc.want)
			assert.Less(t, n, uint64(budget), "allocated %d bytes", n)
		})
	}
}

// TestRequiredContextKeys checks that required pairs are authenticated but
// not stored, and that decryption needs them reproduced.
func TestRequiredContextKeys(t *testing.T) {
	ctx := context.Background()
	kr := testKR(t)
	ec := map[string]string{"tenant": "acme", "order": "order-4242"}
	for _, id := range []SuiteID{AES256GCMHKDFSHA512CommitKeyECDSAP384, AES256GCMHKDFSHA512CommitKey} {
		msg, err := Encrypt(ctx, kr, []byte("secret"), WithSuite(id), WithContext(ec), WithRequiredContextKeys("order"))
		require.NoError(t, err)
		h, err := parseHeader(bytes.NewReader(msg), DefaultMaxHeaderSize, 0xffff)
		require.NoError(t, err)
		assert.Equal(t, "acme", h.Context["tenant"])
		assert.NotContains(t, h.Context, "order")
		assert.False(t, bytes.Contains(msg, []byte("order")), "the required pair is not stored")
		got, err := refDecrypt(msg, testWrapKey, testNamespace, testKeyName)
		assert.Error(t, err, "a decoder without the pair cannot open it")
		assert.Nil(t, got)

		for _, bad := range []map[string]string{
			nil,
			{"tenant": "acme"},
			{"order": "order-4243"},
		} {
			_, errD, errS := decryptBoth(kr, msg, WithContext(bad))
			assert.Error(t, errD, "reproduced %v", bad)
			assert.NotNil(t, category(errD), "%v", errD)
			assert.NotNil(t, category(errS), "%v", errS)
		}
		_, errD, errS := decryptBoth(kr, msg, WithContext(map[string]string{"tenant": "evil", "order": "order-4242"}))
		assert.ErrorIs(t, errD, ErrContext, "conflicting reproduced value")
		assert.ErrorIs(t, errS, ErrContext)
		_, errD, _ = decryptBoth(kr, msg, WithRequiredContextKeys("order"))
		assert.ErrorIs(t, errD, ErrContext, "required key missing from the reproduced context")

		for _, good := range []map[string]string{
			{"order": "order-4242"},
			{"order": "order-4242", "tenant": "acme"},
		} {
			pt, errD, errS := decryptBoth(kr, msg, WithContext(good), WithRequiredContextKeys("order"))
			require.NoError(t, errD)
			require.NoError(t, errS)
			assert.Equal(t, "secret", string(pt))
		}
	}
	_, err := Encrypt(ctx, kr, []byte("x"), WithContext(map[string]string{"a": "b"}), WithRequiredContextKeys("missing"))
	assert.ErrorIs(t, err, ErrContext)
}
