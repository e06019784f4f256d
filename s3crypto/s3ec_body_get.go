package s3crypto

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/gcmstream"
)

// s3ecSpoolMemory is the largest S3EC GCM object a GetObject body reads
// into memory whole and opens there; past it, the body keeps the object
// in a temporary file, checked as it is read back (s3ec_spool.go), and
// only an object of unknown length has its first s3ecSpoolMemory bytes
// kept in memory (so that a small one needs no file). It is small on
// purpose: memory a process touches for the first time costs page faults
// that, on some virtual machines, are slower than writing the same bytes
// to a file and reading them back. Tests lower it. A multiple of 16.
var s3ecSpoolMemory = 4 << 20

// s3ecReadBuf is how much ciphertext the legacy CBC body reads at once.
const s3ecReadBuf = 64 << 10

// s3ecSpoolRead is how much ciphertext the GCM body reads from S3 at once
// while it verifies (in a goroutine, up to 2 such chunks ahead).
const s3ecSpoolRead = 256 << 10

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
// hashed as it arrives and kept (the ciphertext as stored, never
// plaintext) in memory up to s3ecSpoolMemory bytes and beyond that in a
// temporary file, with the running GHASH state recorded in memory every
// s3ecChunk bytes; once the tag verified, what was kept is decrypted in
// parallel, each chunk of the file released only once its GHASH matches
// the state recorded for it (gcmstream.Replayer). A tampered, truncated or
// extended object fails with envelope.ErrAuthentication or
// envelope.ErrFormat and releases nothing; a temporary file modified in
// between fails with envelope.ErrAuthentication from the modified chunk
// on.
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
	b := &s3ecGCMBody{ctx: ctx, raw: raw.Body, cc: cc, aead: aead, want: want}
	if want < 0 || want > int64(s3ecSpoolMemory) {
		// The network keeps flowing while what was read is hashed and
		// written to the file.
		b.raw = readAheadSized(ctx, raw.Body, s3ecSpoolRead, 2)
	}
	return b, nil
}

// s3ecGCMBody is the plaintext of an S3EC GCM object, released once the
// tag verified.
type s3ecGCMBody struct {
	ctx  context.Context
	raw  io.ReadCloser
	cc   *s3ecContent
	aead cipher.AEAD       // for an object within the memory bound
	o    *gcmstream.Opener // for a larger one
	sp   *s3ecSpool        // what the Opener hashed, then its release
	want int64             // the content length (ciphertext without tag), or -1

	bucket, key string // named in its errors (getS3EC sets them)

	buf      []byte // an object read whole
	held     [s3ecTagLen]byte
	tail     int   // bytes held back in held[:tail]: they may be the tag
	n        int64 // content bytes hashed
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
			b.end(getErr(b.bucket, b.key, err))
			return 0, b.err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// WriteTo writes the plaintext to w, run by run, without copying it.
func (b *s3ecGCMBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(b.out) == 0 {
			if b.err == io.EOF {
				return total, nil
			}
			if b.err != nil {
				return total, b.err
			}
			if err := b.next(); err != nil {
				b.end(getErr(b.bucket, b.key, err))
				return total, b.err
			}
		}
		n, err := w.Write(b.out)
		if n < 0 || n > len(b.out) {
			n, err = 0, errInvalidWrite
		}
		total += int64(n)
		b.out = b.out[n:]
		if err == nil && len(b.out) > 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			b.end(err)
			return total, err
		}
	}
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
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	run, err := b.sp.next()
	if err != nil {
		return err
	}
	if run == nil {
		b.end(io.EOF)
		return nil
	}
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
// tag, and starts the release of what was kept.
func (b *s3ecGCMBody) verify() error {
	o, err := gcmstream.NewOpener(b.cc.key, b.cc.iv, b.cc.aad)
	if err != nil {
		return err
	}
	b.o, b.aead = o, nil
	memMax := s3ecSpoolMemory &^ 15
	if b.want >= 0 {
		memMax = 0 // known to be larger than that
	}
	b.sp = newS3ECSpool(memMax)
	b.sp.cleanup = runtime.AddCleanup(b, (*s3ecSpool).close, b.sp)
	ra, ok := b.raw.(*readAhead)
	if !ok {
		return errors.New("s3crypto: S3EC body not read ahead")
	}
	// The last 16 bytes read so far are held back in b.held: they may be
	// the tag.
	for {
		if err := b.ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
		}
		c, rerr := ra.chunk()
		if len(c) >= s3ecTagLen {
			if err := b.keep(b.held[:b.tail]); err != nil {
				return err
			}
			if err := b.keep(c[:len(c)-s3ecTagLen]); err != nil {
				return err
			}
			b.tail = copy(b.held[:], c[len(c)-s3ecTagLen:])
		} else if len(c) > 0 {
			var two [2 * s3ecTagLen]byte
			n := copy(two[:], b.held[:b.tail])
			n += copy(two[n:], c)
			if n > s3ecTagLen {
				if err := b.keep(two[:n-s3ecTagLen]); err != nil {
					return err
				}
			}
			b.tail = copy(b.held[:], two[max(n-s3ecTagLen, 0):n])
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
	if err := b.o.Verify(b.held[:]); err != nil {
		return fmt.Errorf("%w: content tag", envelope.ErrAuthentication)
	}
	final, err := b.o.Mark()
	if err != nil {
		return err
	}
	b.o.Wipe()
	err = b.sp.release(final, b.cc.key, b.cc.iv)
	b.cc.wipe()
	return err
}

// keep hashes and keeps ct, content of the object, marking the GHASH state
// at the start of the file and at every chunk boundary in it.
func (b *s3ecGCMBody) keep(ct []byte) error {
	if b.want >= 0 && b.n+int64(len(ct)) > b.want {
		return fmt.Errorf("%w: object longer than the %d bytes of content and tag expected", envelope.ErrFormat, b.want+s3ecTagLen)
	}
	if uint64(b.n)+uint64(len(ct)) > gcmstream.MaxLength {
		return fmt.Errorf("%w: object longer than one AES-GCM message can be", envelope.ErrFormat)
	}
	for len(ct) > 0 {
		k := b.sp.room(b.n, len(ct))
		if k == 0 {
			m, err := b.o.Mark()
			if err != nil {
				return err
			}
			if err := b.sp.mark(m); err != nil {
				return err
			}
			continue
		}
		if err := b.o.Hash(ct[:k]); err != nil {
			return err
		}
		if err := b.sp.write(ct[:k]); err != nil {
			return err
		}
		b.n += int64(k)
		ct = ct[k:]
	}
	return nil
}

// end makes err sticky and drops everything held: the kept ciphertext and
// the plaintext of it, the keys.
func (b *s3ecGCMBody) end(err error) {
	b.err = err
	b.out = nil
	if b.sp != nil {
		b.sp.close()
	}
	clear(b.buf)
	b.buf = nil
	b.cc.wipe()
	if b.o != nil {
		b.o.Wipe()
	}
	b.aead = nil
	if ra, ok := b.raw.(*readAhead); ok {
		ra.Close() // stops reading ahead (and closes the S3 body) now
	}
}

// Close drops what the body holds and closes the S3 body.
func (b *s3ecGCMBody) Close() error {
	if b.err == nil {
		b.end(envelope.ErrClosed)
	}
	return b.raw.Close()
}
