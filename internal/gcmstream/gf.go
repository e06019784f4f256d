package gcmstream

import "encoding/binary"

// elem is an element of GF(2^128) in GCM's bit order: hi holds bytes 0-7
// of the block, big-endian, so the coefficient of x^0 is hi's top bit.
type elem struct{ hi, lo uint64 }

func load(b []byte) elem {
	return elem{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e elem) put(b []byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

func (e elem) xor(f elem) elem { return elem{e.hi ^ f.hi, e.lo ^ f.lo} }

// mul returns x·y in GCM's field, in constant time (no branch or memory
// access depends on either operand).
func mul(x, y elem) elem {
	var zh, zl uint64
	vh, vl := y.hi, y.lo
	step := func(bit uint64) {
		m := -bit
		zh ^= vh & m
		zl ^= vl & m
		carry := vl & 1
		vl = vl>>1 | vh<<63
		vh = vh>>1 ^ 0xe100000000000000&-carry
	}
	for i := 63; i >= 0; i-- {
		step(x.hi >> uint(i) & 1)
	}
	for i := 63; i >= 0; i-- {
		step(x.lo >> uint(i) & 1)
	}
	return elem{zh, zl}
}

// lenBlock is GHASH's final block for a bits and c bits.
func lenBlock(a, c uint64) elem { return elem{a, c} }
