package envelope

import (
	"crypto/sha512"
)

// HKDF-SHA512 for the committing suites (RFC 5869 with HMAC-SHA512), on
// fixed-size stack buffers: the derivation runs once per message, and the
// generic crypto/hkdf allocates a dozen hash states for it. Every output
// used here is at most one SHA-512 block (64 bytes), so Expand is a single
// HMAC. The golden tests pin the outputs to the specification's vectors.

const (
	sha512Block = 128
	sha512Size  = 64
	// maxHMACMsg bounds the HMAC messages of the derivation: the data key
	// (at most 32 bytes) on extract, and a short info string plus the
	// counter byte on expand.
	maxHMACMsg = 64
)

// hmacSHA512 returns HMAC-SHA512(key, msg) for len(key) <= 64 and
// len(msg) <= maxHMACMsg.
func hmacSHA512(key, msg []byte) [sha512Size]byte {
	var buf [sha512Block + sha512Size + maxHMACMsg]byte
	defer clear(buf[:])
	var k [sha512Block]byte
	defer clear(k[:])
	copy(k[:], key)
	for i := range k {
		buf[i] = k[i] ^ 0x36
	}
	n := copy(buf[sha512Block:], msg)
	inner := sha512.Sum512(buf[:sha512Block+n])
	for i := range k {
		buf[i] = k[i] ^ 0x5c
	}
	copy(buf[sha512Block:], inner[:])
	clear(inner[:])
	return sha512.Sum512(buf[:sha512Block+sha512Size])
}

// deriveCommitted derives the message key and the commitment key of a
// committing suite into out (keyLen + commitKeyLen bytes).
func deriveCommitted(out []byte, sid SuiteID, pdk, messageID []byte, keyLen int) {
	prk := hmacSHA512(messageID, pdk) // extract: salt = message id
	defer clear(prk[:])
	var info [2 + len(infoDeriveKey) + 1]byte
	info[0], info[1] = byte(sid>>8), byte(sid)
	copy(info[2:], infoDeriveKey)
	info[len(info)-1] = 1
	dk := hmacSHA512(prk[:], info[:])
	copy(out[:keyLen], dk[:])
	clear(dk[:])
	var cinfo [len(infoCommitKey) + 1]byte
	copy(cinfo[:], infoCommitKey)
	cinfo[len(cinfo)-1] = 1
	ck := hmacSHA512(prk[:], cinfo[:])
	copy(out[keyLen:], ck[:commitKeyLen])
	clear(ck[:])
}
