package s3crypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// This file holds the reading of legacy AES-CBC objects of the Amazon S3
// Encryption Client (decrypt only, under a permissive policy).

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

	bucket, key string // named in its errors (getS3EC sets them)
}

func (b *s3ecCBCBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			b.end(b.err) // wipes the last plaintext once read
			return 0, b.err
		}
		if err := b.next(); err != nil {
			b.end(getErr(b.bucket, b.key, err))
			return 0, b.err
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
