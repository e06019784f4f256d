package awskms

import (
	"context"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/internal/s3ecwrap"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Keyring and DiscoveryKeyring also wrap data keys for the Amazon S3
// Encryption Client formats (package s3crypto), through internal/s3ecwrap:
// kms+context (and the legacy kms, decrypt only). Those objects store no
// key id: a Keyring decrypts with its own key (configure it with the key
// ARN), a DiscoveryKeyring lets KMS find the key and checks the key KMS
// names against its filter.
func init() {
	s3ecwrap.Register(func(kr any) (s3ecwrap.Wrapper, bool) {
		switch k := kr.(type) {
		case *Keyring:
			return s3ecStrict{k}, true
		case *DiscoveryKeyring:
			return s3ecDiscovery{k}, true
		}
		return nil, false
	})
}

func isKMSAlg(alg string) bool { return alg == s3ecwrap.AlgKMSContext || alg == s3ecwrap.AlgKMS }

func s3ecNotMine(alg string) error {
	return fmt.Errorf("%w: %w (wrap algorithm %q)", keyring.ErrNotMine, s3ecwrap.ErrNotMine, alg)
}

// decryptFailure turns the failure of a Decrypt call into an unwrap
// failure (keyring.ErrNoDecryptionKey, or ErrTransient).
func decryptFailure(provider, keyID string, err error) error {
	return keyError(provider, keyID, keyring.UnwrapFailure(err))
}

type s3ecStrict struct{ k *Keyring }

func (w s3ecStrict) Alg() string { return s3ecwrap.AlgKMSContext }

func (w s3ecStrict) Wrap(ctx context.Context, given []byte, n int, _ string, ec map[string]string) ([]byte, []byte, error) {
	if given != nil {
		if len(given) != n {
			return nil, nil, keyError(ProviderID, w.k.keyID, fmt.Errorf("%w: data key is %d bytes, want %d", keyring.ErrInvalidMaterials, len(given), n))
		}
		out, err := w.k.client.Encrypt(ctx, &kms.EncryptInput{
			KeyId:             aws.String(w.k.keyID),
			Plaintext:         given,
			EncryptionContext: maps.Clone(ec),
			GrantTokens:       w.k.grantTokens,
		})
		if err != nil {
			return nil, nil, kmsError(ProviderID, w.k.keyID, "Encrypt", err)
		}
		return given, out.CiphertextBlob, nil
	}
	out, err := w.k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(w.k.keyID),
		NumberOfBytes:     aws.Int32(int32(n)),
		EncryptionContext: maps.Clone(ec),
		GrantTokens:       w.k.grantTokens,
	})
	if err != nil {
		return nil, nil, kmsError(ProviderID, w.k.keyID, "GenerateDataKey", err)
	}
	if len(out.Plaintext) != n || len(out.CiphertextBlob) == 0 {
		keyring.Wipe(out.Plaintext)
		return nil, nil, keyError(ProviderID, w.k.keyID, fmt.Errorf("%w: GenerateDataKey returned %d bytes, want %d", ErrResponse, len(out.Plaintext), n))
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

func (w s3ecStrict) Unwrap(ctx context.Context, alg string, n int, _ string, ec map[string]string, edk []byte) ([]byte, error) {
	if !isKMSAlg(alg) {
		return nil, keyError(ProviderID, w.k.keyID, s3ecNotMine(alg))
	}
	dk, err := decryptEDK(ctx, w.k.client, w.k.keyID, edk, ec, w.k.grantTokens, n)
	if err != nil {
		return nil, decryptFailure(ProviderID, w.k.keyID, err)
	}
	return dk, nil
}

type s3ecDiscovery struct{ k *DiscoveryKeyring }

func (w s3ecDiscovery) Alg() string { return "" }

func (w s3ecDiscovery) Wrap(context.Context, []byte, int, string, map[string]string) ([]byte, []byte, error) {
	return nil, nil, keyError(ProviderID, w.k.name(), keyring.ErrDecryptOnly)
}

// Unwrap calls Decrypt without a key id and accepts the answer only when
// the key KMS used passes the filter (and, for an MRK discovery keyring,
// is in its Region).
func (w s3ecDiscovery) Unwrap(ctx context.Context, alg string, n int, _ string, ec map[string]string, edk []byte) ([]byte, error) {
	name := w.k.name()
	if !isKMSAlg(alg) {
		return nil, keyError(ProviderID, name, s3ecNotMine(alg))
	}
	out, err := w.k.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    edk,
		EncryptionContext: maps.Clone(ec),
		GrantTokens:       w.k.grantTokens,
	})
	if err != nil {
		return nil, decryptFailure(ProviderID, name, kmsError(ProviderID, name, "Decrypt", err))
	}
	a, err := ParseARN(aws.ToString(out.KeyId))
	switch {
	case err != nil || a.ResourceType != "key":
		err = fmt.Errorf("%w: Decrypt answered with key %q, not a key ARN", ErrResponse, aws.ToString(out.KeyId))
	case !w.k.filter.allows(a):
		err = fmt.Errorf("%w: key %s is outside the discovery filter", keyring.ErrNoDecryptionKey, a)
	case w.k.region != "" && a.Region != w.k.region:
		err = fmt.Errorf("%w: key %s is outside Region %s", keyring.ErrNoDecryptionKey, a, w.k.region)
	case len(out.Plaintext) != n:
		err = fmt.Errorf("%w: Decrypt returned %d bytes, want %d", ErrResponse, len(out.Plaintext), n)
	}
	if err != nil {
		keyring.Wipe(out.Plaintext)
		return nil, decryptFailure(ProviderID, name, err)
	}
	return out.Plaintext, nil
}
