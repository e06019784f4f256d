package dynamocrypto

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// emitter writes syntax trees back into expression strings, collecting
// the names and values the written expressions use. The caller's maps are
// read, never written: the request sent carries new maps.
type emitter struct {
	inNames  map[string]string
	inValues map[string]types.AttributeValue
	names    map[string]string
	values   map[string]types.AttributeValue
	byName   map[string]string // fresh name placeholders by name
	n        int
}

func newEmitter(names map[string]string, values map[string]types.AttributeValue) *emitter {
	return &emitter{inNames: names, inValues: values, names: map[string]string{}, values: map[string]types.AttributeValue{}, byName: map[string]string{}}
}

// fresh returns a placeholder with prefix (# or :) used by neither the
// caller nor this emitter.
func (e *emitter) fresh(prefix string) string {
	for {
		p := prefix + "ck" + strconv.Itoa(e.n)
		e.n++
		_, n := e.inNames[p]
		_, v := e.inValues[p]
		_, n2 := e.names[p]
		_, v2 := e.values[p]
		if !n && !v && !n2 && !v2 {
			return p
		}
	}
}

// namePath returns a one-element path naming attr through a placeholder
// of its own.
func (e *emitter) namePath(attr string) *docPath {
	ph, ok := e.byName[attr]
	if !ok {
		ph = e.fresh("#")
		e.byName[attr] = ph
	}
	return &docPath{elems: []pathElem{{name: attr, ph: ph}}}
}

// value adds v under a fresh placeholder and returns it.
func (e *emitter) value(v types.AttributeValue) valueRef {
	ph := e.fresh(":")
	e.values[ph] = v
	return valueRef(ph)
}

// outNames and outValues return the maps to send: nil when empty, as
// DynamoDB refuses empty maps.
func (e *emitter) outNames() map[string]string {
	if len(e.names) == 0 {
		return nil
	}
	return e.names
}

func (e *emitter) outValues() map[string]types.AttributeValue {
	if len(e.values) == 0 {
		return nil
	}
	return e.values
}

func (e *emitter) cond(c cond) string {
	var b strings.Builder
	e.writeCond(&b, c)
	return b.String()
}

func (e *emitter) writeCond(b *strings.Builder, c cond) {
	switch c := c.(type) {
	case *cmpCond:
		e.writeOperand(b, c.l)
		b.WriteString(" " + c.op + " ")
		e.writeOperand(b, c.r)
	case *betweenCond:
		e.writeOperand(b, c.v)
		b.WriteString(" BETWEEN ")
		e.writeOperand(b, c.lo)
		b.WriteString(" AND ")
		e.writeOperand(b, c.hi)
	case *inCond:
		e.writeOperand(b, c.v)
		b.WriteString(" IN (")
		for i, o := range c.list {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeOperand(b, o)
		}
		b.WriteString(")")
	case *funcCall:
		e.writeOperand(b, c)
	case *logicCond:
		b.WriteString("(")
		e.writeCond(b, c.l)
		if c.and {
			b.WriteString(") AND (")
		} else {
			b.WriteString(") OR (")
		}
		e.writeCond(b, c.r)
		b.WriteString(")")
	case *notCond:
		b.WriteString("NOT (")
		e.writeCond(b, c.c)
		b.WriteString(")")
	}
}

func (e *emitter) writeOperand(b *strings.Builder, o operand) {
	switch o := o.(type) {
	case *docPath:
		e.writePath(b, o)
	case valueRef:
		if _, ok := e.values[string(o)]; !ok {
			if v, ok := e.inValues[string(o)]; ok {
				e.values[string(o)] = v
			}
		}
		b.WriteString(string(o))
	case *funcCall:
		b.WriteString(o.name + "(")
		for i, a := range o.args {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeOperand(b, a)
		}
		b.WriteString(")")
	case *arith:
		e.writeOperand(b, o.l)
		b.WriteString(" " + string(o.op) + " ")
		e.writeOperand(b, o.r)
	}
}

func (e *emitter) writePath(b *strings.Builder, p *docPath) {
	for i, el := range p.elems {
		switch {
		case el.isIdx:
			b.WriteString("[" + strconv.Itoa(el.index) + "]")
			continue
		case i > 0:
			b.WriteString(".")
		}
		if el.ph == "" {
			b.WriteString(el.name)
			continue
		}
		e.names[el.ph] = el.name
		b.WriteString(el.ph)
	}
}

// projection writes a projection expression.
func (e *emitter) projection(paths []*docPath) string {
	var b strings.Builder
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		e.writePath(&b, p)
	}
	return b.String()
}

// update writes an update expression.
func (e *emitter) update(u *updateExpr) string {
	var b strings.Builder
	clause := func(kw string, n int, each func(i int)) {
		if n == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(kw + " ")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			each(i)
		}
	}
	clause("SET", len(u.set), func(i int) {
		e.writePath(&b, u.set[i].path)
		b.WriteString(" = ")
		e.writeOperand(&b, u.set[i].val)
	})
	clause("REMOVE", len(u.remove), func(i int) { e.writePath(&b, u.remove[i]) })
	clause("ADD", len(u.add), func(i int) {
		e.writePath(&b, u.add[i].path)
		b.WriteString(" ")
		e.writeOperand(&b, u.add[i].val)
	})
	clause("DELETE", len(u.del), func(i int) {
		e.writePath(&b, u.del[i].path)
		b.WriteString(" ")
		e.writeOperand(&b, u.del[i].val)
	})
	return b.String()
}
