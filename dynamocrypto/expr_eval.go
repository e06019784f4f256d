package dynamocrypto

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

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

// typeName is the DynamoDB type name of v.
func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	}
	return ""
}

func size(v types.AttributeValue) (int, bool) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return utf8.RuneCountInString(v.Value), true
	case *types.AttributeValueMemberB:
		return len(v.Value), true
	case *types.AttributeValueMemberL:
		return len(v.Value), true
	case *types.AttributeValueMemberM:
		return len(v.Value), true
	}
	if s, ok := setElems(v); ok {
		return len(s), true
	}
	return 0, false
}

// setElems returns the elements of a set as scalar values.
func setElems(v types.AttributeValue) ([]types.AttributeValue, bool) {
	var out []types.AttributeValue
	switch v := v.(type) {
	case *types.AttributeValueMemberSS:
		for _, s := range v.Value {
			out = append(out, &types.AttributeValueMemberS{Value: s})
		}
	case *types.AttributeValueMemberNS:
		for _, s := range v.Value {
			out = append(out, &types.AttributeValueMemberN{Value: s})
		}
	case *types.AttributeValueMemberBS:
		for _, s := range v.Value {
			out = append(out, &types.AttributeValueMemberB{Value: s})
		}
	default:
		return nil, false
	}
	return out, true
}

// number parses an N value.
func number(v types.AttributeValue) (*big.Rat, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok || len(n.Value) > 64 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(n.Value)
	return r, ok
}

// formatNumber writes r, which has a finite decimal expansion, exactly.
func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	d, ten := new(big.Int).Set(r.Denom()), big.NewInt(10)
	p := new(big.Int).Set(ten)
	prec := 1
	for ; prec < 200 && new(big.Int).Mod(p, d).Sign() != 0; prec++ {
		p.Mul(p, ten)
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(prec), "0"), ".")
}

// compareValues orders two scalars of one type (N, S or B).
func compareValues(a, b types.AttributeValue) (int, bool) {
	switch a := a.(type) {
	case *types.AttributeValueMemberN:
		x, ok1 := number(a)
		y, ok2 := number(b)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case *types.AttributeValueMemberS:
		b, ok := b.(*types.AttributeValueMemberS)
		if !ok {
			return 0, false
		}
		return strings.Compare(a.Value, b.Value), true
	case *types.AttributeValueMemberB:
		b, ok := b.(*types.AttributeValueMemberB)
		if !ok {
			return 0, false
		}
		return bytes.Compare(a.Value, b.Value), true
	}
	return 0, false
}

// equalValues compares two values as DynamoDB does: numbers by value,
// sets regardless of order, lists and maps element by element.
func equalValues(a, b types.AttributeValue) bool {
	if typeName(a) != typeName(b) {
		return false
	}
	switch a := a.(type) {
	case *types.AttributeValueMemberN, *types.AttributeValueMemberS, *types.AttributeValueMemberB:
		n, ok := compareValues(a, b)
		return ok && n == 0
	case *types.AttributeValueMemberBOOL:
		return a.Value == b.(*types.AttributeValueMemberBOOL).Value
	case *types.AttributeValueMemberNULL:
		return true
	case *types.AttributeValueMemberL:
		bl := b.(*types.AttributeValueMemberL).Value
		if len(a.Value) != len(bl) {
			return false
		}
		for i := range a.Value {
			if !equalValues(a.Value[i], bl[i]) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberM:
		bm := b.(*types.AttributeValueMemberM).Value
		if len(a.Value) != len(bm) {
			return false
		}
		for k, v := range a.Value {
			w, ok := bm[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	}
	x, _ := setElems(a)
	y, _ := setElems(b)
	if len(x) != len(y) {
		return false
	}
	for _, v := range x {
		if !containsValue(y, v) {
			return false
		}
	}
	return true
}

func containsValue(list []types.AttributeValue, v types.AttributeValue) bool {
	for _, w := range list {
		if equalValues(v, w) {
			return true
		}
	}
	return false
}

// copyValue returns a deep copy of v.
func copyValue(v types.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value}
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: bytes.Clone(v.Value)}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Value}
	case *types.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: v.Value}
	case *types.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(v.Value))
		for i, x := range v.Value {
			out[i] = copyValue(x)
		}
		return &types.AttributeValueMemberL{Value: out}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: copyItem(v.Value)}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: append([]string(nil), v.Value...)}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: append([]string(nil), v.Value...)}
	case *types.AttributeValueMemberBS:
		out := make([][]byte, len(v.Value))
		for i, x := range v.Value {
			out[i] = bytes.Clone(x)
		}
		return &types.AttributeValueMemberBS{Value: out}
	}
	return v
}

// copyItem returns a deep copy of an item (nil for nil).
func copyItem(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

// project returns the parts of item that paths name, as DynamoDB returns
// a projection (list elements compacted in index order).
func project(item map[string]types.AttributeValue, paths []*docPath) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for _, p := range paths {
		v, ok := lookup(item, p)
		if !ok {
			continue
		}
		if !p.nested() {
			out[p.top()] = v
			continue
		}
		// Build the nesting down to the value, merging with what earlier
		// paths built.
		root, ok := out[p.top()]
		if !ok {
			root = emptyLike(item[p.top()])
			out[p.top()] = root
		}
		src := item[p.top()]
		cur := root
		for i := 1; i < len(p.elems); i++ {
			el, last := p.elems[i], i == len(p.elems)-1
			var next, srcNext types.AttributeValue
			if el.isIdx {
				srcNext = src.(*types.AttributeValueMemberL).Value[el.index]
			} else {
				srcNext = src.(*types.AttributeValueMemberM).Value[el.name]
			}
			if last {
				next = srcNext
			} else {
				next = emptyLike(srcNext)
			}
			switch c := cur.(type) {
			case *types.AttributeValueMemberM:
				if old, ok := c.Value[el.name]; ok && !last {
					next = old
				} else {
					c.Value[el.name] = next
				}
			case *types.AttributeValueMemberL:
				c.Value = append(c.Value, next)
			}
			cur, src = next, srcNext
		}
	}
	return out
}

func emptyLike(v types.AttributeValue) types.AttributeValue {
	if _, ok := v.(*types.AttributeValueMemberL); ok {
		return &types.AttributeValueMemberL{}
	}
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
}
