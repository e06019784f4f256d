package keyring

import (
	"bytes"
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"sync/atomic"
)

// MinRSABits is the smallest RSA modulus NewRawRSA accepts.
const MinRSABits = 2048

// RSAPadding selects how RawRSA encrypts data keys with RSA.
type RSAPadding int

// The padding schemes of the raw RSA keyring. The OAEP variants use MGF1
// with the same hash as OAEP and an empty label, like the official SDKs.
const (
	// PKCS1 is RSAES-PKCS1-v1_5. It exists for compatibility with old
	// messages and peers; prefer OAEPSHA256 or stronger for new keys.
	//
	// To deny a Bleichenbacher padding oracle, RawRSA decrypts PKCS1 with
	// implicit rejection (rsa.DecryptPKCS1v15SessionKey): a ciphertext
	// with bad padding or a wrong length yields a random data key instead
	// of an error, so the message then fails its key commitment or header
	// check exactly as one wrapped under another key does. A consequence:
	// the first encrypted data key under the keyring's namespace and name
	// is the only one tried, and it always "unwraps", so a Multi keyring
	// stops there instead of trying its next child. Namespace and name
	// must therefore identify one key pair: a reader holding a different
	// key pair under the writer's name fails with ErrCommitment (or
	// ErrAuthentication) even if another child could unwrap the message,
	// while a key pair under a name of its own is passed over and the
	// next child decrypts.
	//
	// PKCS#1 v1.5 encryption is not approved in FIPS 140-3 mode; there
	// NewRawRSA refuses it (ErrNotApproved).
	PKCS1 RSAPadding = iota
	// OAEPSHA1 is RSAES-OAEP with SHA-1 and MGF1-SHA-1. The Go
	// Cryptographic Module does not approve SHA-1 for OAEP; in FIPS 140-3
	// mode NewRawRSA refuses it (ErrNotApproved).
	OAEPSHA1
	// OAEPSHA256 is RSAES-OAEP with SHA-256 and MGF1-SHA-256.
	OAEPSHA256
	// OAEPSHA384 is RSAES-OAEP with SHA-384 and MGF1-SHA-384.
	OAEPSHA384
	// OAEPSHA512 is RSAES-OAEP with SHA-512 and MGF1-SHA-512.
	OAEPSHA512
)

// String returns the name of the padding scheme.
func (p RSAPadding) String() string {
	switch p {
	case PKCS1:
		return "PKCS1"
	case OAEPSHA1:
		return "OAEP-SHA1"
	case OAEPSHA256:
		return "OAEP-SHA256"
	case OAEPSHA384:
		return "OAEP-SHA384"
	case OAEPSHA512:
		return "OAEP-SHA512"
	}
	return fmt.Sprintf("RSAPadding(%d)", int(p))
}

// newHash returns the OAEP hash of p, or nil for PKCS1 and unknown values.
func (p RSAPadding) newHash() hash.Hash {
	switch p {
	case OAEPSHA1:
		return sha1.New()
	case OAEPSHA256:
		return sha256.New()
	case OAEPSHA384:
		return sha512.New384()
	case OAEPSHA512:
		return sha512.New()
	}
	return nil
}

// RawRSA wraps data keys with an RSA key pair that the caller holds, as the
// "raw RSA keyring" of the AWS Encryption SDK does: its encrypted data keys
// are read by the official SDKs and the reverse.
//
// A keyring built with only a public key can encrypt but not decrypt; one
// built with only a private key can decrypt but not encrypt. The encryption
// context is not bound by the wrapping (the message header authenticates
// it). A RawRSA is safe for concurrent use.
type RawRSA struct {
	namespace string
	name      string
	pub       *rsa.PublicKey
	priv      *rsa.PrivateKey
	padding   RSAPadding
}

var _ Keyring = (*RawRSA)(nil)

// NewRawRSA returns a keyring that wraps data keys with RSA under pub and
// unwraps them with priv, using padding. Either key may be nil, not both;
// when both are given they must form a pair. Keys must have at least
// MinRSABits bits. namespace becomes the provider ID of the encrypted data
// keys and name their provider info; both must match to decrypt. The
// namespace must not start with "aws-kms".
//
// In FIPS 140-3 mode (GODEBUG=fips140=on) it refuses, with an error
// matching ErrNotApproved and ErrInvalidConfig, what the Go Cryptographic
// Module does not approve: PKCS1 and OAEPSHA1 padding, moduli of odd bit
// length and public exponents of 65536 or less.
func NewRawRSA(namespace, name string, pub *rsa.PublicKey, priv *rsa.PrivateKey, padding RSAPadding) (*RawRSA, error) {
	if err := checkNames(namespace, name, 0); err != nil {
		return nil, err
	}
	if padding < PKCS1 || padding > OAEPSHA512 {
		return nil, fmt.Errorf("%w: unknown RSA padding %v", ErrInvalidConfig, padding)
	}
	if pub == nil && priv == nil {
		return nil, fmt.Errorf("%w: RSA keyring needs a public key, a private key or both", ErrInvalidConfig)
	}
	if err := checkFIPSPadding(padding); err != nil {
		return nil, err
	}
	if pub != nil {
		if pub.N == nil || pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA public key must have at least %d bits", ErrInvalidConfig, MinRSABits)
		}
		if err := checkFIPSRSAKey(pub); err != nil {
			return nil, err
		}
	}
	if priv != nil {
		if priv.N == nil || priv.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA private key must have at least %d bits", ErrInvalidConfig, MinRSABits)
		}
		if err := checkFIPSRSAKey(&priv.PublicKey); err != nil {
			return nil, err
		}
		if err := priv.Validate(); err != nil {
			return nil, fmt.Errorf("%w: invalid RSA private key: %w", ErrInvalidConfig, err)
		}
		if pub != nil && !pub.Equal(&priv.PublicKey) {
			return nil, fmt.Errorf("%w: RSA public and private keys do not match", ErrInvalidConfig)
		}
	}
	return &RawRSA{namespace: namespace, name: name, pub: pub, priv: priv, padding: padding}, nil
}

// Namespace returns the key namespace (the provider ID of the keyring's
// encrypted data keys).
func (k *RawRSA) Namespace() string { return k.namespace }

// Name returns the key name.
func (k *RawRSA) Name() string { return k.name }

// Padding returns the padding scheme.
func (k *RawRSA) Padding() RSAPadding { return k.padding }

// String names the key pair and its abilities without revealing the keys.
func (k *RawRSA) String() string {
	mode := "encrypt+decrypt"
	switch {
	case k.priv == nil:
		mode = "encrypt-only"
	case k.pub == nil:
		mode = "decrypt-only"
	}
	return fmt.Sprintf("RawRSA{namespace: %q, name: %q, padding: %v, %s}", k.namespace, k.name, k.padding, mode)
}

// GoString names the key pair without revealing the keys.
func (k *RawRSA) GoString() string { return "keyring." + k.String() }

// OnEncrypt generates the data key if m has none, then appends the data key
// encrypted under the public key. It fails with ErrDecryptOnly when the
// keyring has no public key. On failure m is left unchanged.
func (k *RawRSA) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if err := ctx.Err(); err != nil {
		return k.fail(err)
	}
	if k.pub == nil {
		return k.fail(ErrDecryptOnly)
	}
	if m == nil {
		return k.fail(fmt.Errorf("%w: nil materials", ErrInvalidMaterials))
	}
	pdk, generated, err := dataKeyFor(m)
	if err != nil {
		return k.fail(err)
	}
	var ct []byte
	if err = checkFIPSPadding(k.padding); err == nil {
		if h := k.padding.newHash(); h != nil {
			ct, err = rsa.EncryptOAEP(h, rand.Reader, k.pub, pdk, nil)
		} else {
			ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.pub, pdk) //nolint:staticcheck // compatibility padding, see PKCS1
		}
	}
	if err != nil {
		if generated {
			Wipe(pdk)
		}
		return k.fail(err)
	}
	m.PlaintextDataKey = pdk
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: []byte(k.name),
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of edks written under
// this keyring's namespace and name that decrypts with the private key to a
// data key of the suite's length. It fails with ErrEncryptOnly when the
// keyring has no private key. Every attempt that fails fails the same way,
// with one error that says nothing of the cause; with PKCS1 padding no
// attempt fails (see PKCS1). When nothing decrypts it leaves m unchanged
// and returns UnwrapFailure's error (ErrNoDecryptionKey, or ErrUnwrapLimit
// or ErrTransient under the budget and context of ctx).
func (k *RawRSA) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if k.priv == nil {
		return k.fail(ErrEncryptOnly)
	}
	if err := checkDecryptMaterials(m); err != nil {
		return k.fail(err)
	}
	if err := checkFIPSPadding(k.padding); err != nil {
		return k.fail(err)
	}
	n := m.Suite.DataKeyLength
	err := unwrapFirst(ctx, m, edks, func(edk EncryptedDataKey) func() ([]byte, error) {
		if edk.ProviderID != k.namespace || !bytes.Equal(edk.ProviderInfo, []byte(k.name)) {
			return nil
		}
		// unwrapFirst turns every failure into the same error.
		return func() ([]byte, error) { return k.decrypt(edk.Ciphertext, n) }
	})
	if err != nil {
		return k.fail(err)
	}
	return nil
}

// decrypt unwraps an n-byte data key. PKCS1 uses implicit rejection: the
// key starts random and DecryptPKCS1v15SessionKey replaces it, in constant
// time, only when the padding is valid and the message is n bytes long, so
// a bad ciphertext yields a random key rather than an error.
func (k *RawRSA) decrypt(ct []byte, n int) ([]byte, error) {
	rsaPrivateOps.Add(1)
	if h := k.padding.newHash(); h != nil {
		return rsa.DecryptOAEP(h, nil, k.priv, ct, nil)
	}
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// An error (a ciphertext of the wrong length) leaves key random too:
	// one outcome for every bad ciphertext.
	_ = rsa.DecryptPKCS1v15SessionKey(nil, k.priv, ct, key) //nolint:staticcheck // compatibility padding, see PKCS1
	return key, nil
}

// rsaPrivateOps counts private-key operations, for tests of the unwrap
// budget.
var rsaPrivateOps atomic.Int64

// checkFIPSPadding refuses, in FIPS 140-3 mode, the paddings the Go
// Cryptographic Module does not approve.
func checkFIPSPadding(p RSAPadding) error {
	if !fips140.Enabled() {
		return nil
	}
	switch p {
	case PKCS1:
		return fmt.Errorf("%w: %w: RSA PKCS#1 v1.5 padding (use OAEP-SHA256 or stronger)", ErrInvalidConfig, ErrNotApproved)
	case OAEPSHA1:
		return fmt.Errorf("%w: %w: RSA OAEP with SHA-1 (use OAEP-SHA256 or stronger)", ErrInvalidConfig, ErrNotApproved)
	}
	return nil
}

// checkFIPSRSAKey reports, in FIPS 140-3 mode (GODEBUG=fips140=on), an RSA
// key that the Go Cryptographic Module does not approve (FIPS 186-5: an
// even modulus length of at least 2048 bits, a public exponent above
// 2^16), with an error matching ErrNotApproved and ErrInvalidConfig.
// Outside FIPS mode it returns nil.
func checkFIPSRSAKey(pub *rsa.PublicKey) error {
	if !fips140.Enabled() || pub == nil || pub.N == nil {
		return nil
	}
	if bits := pub.N.BitLen(); bits < 2048 || bits%2 == 1 {
		return fmt.Errorf("%w: %w: RSA modulus of %d bits (needs an even length of at least 2048)", ErrInvalidConfig, ErrNotApproved, bits)
	}
	if pub.E <= 1<<16 {
		return fmt.Errorf("%w: %w: RSA public exponent %d (needs more than 65536)", ErrInvalidConfig, ErrNotApproved, pub.E)
	}
	return nil
}

func (k *RawRSA) fail(err error) error {
	return &KeyringError{Provider: k.namespace, KeyID: k.name, Err: err}
}
