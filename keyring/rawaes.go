package keyring

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Raw AES keyring wire constants (AWS Encryption SDK specification,
// framework/raw-aes-keyring.md). The provider info of an
// encrypted data key is keyName ‖ u32(tag length in bits) ‖ u32(IV length)
// ‖ IV.
const (
	aesTagBits  = 128
	aesIVLen    = 12
	aesInfoTail = 4 + 4 + aesIVLen // bytes after the key name
)

// errUnwrap reports that an encrypted data key addressed to this keyring
// failed to unwrap: the wrapping key, the ciphertext, the padding or (for
// AES) the encryption context differ from those used to wrap it. It says
// nothing more, by design.
var errUnwrap = errors.New("keyring: encrypted data key could not be unwrapped")

// RawAES wraps data keys with a symmetric AES-GCM key that the caller holds,
// as the "raw AES keyring" of the AWS Encryption SDK does: its encrypted data
// keys are read by the official SDKs and the reverse.
//
// The wrapping binds the whole encryption context (as serialized by
// SerializeContext, in byte order) as AES-GCM additional data. The official
// JavaScript keyring must be built with utf8Sorting enabled to agree with
// that order for every context.
//
// A RawAES holds only the expanded AES key; it is safe for concurrent use.
type RawAES struct {
	namespace string
	name      string
	aead      cipher.AEAD
}

var _ Keyring = (*RawAES)(nil)

// NewRawAES returns a keyring that wraps data keys under key, an AES key of
// 16, 24 or 32 bytes, with AES-GCM (12-byte IV, 16-byte tag). namespace
// becomes the provider ID of the encrypted data keys it writes and name the
// start of their provider info; both are needed to decrypt them again. The
// namespace must not start with "aws-kms". NewRawAES does not keep key; the
// caller may wipe it afterwards.
func NewRawAES(namespace, name string, key []byte) (*RawAES, error) {
	if err := checkNames(namespace, name, aesInfoTail); err != nil {
		return nil, err
	}
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: AES wrapping key must be 16, 24 or 32 bytes, got %d", ErrInvalidConfig, len(key))
	}
	block, err := aes.NewCipher(key) // expands its own copy of the key
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return &RawAES{namespace: namespace, name: name, aead: aead}, nil
}

// Namespace returns the key namespace (the provider ID of the keyring's
// encrypted data keys).
func (k *RawAES) Namespace() string { return k.namespace }

// Name returns the key name.
func (k *RawAES) Name() string { return k.name }

// String names the wrapping key without revealing it.
func (k *RawAES) String() string {
	return fmt.Sprintf("RawAES{namespace: %q, name: %q}", k.namespace, k.name)
}

// GoString names the wrapping key without revealing it.
func (k *RawAES) GoString() string { return "keyring." + k.String() }

// OnEncrypt generates the data key if m has none, then appends the data key
// wrapped under the keyring's AES key, bound to m.EncryptionContext. On
// failure m is left unchanged.
func (k *RawAES) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if err := ctx.Err(); err != nil {
		return k.fail(err)
	}
	if m == nil {
		return k.fail(fmt.Errorf("%w: nil materials", ErrInvalidMaterials))
	}
	aad, err := SerializeContext(m.EncryptionContext)
	if err != nil {
		return k.fail(err)
	}
	pdk, generated, err := dataKeyFor(m)
	if err != nil {
		return k.fail(err)
	}
	iv := make([]byte, aesIVLen)
	if _, err := rand.Read(iv); err != nil {
		if generated {
			Wipe(pdk)
		}
		return k.fail(err)
	}
	info := make([]byte, 0, len(k.name)+aesInfoTail)
	info = append(info, k.name...)
	info = binary.BigEndian.AppendUint32(info, aesTagBits)
	info = binary.BigEndian.AppendUint32(info, aesIVLen)
	info = append(info, iv...)
	ct := k.aead.Seal(nil, iv, pdk, aad)

	m.PlaintextDataKey = pdk
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: info,
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of edks written by this
// keyring that unwraps under its key and m.EncryptionContext to a data key
// of the suite's length. When none does it leaves m unchanged and returns
// UnwrapFailure's error: ErrNoDecryptionKey (ErrNotMine when no encrypted
// data key belongs to this keyring at all), or ErrTransient when ctx ended,
// or ErrUnwrapLimit when the budget of ctx ran out.
func (k *RawAES) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if err := checkDecryptMaterials(m); err != nil {
		return k.fail(err)
	}
	aad, err := SerializeContext(m.EncryptionContext)
	if err != nil {
		return k.fail(err)
	}
	err = unwrapFirst(ctx, m, edks, func(edk EncryptedDataKey) func() ([]byte, error) {
		iv, ok := k.matches(edk)
		if !ok {
			return nil
		}
		return func() ([]byte, error) { return k.aead.Open(nil, iv, edk.Ciphertext, aad) }
	})
	if err != nil {
		return k.fail(err)
	}
	return nil
}

// matches reports whether edk was written by this keyring with the only
// parameters it supports, and returns its IV.
func (k *RawAES) matches(edk EncryptedDataKey) (iv []byte, ok bool) {
	info := edk.ProviderInfo
	if edk.ProviderID != k.namespace || len(info) != len(k.name)+aesInfoTail {
		return nil, false
	}
	if !bytes.Equal(info[:len(k.name)], []byte(k.name)) {
		return nil, false
	}
	rest := info[len(k.name):]
	if binary.BigEndian.Uint32(rest) != aesTagBits || binary.BigEndian.Uint32(rest[4:]) != aesIVLen {
		return nil, false
	}
	return rest[8:], true
}

func (k *RawAES) fail(err error) error {
	return &KeyringError{Provider: k.namespace, KeyID: k.name, Err: err}
}

// checkNames validates a raw keyring's namespace and key name. infoTail is
// the number of provider-info bytes the keyring writes after the name; the
// wire format stores both fields with a 16-bit length.
func checkNames(namespace, name string, infoTail int) error {
	switch {
	case namespace == "" || name == "":
		return fmt.Errorf("%w: key namespace and key name must not be empty", ErrInvalidConfig)
	case !utf8.ValidString(namespace) || !utf8.ValidString(name):
		return fmt.Errorf("%w: key namespace and key name must be valid UTF-8", ErrInvalidConfig)
	case strings.HasPrefix(namespace, "aws-kms"):
		return fmt.Errorf("%w: key namespace %q is reserved for AWS KMS keyrings", ErrInvalidConfig, namespace)
	case len(namespace) > 0xffff || len(name)+infoTail > 0xffff:
		return fmt.Errorf("%w: key namespace or key name too long", ErrInvalidConfig)
	}
	return nil
}

// dataKeyFor returns m's data key, or a fresh random one of the suite's
// length when m has none (generated reports which). It does not modify m.
func dataKeyFor(m *EncryptionMaterials) (pdk []byte, generated bool, err error) {
	n := m.Suite.DataKeyLength
	if !validDataKeyLength(n) {
		return nil, false, fmt.Errorf("%w: suite data key length %d", ErrInvalidMaterials, n)
	}
	if m.PlaintextDataKey != nil {
		if len(m.PlaintextDataKey) != n {
			return nil, false, fmt.Errorf("%w: data key is %d bytes, suite needs %d", ErrInvalidMaterials, len(m.PlaintextDataKey), n)
		}
		return m.PlaintextDataKey, false, nil
	}
	pdk = make([]byte, n)
	if _, err := rand.Read(pdk); err != nil {
		return nil, false, err
	}
	return pdk, true, nil
}

// checkDecryptMaterials rejects materials a keyring must not fill in.
func checkDecryptMaterials(m *DecryptionMaterials) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: nil materials", ErrInvalidMaterials)
	case m.PlaintextDataKey != nil:
		return fmt.Errorf("%w: materials already hold a data key", ErrInvalidMaterials)
	case !validDataKeyLength(m.Suite.DataKeyLength):
		return fmt.Errorf("%w: suite data key length %d", ErrInvalidMaterials, m.Suite.DataKeyLength)
	}
	return nil
}

// validDataKeyLength reports whether n is the data-key length of an
// algorithm suite (AES-128, -192 or -256).
func validDataKeyLength(n int) bool { return n == 16 || n == 24 || n == 32 }

// unwrapFirst sets m.PlaintextDataKey from the first of edks that the
// keyring claims (match returns its unwrap function; nil when the key is
// not its own) and that unwraps to a data key of the suite's length. Each
// attempt goes through TryUnwrap, within the budget of ctx. Every failed
// attempt gives the same error, errUnwrap, whatever went wrong: the
// cause is never passed on. When nothing unwraps, m is unchanged and the
// error is UnwrapFailure's (ErrNotMine when no key was claimed at all).
func unwrapFirst(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey,
	match func(EncryptedDataKey) func() ([]byte, error)) error {
	var failures []error
	for i, edk := range edks {
		unwrap := match(edk)
		if unwrap == nil {
			continue
		}
		pdk, err := TryUnwrap(ctx, func() ([]byte, error) {
			pdk, err := unwrap()
			if err != nil || len(pdk) != m.Suite.DataKeyLength {
				Wipe(pdk)
				return nil, errUnwrap
			}
			return pdk, nil
		})
		if err == nil {
			m.PlaintextDataKey = pdk
			return nil
		}
		failures = append(failures, fmt.Errorf("encrypted data key %d: %w", i, err))
		if stopsSearch(ctx, err) {
			break
		}
	}
	return UnwrapFailure(failures...)
}
