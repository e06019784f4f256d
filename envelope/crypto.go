package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Body AAD labels (AWS Encryption SDK specification,
// data-format/message-body-aad.md).
const (
	labelFrame      = "AWSKMSEncryptionClient Frame"
	labelFinalFrame = "AWSKMSEncryptionClient Final Frame"
	labelSingle     = "AWSKMSEncryptionClient Single Block"
)

const finalFrameSeq = 0xFFFFFFFF

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// headerAAD is the header body followed by the serialized required context.
func headerAAD(raw, requiredEC []byte) []byte {
	if len(requiredEC) == 0 {
		return raw
	}
	return append(raw[:len(raw):len(raw)], requiredEC...)
}

// zeroIV is the IV of every header tag; never written.
var zeroIV [ivLen]byte

// authenticateHeader derives the message key from the data key of m, checks
// the key commitment and the header tag, and returns the AEAD of the body.
//
// With netV400 set, a header whose tag fails is tried once more as the AWS
// Encryption SDK for .NET 4.0.0 wrote it (see netV400Retry), as the
// official SDKs do by default.
func authenticateHeader(s *suite, h *Header, m *keyring.DecryptionMaterials, netV400 bool) (cipher.AEAD, error) {
	requiredEC, err := requiredContextAAD(m)
	if err != nil {
		return nil, err
	}
	dataKey, commitKey, err := deriveKeys(s, m.PlaintextDataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(dataKey)
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	if s.committing() && subtle.ConstantTimeCompare(commitKey, h.commitKey) != 1 {
		return nil, ErrCommitment
	}
	if err := verifyTag(h, aead, requiredEC); err != nil {
		if netV400 {
			if retried, ok := netV400Retry(s, h, m.PlaintextDataKey, requiredEC, aead); ok {
				return retried, nil
			}
		}
		return nil, err
	}
	return aead, nil
}

// requiredContextAAD serializes the pairs of the materials' context that
// are authenticated but not stored (nil when there are none).
func requiredContextAAD(m *keyring.DecryptionMaterials) ([]byte, error) {
	if len(m.RequiredContextKeys) == 0 {
		return nil, nil
	}
	reqMap := make(map[string]string, len(m.RequiredContextKeys))
	for _, k := range m.RequiredContextKeys {
		reqMap[k] = m.EncryptionContext[k]
	}
	requiredEC, err := keyring.SerializeContext(reqMap)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContext, err)
	}
	return requiredEC, nil
}

// verifyTag checks the header tag under aead.
func verifyTag(h *Header, aead cipher.AEAD, requiredEC []byte) error {
	iv := zeroIV[:]
	if h.Version == 1 {
		iv = h.headerIV
	}
	if _, err := aead.Open(nil, iv, h.authTag, headerAAD(h.raw, requiredEC)); err != nil {
		return fmt.Errorf("%w: header", ErrAuthentication)
	}
	return nil
}

// emptyContextCount is an empty required context serialized with its pair
// count, as .NET 4.0.0 wrote it.
var emptyContextCount = []byte{0, 0}

// netV400Retry checks the header tag of h once more the way the AWS
// Encryption SDK for .NET 4.0.0 computed it, with that release's two
// mistakes:
//
//   - on version 1 HKDF suites it derived the message key with HKDF info =
//     the suite ID alone, without the message ID;
//   - it authenticated an empty required context as its pair count "00 00"
//     instead of nothing.
//
// Both apply together, as in the official SDKs' retry (specification:
// "NetV4_0_0_RetryPolicy"). It runs only after the commitment check passed
// and the ordinary tag failed, with the same data key, and costs no keyring
// call. On success it returns the AEAD of the body under the key that
// verified; aead is the ordinary one, reused when the derivation does not
// change.
func netV400Retry(s *suite, h *Header, pdk, requiredEC []byte, aead cipher.AEAD) (cipher.AEAD, bool) {
	if s.kdf != kdfHKDF && len(requiredEC) > 0 {
		return nil, false // the same key and AAD: the first attempt again
	}
	if s.kdf == kdfHKDF {
		k, err := deriveV1(s, pdk, []byte{byte(s.id >> 8), byte(s.id)})
		if err != nil {
			return nil, false
		}
		defer keyring.Wipe(k)
		if aead, err = newGCM(k); err != nil {
			return nil, false
		}
	}
	if len(requiredEC) == 0 {
		requiredEC = emptyContextCount
	}
	if verifyTag(h, aead, requiredEC) != nil {
		return nil, false
	}
	return aead, true
}

// frameCrypter seals and opens the frames of one message. Each instance
// keeps its own scratch space; use one per goroutine.
type frameCrypter struct {
	aead   cipher.AEAD
	aad    []byte // messageID ‖ label ‖ seq ‖ len, rewritten per frame
	iv     [ivLen]byte
	mid    int
	aadBuf [32 + len(labelSingle) + 12]byte
}

func newFrameCrypter(aead cipher.AEAD, messageID []byte) *frameCrypter {
	fc := new(frameCrypter)
	fc.init(aead, messageID)
	return fc
}

func (fc *frameCrypter) init(aead cipher.AEAD, messageID []byte) {
	fc.aead, fc.mid = aead, len(messageID)
	fc.aad = append(fc.aadBuf[:0], messageID...)
}

func (fc *frameCrypter) setAAD(label string, seq uint32, n uint64) []byte {
	fc.aad = append(fc.aad[:fc.mid], label...)
	fc.aad = binary.BigEndian.AppendUint32(fc.aad, seq)
	fc.aad = binary.BigEndian.AppendUint64(fc.aad, n)
	return fc.aad
}

func frameIV(iv *[ivLen]byte, seq uint32) {
	*iv = [ivLen]byte{}
	binary.BigEndian.PutUint32(iv[8:], seq)
}

// appendFrame encrypts pt as frame seq and appends the serialized frame to dst.
func (fc *frameCrypter) appendFrame(dst []byte, seq uint32, pt []byte, final bool) []byte {
	frameIV(&fc.iv, seq)
	label := labelFrame
	if final {
		label = labelFinalFrame
		dst = binary.BigEndian.AppendUint32(dst, finalFrameSeq)
	}
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, fc.iv[:]...)
	if final {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(pt)))
	}
	return fc.aead.Seal(dst, fc.iv[:], pt, fc.setAAD(label, seq, uint64(len(pt))))
}

// open decrypts ciphertext‖tag in place and returns the plaintext.
func (fc *frameCrypter) open(iv []byte, ct []byte, label string, seq uint32, n uint64) ([]byte, error) {
	pt, err := fc.aead.Open(ct[:0], iv, ct, fc.setAAD(label, seq, n))
	if err != nil {
		return nil, frameAuthErr(seq)
	}
	return pt, nil
}

// checkIV reports whether iv is the deterministic IV of frame seq.
func checkIV(iv []byte, seq uint32) bool {
	var want [ivLen]byte
	frameIV(&want, seq)
	return subtle.ConstantTimeCompare(iv, want[:]) == 1
}

// openTo decrypts ct‖tag into dst (whose capacity must hold the plaintext
// and must not overlap ct unless it is ct[:0]) and reports whether the tag
// verified. On failure dst holds no plaintext.
func (fc *frameCrypter) openTo(dst, iv, ct []byte, label string, seq uint32, n uint64) bool {
	_, err := fc.aead.Open(dst, iv, ct, fc.setAAD(label, seq, n))
	return err == nil
}
