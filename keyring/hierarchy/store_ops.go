package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// CreateKeyOption configures CreateKey.
type CreateKeyOption func(*createConfig) error

type createConfig struct {
	id string
	ec map[string]string
}

// WithNewKeyID makes CreateKey use id as the branch key id instead of a
// random v4 UUID. As in the reference, a caller-chosen id needs a
// non-empty custom encryption context (WithKeyContext).
func WithNewKeyID(id string) CreateKeyOption {
	return func(c *createConfig) error {
		if err := checkID(id); err != nil {
			return err
		}
		c.id = id
		return nil
	}
}

// WithKeyContext adds a custom encryption context to the new branch key.
// Each pair is stored as the attribute "aws-crypto-ec:<key>" on the
// branch key's items, is bound to them through KMS, and comes back in the
// Context of the keys read. The map is copied.
func WithKeyContext(ec map[string]string) CreateKeyOption {
	return func(c *createConfig) error {
		if err := checkCustomContext(ec); err != nil {
			return err
		}
		c.ec = maps.Clone(ec)
		return nil
	}
}

// CreateKey creates a branch key: its first version, its ACTIVE item and
// its beacon key, written in one DynamoDB transaction that fails with
// ErrExists if the id already has any of these items. It returns the
// branch key id (a random v4 UUID unless WithNewKeyID chose it).
//
// KMS makes both keys (GenerateDataKeyWithoutPlaintext: the plaintext
// never leaves KMS) and re-encrypts the version's key under the ACTIVE
// context (ReEncrypt); the response must name the configured key ARN.
func (s *Store) CreateKey(ctx context.Context, opts ...CreateKeyOption) (string, error) {
	var cfg createConfig
	for _, o := range opts {
		if o == nil {
			return "", fmt.Errorf("%w: nil CreateKey option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return "", err
		}
	}
	id := cfg.id
	if id != "" && len(cfg.ec) == 0 {
		return "", fmt.Errorf("%w: a chosen branch key id needs a custom encryption context", ErrInvalidOption)
	}
	if id == "" {
		var err error
		if id, err = s.newUUID(); err != nil {
			return "", err
		}
	}
	v, err := s.newUUID()
	if err != nil {
		return "", err
	}
	decryptOnly := s.baseContext(id, v, createTime(s.now()), cfg.ec)
	items, err := s.newVersionItems(ctx, decryptOnly)
	if err != nil {
		return "", err
	}
	beaconEC := beaconContext(decryptOnly)
	blobB, err := s.generate(ctx, beaconEC)
	if err != nil {
		return "", err
	}
	notExists := func(item map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#b)"),
			ExpressionAttributeNames: map[string]string{"#b": attrID},
		}}
	}
	_, err = s.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		notExists(items[0]), notExists(items[1]), notExists(contextToItem(beaconEC, blobB)),
	}})
	if err != nil {
		if conditionFailed(err) {
			return "", fmt.Errorf("%w: %q (table %s)", ErrExists, id, s.table)
		}
		return "", txErr(err)
	}
	return id, nil
}

// newVersionItems makes the version item and the ACTIVE item of a new
// version: GenerateDataKeyWithoutPlaintext under the DECRYPT_ONLY context,
// then ReEncrypt to the ACTIVE context.
func (s *Store) newVersionItems(ctx context.Context, decryptOnly map[string]string) ([2]map[string]types.AttributeValue, error) {
	var items [2]map[string]types.AttributeValue
	blobD, err := s.generate(ctx, decryptOnly)
	if err != nil {
		return items, err
	}
	activeEC := activeContext(decryptOnly)
	blobA, err := s.reEncrypt(ctx, blobD, decryptOnly, activeEC)
	if err != nil {
		return items, err
	}
	items[0] = contextToItem(decryptOnly, blobD)
	items[1] = contextToItem(activeEC, blobA)
	return items, nil
}

func (s *Store) generate(ctx context.Context, ec map[string]string) ([]byte, error) {
	out, err := s.kms.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId:             aws.String(s.arn),
		NumberOfBytes:     aws.Int32(keyLen),
		EncryptionContext: ec,
		GrantTokens:       s.cfg.grantTokens,
	})
	if err != nil {
		return nil, callErr("KMS GenerateDataKeyWithoutPlaintext", err)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxEncLen {
		return nil, fmt.Errorf("hierarchy: KMS GenerateDataKeyWithoutPlaintext returned a %d-byte ciphertext", len(out.CiphertextBlob))
	}
	return out.CiphertextBlob, nil
}

// reEncrypt re-encrypts blob from one context to another under the
// configured key; the response must name that key as source and
// destination (as the reference requires).
func (s *Store) reEncrypt(ctx context.Context, blob []byte, from, to map[string]string) ([]byte, error) {
	out, err := s.kms.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob:               blob,
		SourceKeyId:                  aws.String(s.arn),
		SourceEncryptionContext:      from,
		DestinationKeyId:             aws.String(s.arn),
		DestinationEncryptionContext: to,
		GrantTokens:                  s.cfg.grantTokens,
	})
	if err != nil {
		return nil, callErr("KMS ReEncrypt", err)
	}
	if aws.ToString(out.SourceKeyId) != s.arn || aws.ToString(out.KeyId) != s.arn {
		return nil, fmt.Errorf("hierarchy: KMS ReEncrypt answered for key %q to %q, not %q", aws.ToString(out.SourceKeyId), aws.ToString(out.KeyId), s.arn)
	}
	if len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxEncLen {
		return nil, fmt.Errorf("hierarchy: KMS ReEncrypt returned a %d-byte ciphertext", len(out.CiphertextBlob))
	}
	return out.CiphertextBlob, nil
}

// VersionKey rotates a branch key: it reads and checks the ACTIVE item,
// authenticates it through KMS (ReEncrypt from its context to itself),
// makes a new version with the same custom context and KMS key, and writes
// the new version item and the new ACTIVE item in one transaction. The
// ACTIVE write is conditioned on the old item's enc being unchanged, so a
// concurrent rotation makes one of them fail with ErrConflict. Older
// versions stay readable with GetBranchKeyVersion; the beacon key does not
// change.
func (s *Store) VersionKey(ctx context.Context, branchKeyID string) error {
	if branchKeyID == "" {
		return fmt.Errorf("%w: empty branch key id", ErrInvalidOption)
	}
	p, err := s.readItem(ctx, kindActive, branchKeyID, typeActive)
	if err != nil {
		return err
	}
	if _, err := s.reEncrypt(ctx, p.enc, p.ec, p.ec); err != nil {
		if refused(err) {
			return itemError(kindActive, branchKeyID, "KMS refused to authenticate it: %v", err)
		}
		return err
	}
	v, err := s.newUUID()
	if err != nil {
		return err
	}
	decryptOnly := maps.Clone(p.ec)
	delete(decryptOnly, attrVersion)
	decryptOnly[attrType] = versionPrefix + v
	decryptOnly[attrCreateTime] = createTime(s.now())
	// kms-arn is carried over unchanged (it may name the multi-Region key
	// in another Region); the KMS calls use the configured ARN.
	items, err := s.newVersionItems(ctx, decryptOnly)
	if err != nil {
		return err
	}
	_, err = s.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     items[0],
			ConditionExpression:      aws.String("attribute_not_exists(#b)"),
			ExpressionAttributeNames: map[string]string{"#b": attrID},
		}},
		{Put: &types.Put{
			TableName:                 aws.String(s.table),
			Item:                      items[1],
			ConditionExpression:       aws.String("attribute_exists(#b) AND #e = :old"),
			ExpressionAttributeNames:  map[string]string{"#b": attrID, "#e": attrEnc},
			ExpressionAttributeValues: map[string]types.AttributeValue{":old": &types.AttributeValueMemberB{Value: p.enc}},
		}},
	}})
	if err != nil {
		if conditionFailed(err) {
			return fmt.Errorf("%w: %q (table %s)", ErrConflict, branchKeyID, s.table)
		}
		return txErr(err)
	}
	return nil
}

// conditionFailed reports whether a TransactWriteItems failed because a
// condition did not hold.
func conditionFailed(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	var cc *types.ConditionalCheckFailedException
	return errors.As(err, &cc)
}

// txErr wraps a failed TransactWriteItems: a transaction cancelled by a
// conflicting transaction or by throttling may pass (ErrTransient), the
// SDK's own classification applies to the rest.
func txErr(err error) error {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
				return fmt.Errorf("hierarchy: DynamoDB TransactWriteItems: %w: %w", ErrTransient, err)
			}
		}
	}
	return callErr("DynamoDB TransactWriteItems", err)
}

// refused reports whether KMS refused a ciphertext for its context or key
// (the authentication of an item failed).
func refused(err error) bool {
	var ic *kmstypes.InvalidCiphertextException
	var ik *kmstypes.IncorrectKeyException
	return errors.As(err, &ic) || errors.As(err, &ik)
}
