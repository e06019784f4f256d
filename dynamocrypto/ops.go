package dynamocrypto

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cryptkeeper-go/cryptkeeper/internal/awserr"
)

// The operations below take and return what the SDK's do. On a table
// that is not configured they call DynamoDB with the input as given and
// return its answer as it is. On a configured table they never modify the
// input: the request sent is a copy, with new maps where anything changed.

// apiErr wraps an error of a DynamoDB call on a configured table in an
// *Error, marked ErrTransient when it may pass; the SDK's error stays in
// the chain (errors.As to *types.ConditionalCheckFailedException works).
func apiErr(op string, t *table, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if awserr.Transient(err) || transactionTransient(err) {
		return &Error{Op: op, Table: t.name, Err: fmt.Errorf("%w: %w", ErrTransient, err)}
	}
	return &Error{Op: op, Table: t.name, Err: err}
}

// transientReasons are the cancellation reasons of a transaction that
// pass: another transaction held an item, or capacity ran out.
var transientReasons = map[string]bool{
	"TransactionConflict": true, "ThrottlingError": true,
	"ProvisionedThroughputExceeded": true, "RequestLimitExceeded": true,
}

// transactionTransient reports the DynamoDB errors of transactions that
// the SDK does not retry but that pass: a write that met a transaction in
// progress on its item (TransactionConflictException), and a transaction
// canceled only for conflicts or throttling (not for a failed condition
// or an invalid request).
func transactionTransient(err error) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	found := false
	for _, r := range tce.CancellationReasons {
		switch code := aws.ToString(r.Code); {
		case transientReasons[code]:
			found = true
		case code != "" && code != "None":
			return false
		}
	}
	return found
}

// open decrypts a stored item of t for op; nil stays nil.
func (c *Client) open(ctx context.Context, op string, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if item == nil {
		return nil, nil
	}
	pt, err := c.decrypt(ctx, t, item)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, &Error{Op: op, Table: t.name, Err: err}
	}
	return pt, nil
}

// openReturned decrypts the attributes a write returned; the write itself
// succeeded, which the error says.
func (c *Client) openReturned(ctx context.Context, op string, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	pt, err := c.open(ctx, op, t, item)
	if err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: fmt.Errorf("the write succeeded, but the attributes it returned did not verify: %w", err)}
	}
	return pt, nil
}

// openFailed decrypts the item a ConditionalCheckFailedException carries
// (ReturnValuesOnConditionCheckFailure ALL_OLD) in place: the exception
// is the caller's own copy from this call.
func (c *Client) openFailed(ctx context.Context, op string, t *table, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		pt, derr := c.open(ctx, op, t, ccf.Item)
		if derr != nil {
			return errors.Join(apiErr(op, t, err), derr)
		}
		ccf.Item = pt
	}
	return apiErr(op, t, err)
}

// legacy refuses the parameters that predate expressions.
func legacy(op string, t *table, set bool) error {
	if set {
		return unsupported(op, t, "", "legacy parameters (AttributesToGet, KeyConditions, QueryFilter, ScanFilter, Expected, AttributeUpdates, ConditionalOperator): use expressions")
	}
	return nil
}

// PutItem encrypts and signs in.Item and stores it. A ConditionExpression
// may read signed plaintext attributes, and encrypted ones only through
// attribute_exists and attribute_not_exists (refused with ErrUnsupported
// otherwise). Attributes returned (ReturnValues ALL_OLD, or with a failed
// condition and ReturnValuesOnConditionCheckFailure ALL_OLD) are verified
// and decrypted.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.PutItem(ctx, in, optFns...)
	}
	const op = "PutItem"
	if err := legacy(op, t, in.Expected != nil || in.ConditionalOperator != ""); err != nil {
		return nil, err
	}
	if _, err := checkWriteCond(op, t, in.ConditionExpression, in.ExpressionAttributeNames); err != nil {
		return nil, err
	}
	enc, err := c.encrypt(ctx, t, in.Item)
	if err != nil {
		return nil, err
	}
	req := *in
	req.Item = enc
	out, err := c.api.PutItem(ctx, &req, optFns...)
	if err != nil {
		return nil, c.openFailed(ctx, op, t, err)
	}
	if out.Attributes, err = c.openReturned(ctx, op, t, out.Attributes); err != nil {
		return nil, err
	}
	return out, nil
}

// GetItem reads an item and returns it verified and decrypted. A
// ProjectionExpression is completed on the wire with the attributes
// verification needs, and applied to the plaintext.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.GetItem(ctx, in, optFns...)
	}
	const op = "GetItem"
	if err := legacy(op, t, in.AttributesToGet != nil); err != nil {
		return nil, err
	}
	plan, err := c.planRead(ctx, op, t, nil, nil, in.ProjectionExpression, in.ExpressionAttributeNames, nil)
	if err != nil {
		return nil, err
	}
	req := *in
	req.ProjectionExpression, req.ExpressionAttributeNames = plan.projection, plan.names
	out, err := c.api.GetItem(ctx, &req, optFns...)
	if err != nil {
		return nil, apiErr(op, t, err)
	}
	if out.Item, err = c.open(ctx, op, t, out.Item); err != nil {
		return nil, err
	}
	if plan.paths != nil && out.Item != nil {
		out.Item = project(out.Item, plan.paths)
	}
	return out, nil
}

// DeleteItem deletes an item. Its ConditionExpression follows the rules
// of PutItem; ReturnValues ALL_OLD are verified and decrypted.
func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.DeleteItem(ctx, in, optFns...)
	}
	const op = "DeleteItem"
	if err := legacy(op, t, in.Expected != nil || in.ConditionalOperator != ""); err != nil {
		return nil, err
	}
	if _, err := checkWriteCond(op, t, in.ConditionExpression, in.ExpressionAttributeNames); err != nil {
		return nil, err
	}
	out, err := c.api.DeleteItem(ctx, in, optFns...)
	if err != nil {
		return nil, c.openFailed(ctx, op, t, err)
	}
	if out.Attributes, err = c.openReturned(ctx, op, t, out.Attributes); err != nil {
		return nil, err
	}
	return out, nil
}

// page is one page of a Query or Scan as the loop below sees it.
type page struct {
	items            []map[string]types.AttributeValue
	lastKey          map[string]types.AttributeValue
	count, scanned   int32
	consumedCapacity *types.ConsumedCapacity
}

// readPages runs fetch (one Query or Scan call from a start key with a
// limit) and turns stored items into the caller's plaintext: verified,
// decrypted, checked against the caller's condition when it was moved
// onto beacons (dropping false positives), projected. When a condition
// was rewritten and limit is set, it fetches on until limit items match
// or the table ends; the last evaluated key is then the one of the page
// that filled the limit.
func (c *Client) readPages(ctx context.Context, op string, t *table, plan *readPlan, start map[string]types.AttributeValue, limit *int32, countOnly bool,
	fetch func(start map[string]types.AttributeValue, limit *int32) (*page, error)) (*page, error) {
	res := &page{}
	for {
		lim := limit
		if limit != nil && plan.check != nil {
			lim = aws.Int32(*limit - int32(len(res.items)))
		}
		pg, err := fetch(start, lim)
		if err != nil {
			return nil, apiErr(op, t, err)
		}
		res.scanned += pg.scanned
		res.count += pg.count
		res.consumedCapacity = pg.consumedCapacity
		for _, it := range pg.items {
			pt, err := c.open(ctx, op, t, it)
			if err != nil {
				return nil, err
			}
			if plan.check != nil {
				ok, err := plan.checkItem(pt)
				if err != nil {
					return nil, apiErr(op, t, err)
				}
				if !ok {
					continue
				}
			}
			if plan.paths != nil {
				pt = project(pt, plan.paths)
			}
			res.items = append(res.items, pt)
		}
		res.lastKey = pg.lastKey
		if plan.check == nil || limit == nil || pg.lastKey == nil || int32(len(res.items)) >= *limit {
			break
		}
		start = pg.lastKey
	}
	if plan.check != nil {
		res.count = int32(len(res.items))
	}
	if countOnly {
		res.items = nil
	}
	return res, nil
}

// Query runs a query and returns the matching items verified and
// decrypted. An equality on an encrypted attribute in the
// KeyConditionExpression or FilterExpression is sent as an equality on its
// beacon (a global secondary index whose key is the beacon attribute,
// named by IndexName, serves it in a key condition); the caller's
// condition is then checked on the plaintext, so beacon collisions never
// reach the caller, and Limit counts the items returned: further pages
// are fetched until Limit items matched. Other conditions on encrypted
// attributes are refused with ErrUnsupported. Select COUNT counts matched
// items. ConsumedCapacity is the last page's. An index read must hold
// every signed attribute and the header and footer (projection ALL, or
// INCLUDE of them), or its items do not verify.
func (c *Client) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.Query(ctx, in, optFns...)
	}
	const op = "Query"
	if err := legacy(op, t, in.AttributesToGet != nil || in.KeyConditions != nil || in.QueryFilter != nil || in.ConditionalOperator != ""); err != nil {
		return nil, err
	}
	plan, err := c.planRead(ctx, op, t, in.KeyConditionExpression, in.FilterExpression, in.ProjectionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if plan.keyBeacon != "" && in.IndexName == nil {
		return nil, unsupported(op, t, "", "KeyConditionExpression %q: a key condition on an encrypted attribute is a condition on its beacon %s: name the global secondary index keyed on it in IndexName",
			aws.ToString(in.KeyConditionExpression), plan.keyBeacon)
	}
	req := *in
	req.KeyConditionExpression, req.FilterExpression, req.ProjectionExpression = plan.keyCond, plan.filter, plan.projection
	req.ExpressionAttributeNames, req.ExpressionAttributeValues = plan.names, plan.values
	countOnly := in.Select == types.SelectCount
	if countOnly && plan.check != nil {
		req.Select = "" // the items are needed to drop false positives
	}
	pg, err := c.readPages(ctx, op, t, plan, in.ExclusiveStartKey, in.Limit, countOnly, func(start map[string]types.AttributeValue, limit *int32) (*page, error) {
		r := req
		r.ExclusiveStartKey, r.Limit = start, limit
		out, err := c.api.Query(ctx, &r, optFns...)
		if err != nil {
			return nil, err
		}
		return &page{items: out.Items, lastKey: out.LastEvaluatedKey, count: out.Count, scanned: out.ScannedCount, consumedCapacity: out.ConsumedCapacity}, nil
	})
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryOutput{Items: pg.items, Count: pg.count, ScannedCount: pg.scanned, LastEvaluatedKey: pg.lastKey, ConsumedCapacity: pg.consumedCapacity}, nil
}

// Scan scans a table or index and returns the items verified and
// decrypted; its FilterExpression, ProjectionExpression, Limit and Select
// are handled as Query's.
func (c *Client) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.Scan(ctx, in, optFns...)
	}
	const op = "Scan"
	if err := legacy(op, t, in.AttributesToGet != nil || in.ScanFilter != nil || in.ConditionalOperator != ""); err != nil {
		return nil, err
	}
	plan, err := c.planRead(ctx, op, t, nil, in.FilterExpression, in.ProjectionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	req := *in
	req.FilterExpression, req.ProjectionExpression = plan.filter, plan.projection
	req.ExpressionAttributeNames, req.ExpressionAttributeValues = plan.names, plan.values
	countOnly := in.Select == types.SelectCount
	if countOnly && plan.check != nil {
		req.Select = ""
	}
	pg, err := c.readPages(ctx, op, t, plan, in.ExclusiveStartKey, in.Limit, countOnly, func(start map[string]types.AttributeValue, limit *int32) (*page, error) {
		r := req
		r.ExclusiveStartKey, r.Limit = start, limit
		out, err := c.api.Scan(ctx, &r, optFns...)
		if err != nil {
			return nil, err
		}
		return &page{items: out.Items, lastKey: out.LastEvaluatedKey, count: out.Count, scanned: out.ScannedCount, consumedCapacity: out.ConsumedCapacity}, nil
	})
	if err != nil {
		return nil, err
	}
	return &dynamodb.ScanOutput{Items: pg.items, Count: pg.count, ScannedCount: pg.scanned, LastEvaluatedKey: pg.lastKey, ConsumedCapacity: pg.consumedCapacity}, nil
}

// NewQueryPaginator returns the SDK's paginator over c.Query: every page
// verified and decrypted. (*Client satisfies dynamodb.QueryAPIClient.)
func NewQueryPaginator(c *Client, params *dynamodb.QueryInput, optFns ...func(*dynamodb.QueryPaginatorOptions)) *dynamodb.QueryPaginator {
	return dynamodb.NewQueryPaginator(c, params, optFns...)
}

// NewScanPaginator returns the SDK's paginator over c.Scan: every page
// verified and decrypted. (*Client satisfies dynamodb.ScanAPIClient.)
func NewScanPaginator(c *Client, params *dynamodb.ScanInput, optFns ...func(*dynamodb.ScanPaginatorOptions)) *dynamodb.ScanPaginator {
	return dynamodb.NewScanPaginator(c, params, optFns...)
}
