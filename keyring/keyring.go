package keyring

import (
	"context"
	"crypto/ecdsa"
	"fmt"
)

// Keyring wraps and unwraps data keys.
//
// OnEncrypt must generate a plaintext data key of m.Suite.DataKeyLength bytes when
// m.PlaintextDataKey is nil, and append one encrypted data key for each
// wrapping key it holds. A keyring that can only decrypt returns an error.
//
// OnDecrypt must set m.PlaintextDataKey from the first of edks it can unwrap.
// When it can unwrap none it leaves m unchanged and returns an error that
// matches exactly one of ErrNoDecryptionKey (no key can decrypt this: a
// permanent failure), ErrTransient (the context ended or a key service
// failed in a way worth retrying) or ErrUnwrapLimit (the unwrap budget of
// the context is spent); [UnwrapFailure] builds that error from the
// failures of the attempts. Each attempt that costs a remote call or a
// private-key operation goes through [TryUnwrap], so that the budget set
// with [WithUnwrapBudget] bounds the work one message can cause. OnDecrypt
// must fail if m already holds a data key.
type Keyring interface {
	OnEncrypt(ctx context.Context, m *EncryptionMaterials) error
	OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error
}

// EncryptedDataKey is a data key wrapped by one wrapping key, as stored in
// the message header.
type EncryptedDataKey struct {
	// ProviderID names the kind or namespace of the wrapping key
	// ("aws-kms" for AWS KMS, the key namespace for raw keyrings).
	ProviderID string
	// ProviderInfo identifies the wrapping key within the provider
	// (a key ARN, or a key name followed by wrapping parameters).
	ProviderInfo []byte
	// Ciphertext is the wrapped data key.
	Ciphertext []byte
}

// String describes the key that wrapped the data key, never its bytes.
func (e EncryptedDataKey) String() string {
	return fmt.Sprintf("EncryptedDataKey{%s %q, %d bytes}", e.ProviderID, printableInfo(e.ProviderInfo), len(e.Ciphertext))
}

func printableInfo(b []byte) string {
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			return string(b[:i])
		}
	}
	return string(b)
}

// Suite describes the algorithm suite a data key is made for: everything a
// keyring needs to know about it.
type Suite struct {
	// ID is the two-byte suite identifier of the message format.
	ID uint16
	// DataKeyLength is the length in bytes of the plaintext data key.
	DataKeyLength int
	// Signed reports whether messages of this suite carry an ECDSA signature.
	Signed bool
}

// EncryptionMaterials is what a keyring receives and fills in on encrypt.
// Printed with package fmt, it shows everything but its secrets: the data
// key and the signing key are redacted (see Format).
type EncryptionMaterials struct {
	Suite Suite
	// EncryptionContext is the full context the data key is bound to,
	// including aws-crypto-public-key on signed suites and the required
	// pairs. Keyrings must not modify it.
	EncryptionContext map[string]string
	// RequiredContextKeys are the context keys authenticated but not
	// stored in the message header.
	RequiredContextKeys []string
	// PlaintextDataKey is nil until the generating keyring sets it.
	PlaintextDataKey []byte
	// EncryptedDataKeys collects one entry per wrapping key.
	EncryptedDataKeys []EncryptedDataKey
	// SigningKey signs the message on signed suites.
	SigningKey *ecdsa.PrivateKey
}

// DecryptionMaterials is what a keyring receives and fills in on decrypt.
// Printed with package fmt, it shows everything but its data key, which is
// redacted (see Format).
type DecryptionMaterials struct {
	Suite Suite
	// EncryptionContext is the stored context merged with the reproduced
	// one supplied by the caller.
	EncryptionContext   map[string]string
	RequiredContextKeys []string
	// PlaintextDataKey is set by the keyring that unwraps a data key.
	PlaintextDataKey []byte
	// VerificationKey checks the message signature on signed suites.
	VerificationKey *ecdsa.PublicKey
}

// Zero overwrites the plaintext data key and drops the references to it
// and to the signing key (whose owner, the message being written, may
// still hold it).
func (m *EncryptionMaterials) Zero() {
	Wipe(m.PlaintextDataKey)
	m.PlaintextDataKey = nil
	m.SigningKey = nil
}

// Zero overwrites the plaintext data key and drops the reference to it.
func (m *DecryptionMaterials) Zero() {
	Wipe(m.PlaintextDataKey)
	m.PlaintextDataKey = nil
}

// Wipe overwrites b with zeros.
func Wipe(b []byte) {
	clear(b)
}
