package dynamocrypto

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// contextPrefix starts the encryption context keys this package adds.
const contextPrefix = "ck-dynamodb-"

// EncryptItem returns the item as it is stored in table: EncryptAndSign
// attributes encrypted, signed ones covered by the footer, beacons added,
// the header and footer attributes added. item is not modified. Items of a
// table that is not configured are returned unchanged (a copy).
func (c *Client) EncryptItem(ctx context.Context, table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	t := c.table(table)
	if t == nil {
		return cloneItem(item), nil
	}
	return c.encrypt(ctx, t, item)
}

// DecryptItem verifies a stored item of table and returns its plaintext,
// without the header, footer and beacon attributes. item is not modified.
// Items of a table that is not configured are returned unchanged (a copy).
func (c *Client) DecryptItem(ctx context.Context, table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	t := c.table(table)
	if t == nil {
		return cloneItem(item), nil
	}
	return c.decrypt(ctx, t, item)
}

func cloneItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = v
	}
	return out
}

// encrypt returns a new map holding the stored form of item.
func (c *Client) encrypt(ctx context.Context, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	return nil, fmt.Errorf("%w: not implemented", ErrUnsupported)
}

// decrypt verifies item and returns a new map of its plaintext.
func (c *Client) decrypt(ctx context.Context, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	return nil, fmt.Errorf("%w: not implemented", ErrUnsupported)
}
