package envelope

import (
	"context"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// FrameOpener opens the frames of one framed message one at a time, in
// any order, once its header has been authenticated: it is what a reader
// of a byte range of a message (such as a ranged GET of a stored object)
// uses to decrypt only the frames that hold the range. Each frame is
// authenticated before any of its plaintext is returned. Only messages of
// unsigned suites can be opened so: the signature of a signed suite
// covers the whole message, so no frame of it may be trusted alone.
//
// A FrameOpener is not safe for concurrent use. Close it when done.
type FrameOpener struct {
	h     *Header
	fc    *frameCrypter
	rules bodyRules
	hlen  int
}

// OpenHeader reads the header of a framed message from r (reading at most
// the header's bytes when r returns them one call at a time, and possibly
// more otherwise), checks it against opts as NewReader does, unwraps the
// data key with kr and authenticates the header. It takes the options
// whose comment says they apply to OpenHeader (those of a reader, but for
// the ones about the body stream: concurrency and spooling) and refuses
// the others with ErrInvalidOption. A message of a signed suite fails with
// ErrPolicy before kr is called, and a non-framed message with ErrFormat.
func OpenHeader(ctx context.Context, r io.Reader, kr keyring.Keyring, opts ...Option) (*FrameOpener, error) {
	c, err := newConfig(opOpenHeader, opts)
	if err != nil {
		return nil, err
	}
	c.unsignedOnly = true
	h, _, oh, err := openMessage(ctx, r, kr, c)
	if err != nil {
		return nil, err
	}
	if h.ContentType != Framed {
		return nil, formatErr("message is not framed")
	}
	return &FrameOpener{
		h:     h,
		fc:    newFrameCrypter(oh.aead, h.MessageID),
		rules: bodyRules{frameSize: h.FrameSize, strictIVs: c.strictFrameIVs, maxLen: c.maxFrameSize},
		hlen:  len(h.raw) + len(h.headerIV) + len(h.authTag),
	}, nil
}

// Header returns the authenticated header of the message.
func (o *FrameOpener) Header() *Header { return o.h.clone() }

// FrameSize returns the plaintext length of every frame but the final one.
func (o *FrameOpener) FrameSize() int { return o.h.FrameSize }

// HeaderLength returns the length in bytes of the serialized header: the
// first frame starts at this offset of the message.
func (o *FrameOpener) HeaderLength() int { return o.hlen }

// FrameLength returns the serialized length of a frame of n bytes of
// plaintext (the frame size, for all but the final frame).
func FrameLength(n int, final bool) int {
	if final {
		return finalHeadLen + n + tagLen
	}
	return regularHeadLen + n + tagLen
}

// OpenFrame authenticates and decrypts frame, the serialized frame
// expected to be frame number seq (frames are numbered from 1) and to be
// the final frame of the message exactly when final is set, and appends
// its plaintext to dst. A frame that is not the expected one (another
// sequence number, a regular frame where the final one is expected or the
// reverse, a length that is not the frame's, an IV that breaks the rules
// of WithStrictFrameIVs) fails with ErrFormat; a frame whose tag does not
// verify fails with ErrAuthentication. On failure nothing is appended and
// no plaintext is left in dst's spare capacity. frame is not modified.
// dst must not overlap frame. After Close, OpenFrame fails with ErrClosed.
func (o *FrameOpener) OpenFrame(dst []byte, seq uint32, final bool, frame []byte) ([]byte, error) {
	if o.fc == nil {
		return dst, ErrClosed
	}
	if seq == 0 {
		return dst, formatErr("frame number 0")
	}
	if len(frame) < 4 {
		return dst, formatErr("frame %d of %d bytes is too short", seq, len(frame))
	}
	if isFinalMarker(frame) != final {
		if final {
			return dst, formatErr("frame %d is not the final frame", seq)
		}
		return dst, formatErr("frame %d is the final frame, a regular one is expected", seq)
	}
	hl := headLen(frame)
	if len(frame) < hl {
		return dst, formatErr("frame %d of %d bytes is too short", seq, len(frame))
	}
	fh, err := o.rules.checkHead(frame[:hl], seq)
	if err != nil {
		return dst, err
	}
	if want := hl + fh.n + tagLen; len(frame) != want {
		return dst, formatErr("frame %d is %d bytes, its header implies %d", seq, len(frame), want)
	}
	start := len(dst)
	dst = growCap(dst, fh.n)
	if !o.fc.openTo(dst, fh.iv, frame[hl:], frameLabel(fh.final), seq, uint64(fh.n)) {
		clear(dst[start : start+fh.n])
		return dst, frameAuthErr(seq)
	}
	return dst[:start+fh.n], nil
}

// growCap returns b with room for n more bytes after len(b).
func growCap(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// Close drops the message key; OpenFrame then fails with ErrClosed. It
// always returns nil.
func (o *FrameOpener) Close() error {
	o.fc = nil
	return nil
}
