package dynamocrypto

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// This file maps the expressions of a request on a configured table onto
// what is stored: equality on an encrypted attribute becomes equality on
// its beacon, projections are completed with what verification needs, and
// whatever cannot be done on ciphertext is refused.

// readPlan is a read request's expressions as sent, and what to do with
// the items that come back.
type readPlan struct {
	keyCond, filter, projection *string
	names                       map[string]string
	values                      map[string]types.AttributeValue
	// check, when not nil, is the caller's condition, evaluated on the
	// plaintext to drop the false positives of beacon matches.
	check       cond
	checkValues map[string]types.AttributeValue
	// paths, when not nil, is the caller's projection, applied to the
	// plaintext.
	paths []*docPath
	// virtual are the compound beacons the check reads, by name.
	virtual map[string]*beacon
	// keyBeacon is the beacon attribute a key condition was moved onto.
	keyBeacon string
}

// checkItem reports whether a plaintext item satisfies the caller's
// condition; compound beacons named in it read as their plaintext form.
func (plan *readPlan) checkItem(pt map[string]types.AttributeValue) (bool, error) {
	item := pt
	if len(plan.virtual) > 0 {
		item = maps.Clone(pt)
		for name, b := range plan.virtual {
			if s, ok := compoundPlain(b, pt); ok {
				item[name] = &types.AttributeValueMemberS{Value: s}
			}
		}
	}
	return (&evaluator{item: item, values: plan.checkValues}).eval(plan.check)
}

// unsupported returns an *Error wrapping ErrUnsupported.
func unsupported(op string, t *table, attr, format string, a ...any) error {
	return errAttr(op, t.name, attr, ErrUnsupported, format, a...)
}

// exprErr maps a parse error onto ErrUnsupported, naming the expression.
func exprErr(op string, t *table, which, expr string, err error) error {
	if errors.Is(err, errSyntax) {
		return unsupported(op, t, "", "%s %q: %v", which, expr, err)
	}
	return err
}

// planRead plans the expressions of a Query, Scan or Get on table t.
func (c *Client) planRead(ctx context.Context, op string, t *table, keyCond, filter, projection *string, names map[string]string, values map[string]types.AttributeValue) (*readPlan, error) {
	if err := checkValues(values); err != nil {
		return nil, err
	}
	plan := &readPlan{keyCond: keyCond, filter: filter, projection: projection, names: names, values: values}
	e := newEmitter(names, values)
	rw := &rewriter{c: c, t: t, op: op, e: e, values: values}
	var conds []cond
	var parsed [2]cond
	for i, x := range []*string{keyCond, filter} {
		if x == nil {
			continue
		}
		which := [2]string{"KeyConditionExpression", "FilterExpression"}[i]
		cd, _, err := parseCondition(*x, names)
		if err != nil {
			return nil, exprErr(op, t, which, *x, err)
		}
		parsed[i] = cd
		conds = append(conds, cd)
		rw.expr, rw.which = *x, which
		if err := rw.findKeyID(cd); err != nil {
			return nil, err
		}
	}
	out := [2]cond{}
	for i, cd := range parsed {
		if cd == nil {
			continue
		}
		rw.which = [2]string{"KeyConditionExpression", "FilterExpression"}[i]
		rw.expr = aws.ToString([]*string{keyCond, filter}[i])
		r, err := rw.cond(ctx, cd, true)
		if err != nil {
			return nil, err
		}
		out[i] = r
		if i == 0 && rw.rewritten {
			plan.keyBeacon = rw.lastBeacon
		}
	}
	var paths []*docPath
	if projection != nil {
		ps, _, err := parseProjection(*projection, names)
		if err != nil {
			return nil, exprErr(op, t, "ProjectionExpression", *projection, err)
		}
		paths = ps
	}
	if !rw.rewritten && paths == nil {
		return plan, nil // sent as given
	}
	if rw.rewritten {
		plan.check = conds[0]
		for _, cd := range conds[1:] {
			plan.check = &logicCond{and: true, l: plan.check, r: cd}
		}
		plan.checkValues = values
		plan.virtual = rw.virtual
	}
	if keyCond != nil {
		plan.keyCond = aws.String(e.cond(out[0]))
	}
	if filter != nil {
		plan.filter = aws.String(e.cond(out[1]))
	}
	if paths != nil {
		plan.paths = paths
		// Fetch whole top-level attributes: what the caller asked for,
		// what verification needs, and what the check reads.
		var send []*docPath
		seen := map[string]bool{}
		add := func(p *docPath) {
			if !seen[p.top()] {
				seen[p.top()] = true
				send = append(send, &docPath{elems: p.elems[:1]})
			}
		}
		for _, p := range paths {
			add(p)
		}
		for _, name := range t.signedNames() {
			if !seen[name] {
				add(e.namePath(name))
			}
		}
		if plan.check != nil {
			condPaths(plan.check, func(p *docPath) {
				if !seen[p.top()] && rw.virtual[p.top()] == nil {
					add(e.namePath(p.top()))
				}
			})
		}
		plan.projection = aws.String(e.projection(send))
	}
	plan.names, plan.values = e.outNames(), e.outValues()
	return plan, nil
}

// rewriter rewrites the conditions of one request.
type rewriter struct {
	c           *Client
	t           *table
	op          string
	e           *emitter
	values      map[string]types.AttributeValue
	which, expr string
	keyID       string
	haveKeyID   bool
	rewritten   bool
	virtual     map[string]*beacon // compound beacons named in conditions
	lastBeacon  string             // the beacon attribute last written
}

// encrypted reports whether p reads an EncryptAndSign attribute.
func (rw *rewriter) encrypted(o operand) (*docPath, bool) {
	p, ok := o.(*docPath)
	if !ok {
		return nil, false
	}
	a, _ := rw.t.action(p.top())
	return p, a == EncryptAndSign
}

// findKeyID looks for `attr = :v` on the beacon key attribute among the
// conjuncts of c: the beacon key of the items asked for.
func (rw *rewriter) findKeyID(c cond) error {
	attr := rw.t.beaconKeyAttr()
	if attr == "" {
		return nil
	}
	switch c := c.(type) {
	case *logicCond:
		if c.and {
			if err := rw.findKeyID(c.l); err != nil {
				return err
			}
			return rw.findKeyID(c.r)
		}
	case *cmpCond:
		p, ok := c.l.(*docPath)
		v, okv := c.r.(valueRef)
		if !ok || !okv {
			p, ok = c.r.(*docPath)
			v, okv = c.l.(valueRef)
		}
		if c.op == "=" && ok && okv && !p.nested() && p.top() == attr {
			if s, isS := rw.values[string(v)].(*types.AttributeValueMemberS); isS {
				rw.keyID, rw.haveKeyID = s.Value, true
			}
		}
	}
	return nil
}

// cond returns c with equality on encrypted attributes moved onto their
// beacons, or an error naming what cannot be done on ciphertext. positive
// is false under NOT, where a beacon match (a superset) is not sound.
func (rw *rewriter) cond(ctx context.Context, c cond, positive bool) (cond, error) {
	switch c := c.(type) {
	case *logicCond:
		l, err := rw.cond(ctx, c.l, positive)
		if err != nil {
			return nil, err
		}
		r, err := rw.cond(ctx, c.r, positive)
		return &logicCond{and: c.and, l: l, r: r}, err
	case *notCond:
		x, err := rw.cond(ctx, c.c, !positive)
		return &notCond{x}, err
	case *funcCall:
		if b := rw.compound(c.args[0]); b != nil && c.name == "begins_with" {
			v, isVal := c.args[1].(valueRef)
			if !isVal || !positive {
				return nil, rw.refuse(b.name, "begins_with on a compound beacon takes a :value, and not under NOT")
			}
			bp, bv, err := rw.compoundValue(ctx, b, v, false)
			if err != nil {
				return nil, err
			}
			return &funcCall{name: "begins_with", args: []operand{bp, bv}}, nil
		}
		if p, enc := rw.encrypted(c.args[0]); enc {
			if (c.name == "attribute_exists" || c.name == "attribute_not_exists") && !p.nested() {
				return c, nil // stored under the same name
			}
			return nil, rw.refuse(p.top(), c.name+" on an encrypted attribute")
		}
		return c, rw.noEncrypted(c)
	case *cmpCond:
		if b := rw.compound(c.l); b != nil {
			v, isVal := c.r.(valueRef)
			if c.op != "=" || !isVal || !positive {
				return nil, rw.refuse(b.name, "a compound beacon takes = :value or begins_with, and not under NOT")
			}
			bp, bv, err := rw.compoundValue(ctx, b, v, true)
			if err != nil {
				return nil, err
			}
			return &cmpCond{op: "=", l: bp, r: bv}, nil
		}
		p, enc := rw.encrypted(c.l)
		v, isVal := c.r.(valueRef)
		if !enc {
			p, enc = rw.encrypted(c.r)
			v, isVal = c.l.(valueRef)
		}
		if !enc {
			return c, rw.noEncrypted(c)
		}
		if c.op != "=" || !isVal {
			return nil, rw.refuse(p.top(), "only equality with a :value can be done on an encrypted attribute (through its beacon)")
		}
		bp, bv, err := rw.beacon(ctx, p, v, positive)
		if err != nil {
			return nil, err
		}
		return &cmpCond{op: "=", l: bp, r: bv}, nil
	case *inCond:
		p, enc := rw.encrypted(c.v)
		if !enc {
			return c, rw.noEncrypted(c)
		}
		out := &inCond{}
		for _, o := range c.list {
			v, isVal := o.(valueRef)
			if !isVal {
				return nil, rw.refuse(p.top(), "IN on an encrypted attribute takes :values only")
			}
			bp, bv, err := rw.beacon(ctx, p, v, positive)
			if err != nil {
				return nil, err
			}
			out.v = bp
			out.list = append(out.list, bv)
		}
		return out, nil
	}
	if err := rw.noEncrypted(c); err != nil {
		return nil, err
	}
	return c, nil
}

// noEncrypted refuses c if it reads an encrypted attribute.
func (rw *rewriter) noEncrypted(c cond) error {
	var bad string
	condPaths(c, func(p *docPath) {
		if _, enc := rw.encrypted(p); enc && bad == "" {
			bad = p.top()
		}
	})
	if bad != "" {
		return rw.refuse(bad, "comparison on an encrypted attribute (only equality with a :value, through a beacon, and attribute_exists can be done)")
	}
	return nil
}

// beacon returns the beacon attribute of the encrypted path p and a new
// placeholder holding the beacon of the value v.
func (rw *rewriter) beacon(ctx context.Context, p *docPath, v valueRef, positive bool) (*docPath, valueRef, error) {
	attr := p.top()
	b := rw.t.beaconFor(attr)
	switch {
	case p.nested():
		return nil, "", rw.refuse(attr, "a path inside an encrypted attribute")
	case b == nil:
		return nil, "", rw.refuse(attr, "the attribute is encrypted and has no beacon")
	case !positive:
		return nil, "", rw.refuse(attr, "equality on an encrypted attribute under NOT (a beacon match is not exact)")
	case rw.t.beaconKeyAttr() != "" && !rw.haveKeyID:
		return nil, "", rw.refuse(attr, fmt.Sprintf("beacons use per-item keys: the condition needs %s = :value", rw.t.beaconKeyAttr()))
	}
	pv, ok := rw.values[string(v)]
	if !ok {
		return nil, "", validationf("%s is not defined in ExpressionAttributeValues", v)
	}
	bv, err := rw.c.beaconValue(ctx, rw.t, b, pv, rw.keyID)
	if err != nil {
		return nil, "", err
	}
	rw.rewritten, rw.lastBeacon = true, b.attribute()
	return rw.e.namePath(b.attribute()), rw.e.value(bv), nil
}

// checkWriteCond refuses a condition of a write that reads an encrypted
// attribute other than through attribute_exists/attribute_not_exists: a
// beacon match is not exact, and a condition cannot be checked after the
// write. It reports whether the condition reads encrypted attributes.
func checkWriteCond(op string, t *table, expr *string, names map[string]string) (cond, error) {
	if expr == nil {
		return nil, nil
	}
	c, _, err := parseCondition(*expr, names)
	if err != nil {
		return nil, exprErr(op, t, "ConditionExpression", *expr, err)
	}
	rw := &rewriter{t: t, op: op, which: "ConditionExpression", expr: *expr}
	return c, rw.writeCond(c)
}

func (rw *rewriter) writeCond(c cond) error {
	switch c := c.(type) {
	case *logicCond:
		if err := rw.writeCond(c.l); err != nil {
			return err
		}
		return rw.writeCond(c.r)
	case *notCond:
		return rw.writeCond(c.c)
	case *funcCall:
		if p, enc := rw.encrypted(c.args[0]); enc && (c.name == "attribute_exists" || c.name == "attribute_not_exists") && !p.nested() {
			return nil
		}
	}
	var bad string
	condPaths(c, func(p *docPath) {
		if _, enc := rw.encrypted(p); enc && bad == "" {
			bad = p.top()
		}
	})
	if bad != "" {
		return rw.refuse(bad, "a write condition on an encrypted attribute cannot be checked on the server (UpdateItem checks it in memory)")
	}
	return nil
}
