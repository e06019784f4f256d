package dynamocrypto

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// keyString identifies an item by its primary key values.
func keyString(t *table, item map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, k := range []string{t.pk, t.sk} {
		if k == "" {
			continue
		}
		v := item[k]
		b.WriteString(typeName(v))
		b.WriteByte(0)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(v.Value)
		case *types.AttributeValueMemberB:
			b.Write(v.Value)
		case *types.AttributeValueMemberN:
			if r, ok := number(v); ok {
				b.WriteString(r.RatString())
			}
		}
		b.WriteByte(0)
	}
	return b.String()
}

// BatchGetItem reads items of several tables. Items of configured tables
// are verified and decrypted, with projections completed and applied as
// in GetItem; UnprocessedKeys come back as the caller gave them (the
// caller's projection and names), ready to be retried.
func (c *Client) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	const op = "BatchGetItem"
	plans := map[string]*readPlan{}
	var req map[string]types.KeysAndAttributes
	for name, ka := range in.RequestItems {
		t := c.table(name)
		if t == nil {
			continue
		}
		if err := legacy(op, t, ka.AttributesToGet != nil); err != nil {
			return nil, err
		}
		plan, err := c.planRead(ctx, op, t, nil, nil, ka.ProjectionExpression, ka.ExpressionAttributeNames, nil)
		if err != nil {
			return nil, err
		}
		plans[name] = plan
		if req == nil {
			req = make(map[string]types.KeysAndAttributes, len(in.RequestItems))
			for k, v := range in.RequestItems {
				req[k] = v
			}
		}
		ka.ProjectionExpression, ka.ExpressionAttributeNames = plan.projection, plan.names
		req[name] = ka
	}
	if req == nil {
		return c.api.BatchGetItem(ctx, in, optFns...)
	}
	r := *in
	r.RequestItems = req
	out, err := c.api.BatchGetItem(ctx, &r, optFns...)
	if err != nil {
		return nil, batchErr(op, c, in.RequestItems, err)
	}
	for name, plan := range plans {
		t := c.table(name)
		if un, ok := out.UnprocessedKeys[name]; ok {
			orig := in.RequestItems[name]
			orig.Keys = un.Keys
			out.UnprocessedKeys[name] = orig
		}
		items := out.Responses[name]
		pts := make([]map[string]types.AttributeValue, len(items))
		for i, it := range items {
			pt, err := c.open(ctx, op, t, it)
			if err != nil {
				return nil, err
			}
			if plan.paths != nil {
				pt = project(pt, plan.paths)
			}
			pts[i] = pt
		}
		if items != nil {
			out.Responses[name] = pts
		}
	}
	return out, nil
}

// batchErr wraps the error of a batch call: in an *Error naming the first
// configured table of the request.
func batchErr[T any](op string, c *Client, tables map[string]T, err error) error {
	for name := range tables {
		if t := c.table(name); t != nil {
			return apiErr(op, t, err)
		}
	}
	return err
}

// BatchWriteItem writes and deletes items of several tables. Put requests
// on configured tables are encrypted and signed; UnprocessedItems come
// back as the caller's own plaintext requests, ready to be retried.
func (c *Client) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	const op = "BatchWriteItem"
	var req map[string][]types.WriteRequest
	// originals maps table and key to the caller's put request.
	originals := map[string]map[string]types.WriteRequest{}
	for name, wrs := range in.RequestItems {
		t := c.table(name)
		if t == nil {
			continue
		}
		if req == nil {
			req = make(map[string][]types.WriteRequest, len(in.RequestItems))
			for k, v := range in.RequestItems {
				req[k] = v
			}
		}
		sent := make([]types.WriteRequest, len(wrs))
		byKey := map[string]types.WriteRequest{}
		for i, wr := range wrs {
			sent[i] = wr
			if wr.PutRequest == nil {
				continue
			}
			enc, err := c.encrypt(ctx, t, wr.PutRequest.Item)
			if err != nil {
				return nil, err
			}
			sent[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: enc}}
			byKey[keyString(t, wr.PutRequest.Item)] = wr
		}
		req[name] = sent
		originals[name] = byKey
	}
	if req == nil {
		return c.api.BatchWriteItem(ctx, in, optFns...)
	}
	r := *in
	r.RequestItems = req
	out, err := c.api.BatchWriteItem(ctx, &r, optFns...)
	if err != nil {
		return nil, batchErr(op, c, in.RequestItems, err)
	}
	for name, byKey := range originals {
		un := out.UnprocessedItems[name]
		for i, wr := range un {
			if wr.PutRequest == nil {
				continue
			}
			if orig, ok := byKey[keyString(c.table(name), wr.PutRequest.Item)]; ok {
				un[i] = orig
			}
		}
	}
	return out, nil
}
