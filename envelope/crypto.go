package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Body AAD labels (AWS Encryption SDK specification,
// data-format/message-body-aad.md).
const (
	labelFrame      = "AWSKMSEncryptionClient Frame"
	labelFinalFrame = "AWSKMSEncryptionClient Final Frame"
	labelSingle     = "AWSKMSEncryptionClient Single Block"
)

const (
	infoDeriveKey = "DERIVEKEY"
	infoCommitKey = "COMMITKEY"
	finalFrameSeq = 0xFFFFFFFF
)

// deriveKeys returns the message encryption key and, for committing
// suites, the commitment key.
func deriveKeys(s *suite, pdk, messageID []byte) (dataKey, commitKey []byte, err error) {
	if len(pdk) != s.keyLen {
		return nil, nil, fmt.Errorf("%w: data key is %d bytes, suite %v needs %d", keyring.ErrInvalidMaterials, len(pdk), s.id, s.keyLen)
	}
	sid := []byte{byte(s.id >> 8), byte(s.id)}
	switch s.kdf {
	case kdfIdentity:
		return append([]byte(nil), pdk...), nil, nil
	case kdfHKDF:
		info := append(sid, messageID...)
		var h func() hash.Hash = s.kdfHash.New
		k, err := hkdf.Key(h, pdk, nil, string(info), s.keyLen)
		return k, nil, err
	default:
		if len(messageID) > sha512Size || len(pdk) > maxHMACMsg || s.keyLen > sha512Size {
			return nil, nil, fmt.Errorf("%w: key derivation input too long", keyring.ErrInvalidMaterials)
		}
		out := make([]byte, s.keyLen+commitKeyLen)
		deriveCommitted(out, s.id, pdk, messageID, s.keyLen)
		return out[:s.keyLen:s.keyLen], out[s.keyLen:], nil
	}
}

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

// verifyHeader checks the commitment key (first) and the header tag.
func verifyHeader(s *suite, h *Header, aead cipher.AEAD, commitKey, requiredEC []byte) error {
	if s.committing() && subtle.ConstantTimeCompare(commitKey, h.commitKey) != 1 {
		return ErrCommitment
	}
	iv := zeroIV[:]
	if h.Version == 1 {
		iv = h.headerIV
	}
	if _, err := aead.Open(nil, iv, h.authTag, headerAAD(h.raw, requiredEC)); err != nil {
		return fmt.Errorf("%w: header", ErrAuthentication)
	}
	return nil
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
