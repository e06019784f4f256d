package hierarchy

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
)

// Wire constants of the hierarchical keyring (AWS Encryption SDK
// specification, framework/aws-kms/aws-kms-hierarchical-keyring.md).
const (
	// ProviderID is the provider id of the keyring's encrypted data keys.
	// It is also the label of the key derivation and the first bytes of
	// the AES-GCM additional data.
	ProviderID = "aws-kms-hierarchy"

	saltLen       = 16
	ivLen         = 12
	versionLen    = 16
	tagLen        = 16
	branchKeyLen  = 32
	derivedKeyLen = 32
	// edkOverhead is the length of an encrypted data key's ciphertext
	// beside the wrapped data key itself.
	edkOverhead = saltLen + ivLen + versionLen + tagLen
)

// deriveWrappingKey derives the AES-256 key that wraps one data key from
// a 32-byte branch key and the encrypted data key's 16-byte salt: NIST SP
// 800-108 KDF in counter mode with HMAC-SHA256, one block:
//
//	HMAC-SHA256(branchKey, 00000001 ‖ "aws-kms-hierarchy" ‖ 00 ‖ salt ‖ 00000100)
//
// The result is written into dst (32 bytes).
func deriveWrappingKey(dst *[derivedKeyLen]byte, branchKey, salt []byte) {
	var msg [4 + len(ProviderID) + 1 + saltLen + 4]byte
	binary.BigEndian.PutUint32(msg[:], 1)
	n := 4 + copy(msg[4:], ProviderID)
	msg[n] = 0
	n++
	n += copy(msg[n:], salt)
	binary.BigEndian.PutUint32(msg[n:], derivedKeyLen*8)
	mac := hmac.New(sha256.New, branchKey)
	mac.Write(msg[:])
	mac.Sum(dst[:0])
}

// Cache id scopes (spec: branch key materials cache identifiers).
const (
	resourceHierarchy = 0x02
	scopeEncrypt      = 0x01
	scopeDecrypt      = 0x02
)

// cacheID is the SHA-384 identifier of a branch key materials entry:
//
//	encrypt: 02 00 01 00 partition 00 logicalStoreName 00 branchKeyID
//	decrypt: 02 00 02 00 partition 00 logicalStoreName 00 branchKeyID 00 version
//
// version is the 36-character UUID text; it is empty for encrypt ids.
type cacheID [sha512.Size384]byte

func makeCacheID(partition []byte, storeName, branchKeyID, version string) cacheID {
	h := sha512.New384()
	scope := byte(scopeEncrypt)
	if version != "" {
		scope = scopeDecrypt
	}
	h.Write([]byte{resourceHierarchy, 0, scope, 0})
	h.Write(partition)
	h.Write([]byte{0})
	h.Write([]byte(storeName))
	h.Write([]byte{0})
	h.Write([]byte(branchKeyID))
	if version != "" {
		h.Write([]byte{0})
		h.Write([]byte(version))
	}
	var id cacheID
	h.Sum(id[:0])
	return id
}
