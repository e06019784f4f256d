package awskms

import (
	"context"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// DiscoveryKeyring decrypts data keys wrapped by any KMS key its caller may
// use, taking the key ARN from each encrypted data key. It cannot encrypt.
//
// Always set a discovery filter: without one, whoever writes a message
// chooses which KMS key — in any account — this keyring asks KMS to use.
type DiscoveryKeyring struct {
	client      Client
	filter      *DiscoveryFilter
	grantTokens []string
	region      string // MRK discovery: the client's Region
	home        string // the client's Region when it tells (*kms.Client), else ""
}

// NewDiscoveryKeyring returns a discovery keyring calling KMS through
// client. It accepts WithDiscoveryFilter and WithGrantTokens.
func NewDiscoveryKeyring(client Client, opts ...Option) (*DiscoveryKeyring, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil KMS client", keyring.ErrInvalidConfig)
	}
	c, err := apply(opts, "grant tokens", "discovery filter")
	if err != nil {
		return nil, err
	}
	return &DiscoveryKeyring{client: client, filter: c.filter, grantTokens: c.grantTokens, home: clientRegion(client)}, nil
}

// NewMRKDiscoveryKeyring returns a discovery keyring that stays in region,
// the Region of client (empty: read it from a *kms.Client). A data key
// wrapped by a multi-Region key in any Region is decrypted by that key's
// replica in region; data keys of single-Region keys in other Regions are
// skipped. It accepts WithDiscoveryFilter and WithGrantTokens.
func NewMRKDiscoveryKeyring(client Client, region string, opts ...Option) (*DiscoveryKeyring, error) {
	k, err := NewDiscoveryKeyring(client, opts...)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = clientRegion(client)
	}
	if region == "" {
		return nil, fmt.Errorf("%w: the MRK discovery keyring needs the client's Region", keyring.ErrInvalidConfig)
	}
	k.region = region
	return k, nil
}

func (k *DiscoveryKeyring) name() string {
	if k.region != "" {
		return "mrk-discovery(" + k.region + ")"
	}
	return "discovery"
}

// String describes the keyring and its filter.
func (k *DiscoveryKeyring) String() string {
	if k.filter == nil {
		return "awskms.DiscoveryKeyring(" + k.name() + ", no filter)"
	}
	return fmt.Sprintf("awskms.DiscoveryKeyring(%s, %s %v)", k.name(), k.filter.Partition, k.filter.Accounts)
}

// OnEncrypt always fails: a discovery keyring has no key to encrypt with.
func (k *DiscoveryKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return keyError(ProviderID, k.name(), keyring.ErrDecryptOnly)
}

// OnDecrypt asks KMS to decrypt, in order, the encrypted data keys whose
// key ARN passes the filter, and sets m's data key from the first success.
// When the client tells its Region (a *kms.Client does), keys of other
// Regions, which that Region's KMS cannot use, are skipped without a call;
// so a discovery multi-keyring asks each Region only about its own keys.
func (k *DiscoveryKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	n, err := checkDecryptMaterials(m)
	if err != nil {
		return keyError(ProviderID, k.name(), err)
	}
	return unwrapFirst(ctx, m, ProviderID, k.name(), edks, func(edk keyring.EncryptedDataKey) (func() ([]byte, error), error) {
		if edk.ProviderID != ProviderID {
			return nil, nil
		}
		a, err := providerKeyARN(edk)
		if err != nil {
			return nil, err
		}
		if !k.filter.allows(a) {
			return nil, nil
		}
		if k.region != "" {
			if a.IsMRK() {
				a.Region = k.region
			} else if a.Region != k.region {
				return nil, nil
			}
		} else if k.home != "" && a.Region != k.home {
			return nil, nil
		}
		return func() ([]byte, error) {
			return decryptEDK(ctx, k.client, a.String(), edk.Ciphertext, m.EncryptionContext, k.grantTokens, n)
		}, nil
	})
}
