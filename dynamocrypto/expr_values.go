package dynamocrypto

import (
	"bytes"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB values as expressions see them: types, sizes, numbers,
// ordering and equality, copies and projections.

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

// checkValues refuses ExpressionAttributeValues holding a nil value at any
// depth (a nil interface or a nil member pointer), which the evaluator and
// the beacons could not read.
func checkValues(values map[string]types.AttributeValue) error {
	for ph, v := range values {
		if !validValue(v, 0) {
			return validationf("ExpressionAttributeValues %s holds a nil or unsupported value", ph)
		}
	}
	return nil
}

func validValue(v types.AttributeValue, depth int) bool {
	if typeTag(v) == 0 || depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			if !validValue(e, depth+1) {
				return false
			}
		}
	case *types.AttributeValueMemberM:
		for _, e := range v.Value {
			if !validValue(e, depth+1) {
				return false
			}
		}
	}
	return true
}
