package dynamocrypto

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MarshalEncrypt marshals in (a struct or map, with attributevalue's rules
// and `dynamodbav` tags) and encrypts it as an item of table. A value that
// does not marshal to an item is ErrInvalidItem.
func (c *Client) MarshalEncrypt(ctx context.Context, table string, in any) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return nil, &Error{Op: "marshal", Table: table, Err: fmt.Errorf("%w: %w", ErrInvalidItem, err)}
	}
	return c.EncryptItem(ctx, table, item)
}

// UnmarshalDecrypt verifies and decrypts a stored item of table and
// unmarshals the plaintext into out (a pointer, with attributevalue's
// rules). Nothing is written to out unless the item verified. A plaintext
// that does not fit out is ErrInvalidItem.
func (c *Client) UnmarshalDecrypt(ctx context.Context, table string, item map[string]types.AttributeValue, out any) error {
	plain, err := c.DecryptItem(ctx, table, item)
	if err != nil {
		return err
	}
	if err := attributevalue.UnmarshalMap(plain, out); err != nil {
		return &Error{Op: "unmarshal", Table: table, Err: fmt.Errorf("%w: %w", ErrInvalidItem, err)}
	}
	return nil
}
