package dynamocrypto

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// This file evaluates conditions on plaintext items in memory, as
// DynamoDB would on the server: to drop the false positives of a beacon
// match, and to check the caller's condition of an update done by
// read-modify-write.

// evaluator evaluates operands and conditions against one item.
type evaluator struct {
	item   map[string]types.AttributeValue
	values map[string]types.AttributeValue
}

// lookup returns the value at path, or false when it is missing.
func lookup(item map[string]types.AttributeValue, p *docPath) (types.AttributeValue, bool) {
	var cur types.AttributeValue
	for i, el := range p.elems {
		switch {
		case i == 0:
			v, ok := item[el.name]
			if !ok {
				return nil, false
			}
			cur = v
		case el.isIdx:
			l, ok := cur.(*types.AttributeValueMemberL)
			if !ok || el.index >= len(l.Value) {
				return nil, false
			}
			cur = l.Value[el.index]
		default:
			m, ok := cur.(*types.AttributeValueMemberM)
			if !ok {
				return nil, false
			}
			v, ok := m.Value[el.name]
			if !ok {
				return nil, false
			}
			cur = v
		}
	}
	return cur, cur != nil
}

func (e *evaluator) operand(o operand) (types.AttributeValue, bool, error) {
	switch o := o.(type) {
	case *docPath:
		v, ok := lookup(e.item, o)
		return v, ok, nil
	case valueRef:
		v, ok := e.values[string(o)]
		if !ok {
			return nil, false, validationf("%s is not defined in ExpressionAttributeValues", o)
		}
		return v, true, nil
	case *funcCall:
		switch o.name {
		case "size":
			v, ok, err := e.operand(o.args[0])
			if !ok || err != nil {
				return nil, false, err
			}
			n, ok := size(v)
			if !ok {
				return nil, false, nil
			}
			return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}, true, nil
		case "if_not_exists":
			v, ok, err := e.operand(o.args[0])
			if ok || err != nil {
				return v, ok, err
			}
			return e.operand(o.args[1])
		case "list_append":
			a, aok, err := e.operand(o.args[0])
			if err != nil {
				return nil, false, err
			}
			b, bok, err := e.operand(o.args[1])
			if err != nil {
				return nil, false, err
			}
			al, ok1 := a.(*types.AttributeValueMemberL)
			bl, ok2 := b.(*types.AttributeValueMemberL)
			if !aok || !bok || !ok1 || !ok2 {
				return nil, false, validationf("list_append takes two lists")
			}
			out := make([]types.AttributeValue, 0, len(al.Value)+len(bl.Value))
			return &types.AttributeValueMemberL{Value: append(append(out, al.Value...), bl.Value...)}, true, nil
		}
		return nil, false, validationf("function %s is not an operand", o.name)
	case *arith:
		a, aok, err := e.operand(o.l)
		if err != nil {
			return nil, false, err
		}
		b, bok, err := e.operand(o.r)
		if err != nil {
			return nil, false, err
		}
		x, ok1 := number(a)
		y, ok2 := number(b)
		if !aok || !bok || !ok1 || !ok2 {
			return nil, false, validationf("an operand of %c is missing or not a number", o.op)
		}
		if o.op == '-' {
			y = new(big.Rat).Neg(y)
		}
		return &types.AttributeValueMemberN{Value: formatNumber(new(big.Rat).Add(x, y))}, true, nil
	}
	return nil, false, validationf("unknown operand")
}

// eval reports whether c holds for the item.
func (e *evaluator) eval(c cond) (bool, error) {
	switch c := c.(type) {
	case *logicCond:
		l, err := e.eval(c.l)
		if err != nil {
			return false, err
		}
		if l != c.and {
			return l, nil
		}
		return e.eval(c.r)
	case *notCond:
		v, err := e.eval(c.c)
		return !v, err
	case *cmpCond:
		a, aok, err := e.operand(c.l)
		if err != nil {
			return false, err
		}
		b, bok, err := e.operand(c.r)
		if err != nil {
			return false, err
		}
		switch c.op {
		case "=":
			return aok && bok && equalValues(a, b), nil
		case "<>":
			return !(aok && bok && equalValues(a, b)), nil
		}
		if !aok || !bok {
			return false, nil
		}
		n, ok := compareValues(a, b)
		if !ok {
			return false, nil
		}
		switch c.op {
		case "<":
			return n < 0, nil
		case "<=":
			return n <= 0, nil
		case ">":
			return n > 0, nil
		}
		return n >= 0, nil
	case *betweenCond:
		v, vok, err := e.operand(c.v)
		if err != nil {
			return false, err
		}
		lo, lok, err := e.operand(c.lo)
		if err != nil {
			return false, err
		}
		hi, hok, err := e.operand(c.hi)
		if err != nil || !vok || !lok || !hok {
			return false, err
		}
		n1, ok1 := compareValues(lo, v)
		n2, ok2 := compareValues(v, hi)
		return ok1 && ok2 && n1 <= 0 && n2 <= 0, nil
	case *inCond:
		v, vok, err := e.operand(c.v)
		if err != nil {
			return false, err
		}
		found := false
		for _, o := range c.list {
			w, ok, err := e.operand(o)
			if err != nil {
				return false, err
			}
			found = found || vok && ok && equalValues(v, w)
		}
		return found, nil
	case *funcCall:
		return e.function(c)
	}
	return false, validationf("unknown condition")
}

func (e *evaluator) function(f *funcCall) (bool, error) {
	v, ok, err := e.operand(f.args[0])
	if err != nil {
		return false, err
	}
	switch f.name {
	case "attribute_exists":
		return ok, nil
	case "attribute_not_exists":
		return !ok, nil
	}
	arg, argOK, err := e.operand(f.args[1])
	if err != nil || !ok || !argOK {
		return false, err
	}
	switch f.name {
	case "attribute_type":
		t, isS := arg.(*types.AttributeValueMemberS)
		if !isS {
			return false, validationf("attribute_type takes a string")
		}
		return typeName(v) == t.Value, nil
	case "begins_with":
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			p, ok := arg.(*types.AttributeValueMemberS)
			return ok && strings.HasPrefix(v.Value, p.Value), nil
		case *types.AttributeValueMemberB:
			p, ok := arg.(*types.AttributeValueMemberB)
			return ok && bytes.HasPrefix(v.Value, p.Value), nil
		}
		return false, nil
	case "contains":
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			p, ok := arg.(*types.AttributeValueMemberS)
			return ok && strings.Contains(v.Value, p.Value), nil
		case *types.AttributeValueMemberB:
			p, ok := arg.(*types.AttributeValueMemberB)
			return ok && bytes.Contains(v.Value, p.Value), nil
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				if equalValues(x, arg) {
					return true, nil
				}
			}
			return false, nil
		}
		if set, ok := setElems(v); ok {
			for _, x := range set {
				if equalValues(x, arg) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	return false, validationf("function %s is not a condition", f.name)
}
