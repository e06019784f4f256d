package awskms

import (
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

const contextDigestLen = sha512.Size384

// RSAKeyring wraps data keys with the public key of an asymmetric KMS key
// (RSA, key usage ENCRYPT_DECRYPT) without calling KMS, and unwraps them
// with KMS Decrypt. The wrapped plaintext is SHA-384 of the serialized
// encryption context followed by the data key, which binds the context.
//
// It refuses signing algorithm suites: whoever holds the public key could
// otherwise write messages that pass as signed by a trusted party.
type RSAKeyring struct {
	client      Client
	keyARN      string
	alg         types.EncryptionAlgorithmSpec
	grantTokens []string

	mu  sync.Mutex
	pub *rsa.PublicKey
}

// NewRSAKeyring returns an aws-kms-rsa keyring for the key ARN (not an
// alias) with algorithm RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256. It takes the
// public key from WithPublicKey, or fetches it with GetPublicKey on first
// use. client may be nil for a keyring that only encrypts with a given
// public key. It accepts WithPublicKey and WithGrantTokens.
//
// In FIPS 140-3 mode (GODEBUG=fips140=on) the keyring does not encrypt
// with RSAES_OAEP_SHA_1, which the Go Cryptographic Module does not
// approve, nor with public keys it does not approve (an odd modulus
// length, a public exponent of 65536 or less); OnEncrypt then fails with
// keyring.ErrNotApproved. Decrypting happens in KMS and is not affected.
func NewRSAKeyring(client Client, keyARN string, alg types.EncryptionAlgorithmSpec, opts ...Option) (*RSAKeyring, error) {
	a, err := ParseARN(keyARN)
	if err != nil || a.ResourceType != "key" {
		return nil, fmt.Errorf("%w: %q is not a key ARN", keyring.ErrInvalidConfig, keyARN)
	}
	if oaepHash(alg) == nil {
		return nil, fmt.Errorf("%w: encryption algorithm %q is not RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256", keyring.ErrInvalidConfig, alg)
	}
	c, err := apply(opts, "grant tokens", "public key")
	if err != nil {
		return nil, err
	}
	k := &RSAKeyring{client: client, keyARN: keyARN, alg: alg, grantTokens: c.grantTokens}
	if c.publicKey != nil {
		if k.pub, err = parsePublicKey(c.publicKey); err != nil {
			return nil, err
		}
	} else if client == nil {
		return nil, fmt.Errorf("%w: need a KMS client or a public key", keyring.ErrInvalidConfig)
	}
	return k, nil
}

// String names the keyring's key and algorithm.
func (k *RSAKeyring) String() string {
	return fmt.Sprintf("awskms.RSAKeyring(%s, %s)", k.keyARN, k.alg)
}

func oaepHash(alg types.EncryptionAlgorithmSpec) func() hash.Hash {
	switch alg {
	case types.EncryptionAlgorithmSpecRsaesOaepSha1:
		return sha1.New
	case types.EncryptionAlgorithmSpecRsaesOaepSha256:
		return sha256.New
	}
	return nil
}

func parsePublicKey(b []byte) (*rsa.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	key, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", keyring.ErrInvalidConfig, err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: public key is not an RSA key of at least 2048 bits", keyring.ErrInvalidConfig)
	}
	return pub, nil
}

// checkFIPS refuses, in FIPS 140-3 mode, to encrypt with what the Go
// Cryptographic Module does not approve.
func (k *RSAKeyring) checkFIPS(pub *rsa.PublicKey) error {
	if !fips140.Enabled() {
		return nil
	}
	if k.alg == types.EncryptionAlgorithmSpecRsaesOaepSha1 {
		return fmt.Errorf("%w: %w: encrypting with %s (use RSAES_OAEP_SHA_256)", keyring.ErrInvalidConfig, keyring.ErrNotApproved, k.alg)
	}
	if bits := pub.N.BitLen(); bits%2 == 1 || pub.E <= 1<<16 {
		return fmt.Errorf("%w: %w: RSA public key (%d bits, exponent %d)", keyring.ErrInvalidConfig, keyring.ErrNotApproved, bits, pub.E)
	}
	return nil
}

// publicKey returns the configured public key, fetching it from KMS the
// first time. A failed fetch is retried on the next call.
func (k *RSAKeyring) publicKey(ctx context.Context) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pub != nil {
		return k.pub, nil
	}
	out, err := k.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(k.keyARN), GrantTokens: k.grantTokens})
	if err != nil {
		return nil, kmsError(RSAProviderID, k.keyARN, "GetPublicKey", err)
	}
	if out.KeyUsage != "" && out.KeyUsage != types.KeyUsageTypeEncryptDecrypt ||
		len(out.EncryptionAlgorithms) > 0 && !slices.Contains(out.EncryptionAlgorithms, k.alg) {
		return nil, keyError(RSAProviderID, k.keyARN, fmt.Errorf("%w: key does not support %s encryption", ErrResponse, k.alg))
	}
	pub, err := parsePublicKey(out.PublicKey)
	if err != nil {
		return nil, keyError(RSAProviderID, k.keyARN, fmt.Errorf("%w: %w", ErrResponse, err))
	}
	k.pub = pub
	return pub, nil
}

func contextDigest(ec map[string]string) ([]byte, error) {
	b, err := keyring.SerializeContext(ec)
	if err != nil {
		return nil, err
	}
	d := sha512.Sum384(b)
	return d[:], nil
}

// OnEncrypt generates a data key when m has none and wraps it locally with
// the public key. On failure m is unchanged.
func (k *RSAKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	n, err := checkEncryptMaterials(m)
	if err == nil && m.Suite.Signed {
		err = ErrSignedSuite
	}
	if err != nil {
		return keyError(RSAProviderID, k.keyARN, err)
	}
	pub, err := k.publicKey(ctx)
	if err != nil {
		return err
	}
	if err := k.checkFIPS(pub); err != nil {
		return keyError(RSAProviderID, k.keyARN, err)
	}
	digest, err := contextDigest(m.EncryptionContext)
	if err != nil {
		return keyError(RSAProviderID, k.keyARN, err)
	}
	pdk := m.PlaintextDataKey
	if pdk == nil {
		pdk = make([]byte, n)
		_, _ = rand.Read(pdk)
	}
	pt := append(digest, pdk...)
	defer keyring.Wipe(pt)
	ct, err := rsa.EncryptOAEP(oaepHash(k.alg)(), rand.Reader, pub, pt, nil)
	if err != nil {
		if m.PlaintextDataKey == nil {
			keyring.Wipe(pdk)
		}
		return keyError(RSAProviderID, k.keyARN, err)
	}
	m.PlaintextDataKey = pdk
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
		ProviderID: RSAProviderID, ProviderInfo: []byte(k.keyARN), Ciphertext: ct,
	})
	return nil
}

// OnDecrypt asks KMS to decrypt, in order, the aws-kms-rsa data keys that
// name the keyring's key (or a replica of it), checks the context digest,
// and sets m's data key from the first success.
func (k *RSAKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	n, err := checkDecryptMaterials(m)
	if err == nil && m.Suite.Signed {
		err = ErrSignedSuite
	}
	if err == nil && k.client == nil {
		err = keyring.ErrEncryptOnly
	}
	if err != nil {
		return keyError(RSAProviderID, k.keyARN, err)
	}
	digest, err := contextDigest(m.EncryptionContext)
	if err != nil {
		return keyError(RSAProviderID, k.keyARN, err)
	}
	return unwrapFirst(ctx, m, RSAProviderID, k.keyARN, edks, func(edk keyring.EncryptedDataKey) (func() ([]byte, error), error) {
		if edk.ProviderID != RSAProviderID || !MRKMatch(k.keyARN, string(edk.ProviderInfo)) {
			return nil, nil
		}
		return func() ([]byte, error) { return k.decrypt(ctx, edk.Ciphertext, digest, n) }, nil
	})
}

func (k *RSAKeyring) decrypt(ctx context.Context, blob, digest []byte, n int) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:               aws.String(k.keyARN),
		CiphertextBlob:      blob,
		EncryptionAlgorithm: k.alg,
		GrantTokens:         k.grantTokens,
	})
	if err != nil {
		return nil, kmsError(RSAProviderID, k.keyARN, "Decrypt", err)
	}
	defer keyring.Wipe(out.Plaintext)
	if got := aws.ToString(out.KeyId); got != k.keyARN {
		return nil, keyError(RSAProviderID, k.keyARN, fmt.Errorf("%w: Decrypt answered for key %q", ErrResponse, got))
	}
	if len(out.Plaintext) != contextDigestLen+n {
		return nil, keyError(RSAProviderID, k.keyARN, fmt.Errorf("%w: Decrypt returned %d bytes, want %d", ErrResponse, len(out.Plaintext), contextDigestLen+n))
	}
	if subtle.ConstantTimeCompare(out.Plaintext[:contextDigestLen], digest) != 1 {
		return nil, keyError(RSAProviderID, k.keyARN, fmt.Errorf("%w: encryption context does not match", keyring.ErrNoDecryptionKey))
	}
	return append([]byte(nil), out.Plaintext[contextDigestLen:]...), nil
}
