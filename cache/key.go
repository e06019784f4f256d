package cache

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"reflect"
	"slices"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// entryKey identifies an entry: the keyring that produced it and the
// SHA-384 identifier of everything else. Keeping the keyring itself in the
// key (rather than a name it reports) means two keyrings sharing one cache
// can never receive each other's materials.
type entryKey struct {
	kr keyring.Keyring
	id [sha512.Size384]byte
}

// keyringIdentity reports whether kr can be part of an entry key: it must
// be non-nil and comparable without panicking (pointer keyrings always
// are). Other keyrings bypass the cache.
func keyringIdentity(kr keyring.Keyring) bool {
	return kr != nil && reflect.ValueOf(kr).Comparable()
}

// Identifier layout. It follows the Material Providers Library caching CMM
// (FORMAT.md §10.3: resource 01, scope 01 encrypt / 02 decrypt, fields
// joined by 00), with one change: every variable-length field is replaced by
// its SHA-384 digest, as in the classic ESDK formula, so that the encoding
// is injective and two different requests cannot collide by shifting bytes
// between fields. Identifiers never leave the process.
//
//	encrypt: SHA-384(01 00 01 00 H(partition) 00 suite 00 H(SerializeEC(ec)))
//	decrypt: SHA-384(01 00 02 00 H(partition) 00 suite 00 sorted(H(edk_i))... 00 H(SerializeEC(ec)))
//
// where suite is the suite id (2 bytes), data-key length (4 bytes) and a
// signed flag (1 byte), and edk_i is an encrypted data key with each field
// prefixed by its 8-byte length.
const (
	resourceCachingCMM = 0x01
	scopeEncrypt       = 0x01
	scopeDecrypt       = 0x02
)

func appendSuite(b []byte, s keyring.Suite) []byte {
	b = binary.BigEndian.AppendUint16(b, s.ID)
	b = binary.BigEndian.AppendUint32(b, uint32(s.DataKeyLength))
	if s.Signed {
		return append(b, 1)
	}
	return append(b, 0)
}

func contextDigest(ec map[string]string) ([sha512.Size384]byte, error) {
	ser, err := keyring.SerializeContext(ec)
	if err != nil {
		return [sha512.Size384]byte{}, err
	}
	return sha512.Sum384(ser), nil
}

func (c *Cache) encryptionKey(kr keyring.Keyring, suite keyring.Suite, ec map[string]string) (entryKey, error) {
	ecd, err := contextDigest(ec)
	if err != nil {
		return entryKey{}, err
	}
	b := make([]byte, 0, 4+48+1+7+1+48)
	b = append(b, resourceCachingCMM, 0, scopeEncrypt, 0)
	b = append(b, c.pid[:]...)
	b = append(b, 0)
	b = appendSuite(b, suite)
	b = append(b, 0)
	b = append(b, ecd[:]...)
	return entryKey{kr: kr, id: sha512.Sum384(b)}, nil
}

func (c *Cache) decryptionKey(kr keyring.Keyring, suite keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string) (entryKey, error) {
	ecd, err := contextDigest(ec)
	if err != nil {
		return entryKey{}, err
	}
	digests := make([][sha512.Size384]byte, len(edks))
	var buf []byte
	for i, k := range edks {
		buf = buf[:0]
		for _, f := range [][]byte{[]byte(k.ProviderID), k.ProviderInfo, k.Ciphertext} {
			buf = binary.BigEndian.AppendUint64(buf, uint64(len(f)))
			buf = append(buf, f...)
		}
		digests[i] = sha512.Sum384(buf)
	}
	slices.SortFunc(digests, func(a, b [sha512.Size384]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha512.New384()
	h.Write([]byte{resourceCachingCMM, 0, scopeDecrypt, 0})
	h.Write(c.pid[:])
	h.Write([]byte{0})
	h.Write(appendSuite(nil, suite))
	h.Write([]byte{0})
	for _, d := range digests {
		h.Write(d[:])
	}
	h.Write([]byte{0})
	h.Write(ecd[:])
	var k entryKey
	k.kr = kr
	h.Sum(k.id[:0])
	return k, nil
}
