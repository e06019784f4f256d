package dynamocrypto

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file parses DynamoDB expressions (condition, key condition,
// projection and update expressions) into a small syntax tree, resolving
// #name placeholders through the request's ExpressionAttributeNames.

// errSyntax is wrapped by every parse error; the package maps it onto
// ErrUnsupported at its API.
var errSyntax = errors.New("expression syntax")

// maxExprLen bounds the expressions parsed (DynamoDB's own limit is 4 KB).
const maxExprLen = 1 << 16

// pathElem is one step of a document path: an attribute or map key name,
// or a list index.
type pathElem struct {
	name  string // resolved name (a placeholder's value)
	ph    string // the #placeholder it was written with, "" when written plainly
	index int
	isIdx bool
}

// docPath is a document path such as a.b[2].c.
type docPath struct{ elems []pathElem }

// top is the top-level attribute the path starts at.
func (p *docPath) top() string { return p.elems[0].name }

// nested reports whether the path goes below its top-level attribute.
func (p *docPath) nested() bool { return len(p.elems) > 1 }

// operand is a *docPath, valueRef, *funcCall or *arith.
type operand interface{}

// valueRef is a :value placeholder.
type valueRef string

// funcCall is a function: a condition function, size, if_not_exists or
// list_append.
type funcCall struct {
	name string
	args []operand
}

// arith is a + b or a - b in an update's SET.
type arith struct {
	op   byte
	l, r operand
}

// cond is a *cmpCond, *betweenCond, *inCond, *funcCall (a boolean
// function), *logicCond or *notCond.
type cond interface{}

type cmpCond struct {
	op   string // = <> < <= > >=
	l, r operand
}

type betweenCond struct{ v, lo, hi operand }

type inCond struct {
	v    operand
	list []operand
}

type logicCond struct {
	and  bool
	l, r cond
}

type notCond struct{ c cond }

// updateExpr is a parsed update expression.
type updateExpr struct {
	set    []setAction
	remove []*docPath
	add    []setAction // path and value
	del    []setAction // path and value
}

type setAction struct {
	path *docPath
	val  operand
}

// boolFuncs are the functions that are conditions by themselves.
var boolFuncs = map[string]int{"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2}

// parseCondition parses a condition, filter or key condition expression.
func parseCondition(s string, names map[string]string) (cond, *parser, error) {
	p, err := newParser(s, names)
	if err != nil {
		return nil, nil, err
	}
	c, err := p.or(0)
	if err == nil {
		err = p.end()
	}
	return c, p, err
}

// maxExprDepth bounds the nesting of conditions and operands.
const maxExprDepth = 64

func (p *parser) or(depth int) (cond, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("nested too deeply")
	}
	l, err := p.and(depth)
	for err == nil && p.isKeyword("OR") {
		p.pos++
		var r cond
		if r, err = p.and(depth); err == nil {
			l = &logicCond{and: false, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) and(depth int) (cond, error) {
	l, err := p.not(depth)
	for err == nil && p.isKeyword("AND") {
		p.pos++
		var r cond
		if r, err = p.not(depth); err == nil {
			l = &logicCond{and: true, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) not(depth int) (cond, error) {
	if p.isKeyword("NOT") {
		p.pos++
		if depth > maxExprDepth {
			return nil, p.errorf("nested too deeply")
		}
		c, err := p.not(depth + 1)
		return &notCond{c}, err
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (cond, error) {
	if p.isPunct("(") {
		p.pos++
		c, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	if t := p.peek(); t.kind == 'i' && boolFuncs[t.text] > 0 && p.pos+1 < len(p.toks) && p.toks[p.pos+1].text == "(" {
		return p.function(depth)
	}
	l, err := p.operand(depth)
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.kind == 'p' && (t.text == "=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.pos++
		r, err := p.operand(depth)
		return &cmpCond{op: t.text, l: l, r: r}, err
	case p.isKeyword("BETWEEN"):
		p.pos++
		lo, err := p.operand(depth)
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.errorf("expected AND in BETWEEN")
		}
		p.pos++
		hi, err := p.operand(depth)
		return &betweenCond{v: l, lo: lo, hi: hi}, err
	case p.isKeyword("IN"):
		p.pos++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		in := &inCond{v: l}
		for {
			o, err := p.operand(depth)
			if err != nil {
				return nil, err
			}
			in.list = append(in.list, o)
			if !p.isPunct(",") {
				break
			}
			p.pos++
		}
		return in, p.expect(")")
	}
	return nil, p.errorf("expected a comparison")
}

// function parses name(args...).
func (p *parser) function(depth int) (*funcCall, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("nested too deeply")
	}
	f := &funcCall{name: p.next().text}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		var o operand
		var err error
		if f.name == "list_append" || f.name == "if_not_exists" && len(f.args) == 1 {
			o, err = p.value(depth + 1)
		} else {
			o, err = p.operand(depth + 1)
		}
		if err != nil {
			return nil, err
		}
		f.args = append(f.args, o)
		if !p.isPunct(",") {
			break
		}
		p.pos++
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	want := map[string]int{"size": 1, "if_not_exists": 2, "list_append": 2}[f.name]
	if n := boolFuncs[f.name]; n > 0 {
		want = n
	}
	if len(f.args) != want {
		return nil, fmt.Errorf("%w: %s takes %d arguments, not %d", errSyntax, f.name, want, len(f.args))
	}
	if _, ok := f.args[0].(*docPath); !ok && f.name != "list_append" {
		return nil, fmt.Errorf("%w: the first argument of %s must be a document path", errSyntax, f.name)
	}
	return f, nil
}

// operand parses a path, a :value or size(path).
func (p *parser) operand(depth int) (operand, error) {
	t := p.peek()
	switch {
	case t.kind == ':':
		p.pos++
		p.used[t.text] = true
		return valueRef(t.text), nil
	case t.kind == 'i' && t.text == "size" && p.pos+1 < len(p.toks) && p.toks[p.pos+1].text == "(":
		return p.function(depth)
	case t.kind == 'i' || t.kind == '#':
		return p.path()
	}
	return nil, p.errorf("expected an operand")
}

// value parses an update value: an operand, if_not_exists, list_append,
// optionally followed by + or - and another.
func (p *parser) value(depth int) (operand, error) {
	one := func() (operand, error) {
		if t := p.peek(); t.kind == 'i' && (t.text == "if_not_exists" || t.text == "list_append") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].text == "(" {
			return p.function(depth)
		}
		return p.operand(depth)
	}
	l, err := one()
	if err != nil {
		return nil, err
	}
	if p.isPunct("+") || p.isPunct("-") {
		op := p.next().text[0]
		r, err := one()
		return &arith{op: op, l: l, r: r}, err
	}
	return l, nil
}

func (p *parser) path() (*docPath, error) {
	dp := &docPath{}
	for {
		t := p.next()
		switch t.kind {
		case 'i':
			dp.elems = append(dp.elems, pathElem{name: t.text})
		case '#':
			v, ok := p.names[t.text]
			if !ok {
				return nil, fmt.Errorf("%w: %s is not defined in ExpressionAttributeNames", errSyntax, t.text)
			}
			p.used[t.text] = true
			dp.elems = append(dp.elems, pathElem{name: v, ph: t.text})
		default:
			if t.kind != 0 {
				p.pos--
			}
			return nil, p.errorf("expected an attribute name")
		}
		for p.isPunct("[") {
			p.pos++
			n := p.next()
			i, err := strconv.Atoi(n.text)
			if n.kind != 'n' || err != nil || i > 1<<20 {
				return nil, p.errorf("expected a list index")
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			dp.elems = append(dp.elems, pathElem{index: i, isIdx: true})
		}
		if !p.isPunct(".") {
			return dp, nil
		}
		p.pos++
	}
}

// parseProjection parses a projection expression: paths separated by
// commas.
func parseProjection(s string, names map[string]string) ([]*docPath, *parser, error) {
	p, err := newParser(s, names)
	if err != nil {
		return nil, nil, err
	}
	var paths []*docPath
	for {
		dp, err := p.path()
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, dp)
		if !p.isPunct(",") {
			break
		}
		p.pos++
	}
	return paths, p, p.end()
}

// parseUpdate parses an update expression.
func parseUpdate(s string, names map[string]string) (*updateExpr, *parser, error) {
	p, err := newParser(s, names)
	if err != nil {
		return nil, nil, err
	}
	u := &updateExpr{}
	seen := map[string]bool{}
	for p.peek().kind != 0 {
		kw := strings.ToUpper(p.next().text)
		if seen[kw] {
			return nil, nil, fmt.Errorf("%w: %s appears twice", errSyntax, kw)
		}
		seen[kw] = true
		for {
			dp, err := p.path()
			if err != nil {
				return nil, nil, err
			}
			switch kw {
			case "SET":
				if err := p.expect("="); err != nil {
					return nil, nil, err
				}
				v, err := p.value(0)
				if err != nil {
					return nil, nil, err
				}
				u.set = append(u.set, setAction{dp, v})
			case "REMOVE":
				u.remove = append(u.remove, dp)
			case "ADD", "DELETE":
				v, err := p.operand(0)
				if err != nil {
					return nil, nil, err
				}
				if _, ok := v.(valueRef); !ok {
					return nil, nil, fmt.Errorf("%w: %s takes a :value", errSyntax, kw)
				}
				if kw == "ADD" {
					u.add = append(u.add, setAction{dp, v})
				} else {
					u.del = append(u.del, setAction{dp, v})
				}
			default:
				return nil, nil, fmt.Errorf("%w: expected SET, REMOVE, ADD or DELETE, not %q", errSyntax, kw)
			}
			if !p.isPunct(",") {
				break
			}
			p.pos++
		}
	}
	if len(seen) == 0 {
		return nil, nil, fmt.Errorf("%w: empty update expression", errSyntax)
	}
	return u, p, nil
}
