// Package gcmstream is AES-GCM for one message of any length (up to GCM's
// limit of 2^36-32 bytes, about 64 GiB) encrypted or decrypted in pieces,
// in constant memory: the ciphertext and tag are exactly those of
// crypto/cipher's AES-GCM Seal over the whole message with a 12-byte
// nonce. The content is AES-CTR from the counter block nonce || 2 (the
// standard library's assembly CTR), and the tag is GHASH over the
// additional data and the ciphertext, also computed with the standard
// library's assembly (see ghash.go), masked with E_K(nonce || 1).
//
// An Opener's plaintext is not authenticated until Verify succeeds: the
// caller must hold it back (or the ciphertext) until then. NewCTR gives
// the keystream at any offset, for ranged reads that give up
// authentication knowingly.
//
// It works in FIPS 140-3 mode (GODEBUG=fips140=on): it uses only
// crypto/aes, crypto/cipher's CTR and AES-GCM. Under fips140=only, where
// AES-GCM with a caller's nonce is not allowed, NewSealer and NewOpener
// fail with crypto/cipher's error. It imports only the standard library.
package gcmstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// NonceSize is the only nonce length supported.
	NonceSize = 12
	// TagSize is the length of the tag.
	TagSize = 16
	// MaxLength is the most plaintext one message may hold (2^39-256
	// bits).
	MaxLength = 1<<36 - 32
)

var (
	// ErrAuthentication means the tag did not verify.
	ErrAuthentication = errors.New("gcmstream: message authentication failed")
	// ErrTooLong means the message would exceed MaxLength.
	ErrTooLong = errors.New("gcmstream: message longer than AES-GCM allows")
	// ErrFinished means the Sealer or Opener was used after Tag, Verify
	// or Wipe, or an Opener's Hash and Decrypt were mixed.
	ErrFinished = errors.New("gcmstream: used after the end of the message")
)

// state is what a Sealer and an Opener share.
type state struct {
	ctr    cipher.Stream
	g      *ghash
	j0     [16]byte // E_K(nonce || 1), the tag mask
	aadLen uint64
	n      uint64 // bytes of content so far
	done   bool
}

// newKeyed checks nonce and returns the AES block cipher of key (not
// retained) and a GHASH under it: what an Opener, a Sealer and a
// Replayer start from.
func newKeyed(key, nonce []byte) (cipher.Block, *ghash, error) {
	if len(nonce) != NonceSize {
		return nil, nil, fmt.Errorf("gcmstream: nonce of %d bytes, want %d", len(nonce), NonceSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, fmt.Errorf("gcmstream: %w", err)
	}
	g, err := newGHASH(block)
	if err != nil {
		return nil, nil, fmt.Errorf("gcmstream: %w", err)
	}
	return block, g, nil
}

func newState(key, nonce, aad []byte) (*state, error) {
	block, g, err := newKeyed(key, nonce)
	if err != nil {
		return nil, err
	}
	s := &state{g: g, aadLen: uint64(len(aad))}
	copy(s.j0[:], nonce)
	s.j0[15] = 1
	block.Encrypt(s.j0[:], s.j0[:])
	s.ctr = newCTR(block, nonce, 0)
	g.write(aad)
	g.flush()
	return s, nil
}

// newCTR returns the keystream of the content of the message with nonce
// from byte offset off.
func newCTR(block cipher.Block, nonce []byte, off uint64) cipher.Stream {
	var iv [16]byte
	copy(iv[:], nonce)
	binary.BigEndian.PutUint32(iv[12:], uint32(2+off/16))
	ctr := cipher.NewCTR(block, iv[:])
	if skip := off % 16; skip > 0 {
		var b [16]byte
		ctr.XORKeyStream(b[:skip], b[:skip])
	}
	return ctr
}

// NewCTR returns the AES-CTR keystream of the content of the AES-GCM
// message under key and nonce, from byte offset off of the content
// (0 <= off <= MaxLength). XORing it with ciphertext from that offset
// gives the plaintext, unauthenticated.
func NewCTR(key, nonce []byte, off int64) (cipher.Stream, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("gcmstream: nonce of %d bytes, want %d", len(nonce), NonceSize)
	}
	if off < 0 || off > MaxLength {
		return nil, fmt.Errorf("%w: offset %d", ErrTooLong, off)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gcmstream: %w", err)
	}
	return newCTR(block, nonce, uint64(off)), nil
}

// piece is how much is encrypted before it is hashed, so that it is
// still in cache.
const piece = 64 << 10

func (s *state) reserve(n int) error {
	if s.done {
		return ErrFinished
	}
	if s.n+uint64(n) > MaxLength {
		return ErrTooLong
	}
	s.n += uint64(n)
	return nil
}

// tag finishes the message and writes its tag to t.
func (s *state) tag(t *[TagSize]byte) {
	s.g.flush()
	y := s.g.sum(s.aadLen, s.n)
	y.put(t[:])
	subtle.XORBytes(t[:], t[:], s.j0[:])
	s.done = true
}

func (s *state) wipe() {
	s.done = true
	clear(s.j0[:])
	if s.g != nil {
		s.g.wipe()
	}
	s.ctr = nil
}

// Sealer encrypts one message in pieces.
type Sealer struct{ s *state }

// NewSealer returns a Sealer of the message under key (16, 24 or 32
// bytes, not retained) with the 12-byte nonce and the additional data
// aad (not retained). The nonce must never be used twice with key.
func NewSealer(key, nonce, aad []byte) (*Sealer, error) {
	s, err := newState(key, nonce, aad)
	if err != nil {
		return nil, err
	}
	return &Sealer{s: s}, nil
}

// Encrypt encrypts src, the continuation of the plaintext, into dst,
// which must be at least as long; dst and src may be the same slice, or
// not overlap. It fails with ErrTooLong past MaxLength (encrypting
// nothing) and with ErrFinished after Tag or Wipe.
func (e *Sealer) Encrypt(dst, src []byte) error {
	if len(dst) < len(src) {
		return errors.New("gcmstream: output smaller than input")
	}
	if err := e.s.reserve(len(src)); err != nil {
		return err
	}
	for len(src) > 0 {
		k := min(len(src), piece)
		e.s.ctr.XORKeyStream(dst[:k], src[:k])
		e.s.g.write(dst[:k])
		dst, src = dst[k:], src[k:]
	}
	return nil
}

// Len returns the length of the plaintext encrypted so far.
func (e *Sealer) Len() int64 { return int64(e.s.n) }

// Tag ends the message and appends its 16-byte tag to dst. It fails with
// ErrFinished when called twice or after Wipe.
func (e *Sealer) Tag(dst []byte) ([]byte, error) {
	if e.s.done {
		return dst, ErrFinished
	}
	var t [TagSize]byte
	e.s.tag(&t)
	return append(dst, t[:]...), nil
}

// Wipe zeroes the hash key and the tag mask (the AES key schedule inside
// crypto/aes cannot be zeroed; it is dropped). The Sealer is unusable
// afterwards.
func (e *Sealer) Wipe() { e.s.wipe() }

// Opener decrypts one message in pieces and verifies its tag at the end.
// What Decrypt returns is unauthenticated until Verify succeeds.
type Opener struct {
	s        *state
	mode     int // 0 unused, 1 Decrypt, 2 Hash
	verified bool
}

// NewOpener returns an Opener of the message under key with the 12-byte
// nonce and the additional data aad (neither retained).
func NewOpener(key, nonce, aad []byte) (*Opener, error) {
	s, err := newState(key, nonce, aad)
	if err != nil {
		return nil, err
	}
	return &Opener{s: s}, nil
}

func (d *Opener) use(mode int) error {
	if d.mode != 0 && d.mode != mode {
		return ErrFinished
	}
	d.mode = mode
	return nil
}

// Decrypt hashes src, the continuation of the ciphertext (without the
// tag), and decrypts it into dst, which must be at least as long; dst and
// src may be the same slice, or not overlap. The plaintext is
// unauthenticated until Verify succeeds. It cannot be mixed with Hash.
func (d *Opener) Decrypt(dst, src []byte) error {
	if len(dst) < len(src) {
		return errors.New("gcmstream: output smaller than input")
	}
	if err := d.use(1); err != nil {
		return err
	}
	if err := d.s.reserve(len(src)); err != nil {
		return err
	}
	for len(src) > 0 {
		k := min(len(src), piece)
		d.s.g.write(src[:k])
		d.s.ctr.XORKeyStream(dst[:k], src[:k])
		dst, src = dst[k:], src[k:]
	}
	return nil
}

// Hash hashes ct, the continuation of the ciphertext (without the tag),
// without decrypting it: the caller decrypts later, with NewCTR, what
// Verify authenticated. It cannot be mixed with Decrypt.
func (d *Opener) Hash(ct []byte) error {
	if err := d.use(2); err != nil {
		return err
	}
	if err := d.s.reserve(len(ct)); err != nil {
		return err
	}
	d.s.g.write(ct)
	return nil
}

// Len returns the length of the ciphertext hashed so far.
func (d *Opener) Len() int64 { return int64(d.s.n) }

// Verify ends the message and compares tag with the message's tag in
// constant time: ErrAuthentication when they differ (or tag is not 16
// bytes), ErrFinished when called twice or after Wipe.
func (d *Opener) Verify(tag []byte) error {
	if d.s.done {
		return ErrFinished
	}
	var t [TagSize]byte
	d.s.tag(&t)
	ok := subtle.ConstantTimeCompare(t[:], tag) == 1
	clear(t[:])
	if !ok {
		return ErrAuthentication
	}
	d.verified = true
	return nil
}

// Wipe zeroes the hash key and the tag mask (see Sealer.Wipe). The Opener
// is unusable afterwards.
func (d *Opener) Wipe() { d.s.wipe() }
