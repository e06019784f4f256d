package hierarchy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
)

// KMS is the part of the KMS API the branch key store calls. *kms.Client
// satisfies it; so can a wrapper that counts or logs calls.
type KMS interface {
	GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
	ReEncrypt(ctx context.Context, in *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// DynamoDB is the part of the DynamoDB API the branch key store calls.
// *dynamodb.Client satisfies it.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// Store is a branch key store: branch keys and beacon keys kept in a
// DynamoDB table, each encrypted by one KMS key under an encryption context
// that binds it to its item and to the store's logical name. It is safe
// for concurrent use; it caches nothing (the hierarchical keyring does).
type Store struct {
	ddb     DynamoDB
	kms     KMS
	table   string
	arn     string
	cfg     storeConfig
	newUUID func() (string, error) // tests replace it
	now     func() time.Time       // tests replace it
}

// StoreOption configures NewStore. A nil or invalid option makes NewStore
// fail with ErrInvalidOption.
type StoreOption func(*storeConfig) error

type storeConfig struct {
	logicalName string
	grantTokens []string
	mrk         bool
}

// WithLogicalName sets the logical key store name (default: the table
// name). It is part of every item's KMS encryption context, so it must be
// the same for every reader and writer of the table (the official SDKs'
// logicalKeyStoreName), and must not be shared by two tables.
func WithLogicalName(name string) StoreOption {
	return func(c *storeConfig) error {
		if name == "" {
			return fmt.Errorf("%w: empty logical key store name", ErrInvalidOption)
		}
		c.logicalName = name
		return nil
	}
}

// WithGrantTokens passes KMS grant tokens on every KMS call.
func WithGrantTokens(tokens ...string) StoreOption {
	return func(c *storeConfig) error {
		if slices.Contains(tokens, "") {
			return fmt.Errorf("%w: empty grant token", ErrInvalidOption)
		}
		c.grantTokens = slices.Clone(tokens)
		return nil
	}
}

// WithMultiRegionKey accepts items whose kms-arn names the configured
// multi-Region key in another Region (the reference's "KMS MRKey ARN"
// configuration). KMS calls still use the configured ARN.
func WithMultiRegionKey() StoreOption {
	return func(c *storeConfig) error {
		c.mrk = true
		return nil
	}
}

// NewStore returns the branch key store kept in the DynamoDB table, whose
// keys are encrypted by the KMS key kmsKeyARN (a full key ARN, not an
// alias: items record it and are checked against it as a string).
func NewStore(ddb DynamoDB, kmsClient KMS, table, kmsKeyARN string, opts ...StoreOption) (*Store, error) {
	if ddb == nil || kmsClient == nil {
		return nil, fmt.Errorf("%w: nil DynamoDB or KMS client", ErrInvalidOption)
	}
	if table == "" {
		return nil, fmt.Errorf("%w: empty table name", ErrInvalidOption)
	}
	a, err := awskms.ParseARN(kmsKeyARN)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if a.ResourceType != "key" {
		return nil, fmt.Errorf("%w: %q is not a KMS key ARN", ErrInvalidOption, kmsKeyARN)
	}
	cfg := storeConfig{logicalName: table}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil store option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Store{ddb: ddb, kms: kmsClient, table: table, arn: kmsKeyARN, cfg: cfg, newUUID: newUUIDv4, now: time.Now}, nil
}

// LogicalName returns the logical key store name (part of every item's
// encryption context, and of the hierarchical keyring's cache ids).
func (s *Store) LogicalName() string { return s.cfg.logicalName }

// Table returns the DynamoDB table name.
func (s *Store) Table() string { return s.table }

// KMSKeyARN returns the KMS key ARN the store encrypts with.
func (s *Store) KMSKeyARN() string { return s.arn }
