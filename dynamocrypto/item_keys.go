package dynamocrypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"

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
// item id with one HKDF-SHA-512 call (two blocks of output).
type itemKeys struct {
	enc    []byte // AES-256-GCM key of the item's encrypted attributes
	mac    []byte // HMAC-SHA-384 key of the footer
	commit []byte // the key commitment stored in the header
	buf    [itemKeysLen]byte
}

func deriveItemKeys(k *itemKeys, dataKey []byte, s Suite, itemID []byte) error {
	var info [len(itemLabel) + 2]byte
	copy(info[:], itemLabel)
	binary.BigEndian.PutUint16(info[len(itemLabel):], uint16(s))
	out, err := hkdf.Key(sha512.New, dataKey, itemID, string(info[:]), itemKeysLen)
	if err != nil {
		return err
	}
	copy(k.buf[:], out)
	clear(out)
	k.enc, k.mac, k.commit = k.buf[:32], k.buf[32:32+macKeyLen], k.buf[32+macKeyLen:]
	return nil
}

func (k *itemKeys) wipe() { clear(k.buf[:]) }

// attrCipher encrypts the attributes of one item: AES-256-GCM under the
// item's key, the nonce of an attribute being its position in the
// header's list of signed attributes (unique within the item, and the
// key is unique to the item).
type attrCipher struct {
	gcm   cipher.AEAD
	nonce [nonceLen]byte
}

func newAttrCipher(k *itemKeys) (*attrCipher, error) {
	block, err := aes.NewCipher(k.enc)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &attrCipher{gcm: g}, nil
}

// nonceFor returns the GCM nonce of the attribute at position i of the
// header's list: 4 zero bytes and u64(i) (a slice of a's buffer, valid
// until the next call).
func (a *attrCipher) nonceFor(i int) []byte {
	binary.BigEndian.PutUint64(a.nonce[4:], uint64(i))
	return a.nonce[:]
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
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
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
