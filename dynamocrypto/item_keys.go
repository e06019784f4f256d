package dynamocrypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/matcache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Labels of the key derivation (FORMAT.md, "Keys").
const (
	itemLabel   = "ck-dynamodb-item-v1"
	dataKeyLen  = 32
	itemKeysLen = 32 + macKeyLen + commitLen
	macKeyLen   = 32
	nonceLen    = 12
)

// maxUnwrapAttempts bounds the failed unwrap attempts per item, as
// envelope does per message.
const maxUnwrapAttempts = envelope.DefaultMaxUnwrapAttempts

// lookups returns the implementation behind a cache (nil stays nil: every
// lookup then calls the keyring).
func lookups(c *cache.Cache) *matcache.Cache { return (*matcache.Cache)(c) }

// keyringSuite describes the data key of suite s to keyrings and the cache.
func keyringSuite(s Suite) keyring.Suite {
	return keyring.Suite{ID: uint16(s), DataKeyLength: dataKeyLen, Signed: s == SuiteCommitHMACECDSA}
}

// itemKeys are the keys of one item, derived from the data key and the
// item id with HKDF-SHA-512 (two blocks of output), and the scratch space
// of one call. They come from a pool (getItemKeys) and are wiped when
// they go back (putItemKeys).
type itemKeys struct {
	enc    []byte // AES-256-GCM key of the item's encrypted attributes
	mac    []byte // HMAC-SHA-384 key of the footer
	commit []byte // the key commitment stored in the header
	buf    [itemKeysLen]byte

	// Scratch space, in the pooled value so that it does not escape to
	// the heap per call.
	prk    [sha512.Size]byte
	block  [sha512.Size]byte
	info   [len(itemLabel) + 3]byte // label, u16(suite), HKDF counter
	sum    [macLen]byte
	ad     [256]byte
	gcm    cipher.AEAD
	nonce  [nonceLen]byte
	names  []string
	attrs  []signedAttr
	itemID [itemIDLen]byte
	sw     sigWriter
}

var itemKeysPool = sync.Pool{New: func() any { return new(itemKeys) }}

func getItemKeys() *itemKeys { return itemKeysPool.Get().(*itemKeys) }

// putItemKeys wipes k and returns it to the pool.
func putItemKeys(k *itemKeys) {
	k.wipe()
	itemKeysPool.Put(k)
}

// deriveItemKeys derives the item's keys: HKDF-SHA-512 (RFC 5869) with the
// data key as input key material, the item id as salt, and info
// itemLabel || u16(suite), 96 bytes of output. It is HKDF written out with
// crypto/hmac (the bytes are those of crypto/hkdf.Key) so that the
// intermediate values stay in k instead of a dozen short-lived
// allocations.
func deriveItemKeys(k *itemKeys, dataKey []byte, s Suite, itemID []byte) error {
	n := copy(k.info[:], itemLabel)
	binary.BigEndian.PutUint16(k.info[n:], uint16(s))
	info := k.info[:n+2]
	ctr := k.info[n+2:]

	// Extract.
	ext := hmac.New(sha512.New, itemID)
	ext.Write(dataKey)
	prk := ext.Sum(k.prk[:0])

	// Expand: T(1) = HMAC(PRK, info || 1), T(2) = HMAC(PRK, T(1) || info || 2).
	exp := hmac.New(sha512.New, prk)
	for i, off := byte(1), 0; off < itemKeysLen; i++ {
		if i > 1 {
			exp.Reset()
			exp.Write(k.block[:])
		}
		exp.Write(info)
		ctr[0] = i
		exp.Write(ctr)
		t := exp.Sum(k.block[:0])
		off += copy(k.buf[off:], t)
	}
	clear(k.prk[:])
	clear(k.block[:])
	k.enc, k.mac, k.commit = k.buf[:32], k.buf[32:32+macKeyLen], k.buf[32+macKeyLen:]
	return nil
}

// wipe zeroes the keys and the scratch space, and drops the cipher.
func (k *itemKeys) wipe() {
	clear(k.buf[:])
	clear(k.prk[:])
	clear(k.block[:])
	clear(k.sum[:])
	clear(k.ad[:])
	clear(k.names)
	k.names = k.names[:0]
	clear(k.attrs)
	k.attrs = k.attrs[:0]
	if cap(k.attrs) > 1024 {
		k.attrs = nil
	}
	k.enc, k.mac, k.commit, k.gcm = nil, nil, nil, nil
	k.sw = sigWriter{}
}

// newAttrCipher prepares k to encrypt the attributes of one item:
// AES-256-GCM under the item's key, the nonce of an attribute being its
// position in the header's list of signed attributes (unique within the
// item, and the key is unique to the item).
func (k *itemKeys) newAttrCipher() error {
	block, err := aes.NewCipher(k.enc)
	if err != nil {
		return err
	}
	k.gcm, err = cipher.NewGCM(block)
	return err
}

// nonceFor returns the GCM nonce of the attribute at position i of the
// header's list: 4 zero bytes and u64(i) (a slice of k's buffer, valid
// until the next call).
func (k *itemKeys) nonceFor(i int) []byte {
	binary.BigEndian.PutUint64(k.nonce[4:], uint64(i))
	return k.nonce[:]
}

// aad returns the associated data of an encrypted attribute: its type tag
// followed by its name.
func aad(dst []byte, tag byte, name string) []byte {
	return append(append(dst, tag), name...)
}

// encryptionMaterials returns a data key (and signing key) for an item of t
// under ec, through the table's cache when it has one. size is the number
// of plaintext bytes the item encrypts (counted against the cache's limit).
func (c *Client) encryptionMaterials(ctx context.Context, t *table, ec map[string]string, size int) (*keyring.EncryptionMaterials, error) {
	ks := keyringSuite(t.suite)
	load := func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		m := &keyring.EncryptionMaterials{Suite: ks, EncryptionContext: maps.Clone(ec)}
		if ks.Signed {
			priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			if err != nil {
				return nil, err
			}
			m.SigningKey = priv
			pub, err := priv.PublicKey.Bytes()
			if err != nil {
				return nil, err
			}
			m.EncryptionContext[keyring.PublicKeyContextKey] = base64.StdEncoding.EncodeToString(compress(pub))
		}
		if err := c.kr.OnEncrypt(ctx, m); err != nil {
			m.Zero()
			return nil, err
		}
		if err := checkMaterials(m); err != nil {
			m.Zero()
			return nil, err
		}
		return m, nil
	}
	return lookups(t.cache).Encryption(ctx, c.kr, ks, ec, int64(size), load)
}

// compress returns the SEC1 compressed form of an uncompressed P-384 point.
func compress(pub []byte) []byte {
	out := make([]byte, 1+48)
	out[0] = 2 | pub[len(pub)-1]&1
	copy(out[1:], pub[1:49])
	return out
}

// checkMaterials checks what a keyring produced against what the header
// can hold.
func checkMaterials(m *keyring.EncryptionMaterials) error {
	if len(m.PlaintextDataKey) != dataKeyLen {
		return fmt.Errorf("%w: keyring produced a %d-byte data key, want %d", keyring.ErrInvalidMaterials, len(m.PlaintextDataKey), dataKeyLen)
	}
	if n := len(m.EncryptedDataKeys); n == 0 || n > maxEDKs {
		return fmt.Errorf("%w: keyring produced %d encrypted data keys (1 to %d allowed)", keyring.ErrInvalidMaterials, n, maxEDKs)
	}
	for i, e := range m.EncryptedDataKeys {
		if len(e.ProviderID) > 0xffff || len(e.ProviderInfo) > 0xffff || len(e.Ciphertext) > 0xffff {
			return fmt.Errorf("%w: encrypted data key %d has a field longer than 65535 bytes", keyring.ErrInvalidMaterials, i)
		}
	}
	return nil
}

// decryptionMaterials unwraps the data key of an item through the table's
// cache when it has one.
func (c *Client) decryptionMaterials(ctx context.Context, t *table, h *header) (*keyring.DecryptionMaterials, error) {
	ks := keyringSuite(h.suite)
	load := func(ctx context.Context) (*keyring.DecryptionMaterials, error) {
		// Nothing is authenticated before the data key is unwrapped: bound
		// the failed attempts (remote calls) one hostile header can cause.
		ctx = keyring.WithUnwrapBudget(ctx, maxUnwrapAttempts)
		m := &keyring.DecryptionMaterials{Suite: ks, EncryptionContext: maps.Clone(h.context)}
		if err := c.kr.OnDecrypt(ctx, m, h.edks); err != nil {
			m.Zero()
			return nil, err
		}
		if len(m.PlaintextDataKey) != dataKeyLen {
			m.Zero()
			return nil, fmt.Errorf("%w: keyring produced a %d-byte data key, want %d", keyring.ErrNoDecryptionKey, len(m.PlaintextDataKey), dataKeyLen)
		}
		return m, nil
	}
	return lookups(t.cache).Decryption(ctx, c.kr, ks, h.edks, h.context, load)
}

// keyErr classifies a failure to get a data key: transient (the context
// ended, the key service may come back) or ErrKeyUnavailable.
func keyErr(op, table string, err error) error {
	if errors.Is(err, keyring.ErrTransient) {
		return &Error{Op: op, Table: table, Err: fmt.Errorf("getting the data key: %w", err)}
	}
	if keyring.IsTransient(err) { // an ended context or a network failure, as envelope classifies them
		return &Error{Op: op, Table: table, Err: fmt.Errorf("getting the data key: %w: %w", ErrTransient, err)}
	}
	return &Error{Op: op, Table: table, Err: fmt.Errorf("%w: %w", ErrKeyUnavailable, err)}
}

// parsePublicKey decodes the verification key of a signed item.
func parsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 49 {
		return nil, errors.New("verification key is not a base64 compressed P-384 point")
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P384(), raw) //nolint:staticcheck // SEC1 compressed point is the format
	if x == nil {
		return nil, errors.New("verification key is not a compressed P-384 point")
	}
	return &ecdsa.PublicKey{Curve: elliptic.P384(), X: x, Y: y}, nil //nolint:staticcheck // built from a validated point
}
