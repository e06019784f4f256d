package gcmstream

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
)

// A message that is verified as a whole before any of it may be released
// (one tag at the end) has to be kept somewhere until the tag verified:
// beyond what memory allows, in a file, where it could be modified before
// it is read back. Marks and a Replayer check what is read back against
// what was verified, piece by piece, without a second cipher: the Opener
// records the running GHASH state at chosen offsets while it hashes (Mark),
// and after Verify a Replayer recomputes the GHASH of each piece read back
// from the Mark at its start and compares the result with the Mark at its
// end, in constant time, before it decrypts the piece.
//
// Why a piece that passes is the piece that was hashed: GHASH is a
// polynomial in H = E_K(0^128), which only the holder of the key knows
// (the file holds ciphertext; the message's tag is masked with
// E_K(nonce || 1), so it tells nothing of H). Two different pieces of m
// blocks between the same Marks pass only if a non-zero polynomial of
// degree at most m+1 vanishes at H: at most m+1 of the 2^128 values of H,
// so at most (m+1)/2^128 for any modification chosen without the key, and
// one failed attempt rules out at most m+1 values. Pieces of another
// length are refused by their length, which is kept with the Marks. The
// Marks themselves must stay in memory: two Marks and the ciphertext
// between them determine H. This is GMAC with the message's own hash key,
// computed through crypto/cipher's AES-GCM (additional data only, see
// ghash.go), the FIPS 140-3 approved route to GHASH.

// ErrUnaligned means a Mark was asked for at an offset that is not a
// multiple of 16 bytes before the end of the message.
var ErrUnaligned = errors.New("gcmstream: mark not on a 16-byte boundary")

// A Mark is the GHASH state of a message at an offset of its content. It
// is secret (see above): keep it in memory only.
type Mark struct {
	acc elem
	n   uint64
}

// Offset returns the content offset of the Mark.
func (m Mark) Offset() int64 { return int64(m.n) }

// Mark returns the GHASH state after the ciphertext hashed so far, which
// must be a multiple of 16 bytes long; after a successful Verify it
// returns the final state, at the end of the content, whatever its
// length. It works only with Hash (not Decrypt).
func (d *Opener) Mark() (Mark, error) {
	if d.verified {
		return Mark{acc: d.s.g.acc, n: d.s.n}, nil
	}
	if d.s.done || d.mode == 1 {
		return Mark{}, ErrFinished
	}
	if d.s.n%16 != 0 {
		return Mark{}, ErrUnaligned
	}
	d.s.g.flush()
	return Mark{acc: d.s.g.acc, n: d.s.n}, nil
}

// Replayer checks and decrypts pieces of a message that an Opener hashed
// and verified, in any order. It is not safe for concurrent use: give
// each goroutine its own.
type Replayer struct {
	block cipher.Block
	nonce [NonceSize]byte
	g     *ghash
	a, b  [TagSize]byte
}

// NewReplayer returns a Replayer of the message under key (not retained)
// and the 12-byte nonce: the key and nonce of the Opener whose Marks it
// is given.
func NewReplayer(key, nonce []byte) (*Replayer, error) {
	block, g, err := newKeyed(key, nonce)
	if err != nil {
		return nil, err
	}
	r := &Replayer{block: block, g: g}
	copy(r.nonce[:], nonce)
	return r, nil
}

// Open checks that ct is the ciphertext between the Marks from and to of
// a verified message (its length, then its GHASH, compared in constant
// time: ErrAuthentication when either differs, ct untouched) and then
// decrypts it in place. from must be a Mark on a 16-byte boundary (every
// Mark but the final one is).
func (r *Replayer) Open(ct []byte, from, to Mark) error {
	if r.g == nil {
		return ErrFinished
	}
	if to.n < from.n || to.n-from.n != uint64(len(ct)) || from.n%16 != 0 {
		return ErrAuthentication
	}
	r.g.acc = from.acc
	for p := ct; len(p) > 0; {
		k := len(p)
		if k > maxPiece {
			k = maxPiece
		}
		r.g.absorb(p[:k])
		p = p[k:]
	}
	r.g.acc.put(r.a[:])
	to.acc.put(r.b[:])
	ok := subtle.ConstantTimeCompare(r.a[:], r.b[:]) == 1
	clear(r.a[:])
	clear(r.b[:])
	r.g.acc = elem{}
	if !ok {
		return ErrAuthentication
	}
	newCTR(r.block, r.nonce[:], from.n).XORKeyStream(ct, ct)
	return nil
}

// Decrypt decrypts p, the ciphertext from content offset off, in place,
// without authenticating it: for ciphertext that never left memory
// between the Opener's Verify and now. off must be a multiple of 16.
func (r *Replayer) Decrypt(p []byte, off int64) error {
	if r.g == nil {
		return ErrFinished
	}
	if off < 0 || off%16 != 0 || off > MaxLength || uint64(len(p)) > MaxLength-uint64(off) {
		return fmt.Errorf("%w: offset %d", ErrTooLong, off)
	}
	newCTR(r.block, r.nonce[:], uint64(off)).XORKeyStream(p, p)
	return nil
}

// Wipe zeroes the hash key (see Sealer.Wipe). The Replayer is unusable
// afterwards.
func (r *Replayer) Wipe() {
	if r.g != nil {
		r.g.wipe()
	}
	r.g, r.block = nil, nil
}

// WipeMarks zeroes marks.
func WipeMarks(marks []Mark) { clear(marks) }
