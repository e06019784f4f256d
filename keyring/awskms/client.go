package awskms

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Client is the part of the KMS API the keyrings call. *kms.Client
// satisfies it; so can a test double or a wrapper that adds metrics.
type Client interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

var _ Client = (*kms.Client)(nil)

// clientRegion reports the Region of a client that exposes its options
// (as *kms.Client does), or "".
func clientRegion(c Client) string {
	if o, ok := c.(interface{ Options() kms.Options }); ok {
		return o.Options().Region
	}
	return ""
}
