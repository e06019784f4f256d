package hierarchy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// GetActiveBranchKey returns the active version of a branch key, the one
// the hierarchical keyring encrypts with. The item passes every mandatory
// check (see the package documentation) and is authenticated by KMS
// Decrypt under the encryption context rebuilt from it; a failed check is
// ErrInvalidItem, a missing item ErrNotFound. The caller owns the result.
func (s *Store) GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKey, error) {
	if branchKeyID == "" {
		return nil, fmt.Errorf("%w: empty branch key id", ErrInvalidOption)
	}
	return s.branchKey(ctx, kindActive, branchKeyID, typeActive)
}

// GetBranchKeyVersion returns one version of a branch key, with the
// checks of GetActiveBranchKey. version is the version's text as
// BranchKey.Version holds it: a lowercase v4 UUID (the only form the
// official SDKs write and can carry in a message), else ErrInvalidOption.
func (s *Store) GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKey, error) {
	if branchKeyID == "" {
		return nil, fmt.Errorf("%w: empty branch key id", ErrInvalidOption)
	}
	if !validVersion(version) {
		return nil, fmt.Errorf("%w: version %q is not a lowercase v4 UUID", ErrInvalidOption, version)
	}
	return s.branchKey(ctx, kindVersion, branchKeyID, versionPrefix+version)
}

// GetBeaconKey returns the beacon key of a branch key id, with the checks
// of GetActiveBranchKey. The caller owns the result.
func (s *Store) GetBeaconKey(ctx context.Context, branchKeyID string) (*BeaconKey, error) {
	if branchKeyID == "" {
		return nil, fmt.Errorf("%w: empty branch key id", ErrInvalidOption)
	}
	p, err := s.readItem(ctx, kindBeacon, branchKeyID, typeBeacon)
	if err != nil {
		return nil, err
	}
	key, err := s.decrypt(ctx, kindBeacon, branchKeyID, p)
	if err != nil {
		return nil, err
	}
	return &BeaconKey{ID: branchKeyID, Key: key, Context: p.custom}, nil
}

// BeaconKey returns the 32 bytes of the beacon key of the branch key id
// id (GetBeaconKey without the wrapping), for searchable encryption
// beacons: the caller owns and should zero them. It makes a DynamoDB read
// and a KMS call each time; cache it if it is asked for often.
func (s *Store) BeaconKey(ctx context.Context, id string) ([]byte, error) {
	k, err := s.GetBeaconKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return k.Key, nil
}

func (s *Store) branchKey(ctx context.Context, k kind, id, typ string) (*BranchKey, error) {
	p, err := s.readItem(ctx, k, id, typ)
	if err != nil {
		return nil, err
	}
	key, err := s.decrypt(ctx, k, id, p)
	if err != nil {
		return nil, err
	}
	return &BranchKey{ID: id, Version: p.version, Key: key, Context: p.custom}, nil
}

// readItem reads one item (plain GetItem, default consistency) and runs
// the structural checks.
func (s *Store) readItem(ctx context.Context, k kind, id, typ string) (*parsedItem, error) {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			attrID:   &types.AttributeValueMemberS{Value: id},
			attrType: &types.AttributeValueMemberS{Value: typ},
		},
	})
	if err != nil {
		return nil, callErr("DynamoDB GetItem", err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("%w: %s %q of branch key %q (table %s)", ErrNotFound, k, typ, id, s.table)
	}
	return s.parseItem(k, id, typ, out.Item)
}

// decrypt authenticates an item and returns its key: KMS Decrypt with the
// configured key and the context rebuilt from the item. KMS must answer
// for the configured key with exactly 32 bytes.
func (s *Store) decrypt(ctx context.Context, k kind, id string, p *parsedItem) ([]byte, error) {
	out, err := s.kms.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(s.arn),
		CiphertextBlob:    p.enc,
		EncryptionContext: p.ec,
		GrantTokens:       s.cfg.grantTokens,
	})
	if err != nil {
		if refused(err) {
			return nil, itemError(k, id, "KMS refused to decrypt it under its encryption context: %v", err)
		}
		return nil, callErr("KMS Decrypt", err)
	}
	if aws.ToString(out.KeyId) != s.arn {
		clear(out.Plaintext)
		return nil, itemError(k, id, "KMS decrypted it with key %q, not %q", aws.ToString(out.KeyId), s.arn)
	}
	if len(out.Plaintext) != keyLen {
		clear(out.Plaintext)
		return nil, itemError(k, id, "KMS returned a %d-byte key, want %d", len(out.Plaintext), keyLen)
	}
	return out.Plaintext, nil
}
