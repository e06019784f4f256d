package hierarchy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// ErrMalformedEDK means an encrypted data key with the keyring's provider
// id and branch key id cannot be one it wrote: its ciphertext has the
// wrong length for the suite. It wraps keyring.ErrNoDecryptionKey. (An
// encrypted data key whose provider info is not UTF-8 names no branch key
// id: it is skipped, as one of another branch key is.)
var ErrMalformedEDK = fmt.Errorf("%w: malformed %s encrypted data key", keyring.ErrNoDecryptionKey, ProviderID)

// ErrInvalidVersion means a branch key version is not a lowercase UUID
// (36 characters, dashes at 8-4-4-4-12), the only form that fits the 16
// version bytes of an encrypted data key.
var ErrInvalidVersion = errors.New("hierarchy: branch key version is not a lowercase UUID")

// errUnwrap is the one error of a failed AES-GCM unwrap: wrong branch key,
// changed ciphertext or another encryption context. It says nothing more.
var errUnwrap = fmt.Errorf("%w: encrypted data key could not be unwrapped", keyring.ErrNoDecryptionKey)

// edkFields are the parts of an encrypted data key's ciphertext:
//
//	salt[16] ‖ iv[12] ‖ version[16] ‖ AES-GCM ciphertext[keyLen] ‖ tag[16]
//
// The slices alias the parsed ciphertext.
type edkFields struct {
	salt    []byte
	iv      []byte
	version [versionLen]byte
	sealed  []byte // ciphertext ‖ tag
}

// parseEDK splits an encrypted data key's ciphertext written for a data
// key of keyLen bytes (16, 24 or 32). Its length must be exactly
// 60 + keyLen.
func parseEDK(ct []byte, keyLen int) (edkFields, error) {
	switch keyLen {
	case 16, 24, 32:
	default:
		return edkFields{}, fmt.Errorf("%w: data key length %d", keyring.ErrInvalidMaterials, keyLen)
	}
	if len(ct) != edkOverhead+keyLen {
		return edkFields{}, fmt.Errorf("%w: ciphertext is %d bytes, want %d", ErrMalformedEDK, len(ct), edkOverhead+keyLen)
	}
	f := edkFields{
		salt:   ct[:saltLen:saltLen],
		iv:     ct[saltLen : saltLen+ivLen : saltLen+ivLen],
		sealed: ct[saltLen+ivLen+versionLen:],
	}
	copy(f.version[:], ct[saltLen+ivLen:])
	return f, nil
}

// appendEDK appends the ciphertext layout of f to dst.
func appendEDK(dst []byte, f edkFields) []byte {
	dst = append(dst, f.salt...)
	dst = append(dst, f.iv...)
	dst = append(dst, f.version[:]...)
	return append(dst, f.sealed...)
}

// versionText returns the UUID text of 16 version bytes: lowercase hex
// with dashes at 8-4-4-4-12.
func versionText(v [versionLen]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], v[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], v[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], v[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], v[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], v[10:16])
	return string(b[:])
}

// versionBytes parses a lowercase UUID into its 16 bytes; it is the
// inverse of versionText.
func versionBytes(s string) ([versionLen]byte, error) {
	var v [versionLen]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return v, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return v, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
		}
	}
	if _, err := hex.Decode(v[:], []byte(digits)); err != nil {
		return v, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
	}
	return v, nil
}

// wrapAAD is the AES-GCM additional data of a wrapped data key:
//
//	"aws-kms-hierarchy" ‖ UTF8(branchKeyID) ‖ version[16] ‖ SerEC(ec)
//
// where SerEC is the message header's context serialization without its
// length prefix (keyring.SerializeContext: pairs sorted by key bytes).
func wrapAAD(branchKeyID string, version [versionLen]byte, ec map[string]string) ([]byte, error) {
	sec, err := keyring.SerializeContext(ec)
	if err != nil {
		return nil, err
	}
	aad := make([]byte, 0, len(ProviderID)+len(branchKeyID)+versionLen+len(sec))
	aad = append(aad, ProviderID...)
	aad = append(aad, branchKeyID...)
	aad = append(aad, version[:]...)
	return append(aad, sec...), nil
}

// newWrapAEAD returns AES-256-GCM under the key derived from branchKey and
// salt. The derived key is wiped before it returns.
func newWrapAEAD(branchKey, salt []byte) (cipher.AEAD, error) {
	var dk [derivedKeyLen]byte
	deriveWrappingKey(&dk, branchKey, salt)
	defer clear(dk[:])
	block, err := aes.NewCipher(dk[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealEDK wraps pdk under branchKey with the given salt and iv and returns
// the encrypted data key's ciphertext.
func sealEDK(branchKey []byte, salt, iv []byte, version [versionLen]byte, aad, pdk []byte) ([]byte, error) {
	aead, err := newWrapAEAD(branchKey, salt)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, edkOverhead+len(pdk))
	out = append(out, salt...)
	out = append(out, iv...)
	out = append(out, version[:]...)
	return aead.Seal(out, iv, pdk, aad), nil
}

// openEDK unwraps the data key of f under branchKey. Every failure is
// errUnwrap.
func openEDK(branchKey []byte, f edkFields, aad []byte) ([]byte, error) {
	aead, err := newWrapAEAD(branchKey, f.salt)
	if err != nil {
		return nil, errUnwrap
	}
	pdk, err := aead.Open(nil, f.iv, f.sealed, aad)
	if err != nil {
		return nil, errUnwrap
	}
	return pdk, nil
}

// sameVersion compares two version byte strings in constant time.
func sameVersion(a, b [versionLen]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }
