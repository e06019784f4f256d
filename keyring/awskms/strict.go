package awskms

import (
	"context"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// maxDataKey is the largest data key KMS generates (NumberOfBytes ≤ 1024).
const maxDataKey = 1024

// Keyring wraps data keys with one KMS key. It is the keyring to use by
// default. On decrypt it only asks KMS about encrypted data keys that name
// its key; for a multi-Region key it also accepts data keys wrapped by a
// replica in another Region and unwraps them with its own.
//
// Configure it with a key ARN to be able to decrypt: a keyring configured
// with an alias or a bare key id encrypts, but the data keys it writes name
// the key ARN, which never equals its identifier.
type Keyring struct {
	client      Client
	keyID       string
	grantTokens []string
}

// NewKeyring returns a keyring for keyID (key ARN, alias ARN, alias name
// or key id) called through client. It accepts WithGrantTokens.
func NewKeyring(client Client, keyID string, opts ...Option) (*Keyring, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil KMS client", keyring.ErrInvalidConfig)
	}
	if err := validIdentifier(keyID); err != nil {
		return nil, fmt.Errorf("%w: %w", keyring.ErrInvalidConfig, err)
	}
	c, err := apply(opts, "grant tokens")
	if err != nil {
		return nil, err
	}
	return &Keyring{client: client, keyID: keyID, grantTokens: c.grantTokens}, nil
}

// KeyID returns the key identifier the keyring was configured with.
func (k *Keyring) KeyID() string { return k.keyID }

// String names the keyring's key.
func (k *Keyring) String() string { return fmt.Sprintf("awskms.Keyring(%s)", k.keyID) }

// OnEncrypt generates a data key with GenerateDataKey when m has none, or
// wraps m's data key with Encrypt, and appends the encrypted data key. On
// failure m is unchanged.
func (k *Keyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	n, err := checkEncryptMaterials(m)
	if err != nil {
		return keyError(ProviderID, k.keyID, err)
	}
	if m.PlaintextDataKey == nil {
		out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId:             aws.String(k.keyID),
			NumberOfBytes:     aws.Int32(int32(n)),
			EncryptionContext: maps.Clone(m.EncryptionContext),
			GrantTokens:       k.grantTokens,
		})
		if err != nil {
			return kmsError(ProviderID, k.keyID, "GenerateDataKey", err)
		}
		arn, err := responseKeyARN(out.KeyId)
		if err == nil && len(out.Plaintext) != n {
			err = fmt.Errorf("%w: GenerateDataKey returned %d bytes, want %d", ErrResponse, len(out.Plaintext), n)
		}
		if err != nil {
			keyring.Wipe(out.Plaintext)
			return keyError(ProviderID, k.keyID, err)
		}
		m.PlaintextDataKey = out.Plaintext
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
			ProviderID: ProviderID, ProviderInfo: []byte(arn), Ciphertext: out.CiphertextBlob,
		})
		return nil
	}
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.keyID),
		Plaintext:         m.PlaintextDataKey,
		EncryptionContext: maps.Clone(m.EncryptionContext),
		GrantTokens:       k.grantTokens,
	})
	if err != nil {
		return kmsError(ProviderID, k.keyID, "Encrypt", err)
	}
	arn, err := responseKeyARN(out.KeyId)
	if err != nil {
		return keyError(ProviderID, k.keyID, err)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{
		ProviderID: ProviderID, ProviderInfo: []byte(arn), Ciphertext: out.CiphertextBlob,
	})
	return nil
}

// OnDecrypt asks KMS to decrypt, in order, the encrypted data keys that
// name the keyring's key, and sets m's data key from the first success.
func (k *Keyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	n, err := checkDecryptMaterials(m)
	if err != nil {
		return keyError(ProviderID, k.keyID, err)
	}
	return unwrapFirst(ctx, m, ProviderID, k.keyID, edks, func(edk keyring.EncryptedDataKey) (func() ([]byte, error), error) {
		if edk.ProviderID != ProviderID {
			return nil, nil
		}
		info, err := providerKeyARN(edk)
		if err != nil {
			return nil, err
		}
		if !MRKMatch(k.keyID, info.String()) {
			return nil, nil
		}
		return func() ([]byte, error) {
			return decryptEDK(ctx, k.client, k.keyID, edk.Ciphertext, m.EncryptionContext, k.grantTokens, n)
		}, nil
	})
}

// decryptEDK calls Decrypt with keyID and checks the response names keyID
// and carries n bytes.
func decryptEDK(ctx context.Context, c Client, keyID string, blob []byte, ec map[string]string, tokens []string, n int) ([]byte, error) {
	out, err := c.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(keyID),
		CiphertextBlob:    blob,
		EncryptionContext: maps.Clone(ec),
		GrantTokens:       tokens,
	})
	if err != nil {
		return nil, kmsError(ProviderID, keyID, "Decrypt", err)
	}
	if got := aws.ToString(out.KeyId); got != keyID {
		keyring.Wipe(out.Plaintext)
		return nil, keyError(ProviderID, keyID, fmt.Errorf("%w: Decrypt answered for key %q", ErrResponse, got))
	}
	if len(out.Plaintext) != n {
		keyring.Wipe(out.Plaintext)
		return nil, keyError(ProviderID, keyID, fmt.Errorf("%w: Decrypt returned %d bytes, want %d", ErrResponse, len(out.Plaintext), n))
	}
	return out.Plaintext, nil
}

func checkEncryptMaterials(m *keyring.EncryptionMaterials) (int, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: nil materials", keyring.ErrInvalidMaterials)
	}
	n := m.Suite.DataKeyLength
	if n <= 0 || n > maxDataKey {
		return 0, fmt.Errorf("%w: data key length %d", keyring.ErrInvalidMaterials, n)
	}
	if m.PlaintextDataKey != nil && len(m.PlaintextDataKey) != n {
		return 0, fmt.Errorf("%w: data key is %d bytes, suite needs %d", keyring.ErrInvalidMaterials, len(m.PlaintextDataKey), n)
	}
	return n, nil
}

func checkDecryptMaterials(m *keyring.DecryptionMaterials) (int, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: nil materials", keyring.ErrInvalidMaterials)
	}
	if m.PlaintextDataKey != nil {
		return 0, fmt.Errorf("%w: materials already hold a data key", keyring.ErrInvalidMaterials)
	}
	n := m.Suite.DataKeyLength
	if n <= 0 || n > maxDataKey {
		return 0, fmt.Errorf("%w: data key length %d", keyring.ErrInvalidMaterials, n)
	}
	return n, nil
}

// responseKeyARN checks that KMS named the key it used with a key ARN.
func responseKeyARN(id *string) (string, error) {
	a, err := ParseARN(aws.ToString(id))
	if err != nil || a.ResourceType != "key" {
		return "", fmt.Errorf("%w: response KeyId %q is not a key ARN", ErrResponse, aws.ToString(id))
	}
	return a.String(), nil
}

// providerKeyARN parses the provider info of a KMS encrypted data key,
// which must be a key ARN.
func providerKeyARN(edk keyring.EncryptedDataKey) (ARN, error) {
	a, err := ParseARN(string(edk.ProviderInfo))
	if err != nil {
		return ARN{}, fmt.Errorf("provider info of %v: %w", edk, err)
	}
	if a.ResourceType != "key" {
		return ARN{}, fmt.Errorf("%w: provider info of %v is not a key ARN", ErrInvalidARN, edk)
	}
	return a, nil
}
