package gcmstream

import (
	"crypto/cipher"
	"math/bits"
)

// ghash computes GHASH over a stream of data that arrives in pieces of
// any length. The bulk of the work is done by the standard library's
// AES-GCM (assembly on the common platforms): sealing an empty plaintext
// with a piece P as additional data under a fixed nonce N gives
//
//	T = GHASH_H(pad(P) || L) XOR E_K(N || 1),   L = [8·len(P)]_64 || [0]_64
//
// from which the GHASH of pad(P) alone is recovered and chained onto the
// running state with one multiplication in GF(2^128). The state is kept
// multiplied by H (acc = Y·H), which makes the recovery free of H^-1:
//
//	acc' = acc·H^m XOR T XOR E_K(N || 1) XOR L·H   (m = blocks of pad(P))
//
// Pieces are buffered to at least bufLen bytes so that the field
// multiplications (pure Go, constant time) stay a small share of the work.
type ghash struct {
	aead  cipher.AEAD // keyed like the message: only its GHASH part is used
	h     elem        // H = E_K(0^128)
	mask  elem        // E_K(N || 1) for the fixed nonce N = 0^96
	pow   [36]elem    // pow[i] = H^(2^i)
	acc   elem        // Y·H
	buf   []byte      // a partial piece, less than bufLen bytes
	lastM uint64      // the block count of hm
	lastN int         // the byte length of lh
	hm    elem        // H^lastM
	lh    elem        // L·H for lastN bytes
	prevM uint64      // the block count before lastM, and its power: pieces
	prevH elem        // of two lengths in turn need no new power
	tag   [16]byte
	zero  [12]byte
}

// bufLen is the least length of a piece hashed at once.
const bufLen = 64 << 10

// maxPiece is the most hashed at once, so that a piece just encrypted is
// still in cache when it is hashed.
const maxPiece = 256 << 10

func newGHASH(block cipher.Block) (*ghash, error) {
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	g := &ghash{aead: aead}
	var b [16]byte
	block.Encrypt(b[:], b[:])
	g.h = load(b[:])
	b = [16]byte{15: 1}
	block.Encrypt(b[:], b[:])
	g.mask = load(b[:])
	clear(b[:])
	g.pow[0] = g.h
	for i := 1; i < len(g.pow); i++ {
		g.pow[i] = mul(g.pow[i-1], g.pow[i-1])
	}
	return g, nil
}

// hpow returns H^m (m < 2^36).
func (g *ghash) hpow(m uint64) elem {
	r := elem{1 << 63, 0} // 1
	first := true
	for m != 0 {
		i := bits.TrailingZeros64(m)
		if first {
			r, first = g.pow[i], false
		} else {
			r = mul(r, g.pow[i])
		}
		m &= m - 1
	}
	return r
}

// absorb chains the GHASH of pad(p) onto the state. p ends on a block
// boundary unless it is the last data of its kind (additional data or
// ciphertext).
func (g *ghash) absorb(p []byte) {
	if len(p) == 0 {
		return
	}
	m := uint64(len(p)+15) / 16
	if m != g.lastM {
		if m == g.prevM {
			g.prevM, g.prevH, g.lastM, g.hm = g.lastM, g.hm, g.prevM, g.prevH
		} else {
			g.prevM, g.prevH, g.lastM, g.hm = g.lastM, g.hm, m, g.hpow(m)
		}
	}
	if len(p) != g.lastN {
		g.lastN, g.lh = len(p), mul(lenBlock(uint64(len(p))*8, 0), g.h)
	}
	t := g.aead.Seal(g.tag[:0], g.zero[:], nil, p)
	g.acc = mul(g.acc, g.hm).xor(load(t)).xor(g.mask).xor(g.lh)
}

// write hashes p as the continuation of the data before it.
func (g *ghash) write(p []byte) {
	if len(g.buf) > 0 {
		k := min(bufLen-len(g.buf), len(p))
		g.buf = append(g.buf, p[:k]...)
		p = p[k:]
		if len(g.buf) < bufLen {
			return
		}
		g.absorb(g.buf)
		clear(g.buf)
		g.buf = g.buf[:0]
	}
	for len(p) >= bufLen {
		k := min(len(p), maxPiece) &^ 15
		g.absorb(p[:k])
		p = p[k:]
	}
	if len(p) > 0 {
		if g.buf == nil {
			g.buf = make([]byte, 0, bufLen)
		}
		g.buf = append(g.buf, p...)
	}
}

// flush hashes what is buffered: the data of this kind ends here.
func (g *ghash) flush() {
	g.absorb(g.buf)
	clear(g.buf)
	g.buf = g.buf[:0]
}

// sum returns GHASH_H(A || C || [8·aLen]_64 || [8·cLen]_64) once all of A
// and C were written and flushed.
func (g *ghash) sum(aLen, cLen uint64) elem {
	return g.acc.xor(mul(lenBlock(aLen*8, cLen*8), g.h))
}

// wipe zeroes the hash key and everything derived from it.
func (g *ghash) wipe() {
	g.h, g.mask, g.acc, g.hm, g.lh, g.prevH = elem{}, elem{}, elem{}, elem{}, elem{}, elem{}
	clear(g.pow[:])
	clear(g.buf[:cap(g.buf)])
	clear(g.tag[:])
	g.buf, g.aead = nil, nil
}
