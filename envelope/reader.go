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
// a frame only after that frame's tag verifies; on signed suites it also
// withholds the final frame (or a non-framed body) until the signature
// verifies. Regular frames of a signed message are authenticated by their
// tags when released but are not known to be signed until Read returns
// io.EOF; a caller that acts on data before then should use
// WithUnsignedOnly and unsigned suites.
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
}

const streamBufSize = 64 << 10

// NewReader reads and authenticates the header of a message from src and
// returns a reader of its plaintext. The context reproduced with
// WithContext must match the stored one; required keys come from it.
func NewReader(ctx context.Context, src io.Reader, kr keyring.Keyring, opts ...Option) (*Reader, error) {
	c, err := newConfig(opts)
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
	if s.signed() {
		r.hash = s.sigHash.New()
		r.hash.Write(h.raw)
		r.hash.Write(h.headerIV)
		r.hash.Write(h.authTag)
	}
	return r, nil
}

// openMessage reads the header from src, checks it against the
// configuration and authenticates it.
func openMessage(ctx context.Context, src io.Reader, kr keyring.Keyring, c *config) (*Header, *suite, *openedHeader, error) {
	h, err := parseHeader(src, c.maxHeaderSize, c.maxEDKs)
	if err != nil {
		return nil, nil, nil, err
	}
	s, _ := lookupSuite(h.Suite)
	if !c.policy.allowsDecrypt(s) {
		return nil, nil, nil, fmt.Errorf("%w: commitment policy %v does not allow decrypting %v", ErrPolicy, c.policy, h.Suite)
	}
	if c.unsignedOnly && s.signed() {
		return nil, nil, nil, fmt.Errorf("%w: message is signed (%v) and only unsigned messages are accepted", ErrPolicy, h.Suite)
	}
	if h.FrameSize > c.maxFrameSize {
		return nil, nil, nil, limitErr("frame length %d exceeds the maximum of %d", h.FrameSize, c.maxFrameSize)
	}
	oh, err := openHeader(ctx, kr, c, s, h)
	if err != nil {
		return nil, nil, nil, err
	}
	return h, s, oh, nil
}

type openedHeader struct {
	aead cipher.AEAD
	vk   *ecdsa.PublicKey
}

// openHeader unwraps the data key, derives the message key, and checks the
// key commitment and header tag.
func openHeader(ctx context.Context, kr keyring.Keyring, c *config, s *suite, h *Header) (*openedHeader, error) {
	m, err := decryptionMaterials(ctx, kr, c, s, h)
	if err != nil {
		return nil, fmt.Errorf("envelope: getting the data key: %w", err)
	}
	defer m.Zero()
	dataKey, commitKey, err := deriveKeys(s, m.PlaintextDataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(dataKey)
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	reqMap := map[string]string{}
	for _, k := range m.RequiredContextKeys {
		reqMap[k] = m.EncryptionContext[k]
	}
	requiredEC, err := keyring.SerializeContext(reqMap)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContext, err)
	}
	if err := verifyHeader(s, h, aead, commitKey, requiredEC); err != nil {
		return nil, err
	}
	return &openedHeader{aead: aead, vk: m.VerificationKey}, nil
}

// Header returns the authenticated header of the message.
func (r *Reader) Header() *Header { return r.h.clone() }

// Read reads decrypted plaintext. It returns io.EOF only after the whole
// message, including its signature, has been verified and no bytes follow
// it. Any other error means the message must be discarded.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			return 0, err
		}
		if err := r.nextFrame(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo writes the remaining plaintext to w.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.out) > 0 {
			n, err := w.Write(r.out)
			total += int64(n)
			r.out = r.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err != nil {
			return total, r.err
		}
		if r.done {
			return total, nil
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			return total, err
		}
		if err := r.nextFrame(); err != nil {
			r.err = err
			return total, err
		}
	}
}

// readFull reads exactly n bytes into r.buf (growing it only as data
// arrives, so a hostile length cannot make it allocate ahead of the input)
// and feeds them to the signature hash.
func (r *Reader) readFull(n int, what string) ([]byte, error) {
	const chunk = 1 << 20
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		k := min(n-len(r.buf), chunk)
		if cap(r.buf)-len(r.buf) < k {
			grown := make([]byte, len(r.buf), len(r.buf)+max(k, min(n-len(r.buf), cap(r.buf))))
			copy(grown, r.buf)
			r.buf = grown
		}
		start := len(r.buf)
		r.buf = r.buf[:start+k]
		if _, err := io.ReadFull(r.src, r.buf[start:]); err != nil {
			return nil, truncated(err, what)
		}
	}
	if r.hash != nil {
		r.hash.Write(r.buf)
	}
	return r.buf, nil
}

func (r *Reader) nextFrame() error {
	if r.h.ContentType == NonFramed {
		return r.nonFramed()
	}
	var hdr [4 + 4 + ivLen + 4]byte
	field, err := r.readSmall(hdr[:4], "frame sequence number")
	if err != nil {
		return err
	}
	final := binary.BigEndian.Uint32(field) == finalFrameSeq
	n := r.h.FrameSize
	var iv []byte
	if final {
		rest, err := r.readSmall(hdr[4:], "final frame header")
		if err != nil {
			return err
		}
		if got := binary.BigEndian.Uint32(rest); got != r.seq {
			return formatErr("final frame number %d, want %d", got, r.seq)
		}
		iv = rest[4 : 4+ivLen]
		cl := binary.BigEndian.Uint32(rest[4+ivLen:])
		if uint64(cl) > uint64(r.h.FrameSize) {
			return formatErr("final frame holds %d bytes, more than the frame length %d", cl, r.h.FrameSize)
		}
		n = int(cl)
	} else {
		if got := binary.BigEndian.Uint32(field); got != r.seq {
			return formatErr("frame number %d, want %d", got, r.seq)
		}
		if r.seq == maxFrames {
			return limitErr("more than %d frames", int64(maxFrames))
		}
		if iv, err = r.readSmall(hdr[4:4+ivLen], "frame IV"); err != nil {
			return err
		}
	}
	if r.c.strictFrameIVs && !checkIV(iv, r.seq) {
		return formatErr("frame %d IV is not the sequence IV", r.seq)
	}
	ct, err := r.readFull(n+tagLen, "frame")
	if err != nil {
		return err
	}
	label := labelFrame
	if final {
		label = labelFinalFrame
	}
	pt, err := r.fc.open(iv, ct, label, r.seq, uint64(n))
	if err != nil {
		return err
	}
	r.seq++
	if final {
		if err := r.finish(); err != nil {
			return err
		}
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
	iv := f[:ivLen]
	cl := binary.BigEndian.Uint64(f[ivLen:])
	if cl > maxNonFramedLen {
		return formatErr("non-framed body of %d bytes exceeds the format limit", cl)
	}
	if cl > uint64(r.c.maxFrameSize) {
		return limitErr("non-framed body of %d bytes exceeds the maximum of %d", cl, r.c.maxFrameSize)
	}
	if r.c.strictFrameIVs && !checkIV(iv, 1) {
		return formatErr("body IV is not the sequence IV")
	}
	ivCopy := [ivLen]byte(iv)
	ct, err := r.readFull(int(cl)+tagLen, "body")
	if err != nil {
		return err
	}
	pt, err := r.fc.open(ivCopy[:], ct, labelSingle, 1, cl)
	if err != nil {
		return err
	}
	if err := r.finish(); err != nil {
		return err
	}
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
		if !ecdsa.VerifyASN1(r.vk, r.hash.Sum(nil), sig) {
			return fmt.Errorf("%w: signature", ErrAuthentication)
		}
	}
	if _, err := r.src.ReadByte(); err == nil {
		return formatErr("bytes after the end of the message")
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("envelope: reading after the message: %w", err)
	}
	r.done = true
	return nil
}
