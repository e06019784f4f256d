package dynamocrypto

// Which document paths expressions read and write.

// paths returns every document path the update writes.
func (u *updateExpr) targets() []*docPath {
	var out []*docPath
	for _, a := range u.set {
		out = append(out, a.path)
	}
	out = append(out, u.remove...)
	for _, a := range u.add {
		out = append(out, a.path)
	}
	for _, a := range u.del {
		out = append(out, a.path)
	}
	return out
}

// operandPaths calls fn for every document path read by o.
func operandPaths(o operand, fn func(*docPath)) {
	switch o := o.(type) {
	case *docPath:
		fn(o)
	case *funcCall:
		for _, a := range o.args {
			operandPaths(a, fn)
		}
	case *arith:
		operandPaths(o.l, fn)
		operandPaths(o.r, fn)
	}
}

// condPaths calls fn for every document path read by c.
func condPaths(c cond, fn func(*docPath)) {
	switch c := c.(type) {
	case *cmpCond:
		operandPaths(c.l, fn)
		operandPaths(c.r, fn)
	case *betweenCond:
		operandPaths(c.v, fn)
		operandPaths(c.lo, fn)
		operandPaths(c.hi, fn)
	case *inCond:
		operandPaths(c.v, fn)
		for _, o := range c.list {
			operandPaths(o, fn)
		}
	case *funcCall:
		operandPaths(c, fn)
	case *logicCond:
		condPaths(c.l, fn)
		condPaths(c.r, fn)
	case *notCond:
		condPaths(c.c, fn)
	}
}

// readPaths returns every document path the update reads.
func (u *updateExpr) readPaths(fn func(*docPath)) {
	for _, a := range u.set {
		operandPaths(a.val, fn)
	}
}
