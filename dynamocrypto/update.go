package dynamocrypto

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrConflict means an update by read-modify-write found the item changed
// by other writers on every attempt. It is transient: errors.Is(err,
// ErrTransient) holds, and the update may be retried.
var ErrConflict = fmt.Errorf("%w: item changed by concurrent writers", ErrTransient)

// maxAttempts bounds the attempts of one read-modify-write update.
const maxAttempts = 16

type noRMWKey struct{}

// WithoutReadModifyWrite returns a context under which UpdateItem and
// TransactWriteItems refuse (with ErrUnsupported) an update that touches
// signed or encrypted attributes, instead of doing it by read-modify-write.
func WithoutReadModifyWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRMWKey{}, true)
}

func rmwRefused(ctx context.Context) bool { v, _ := ctx.Value(noRMWKey{}).(bool); return v }

// updateReq is an update as the caller asked for it.
type updateReq struct {
	table         *table
	key           map[string]types.AttributeValue
	u             *updateExpr
	cond          cond
	names         map[string]string
	values        map[string]types.AttributeValue
	direct        bool   // only DoNothing attributes written or read
	signed        string // a signed attribute the update touches (for errors)
	touched       map[string]bool
	returnOldOnCF bool
}

// parseUpdateReq parses and classifies an update on t.
func parseUpdateReq(op string, t *table, key map[string]types.AttributeValue, update, condition *string, names map[string]string, values map[string]types.AttributeValue) (*updateReq, error) {
	if update == nil {
		return nil, unsupported(op, t, "", "an update without an UpdateExpression")
	}
	if err := checkValues(values); err != nil {
		return nil, err
	}
	u, _, err := parseUpdate(*update, names)
	if err != nil {
		return nil, exprErr(op, t, "UpdateExpression", *update, err)
	}
	r := &updateReq{table: t, key: key, u: u, names: names, values: values, direct: true, touched: map[string]bool{}}
	for _, p := range u.targets() {
		attr := p.top()
		a, ok := t.action(attr)
		switch {
		case attr == t.pk || attr == t.sk:
			return nil, validationf("cannot update attribute %s: it is part of the key", attr)
		case strings.HasPrefix(attr, ReservedPrefix):
			return nil, unsupported(op, t, attr, "the attribute is reserved for the item's header, footer and beacons")
		case !ok:
			return nil, errAttr(op, t.name, attr, ErrUnknownAttribute, "not listed in Actions and not under the unsigned prefix")
		case a != DoNothing:
			r.direct = false
			if r.signed == "" {
				r.signed = attr
			}
		}
		r.touched[attr] = true
	}
	u.readPaths(func(p *docPath) {
		if a, _ := t.action(p.top()); a == EncryptAndSign {
			r.direct = false
			if r.signed == "" {
				r.signed = p.top()
			}
		}
	})
	if condition != nil {
		c, _, err := parseCondition(*condition, names)
		if err != nil {
			return nil, exprErr(op, t, "ConditionExpression", *condition, err)
		}
		r.cond = c
		if (&rewriter{t: t, op: op}).writeCond(c) != nil {
			r.direct = false
		}
	}
	return r, nil
}

// UpdateItem updates an item. An update that writes only DoNothing
// attributes (and reads no encrypted one) is sent as it is, on the
// condition that the item exists as a signed item. An update that touches
// signed or encrypted attributes is done by optimistic read-modify-write:
// the item is read (consistently), verified and decrypted, the caller's
// ConditionExpression is evaluated on the plaintext, the update applied
// in memory (SET with values, + and -, if_not_exists and list_append;
// REMOVE; ADD to numbers and sets; DELETE from sets), and the item
// re-encrypted and written on the condition that its footer is still the
// one read (and that the DoNothing attributes the update reads or writes
// are unchanged), retried when another writer came first, up to
// maxAttempts times (then ErrConflict). DoNothing attributes the update
// does not name are left as they are. Under WithoutReadModifyWrite such
// an update is refused instead. A failed condition is a
// *types.ConditionalCheckFailedException, as from DynamoDB. ReturnValues
// are decrypted.
func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	t := c.table(aws.ToString(in.TableName))
	if t == nil {
		return c.api.UpdateItem(ctx, in, optFns...)
	}
	const op = "UpdateItem"
	if err := legacy(op, t, in.AttributeUpdates != nil || in.Expected != nil || in.ConditionalOperator != ""); err != nil {
		return nil, err
	}
	r, err := parseUpdateReq(op, t, in.Key, in.UpdateExpression, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	r.returnOldOnCF = in.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld
	if r.direct {
		out, err := c.updateDirect(ctx, in, r, optFns)
		if err == nil || !errors.Is(err, errNotSigned) {
			return out, err
		}
		// No signed item under the key: the update creates one, signed.
	}
	if rmwRefused(ctx) {
		attr := r.signed
		if attr == "" {
			return nil, unsupported(op, t, "", "the update would create an item, which needs read-modify-write")
		}
		return nil, unsupported(op, t, attr, "the update touches a signed attribute, and read-modify-write is disabled")
	}
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, apiErr(op, t, err)
			}
		}
		w, err := c.prepareRMW(ctx, op, r, optFns)
		if err != nil {
			return nil, err
		}
		out, err := c.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: in.TableName, Key: in.Key, UpdateExpression: &w.update, ConditionExpression: &w.cond,
			ExpressionAttributeNames: w.names, ExpressionAttributeValues: w.values,
			ReturnConsumedCapacity: in.ReturnConsumedCapacity, ReturnItemCollectionMetrics: in.ReturnItemCollectionMetrics,
		}, optFns...)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			last = err
			continue
		}
		if err != nil {
			return nil, apiErr(op, t, err)
		}
		out.Attributes = returnValues(in.ReturnValues, r.u, w.old, w.new)
		return out, nil
	}
	return nil, &Error{Op: op, Table: t.name, Err: fmt.Errorf("%w (%d attempts; last: %v)", ErrConflict, maxAttempts, last)}
}

// backoff waits a random time that grows with attempt.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(attempt)*int64(4*time.Millisecond) + 1))
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// returnValues picks what ReturnValues asks for from the plaintext before
// and after the update.
func returnValues(rv types.ReturnValue, u *updateExpr, old, new map[string]types.AttributeValue) map[string]types.AttributeValue {
	switch rv {
	case types.ReturnValueAllOld:
		return old
	case types.ReturnValueAllNew:
		return new
	case types.ReturnValueUpdatedOld:
		if old == nil {
			return nil
		}
		return nilIfEmpty(project(old, u.targets()))
	case types.ReturnValueUpdatedNew:
		return nilIfEmpty(project(new, u.targets()))
	}
	return nil
}

func nilIfEmpty(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	if len(m) == 0 {
		return nil
	}
	return m
}

// errNotSigned means a direct update found no signed item under its key.
var errNotSigned = errors.New("no signed item under the key")

// updateDirect sends an update of DoNothing attributes as it is, on the
// condition that a signed item exists under the key.
func (c *Client) updateDirect(ctx context.Context, in *dynamodb.UpdateItemInput, r *updateReq, optFns []func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	const op = "UpdateItem"
	t := r.table
	e := newEmitter(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var cnd cond = &funcCall{name: "attribute_exists", args: []operand{e.namePath(footerAttr)}}
	if r.cond != nil {
		cnd = &logicCond{and: true, l: cnd, r: r.cond}
	}
	req := *in
	req.ConditionExpression = aws.String(e.cond(cnd))
	req.UpdateExpression = aws.String(e.update(r.u))
	req.ExpressionAttributeNames, req.ExpressionAttributeValues = e.outNames(), e.outValues()
	req.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	out, err := c.api.UpdateItem(ctx, &req, optFns...)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if _, signed := ccf.Item[footerAttr]; !signed {
			return nil, errNotSigned
		}
		if !r.returnOldOnCF {
			ccf.Item = nil
		}
		return nil, c.openFailed(ctx, op, t, err)
	}
	if err != nil {
		return nil, apiErr(op, t, err)
	}
	switch in.ReturnValues {
	case types.ReturnValueAllOld, types.ReturnValueAllNew:
		if out.Attributes, err = c.openReturned(ctx, op, t, out.Attributes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rmwWrite is one attempt of a read-modify-write: the write to send and
// the plaintext before and after.
type rmwWrite struct {
	old, new     map[string]types.AttributeValue
	update, cond string
	names        map[string]string
	values       map[string]types.AttributeValue
	tableName    *string
	key          map[string]types.AttributeValue
}

// prepareRMW reads the item and computes the write of r. A caller's
// condition that does not hold is returned as a
// *types.ConditionalCheckFailedException inside an *Error.
func (c *Client) prepareRMW(ctx context.Context, op string, r *updateReq, optFns []func(*dynamodb.Options)) (*rmwWrite, error) {
	t := r.table
	got, err := c.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: r.key, ConsistentRead: aws.Bool(true)}, optFns...)
	if err != nil {
		return nil, apiErr(op, t, err)
	}
	raw := got.Item
	old, err := c.open(ctx, op, t, raw)
	if err != nil {
		return nil, err
	}
	if r.cond != nil {
		ok, err := (&evaluator{item: old, values: r.values}).eval(r.cond)
		if err != nil {
			return nil, apiErr(op, t, err)
		}
		if !ok {
			ccf := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
			if r.returnOldOnCF {
				ccf.Item = old
			}
			return nil, apiErr(op, t, ccf)
		}
	}
	var item map[string]types.AttributeValue
	if old != nil {
		item = copyItem(old)
	} else {
		item = copyItem(r.key)
	}
	if err := applyUpdate(r.u, item, r.values); err != nil {
		return nil, apiErr(op, t, err)
	}
	enc, err := c.encrypt(ctx, t, item)
	if err != nil {
		return nil, err
	}
	// What the update depends on: the signed item (its footer) and the
	// DoNothing attributes it reads or writes.
	deps := map[string]bool{}
	for a := range r.touched {
		deps[a] = true
	}
	r.u.readPaths(func(p *docPath) { deps[p.top()] = true })
	if r.cond != nil {
		condPaths(r.cond, func(p *docPath) { deps[p.top()] = true })
	}
	e := newEmitter(nil, nil)
	var sets []setAction
	var removes []*docPath
	ours := func(attr string) bool { // written by this update
		a, ok := t.action(attr)
		return !ok || a != DoNothing || r.touched[attr]
	}
	for _, attr := range sortedKeys(enc) {
		if attr == t.pk || attr == t.sk || !ours(attr) {
			continue
		}
		sets = append(sets, setAction{path: e.namePath(attr), val: e.value(enc[attr])})
	}
	for _, attr := range sortedKeys(raw) {
		if _, kept := enc[attr]; !kept && ours(attr) {
			removes = append(removes, e.namePath(attr))
		}
	}
	var cnd cond
	switch {
	case raw == nil:
		cnd = &funcCall{name: "attribute_not_exists", args: []operand{e.namePath(t.pk)}}
	case raw[footerAttr] == nil:
		// An item written before the table was encrypted
		// (TableConfig.PlaintextReads): nothing signs it, so the write
		// depends on every attribute read.
		cnd = &funcCall{name: "attribute_not_exists", args: []operand{e.namePath(footerAttr)}}
		for _, attr := range sortedKeys(raw) {
			if attr != t.pk && attr != t.sk {
				cnd = &logicCond{and: true, l: cnd, r: &cmpCond{op: "=", l: e.namePath(attr), r: e.value(raw[attr])}}
			}
		}
	default:
		cnd = &cmpCond{op: "=", l: e.namePath(footerAttr), r: e.value(raw[footerAttr])}
		for _, attr := range sortedKeys(deps) {
			if a, ok := t.action(attr); !ok || a != DoNothing {
				continue
			}
			var dc cond
			if v, ok := raw[attr]; ok {
				dc = &cmpCond{op: "=", l: e.namePath(attr), r: e.value(v)}
			} else {
				dc = &funcCall{name: "attribute_not_exists", args: []operand{e.namePath(attr)}}
			}
			cnd = &logicCond{and: true, l: cnd, r: dc}
		}
	}
	w := &rmwWrite{old: old, new: item, tableName: aws.String(t.name), key: r.key}
	w.update = e.update(&updateExpr{set: sets, remove: removes})
	w.cond = e.cond(cnd)
	w.names, w.values = e.outNames(), e.outValues()
	return w, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
