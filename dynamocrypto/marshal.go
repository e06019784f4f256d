package dynamocrypto

import (
	"context"
	"errors"
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
// that does not fit out is ErrInvalidItem; its message names the Go type,
// never the value.
func (c *Client) UnmarshalDecrypt(ctx context.Context, table string, item map[string]types.AttributeValue, out any) error {
	plain, err := c.DecryptItem(ctx, table, item)
	if err != nil {
		return err
	}
	if err := attributevalue.UnmarshalMap(plain, out); err != nil {
		return &Error{Op: "unmarshal", Table: table, Err: fmt.Errorf("%w: %w", ErrInvalidItem, unmarshalErr{err})}
	}
	return nil
}

// unmarshalErr hides the message of an attributevalue error, which may
// quote a decrypted value ("number overflow, 123456789", strconv's
// `parsing "1.5"`), and keeps the error in the chain for errors.As.
type unmarshalErr struct{ err error }

func (e unmarshalErr) Error() string {
	var te *attributevalue.UnmarshalTypeError
	var ue *attributevalue.UnmarshalError
	switch {
	case errors.As(e.err, &te) && te.Type != nil:
		return "a plaintext value does not fit a Go value of type " + te.Type.String()
	case errors.As(e.err, &ue) && ue.Type != nil:
		return "a plaintext value does not fit a Go value of type " + ue.Type.String()
	}
	return "the plaintext does not fit the Go value"
}

func (e unmarshalErr) Unwrap() error { return e.err }
