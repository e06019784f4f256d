package s3crypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/gcmstream"
	"github.com/cryptkeeper-go/cryptkeeper/internal/spool"
)

// s3ecSpoolMemory is how much of an S3EC GCM object a GetObject body
// keeps in memory while it waits for the tag at the end; the rest goes to
// a temporary file sealed under a key held only in memory (internal/spool).
// Tests lower it.
var s3ecSpoolMemory = envelope.DefaultSpoolMemory

// s3ecReadBuf is how much ciphertext is read from S3 at once.
const s3ecReadBuf = 64 << 10

// openS3ECBody returns the plaintext of raw (the output of a whole-object GET) as a
// reader that releases no byte before the tag has verified (GCM suites; bounded
// memory, spooling beyond it), or, for s3ecCBC, the unpadded plaintext (FMT only calls
// it for CBC under a permissive policy). plainLen is the plaintext length the metadata
// states, or -1; a mismatch is envelope.ErrFormat. It takes ownership of cc (wipes it on
// Close, EOF and error) and closes raw.Body on Close.
//
// The GCM body reads the whole ciphertext on the first Read. An object
// whose length is known and within s3ecSpoolMemory is read into one
// buffer and opened there. A larger one (or one of unknown length) is
// hashed as it arrives and kept (ciphertext, not plaintext) in memory up
// to s3ecSpoolMemory bytes and beyond that in a sealed temporary file;
// once the tag verified, what was kept is decrypted as it is read. A
// tampered, truncated or extended object fails with
// envelope.ErrAuthentication or envelope.ErrFormat and releases nothing.
func (c *Client) openS3ECBody(ctx context.Context, raw *s3.GetObjectOutput, cc *s3ecContent, plainLen int64) (io.ReadCloser, error) {
	if raw == nil || raw.Body == nil {
		cc.wipe()
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	if cc == nil || len(cc.key) != s3ecKeyLen {
		cc.wipe()
		return nil, fmt.Errorf("%w: no content key", envelope.ErrFormat)
	}
	objLen := int64(-1)
	if raw.ContentLength != nil {
		objLen = *raw.ContentLength
	}
	if cc.suite == s3ecCBC {
		return openS3ECCBC(ctx, raw.Body, cc, plainLen, objLen)
	}
	switch {
	case plainLen > gcmstream.MaxLength:
		cc.wipe()
		return nil, fmt.Errorf("%w: the metadata states %d bytes of plaintext, more than AES-GCM allows", envelope.ErrFormat, plainLen)
	case objLen >= 0 && objLen < s3ecTagLen:
		cc.wipe()
		return nil, fmt.Errorf("%w: object of %d bytes is shorter than the %d-byte tag", envelope.ErrFormat, objLen, s3ecTagLen)
	case objLen >= 0 && plainLen >= 0 && objLen != plainLen+s3ecTagLen:
		cc.wipe()
		return nil, fmt.Errorf("%w: object is %d bytes, its metadata implies %d", envelope.ErrFormat, objLen, plainLen+s3ecTagLen)
	}
	aead, err := cc.gcm()
	if err != nil {
		cc.wipe()
		return nil, err
	}
	want := plainLen
	if want < 0 && objLen >= 0 {
		want = objLen - s3ecTagLen
	}
	return &s3ecGCMBody{ctx: ctx, raw: raw.Body, cc: cc, aead: aead, want: want}, nil
}

// s3ecGCMBody is the plaintext of an S3EC GCM object, released once the
// tag verified.
type s3ecGCMBody struct {
	ctx  context.Context
	raw  io.ReadCloser
	cc   *s3ecContent
	aead cipher.AEAD       // for an object within the memory bound
	o    *gcmstream.Opener // for a larger one
	sp   *spool.Spool
	ctr  cipher.Stream
	want int64 // the content length (ciphertext without tag), or -1

	buf      []byte // [16-byte window for the held-back tail | what is read]
	tail     int    // bytes held back at buf[16-tail:16]: they may be the tag
	n        int64  // content bytes hashed
	verified bool
	out      []byte
	err      error
}

func (b *s3ecGCMBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if err := b.next(); err != nil {
			b.end(err)
			return 0, b.err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// next sets b.out to the next run of verified plaintext, or ends the body.
func (b *s3ecGCMBody) next() error {
	if !b.verified {
		b.verified = true // a failure ends the body
		if b.want >= 0 && b.want <= int64(s3ecSpoolMemory) {
			return b.openWhole()
		}
		return b.verify()
	}
	if b.sp == nil {
		b.end(io.EOF)
		return nil
	}
	run, err := b.sp.Next()
	if err != nil {
		if errors.Is(err, spool.ErrModified) {
			return fmt.Errorf("%w: %w", envelope.ErrAuthentication, err)
		}
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	if run == nil {
		b.end(io.EOF)
		return nil
	}
	b.ctr.XORKeyStream(run, run)
	b.out = run
	return nil
}

// openWhole reads an object of known length that fits in the memory
// bound into one buffer and opens it there, with the one-shot AES-GCM.
func (b *s3ecGCMBody) openWhole() error {
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	b.buf = make([]byte, b.want+s3ecTagLen)
	if _, err := io.ReadFull(b.raw, b.buf); err != nil {
		return bodyErr(err)
	}
	var one [1]byte
	if k, err := io.ReadFull(b.raw, one[:]); k > 0 {
		return fmt.Errorf("%w: object longer than the %d bytes of content and tag expected", envelope.ErrFormat, len(b.buf))
	} else if !errors.Is(err, io.EOF) {
		return bodyErr(err)
	}
	b.cc.wipe()
	pt, err := b.aead.Open(b.buf[:0], b.cc.iv, b.buf, b.cc.aad)
	b.aead = nil
	if err != nil {
		return fmt.Errorf("%w: content tag", envelope.ErrAuthentication)
	}
	b.out = pt
	return nil
}

// verify reads, hashes and keeps the whole ciphertext, then checks the
// tag, and prepares the release of what was kept.
func (b *s3ecGCMBody) verify() error {
	o, err := gcmstream.NewOpener(b.cc.key, b.cc.iv, b.cc.aad)
	if err != nil {
		return err
	}
	b.o, b.aead = o, nil
	b.sp = spool.New(s3ecSpoolMemory, -1, "")
	b.buf = make([]byte, s3ecTagLen+s3ecReadBuf)
	for {
		if err := b.ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
		}
		k, rerr := b.raw.Read(b.buf[s3ecTagLen:])
		if k > 0 {
			seg := b.buf[s3ecTagLen-b.tail : s3ecTagLen+k]
			if content := len(seg) - s3ecTagLen; content > 0 {
				if err := b.keep(seg[:content]); err != nil {
					return err
				}
				seg = seg[content:]
			}
			b.tail = copy(b.buf[s3ecTagLen-len(seg):s3ecTagLen], seg)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return bodyErr(rerr)
		}
	}
	if b.tail < s3ecTagLen {
		return fmt.Errorf("%w: object of %d bytes is shorter than the %d-byte tag", envelope.ErrFormat, b.tail, s3ecTagLen)
	}
	if b.want >= 0 && b.n != b.want {
		return fmt.Errorf("%w: object truncated: %d bytes of content, %d expected", envelope.ErrFormat, b.n, b.want)
	}
	if err := b.o.Verify(b.buf[:s3ecTagLen]); err != nil {
		return fmt.Errorf("%w: content tag", envelope.ErrAuthentication)
	}
	ctr, err := gcmstream.NewCTR(b.cc.key, b.cc.iv, 0)
	if err != nil {
		return err
	}
	b.ctr = ctr
	b.cc.wipe()
	b.o.Wipe()
	clear(b.buf)
	b.buf = nil
	if err := b.sp.Release(); err != nil {
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	return nil
}

// keep hashes and keeps ct, content of the object.
func (b *s3ecGCMBody) keep(ct []byte) error {
	if b.want >= 0 && b.n+int64(len(ct)) > b.want {
		return fmt.Errorf("%w: object longer than the %d bytes of content and tag expected", envelope.ErrFormat, b.want+s3ecTagLen)
	}
	if err := b.o.Hash(ct); err != nil {
		if errors.Is(err, gcmstream.ErrTooLong) {
			return fmt.Errorf("%w: object longer than one AES-GCM message can be", envelope.ErrFormat)
		}
		return err
	}
	b.n += int64(len(ct))
	if err := b.sp.Write(ct); err != nil {
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	return nil
}

// end makes err sticky and drops everything held: the kept ciphertext and
// the plaintext of it, the keys.
func (b *s3ecGCMBody) end(err error) {
	b.err = err
	b.out = nil
	if b.sp != nil {
		b.sp.Close()
	}
	clear(b.buf)
	b.buf = nil
	b.cc.wipe()
	if b.o != nil {
		b.o.Wipe()
	}
	b.ctr, b.aead = nil, nil
}

// Close drops what the body holds and closes the S3 body.
func (b *s3ecGCMBody) Close() error {
	if b.err == nil {
		b.end(envelope.ErrClosed)
	}
	return b.raw.Close()
}

// openS3ECCBC returns the plaintext of a legacy AES-CBC object. It is
// unauthenticated: blocks are released as they are decrypted, but the
// last one, which is held back until the end to remove the padding.
func openS3ECCBC(ctx context.Context, raw io.ReadCloser, cc *s3ecContent, plainLen, objLen int64) (io.ReadCloser, error) {
	if objLen >= 0 && (objLen == 0 || objLen%aes.BlockSize != 0) {
		cc.wipe()
		return nil, errCBC
	}
	if objLen >= 0 && plainLen >= 0 && (plainLen/aes.BlockSize+1)*aes.BlockSize != objLen {
		cc.wipe()
		return nil, fmt.Errorf("%w: object is %d bytes, its metadata implies %d", envelope.ErrFormat, objLen, (plainLen/aes.BlockSize+1)*aes.BlockSize)
	}
	block, err := aes.NewCipher(cc.key)
	cc.wipe()
	if err != nil {
		return nil, err
	}
	return &s3ecCBCBody{ctx: ctx, raw: raw, dec: cipher.NewCBCDecrypter(block, cc.iv), want: plainLen}, nil
}

// errCBC is the one error of a CBC object whose length or padding is
// wrong, so that it tells nothing more about the plaintext.
var errCBC = fmt.Errorf("%w: AES-CBC object with invalid length or padding", envelope.ErrAuthentication)

// s3ecCBCBody decrypts a CBC object as it is read.
type s3ecCBCBody struct {
	ctx  context.Context
	raw  io.ReadCloser
	dec  cipher.BlockMode
	want int64  // plaintext length, or -1
	buf  []byte // ciphertext at buf[off:have]; buf[:off] is b.out's array
	off  int
	have int
	n    int64
	out  []byte
	err  error
}

func (b *s3ecCBCBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			b.end(b.err) // wipes the last plaintext once read
			return 0, b.err
		}
		if err := b.next(); err != nil {
			b.end(err)
			return 0, err
		}
	}
	k := copy(p, b.out)
	b.out = b.out[k:]
	return k, nil
}

// next reads more ciphertext and releases all of it but the last whole
// block and a partial one, or, at the end of the object, unpads.
func (b *s3ecCBCBody) next() error {
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	if b.buf == nil {
		b.buf = make([]byte, s3ecReadBuf+2*aes.BlockSize)
	}
	clear(b.buf[:b.off]) // released plaintext
	b.have = copy(b.buf, b.buf[b.off:b.have])
	b.off = 0
	k, rerr := io.ReadAtLeast(b.raw, b.buf[b.have:], 1)
	b.have += k
	if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
		return b.last()
	}
	if rerr != nil {
		return bodyErr(rerr)
	}
	rel := (b.have/aes.BlockSize - 1) * aes.BlockSize
	if rel <= 0 {
		return nil // all of it may be the last block
	}
	b.n += int64(rel)
	if b.want >= 0 && b.n > b.want {
		return fmt.Errorf("%w: more plaintext than the %d bytes the metadata says", envelope.ErrFormat, b.want)
	}
	b.dec.CryptBlocks(b.buf[:rel], b.buf[:rel])
	b.out, b.off = b.buf[:rel], rel
	return nil
}

// last decrypts and unpads the final block(s) at the end of the object.
func (b *s3ecCBCBody) last() error {
	if b.have == 0 || b.have%aes.BlockSize != 0 {
		return errCBC
	}
	b.dec.CryptBlocks(b.buf[:b.have], b.buf[:b.have])
	pad, ok := pkcs7(b.buf[b.have-aes.BlockSize : b.have])
	if !ok {
		return errCBC
	}
	pt := b.buf[:b.have-pad]
	b.n += int64(len(pt))
	if b.want >= 0 && b.n != b.want {
		return fmt.Errorf("%w: %d bytes of plaintext, the metadata says %d", envelope.ErrFormat, b.n, b.want)
	}
	b.out, b.off = pt, b.have
	b.err = io.EOF // once b.out is read
	return nil
}

// pkcs7 returns the padding length of the last block, checked in
// constant time.
func pkcs7(last []byte) (int, bool) {
	pad := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeByteEq(byte(pad), 0) ^ 1
	good &= subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := range aes.BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize, i+pad)
		good &= (inPad ^ 1) | subtle.ConstantTimeByteEq(last[i], byte(pad))
	}
	return pad, good == 1
}

func (b *s3ecCBCBody) end(err error) {
	b.err = err
	b.out = nil
	clear(b.buf)
	b.buf = nil
}

// Close wipes what the body holds and closes the S3 body.
func (b *s3ecCBCBody) Close() error {
	if b.err == nil || b.err == io.EOF {
		b.end(envelope.ErrClosed)
	}
	return b.raw.Close()
}
