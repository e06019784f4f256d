package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"slices"
)

// Symmetric ciphertext blob:
//
//	'k' 0x01 ‖ idLen:u8 ‖ key id ‖ version:u32 ‖ nonce(12) ‖ AES-256-GCM(plaintext) ‖ tag(16)
//
// The GCM additional data is everything before the nonce followed by the
// canonical encryption context: count:u32 and then, sorted by key bytes,
// keyLen:u32 ‖ key ‖ valLen:u32 ‖ value.
const (
	blobMagic   = 'k'
	blobVersion = 1
	nonceSize   = 12
	tagSize     = 16
)

var errBlob = errors.New("malformed ciphertext blob")

type blob struct {
	keyID   string
	version uint32
	header  []byte // magic through version: part of the AAD
	nonce   []byte
	sealed  []byte
}

func parseBlob(b []byte) (*blob, error) {
	if len(b) < 3 || b[0] != blobMagic || b[1] != blobVersion {
		return nil, errBlob
	}
	n := int(b[2])
	if len(b) < 3+n+4+nonceSize+tagSize || n == 0 {
		return nil, errBlob
	}
	hl := 3 + n + 4
	return &blob{
		keyID:   string(b[3 : 3+n]),
		version: binary.BigEndian.Uint32(b[3+n : hl]),
		header:  b[:hl],
		nonce:   b[hl : hl+nonceSize],
		sealed:  b[hl+nonceSize:],
	}, nil
}

func canonicalContext(ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(keys)))
	for _, k := range keys {
		out = binary.BigEndian.AppendUint32(out, uint32(len(k)))
		out = append(out, k...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(ec[k])))
		out = append(out, ec[k]...)
	}
	return out
}

func gcm(material []byte) cipher.AEAD {
	block, err := aes.NewCipher(material)
	if err != nil {
		panic("kmstest: bad key material length") // material is always 32 bytes
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic("kmstest: GCM unavailable")
	}
	return a
}

// seal encrypts plaintext under the key's current material.
func seal(k *key, plaintext []byte, ec map[string]string) []byte {
	v := len(k.fam.versions) - 1
	out := []byte{blobMagic, blobVersion, byte(len(k.id))}
	out = append(out, k.id...)
	out = binary.BigEndian.AppendUint32(out, uint32(v))
	hl := len(out)
	out = append(out, randomBytes(nonceSize)...)
	aad := append(slices.Clip(out[:hl]), canonicalContext(ec)...)
	return gcm(k.fam.versions[v]).Seal(out, out[hl:], plaintext, aad)
}

// open decrypts a parsed blob with the key's material of the blob's version.
func open(k *key, b *blob, ec map[string]string) ([]byte, error) {
	if int(b.version) >= len(k.fam.versions) {
		return nil, errBlob
	}
	aad := append(slices.Clip(b.header), canonicalContext(ec)...)
	return gcm(k.fam.versions[b.version]).Open(nil, b.nonce, b.sealed, aad)
}
