package envelope

import (
	"bufio"
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Reader decrypts one message from a stream. It releases the plaintext of
// a frame only after that frame's tag verifies. On signed suites it
// releases nothing until the signature at the end verifies, since anyone
// who can decrypt the message could have forged frames that pass their
// tags: it keeps the plaintext back, up to WithSpoolMemory bytes in memory
// and the rest in a temporary file sealed under a key held only in memory
// (see WithSpoolDir and WithMaxSpoolSize), and then releases it.
// WithInsecureReleaseBeforeSignature releases each frame once its tag
// verifies instead. Call Close when done with a Reader that was not read
// to the end, so that a spool file is removed and the plaintext it holds
// is wiped at once (both happen by themselves at the end of the message
// and when a read fails).
type Reader struct {
	ctx  context.Context
	src  *bufio.Reader
	h    *Header
	s    *suite
	fc   *frameCrypter
	hash hash.Hash
	vk   *ecdsa.PublicKey
	c    *config
	buf  []byte // ciphertext of the current frame, decrypted in place
	out  []byte // plaintext not yet returned
	seq  uint32
	done bool
	err  error

	rules  bodyRules
	par    *readPipeline // nil when frames are opened on the calling goroutine
	sp     *spool        // signed messages: plaintext kept until the signature verifies
	closed bool
}

const streamBufSize = 64 << 10

// NewReader reads and authenticates the header of a message from src and
// returns a reader of its plaintext. The context reproduced with
// WithContext must match the stored one; required keys come from it.
func NewReader(ctx context.Context, src io.Reader, kr keyring.Keyring, opts ...Option) (*Reader, error) {
	c, err := newConfig(opNewReader, opts)
	if err != nil {
		return nil, err
	}
	br, ok := src.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(src, streamBufSize)
	}
	h, s, oh, err := openMessage(ctx, br, kr, c)
	if err != nil {
		return nil, err
	}
	r := &Reader{ctx: ctx, src: br, h: h, s: s, c: c, fc: newFrameCrypter(oh.aead, h.MessageID), vk: oh.vk, seq: 1}
	r.rules = bodyRules{frameSize: h.FrameSize, strictIVs: c.strictFrameIVs, maxLen: c.maxFrameSize}
	if c.concurrency > 1 && h.ContentType == Framed && h.FrameSize >= minParallelReadFrame && h.FrameSize <= maxParallelFrame {
		r.par = newReadPipeline(c.concurrency, h.FrameSize)
		r.par.proto = r.fc
	}
	if s.signed() {
		r.hash = s.sigHash.New()
		r.hash.Write(h.raw)
		r.hash.Write(h.headerIV)
		r.hash.Write(h.authTag)
		if !c.earlyRelease {
			r.sp = &spool{memMax: c.spoolMemory, max: c.maxSpool, dir: c.spoolDir}
		}
	}
	return r, nil
}

// openMessage reads the header from src, checks it against the
// configuration and authenticates it.
func openMessage(ctx context.Context, src io.Reader, kr keyring.Keyring, c *config) (*Header, *suite, openedHeader, error) {
	if kr == nil {
		return nil, nil, openedHeader{}, errNilKeyring
	}
	if err := contextErr(ctx); err != nil {
		return nil, nil, openedHeader{}, err
	}
	h, err := parseHeader(src, c.maxHeaderSize, c.maxEDKs)
	if err != nil {
		return nil, nil, openedHeader{}, err
	}
	s, _ := lookupSuite(h.Suite)
	if !c.policy.allowsDecrypt(s) {
		return nil, nil, openedHeader{}, fmt.Errorf("%w: commitment policy %v does not allow decrypting %v", ErrPolicy, c.policy, h.Suite)
	}
	if c.unsignedOnly && s.signed() {
		return nil, nil, openedHeader{}, fmt.Errorf("%w: message is signed (%v) and only unsigned messages are accepted", ErrPolicy, h.Suite)
	}
	if h.FrameSize > c.maxFrameSize {
		return nil, nil, openedHeader{}, limitErr("frame length %d exceeds the maximum of %d", h.FrameSize, c.maxFrameSize)
	}
	oh, err := openHeader(ctx, kr, c, s, h)
	if err != nil {
		return nil, nil, openedHeader{}, err
	}
	return h, s, oh, nil
}

type openedHeader struct {
	aead cipher.AEAD
	vk   *ecdsa.PublicKey
}

// openHeader unwraps the data key, derives the message key, and checks the
// key commitment and header tag.
func openHeader(ctx context.Context, kr keyring.Keyring, c *config, s *suite, h *Header) (openedHeader, error) {
	var none openedHeader
	m, err := decryptionMaterials(ctx, kr, c, s, h)
	if err != nil {
		return none, fmt.Errorf("envelope: getting the data key: %w", err)
	}
	defer m.Zero()
	aead, err := authenticateHeader(s, h, m, !c.noNetV400Retry)
	if err != nil {
		return none, err
	}
	return openedHeader{aead: aead, vk: m.VerificationKey}, nil
}

// Header returns the authenticated header of the message.
func (r *Reader) Header() *Header { return r.h.clone() }

// Read reads decrypted plaintext. It returns io.EOF only after the whole
// message, including its signature, has been verified and no bytes follow
// it. Any other error means the message must be discarded.
func (r *Reader) Read(p []byte) (int, error) {
	if err := r.fill(); err != nil {
		return 0, err
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo writes the remaining plaintext to w.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := r.fill(); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
		n, err := w.Write(r.out)
		total += int64(n)
		r.out = r.out[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close releases what the Reader holds: it removes the spool file of a
// signed message and wipes the plaintext kept back and in its buffers.
// Read then fails with ErrClosed. Close does not close the source. It always returns nil.
func (r *Reader) Close() error {
	if !r.closed {
		r.closed = true
		r.wipe()
		if r.sp != nil {
			r.sp.close()
			r.sp = nil
		}
		if r.err == nil {
			r.err = ErrClosed
		}
	}
	return nil
}

// fill makes r.out non-empty, or returns io.EOF at the verified end of the
// message or the error that stopped it.
func (r *Reader) fill() error {
	for len(r.out) == 0 {
		if r.err != nil {
			return r.err
		}
		if r.done {
			if r.sp == nil {
				r.wipe()
				return io.EOF
			}
			out, err := r.sp.next()
			if err != nil || out == nil {
				r.sp.close()
				r.sp = nil
			}
			if err != nil {
				r.err = err
				return err
			}
			r.out = out
			continue
		}
		if err := contextErr(r.ctx); err != nil {
			r.fail(err)
			return err
		}
		if err := r.next(); err != nil {
			r.fail(err)
			return err
		}
	}
	return nil
}

// fail makes err sticky and drops what was kept back.
func (r *Reader) fail(err error) {
	r.err = err
	r.wipe()
	if r.sp != nil {
		r.sp.close()
		r.sp = nil
	}
}

// wipe clears the buffers that held plaintext, once the Reader has no
// more use for them: at the end of the message, on failure and on Close.
// It waits for batches still being opened in parallel.
func (r *Reader) wipe() {
	r.out = nil
	clear(r.buf[:cap(r.buf)])
	r.buf = nil
	if r.par != nil {
		r.par.wipe()
	}
}

// appendRead reads exactly n bytes from the source and appends them to
// buf, growing it only as data arrives so that a hostile length cannot make
// it allocate ahead of the input, and feeds them to the signature hash.
func (r *Reader) appendRead(buf []byte, n int, what string) ([]byte, error) {
	const chunk = 1 << 20
	start := len(buf)
	for len(buf)-start < n {
		k := min(n-(len(buf)-start), chunk)
		if cap(buf)-len(buf) < k {
			grown := make([]byte, len(buf), len(buf)+max(k, min(n-(len(buf)-start), cap(buf))))
			copy(grown, buf)
			clear(buf[len(buf):cap(buf)]) // a reused buffer may hold plaintext there
			buf = grown
		}
		at := len(buf)
		buf = buf[:at+k]
		if _, err := io.ReadFull(r.src, buf[at:]); err != nil {
			return buf[:at], truncated(err, what)
		}
	}
	if r.hash != nil {
		r.hash.Write(buf[start:])
	}
	return buf, nil
}

// readFull reads exactly n bytes into r.buf and hashes them.
func (r *Reader) readFull(n int, what string) ([]byte, error) {
	var err error
	r.buf, err = r.appendRead(r.buf[:0], n, what)
	return r.buf, err
}

// next sets r.out to the next plaintext that may be released. On signed
// messages with a spool that is the kept plaintext, once the signature
// verified.
func (r *Reader) next() error {
	if r.sp == nil {
		return r.step()
	}
	for {
		if err := r.step(); err != nil {
			return err
		}
		if r.done {
			break
		}
		if err := r.sp.write(r, r.out); err != nil {
			return err
		}
		r.out = nil
		if err := contextErr(r.ctx); err != nil {
			return err
		}
	}
	// The signature verified. The final frame (or the non-framed body)
	// is released after what was kept.
	if err := r.sp.reserve(len(r.out)); err != nil {
		r.done = false
		return err
	}
	if r.sp.total == 0 {
		r.sp = nil
		return nil
	}
	if err := r.sp.write(r, r.out); err != nil {
		r.done = false
		return err
	}
	r.wipe() // everything is in the spool now
	return r.sp.release()
}

// step reads and opens the next frame (or the non-framed body) and sets
// r.out to its plaintext.
func (r *Reader) step() error {
	if r.h.ContentType == NonFramed {
		return r.nonFramed()
	}
	if r.par != nil {
		return r.nextParallel()
	}
	return r.nextFrame()
}

// nextFrame reads, checks and opens one frame.
func (r *Reader) nextFrame() error {
	var hdr [finalHeadLen]byte
	first, err := r.readSmall(hdr[:4], "frame sequence number")
	if err != nil {
		return err
	}
	what := "frame IV"
	if isFinalMarker(first) {
		what = "final frame header"
	}
	if _, err := r.readSmall(hdr[4:headLen(first)], what); err != nil {
		return err
	}
	fh, err := r.rules.checkHead(hdr[:headLen(first)], r.seq)
	if err != nil {
		return err
	}
	ct, err := r.readFull(fh.n+tagLen, "frame")
	if err != nil {
		return err
	}
	pt, err := r.fc.open(fh.iv, ct, frameLabel(fh.final), r.seq, uint64(fh.n))
	if err != nil {
		return err
	}
	r.seq++
	if fh.final {
		if err := r.finish(); err != nil {
			return err
		}
		r.done = true
	}
	r.out = pt
	return nil
}

// readSmall reads a fixed-size field into dst and hashes it.
func (r *Reader) readSmall(dst []byte, what string) ([]byte, error) {
	if _, err := io.ReadFull(r.src, dst); err != nil {
		return nil, truncated(err, what)
	}
	if r.hash != nil {
		r.hash.Write(dst)
	}
	return dst, nil
}

func (r *Reader) nonFramed() error {
	var hdr [ivLen + 8]byte
	f, err := r.readSmall(hdr[:], "body header")
	if err != nil {
		return err
	}
	iv, n, err := r.rules.checkNonFramed(f)
	if err != nil {
		return err
	}
	ivCopy := [ivLen]byte(iv)
	ct, err := r.readFull(n+tagLen, "body")
	if err != nil {
		return err
	}
	pt, err := r.fc.open(ivCopy[:], ct, labelSingle, 1, uint64(n))
	if err != nil {
		return err
	}
	if err := r.finish(); err != nil {
		return err
	}
	r.done = true
	r.out = pt
	return nil
}

// finish verifies the footer and that nothing follows the message.
func (r *Reader) finish() error {
	if r.hash != nil {
		var l [2]byte
		if _, err := io.ReadFull(r.src, l[:]); err != nil {
			return truncated(err, "signature length")
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		sig := make([]byte, n)
		if _, err := io.ReadFull(r.src, sig); err != nil {
			return truncated(err, "signature")
		}
		if err := verifySignature(r.vk, r.hash.Sum(nil), sig); err != nil {
			return err
		}
	}
	if _, err := r.src.ReadByte(); err == nil {
		return trailingErr()
	} else if !errors.Is(err, io.EOF) {
		return readErr(err, "after the message")
	}
	return nil
}
