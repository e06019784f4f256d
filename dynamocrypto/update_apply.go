package dynamocrypto

import (
	"bytes"
	"fmt"
	"math/big"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// validationf returns the error DynamoDB returns for a request it cannot
// carry out as written: a ValidationException.
func validationf(format string, a ...any) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: fmt.Sprintf(format, a...), Fault: smithy.FaultClient}
}

// applyUpdate applies u to item in place, as DynamoDB would: every value
// is computed from the item as it was before the update, then SET,
// REMOVE, ADD and DELETE are applied.
func applyUpdate(u *updateExpr, item map[string]types.AttributeValue, values map[string]types.AttributeValue) error {
	e := &evaluator{item: item, values: values}
	setVals := make([]types.AttributeValue, len(u.set))
	for i, a := range u.set {
		v, ok, err := e.operand(a.val)
		if err != nil {
			return err
		}
		if !ok {
			return validationf("the value of SET %s refers to a missing attribute", pathString(a.path))
		}
		setVals[i] = copyValue(v)
	}
	var addVals, delVals []types.AttributeValue
	for _, a := range u.add {
		v, _, err := e.operand(a.val)
		if err != nil {
			return err
		}
		addVals = append(addVals, v)
	}
	for _, a := range u.del {
		v, _, err := e.operand(a.val)
		if err != nil {
			return err
		}
		delVals = append(delVals, v)
	}
	for i, a := range u.set {
		if err := setPath(item, a.path, setVals[i]); err != nil {
			return err
		}
	}
	// Remove list elements from the highest index down, so that every
	// index names the element of the list as it was.
	removes := append([]*docPath(nil), u.remove...)
	sort.SliceStable(removes, func(i, j int) bool { return comparePaths(removes[i], removes[j]) > 0 })
	for _, p := range removes {
		removePath(item, p)
	}
	for i, a := range u.add {
		old, ok := lookup(item, a.path)
		v, err := addValue(old, ok, addVals[i])
		if err != nil {
			return fmt.Errorf("ADD %s: %w", pathString(a.path), err)
		}
		if err := setPath(item, a.path, v); err != nil {
			return err
		}
	}
	for i, a := range u.del {
		old, ok := lookup(item, a.path)
		if !ok {
			continue
		}
		v, err := deleteFromSet(old, delVals[i])
		if err != nil {
			return fmt.Errorf("DELETE %s: %w", pathString(a.path), err)
		}
		if v == nil {
			removePath(item, a.path)
		} else if err := setPath(item, a.path, v); err != nil {
			return err
		}
	}
	return nil
}

// comparePaths orders paths element by element, list indexes by number.
func comparePaths(a, b *docPath) int {
	for i := 0; i < len(a.elems) && i < len(b.elems); i++ {
		x, y := a.elems[i], b.elems[i]
		switch {
		case x.isIdx && y.isIdx && x.index != y.index:
			if x.index < y.index {
				return -1
			}
			return 1
		case x.isIdx != y.isIdx:
			if x.isIdx {
				return -1
			}
			return 1
		case x.name != y.name:
			if x.name < y.name {
				return -1
			}
			return 1
		}
	}
	return len(a.elems) - len(b.elems)
}

func pathString(p *docPath) string {
	var b bytes.Buffer
	for i, el := range p.elems {
		switch {
		case el.isIdx:
			fmt.Fprintf(&b, "[%d]", el.index)
		case i > 0:
			b.WriteString("." + el.name)
		default:
			b.WriteString(el.name)
		}
	}
	return b.String()
}

// parent returns the container the last element of p lives in.
func parent(item map[string]types.AttributeValue, p *docPath) (types.AttributeValue, bool) {
	return lookup(item, &docPath{elems: p.elems[:len(p.elems)-1]})
}

func setPath(item map[string]types.AttributeValue, p *docPath, v types.AttributeValue) error {
	if !p.nested() {
		item[p.top()] = v
		return nil
	}
	par, ok := parent(item, p)
	last := p.elems[len(p.elems)-1]
	switch c := par.(type) {
	case *types.AttributeValueMemberM:
		if ok && !last.isIdx {
			c.Value[last.name] = v
			return nil
		}
	case *types.AttributeValueMemberL:
		if ok && last.isIdx {
			if last.index < len(c.Value) {
				c.Value[last.index] = v
			} else {
				c.Value = append(c.Value, v)
			}
			return nil
		}
	}
	return validationf("the document path %s is invalid for update", pathString(p))
}

func removePath(item map[string]types.AttributeValue, p *docPath) {
	if !p.nested() {
		delete(item, p.top())
		return
	}
	par, _ := parent(item, p)
	last := p.elems[len(p.elems)-1]
	switch c := par.(type) {
	case *types.AttributeValueMemberM:
		if !last.isIdx {
			delete(c.Value, last.name)
		}
	case *types.AttributeValueMemberL:
		if last.isIdx && last.index < len(c.Value) {
			c.Value = append(c.Value[:last.index:last.index], c.Value[last.index+1:]...)
		}
	}
}

// addValue is ADD: a number added to a number (a missing one is 0), or a
// set's elements added to a set of the same type.
func addValue(old types.AttributeValue, exists bool, v types.AttributeValue) (types.AttributeValue, error) {
	if y, ok := number(v); ok {
		x := new(big.Rat)
		if exists {
			if x, ok = number(old); !ok {
				return nil, validationf("ADD of a number to a %s", typeName(old))
			}
		}
		return &types.AttributeValueMemberN{Value: formatNumber(new(big.Rat).Add(x, y))}, nil
	}
	add, ok := setElems(v)
	if !ok {
		return nil, validationf("ADD takes a number or a set, not %s", typeName(v))
	}
	if !exists {
		return copyValue(v), nil
	}
	if typeName(old) != typeName(v) {
		return nil, validationf("ADD of a %s to a %s", typeName(v), typeName(old))
	}
	have, _ := setElems(old)
	for _, x := range add {
		if !containsValue(have, x) {
			have = append(have, x)
		}
	}
	return makeSet(typeName(v), have), nil
}

// deleteFromSet is DELETE: nil when no element is left.
func deleteFromSet(old, v types.AttributeValue) (types.AttributeValue, error) {
	del, ok := setElems(v)
	if !ok || typeName(old) != typeName(v) {
		return nil, validationf("DELETE of a %s from a %s", typeName(v), typeName(old))
	}
	have, _ := setElems(old)
	var keep []types.AttributeValue
	for _, x := range have {
		if !containsValue(del, x) {
			keep = append(keep, x)
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	return makeSet(typeName(v), keep), nil
}

func makeSet(kind string, elems []types.AttributeValue) types.AttributeValue {
	switch kind {
	case "SS":
		s := &types.AttributeValueMemberSS{}
		for _, e := range elems {
			s.Value = append(s.Value, e.(*types.AttributeValueMemberS).Value)
		}
		return s
	case "NS":
		s := &types.AttributeValueMemberNS{}
		for _, e := range elems {
			s.Value = append(s.Value, e.(*types.AttributeValueMemberN).Value)
		}
		return s
	}
	s := &types.AttributeValueMemberBS{}
	for _, e := range elems {
		s.Value = append(s.Value, bytes.Clone(e.(*types.AttributeValueMemberB).Value))
	}
	return s
}
