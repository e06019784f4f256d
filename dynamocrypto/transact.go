package dynamocrypto

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TransactGetItems reads items in one transaction; items of configured
// tables are verified and decrypted, projections completed and applied as
// in GetItem.
func (c *Client) TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	const op = "TransactGetItems"
	plans := make([]*readPlan, len(in.TransactItems))
	var req []types.TransactGetItem
	var first *table
	for i, ti := range in.TransactItems {
		if ti.Get == nil {
			continue
		}
		t := c.table(aws.ToString(ti.Get.TableName))
		if t == nil {
			continue
		}
		if first == nil {
			first = t
		}
		plan, err := c.planRead(ctx, op, t, nil, nil, ti.Get.ProjectionExpression, ti.Get.ExpressionAttributeNames, nil)
		if err != nil {
			return nil, err
		}
		plans[i] = plan
		if req == nil {
			req = append([]types.TransactGetItem(nil), in.TransactItems...)
		}
		g := *ti.Get
		g.ProjectionExpression, g.ExpressionAttributeNames = plan.projection, plan.names
		req[i] = types.TransactGetItem{Get: &g}
	}
	if req == nil {
		return c.api.TransactGetItems(ctx, in, optFns...)
	}
	r := *in
	r.TransactItems = req
	out, err := c.api.TransactGetItems(ctx, &r, optFns...)
	if err != nil {
		return nil, apiErr(op, first, err)
	}
	for i := range out.Responses {
		if i >= len(plans) || plans[i] == nil || out.Responses[i].Item == nil {
			continue
		}
		t := c.table(aws.ToString(in.TransactItems[i].Get.TableName))
		pt, err := c.open(ctx, op, t, out.Responses[i].Item)
		if err != nil {
			return nil, err
		}
		if plans[i].paths != nil {
			pt = project(pt, plans[i].paths)
		}
		out.Responses[i].Item = pt
	}
	return out, nil
}

// TransactWriteItems writes items in one transaction. On configured
// tables: a Put is encrypted and signed; the conditions of Put, Delete and
// ConditionCheck follow the rules of PutItem; an Update of DoNothing
// attributes is sent as it is (on the condition that the item exists as a
// signed item), and an Update touching signed attributes is done by
// read-modify-write as in UpdateItem: the item is read, the caller's
// condition checked on the plaintext, and the transaction sent with the
// re-encrypted item conditioned on its footer; it is retried when another
// writer changed the item in between, up to maxAttempts times (the
// ClientRequestToken is sent with the first attempt only). Under
// WithoutReadModifyWrite such an Update is refused. A caller's condition
// that does not hold on the plaintext fails the call with a
// *types.TransactionCanceledException, as from DynamoDB.
func (c *Client) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	const op = "TransactWriteItems"
	req := append([]types.TransactWriteItem(nil), in.TransactItems...)
	rmw := map[int]*updateReq{}
	var first *table
	configured := false
	for i, ti := range in.TransactItems {
		switch {
		case ti.Put != nil:
			t := c.table(aws.ToString(ti.Put.TableName))
			if t == nil {
				continue
			}
			first, configured = t, true
			if _, err := checkWriteCond(op, t, ti.Put.ConditionExpression, ti.Put.ExpressionAttributeNames); err != nil {
				return nil, err
			}
			enc, err := c.encrypt(ctx, t, ti.Put.Item)
			if err != nil {
				return nil, err
			}
			p := *ti.Put
			p.Item = enc
			req[i] = types.TransactWriteItem{Put: &p}
		case ti.Delete != nil || ti.ConditionCheck != nil:
			name, cnd, names := tableCond(ti)
			t := c.table(name)
			if t == nil {
				continue
			}
			first, configured = t, true
			if _, err := checkWriteCond(op, t, cnd, names); err != nil {
				return nil, err
			}
		case ti.Update != nil:
			u := ti.Update
			t := c.table(aws.ToString(u.TableName))
			if t == nil {
				continue
			}
			first, configured = t, true
			r, err := parseUpdateReq(op, t, u.Key, u.UpdateExpression, u.ConditionExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues)
			if err != nil {
				return nil, err
			}
			if r.direct {
				e := newEmitter(u.ExpressionAttributeNames, u.ExpressionAttributeValues)
				var cnd cond = &funcCall{name: "attribute_exists", args: []operand{e.namePath(footerAttr)}}
				if r.cond != nil {
					cnd = &logicCond{and: true, l: cnd, r: r.cond}
				}
				nu := *u
				nu.ConditionExpression, nu.UpdateExpression = aws.String(e.cond(cnd)), aws.String(e.update(r.u))
				nu.ExpressionAttributeNames, nu.ExpressionAttributeValues = e.outNames(), e.outValues()
				req[i] = types.TransactWriteItem{Update: &nu}
				continue
			}
			if rmwRefused(ctx) {
				return nil, unsupported(op, t, r.signed, "the update touches a signed attribute, and read-modify-write is disabled")
			}
			r.returnOldOnCF = u.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld
			rmw[i] = r
		}
	}
	if !configured {
		return c.api.TransactWriteItems(ctx, in, optFns...)
	}
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, apiErr(op, first, err)
			}
		}
		for i, r := range rmw {
			w, err := c.prepareRMW(ctx, op, r, optFns)
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				return nil, apiErr(op, r.table, canceledAt(len(req), i, ccf.Item))
			}
			if err != nil {
				return nil, err
			}
			req[i] = types.TransactWriteItem{Update: &types.Update{TableName: w.tableName, Key: w.key, UpdateExpression: &w.update,
				ConditionExpression: &w.cond, ExpressionAttributeNames: w.names, ExpressionAttributeValues: w.values}}
		}
		r := *in
		r.TransactItems = req
		if attempt > 0 {
			r.ClientRequestToken = nil
		}
		out, err := c.api.TransactWriteItems(ctx, &r, optFns...)
		if err == nil {
			return out, nil
		}
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) && rmwConflict(tce, rmw) {
			last = err
			continue
		}
		if errors.As(err, &tce) {
			c.openReasons(ctx, in.TransactItems, tce)
		}
		return nil, apiErr(op, first, err)
	}
	return nil, &Error{Op: op, Table: first.name, Err: fmt.Errorf("%w (%d attempts; last: %v)", ErrConflict, maxAttempts, last)}
}

// tableCond returns the table, condition and names of a Delete or
// ConditionCheck.
func tableCond(ti types.TransactWriteItem) (string, *string, map[string]string) {
	if d := ti.Delete; d != nil {
		return aws.ToString(d.TableName), d.ConditionExpression, d.ExpressionAttributeNames
	}
	cc := ti.ConditionCheck
	return aws.ToString(cc.TableName), cc.ConditionExpression, cc.ExpressionAttributeNames
}

// rmwConflict reports whether a cancellation came from the footer
// condition of a read-modify-write update.
func rmwConflict(tce *types.TransactionCanceledException, rmw map[int]*updateReq) bool {
	for i := range rmw {
		if i < len(tce.CancellationReasons) && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// canceledAt is the cancellation DynamoDB would return for a failed
// condition of item i of n.
func canceledAt(n, i int, item map[string]types.AttributeValue) error {
	reasons := make([]types.CancellationReason, n)
	for j := range reasons {
		reasons[j].Code = aws.String("None")
	}
	reasons[i] = types.CancellationReason{Code: aws.String("ConditionalCheckFailed"), Message: aws.String("The conditional request failed"), Item: item}
	return &types.TransactionCanceledException{Message: aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed]"), CancellationReasons: reasons}
}

// openReasons decrypts the items of cancellation reasons (with
// ReturnValuesOnConditionCheckFailure ALL_OLD) of configured tables; an
// item that does not verify is dropped.
func (c *Client) openReasons(ctx context.Context, items []types.TransactWriteItem, tce *types.TransactionCanceledException) {
	for i := range tce.CancellationReasons {
		r := &tce.CancellationReasons[i]
		if r.Item == nil || i >= len(items) {
			continue
		}
		var name string
		switch ti := items[i]; {
		case ti.Put != nil:
			name = aws.ToString(ti.Put.TableName)
		case ti.Update != nil:
			name = aws.ToString(ti.Update.TableName)
		case ti.Delete != nil || ti.ConditionCheck != nil:
			name, _, _ = tableCond(ti)
		}
		if t := c.table(name); t != nil {
			r.Item, _ = c.open(ctx, "TransactWriteItems", t, r.Item)
		}
	}
}
