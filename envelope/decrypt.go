package envelope

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash"
	"sync/atomic"
	"unsafe"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Decrypt decrypts a whole message and returns its plaintext and
// authenticated header. Nothing is returned unless every frame, the header
// and (on signed suites) the signature verify.
//
// Decrypt reads the header with the same parser as NewReader and checks
// the body with the same rules (body.go); frames are opened in parallel on
// up to WithConcurrency goroutines, straight from ciphertext into the
// returned plaintext.
func Decrypt(ctx context.Context, kr keyring.Keyring, ciphertext []byte, opts ...Option) ([]byte, *Header, error) {
	return AppendDecrypt(ctx, nil, kr, ciphertext, opts...)
}

// AppendDecrypt is Decrypt appending the plaintext to dst and returning
// the extended slice. When dst has room for the plaintext nothing is
// allocated for it, so a caller that reuses one buffer across messages
// (passing buf[:0]) saves allocating the plaintext each time. dst, up to
// its capacity, must not share memory with ciphertext: the plaintext is
// not decrypted in place, and such a dst fails with an error wrapping
// ErrInvalidOption before anything is written. On error it returns nil,
// dst[:len(dst)] is unchanged, and the bytes between its length and its
// capacity may have been overwritten (plaintext written there is wiped).
func AppendDecrypt(ctx context.Context, dst []byte, kr keyring.Keyring, ciphertext []byte, opts ...Option) ([]byte, *Header, error) {
	c, err := newConfig(opDecrypt, opts)
	if err != nil {
		return nil, nil, err
	}
	if overlaps(dst[:cap(dst)], ciphertext) {
		return nil, nil, fmt.Errorf("%w: dst overlaps the ciphertext (up to its capacity); pass a buffer that does not share memory with it", ErrInvalidOption)
	}
	d := &sliceDecoder{ct: ciphertext, workers: c.concurrency, dst: dst}
	d.src.Reset(ciphertext)
	h, s, oh, err := openMessage(ctx, &d.src, kr, c)
	if err != nil {
		return nil, nil, err
	}
	d.off = len(ciphertext) - d.src.Len()
	d.rules = bodyRules{frameSize: h.FrameSize, strictIVs: c.strictFrameIVs, maxLen: c.maxFrameSize}
	d.oh = oh
	d.fc = &d.fcBuf
	d.fc.init(oh.aead, h.MessageID)
	if s.signed() {
		d.hash = s.sigHash.New()
		d.hash.Write(ciphertext[:d.off])
	}
	var out []byte
	if h.ContentType == NonFramed {
		out, err = d.nonFramed()
	} else {
		out, err = d.framed()
	}
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		if out != nil {
			clear(out[len(dst):])
		}
		return nil, nil, err
	}
	return out, h, nil
}

// overlaps reports whether x and y share any byte of memory.
func overlaps(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	x0, y0 := uintptr(unsafe.Pointer(unsafe.SliceData(x))), uintptr(unsafe.Pointer(unsafe.SliceData(y)))
	return x0 <= y0+uintptr(len(y)-1) && y0 <= x0+uintptr(len(x)-1)
}

// grow returns dst with room for n more bytes, and those n bytes. A nil
// dst becomes an allocated slice, so that an empty plaintext is not nil.
func grow(dst []byte, n int) (whole, tail []byte) {
	if dst == nil || cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	whole = dst[:len(dst)+n]
	return whole, whole[len(dst):]
}

// sliceDecoder decodes the body of a message held in memory.
type sliceDecoder struct {
	src     bytes.Reader // the header is read from here
	ct      []byte
	off     int // next unread byte of ct
	rules   bodyRules
	fc      *frameCrypter
	fcBuf   frameCrypter
	failed  atomic.Int64 // lowest failing frame index + 1, 0 when none
	workers int
	hash    hash.Hash
	oh      openedHeader
	dst     []byte // the plaintext is appended to this
}

// need returns the next n bytes, or a truncation error naming what.
func (d *sliceDecoder) need(n int, what string) ([]byte, error) {
	if n < 0 || len(d.ct)-d.off < n {
		return nil, formatErr("message truncated in %s", what)
	}
	b := d.ct[d.off : d.off+n]
	d.off += n
	return b, nil
}

// framed checks every frame header, then opens the frames in parallel.
// Errors come out in message order, as from a Reader: a frame that fails
// to authenticate is reported before a malformed frame after it.
func (d *sliceDecoder) framed() ([]byte, error) {
	fs := d.rules.frameSize
	body := d.off
	flen := regularHeadLen + fs + tagLen
	regular := 0
	var final frameHead
	finalOff := -1
	var scanErr error
	for seq := uint32(1); ; seq++ {
		first, err := d.need(4, "frame sequence number")
		if err != nil {
			scanErr = err
			break
		}
		what := "frame IV"
		if isFinalMarker(first) {
			what = "final frame header"
		}
		d.off -= 4
		head, err := d.need(headLen(first), what)
		if err != nil {
			scanErr = err
			break
		}
		fh, err := d.rules.checkHead(head, seq)
		if err != nil {
			scanErr = err
			break
		}
		if _, err := d.need(fh.n+tagLen, "frame"); err != nil {
			scanErr = err
			break
		}
		if fh.final {
			final, finalOff = fh, d.off-fh.n-tagLen
			break
		}
		regular++
	}
	finalN := 0
	if finalOff >= 0 {
		finalN = final.n
	}
	whole, pt := grow(d.dst, regular*fs+finalN)
	per := framesPerBatch(fs)
	batches := (regular + per - 1) / per
	workers := d.workers
	if batches < 2 {
		workers = 1
	}
	failed := &d.failed
	if workers <= 1 {
		for b := range batches {
			first, last := b*per, min((b+1)*per, regular)
			if !d.openRange(d.fc, pt, body, first, last, failed) {
				break
			}
			if d.hash != nil && scanErr == nil {
				d.hash.Write(d.ct[body+first*flen : body+last*flen])
			}
		}
	} else {
		crypters := d.fc.crypters(min(workers, batches))
		work := func(w, b int) {
			d.openRange(crypters[w], pt, body, b*per, min((b+1)*per, regular), failed)
		}
		var hashStage func(int)
		if d.hash != nil && scanErr == nil {
			hashStage = func(b int) {
				d.hash.Write(d.ct[body+b*per*flen : body+min((b+1)*per, regular)*flen])
			}
		}
		runBatches(batches, workers, work, hashStage)
	}
	if f := failed.Load(); f != 0 {
		clear(pt)
		return nil, frameAuthErr(uint32(f))
	}
	if scanErr != nil {
		clear(pt)
		return nil, scanErr
	}
	seq := uint32(regular + 1)
	ct := d.ct[finalOff : finalOff+final.n+tagLen]
	if !d.fc.openTo(pt[regular*fs:regular*fs:len(pt)], final.iv, ct, labelFinalFrame, seq, uint64(final.n)) {
		clear(pt)
		return nil, frameAuthErr(seq)
	}
	if d.hash != nil {
		d.hash.Write(d.ct[body+regular*flen : d.off])
	}
	return whole, nil
}

// openRange opens regular frames [first, last) into their places in pt and
// reports whether all verified; on a failure it lowers failed to the index
// + 1 of the failing frame. It stops early once a frame before its next
// one has failed.
func (d *sliceDecoder) openRange(fc *frameCrypter, pt []byte, body, first, last int, failed *atomic.Int64) bool {
	fs := d.rules.frameSize
	flen := regularHeadLen + fs + tagLen
	for i := first; i < last; i++ {
		if f := failed.Load(); f != 0 && int(f) <= i {
			return false
		}
		f := d.ct[body+i*flen:][:flen]
		out := pt[i*fs : i*fs : (i+1)*fs]
		if !fc.openTo(out, f[4:regularHeadLen], f[regularHeadLen:], labelFrame, uint32(i+1), uint64(fs)) {
			for {
				cur := failed.Load()
				if (cur != 0 && int(cur) <= i+1) || failed.CompareAndSwap(cur, int64(i+1)) {
					return false
				}
			}
		}
	}
	return true
}

func (d *sliceDecoder) nonFramed() ([]byte, error) {
	start := d.off
	head, err := d.need(nonFramedHead, "body header")
	if err != nil {
		return nil, err
	}
	iv, n, err := d.rules.checkNonFramed(head)
	if err != nil {
		return nil, err
	}
	ct, err := d.need(n+tagLen, "body")
	if err != nil {
		return nil, err
	}
	whole, pt := grow(d.dst, n)
	if !d.fc.openTo(pt[:0], iv, ct, labelSingle, 1, uint64(n)) {
		clear(pt)
		return nil, frameAuthErr(1)
	}
	if d.hash != nil {
		d.hash.Write(d.ct[start:d.off])
	}
	return whole, nil
}

// finish verifies the footer and that nothing follows the message.
func (d *sliceDecoder) finish() error {
	if d.hash != nil {
		l, err := d.need(2, "signature length")
		if err != nil {
			return err
		}
		sig, err := d.need(int(binary.BigEndian.Uint16(l)), "signature")
		if err != nil {
			return err
		}
		if err := verifySignature(d.oh.vk, d.hash.Sum(nil), sig); err != nil {
			return err
		}
	}
	if d.off != len(d.ct) {
		return trailingErr()
	}
	return nil
}
