package matcache

import (
	"bytes"
	"crypto/sha512"
	"hash"
	"reflect"
	"slices"
	"sync"
	"unicode/utf8"

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
	if kr == nil {
		return false
	}
	if reflect.TypeOf(kr).Kind() == reflect.Pointer {
		return true // the common case, decided without building a reflect.Value
	}
	return reflect.ValueOf(kr).Comparable()
}

// Identifier layout. It follows the Material Providers Library caching CMM
// (AWS Encryption SDK specification, framework/caching-cmm.md: resource
// 01, scope 01 encrypt / 02 decrypt, fields joined by 00), with one
// change: every variable-length field is replaced by its SHA-384 digest,
// as in the classic ESDK formula, so that the encoding
// is injective and two different requests cannot collide by shifting bytes
// between fields. Identifiers never leave the process.
//
//	encrypt: SHA-384(01 00 01 00 H(partition) 00 suite 00 H(SerializeEC(ec)))
//	decrypt: SHA-384(01 00 02 00 H(partition) 00 suite 00 sorted(H(edk_i))... 00 H(SerializeEC(ec)))
//
// where suite is the suite id (2 bytes), data-key length (4 bytes) and a
// signed flag (1 byte), and edk_i is an encrypted data key with each field
// prefixed by its 8-byte length.
//
// The fields are streamed into the hash rather than serialized first (see
// idHasher), so a lookup allocates nothing for contexts of up to
// inlineContextKeys keys and messages of up to inlineEDKs encrypted data
// keys. key_test.go checks the streamed identifiers against the layout
// above computed directly.
const (
	resourceCachingCMM = 0x01
	scopeEncrypt       = 0x01
	scopeDecrypt       = 0x02

	inlineContextKeys = 16
	inlineEDKs        = 8
)

type digest = [sha512.Size384]byte

// idHasher streams identifier fields into SHA-384. Fields are copied into
// buf, which is handed to the hash whenever it fills, so nothing a caller
// passes in escapes to the heap. Hashers are pooled; none of what passes
// through buf is secret (contexts and encrypted data keys are stored in
// message headers in the clear).
type idHasher struct {
	h   hash.Hash
	n   int
	buf [512]byte
}

var idHashers = sync.Pool{New: func() any { return &idHasher{h: sha512.New384()} }}

func getHasher() *idHasher {
	x := idHashers.Get().(*idHasher)
	x.reset()
	return x
}

func (x *idHasher) reset() {
	x.h.Reset()
	x.n = 0
}

func (x *idHasher) flush() {
	if x.n > 0 {
		x.h.Write(x.buf[:x.n])
		x.n = 0
	}
}

func (x *idHasher) write(p []byte) {
	for len(p) > 0 {
		if x.n == len(x.buf) {
			x.flush()
		}
		c := copy(x.buf[x.n:], p)
		x.n += c
		p = p[c:]
	}
}

func (x *idHasher) writeString(s string) {
	for len(s) > 0 {
		if x.n == len(x.buf) {
			x.flush()
		}
		c := copy(x.buf[x.n:], s)
		x.n += c
		s = s[c:]
	}
}

func (x *idHasher) writeByte(b byte) {
	if x.n == len(x.buf) {
		x.flush()
	}
	x.buf[x.n] = b
	x.n++
}

// writeUint writes the low size bytes of v, big-endian.
func (x *idHasher) writeUint(v uint64, size int) {
	for i := size - 1; i >= 0; i-- {
		x.writeByte(byte(v >> (8 * i)))
	}
}

func (x *idHasher) writeSuite(s keyring.Suite) {
	x.writeUint(uint64(s.ID), 2)
	x.writeUint(uint64(uint32(s.DataKeyLength)), 4)
	if s.Signed {
		x.writeByte(1)
	} else {
		x.writeByte(0)
	}
}

// sum returns the digest of what was written and resets x.
func (x *idHasher) sum() digest {
	x.flush()
	var d digest
	copy(d[:], x.h.Sum(x.buf[:0]))
	x.reset()
	return d
}

// contextDigest returns SHA-384 of keyring.SerializeContext(ec), streamed,
// and false where SerializeContext would fail (invalid UTF-8, more than
// 65,535 bytes). x must be reset; it is reset again on return.
func (x *idHasher) contextDigest(ec map[string]string) (digest, bool) {
	if len(ec) == 0 {
		return x.sum(), true // SerializeContext(ec) is empty
	}
	var inline [inlineContextKeys]string
	keys := inline[:0]
	size := 2
	for k, v := range ec {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return digest{}, false
		}
		size += 4 + len(k) + len(v)
		if size > 0xffff {
			return digest{}, false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys) // bytewise, the canonical order
	x.writeUint(uint64(len(keys)), 2)
	for _, k := range keys {
		v := ec[k]
		x.writeUint(uint64(len(k)), 2)
		x.writeString(k)
		x.writeUint(uint64(len(v)), 2)
		x.writeString(v)
	}
	return x.sum(), true
}

func (x *idHasher) edkDigest(k *keyring.EncryptedDataKey) digest {
	x.writeUint(uint64(len(k.ProviderID)), 8)
	x.writeString(k.ProviderID)
	x.writeUint(uint64(len(k.ProviderInfo)), 8)
	x.write(k.ProviderInfo)
	x.writeUint(uint64(len(k.Ciphertext)), 8)
	x.write(k.Ciphertext)
	return x.sum()
}

func (x *idHasher) writePrefix(pid *digest, scope byte, suite keyring.Suite) {
	x.write([]byte{resourceCachingCMM, 0, scope, 0})
	x.write(pid[:])
	x.writeByte(0)
	x.writeSuite(suite)
	x.writeByte(0)
}

// encryptionKey returns the entry key of an encryption request, or false
// when ec cannot be serialized.
func (c *Cache) encryptionKey(kr keyring.Keyring, suite keyring.Suite, ec map[string]string) (entryKey, bool) {
	x := getHasher()
	defer idHashers.Put(x)
	ecd, ok := x.contextDigest(ec)
	if !ok {
		return entryKey{}, false
	}
	x.writePrefix(&c.pid, scopeEncrypt, suite)
	x.write(ecd[:])
	return entryKey{kr: kr, id: x.sum()}, true
}

// decryptionKey returns the entry key of a decryption request, or false
// when ec cannot be serialized.
func (c *Cache) decryptionKey(kr keyring.Keyring, suite keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string) (entryKey, bool) {
	x := getHasher()
	defer idHashers.Put(x)
	ecd, ok := x.contextDigest(ec)
	if !ok {
		return entryKey{}, false
	}
	var inline [inlineEDKs]digest
	digests := inline[:0]
	for i := range edks {
		digests = append(digests, x.edkDigest(&edks[i]))
	}
	slices.SortFunc(digests, func(a, b digest) int { return bytes.Compare(a[:], b[:]) })
	x.writePrefix(&c.pid, scopeDecrypt, suite)
	for i := range digests {
		x.write(digests[i][:])
	}
	x.writeByte(0)
	x.write(ecd[:])
	return entryKey{kr: kr, id: x.sum()}, true
}
