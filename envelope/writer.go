package envelope

import (
	"context"
	"fmt"
	"io"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Writer encrypts a stream into one message. Memory use is independent of
// the message size: with concurrency 1 it holds one frame of plaintext and
// one of ciphertext; otherwise it seals batches of frames (at least 256 KiB
// each) on up to WithConcurrency goroutines and holds at most
// concurrency + 2 batches. Write never retains the caller's buffer.
type Writer struct {
	dst      io.Writer
	sl       *sealer
	buf      []byte // pending plaintext, < frameSize bytes between calls
	out      []byte // serialized frame scratch
	seq      uint32
	written  int64
	declared int64
	err      error
	closed   bool
	par      *writePipeline // nil when frames are sealed on the calling goroutine
}

// NewWriter returns a *Writer that encrypts what is written to it into one
// message on dst. The header is written before NewWriter returns; Close
// writes the final frame and, on signed suites, the signature, and must be
// called. Without WithPlaintextLength the writer never uses a cache.
func NewWriter(ctx context.Context, dst io.Writer, kr keyring.Keyring, opts ...Option) (io.WriteCloser, error) {
	c, err := newConfig(opNewWriter, opts)
	if err != nil {
		return nil, err
	}
	if kr == nil {
		return nil, errNilKeyring
	}
	if c.plaintextLen >= 0 && frameCount(c.plaintextLen, c.frameSize) > maxFrames {
		return nil, limitErr("%d bytes need more than %d frames of %d bytes", c.plaintextLen, int64(maxFrames), c.frameSize)
	}
	sl, err := newSealer(ctx, kr, c, 0)
	if err != nil {
		return nil, err
	}
	w := &Writer{dst: dst, sl: sl, declared: c.plaintextLen, seq: 1}
	if c.concurrency > 1 && c.frameSize <= maxParallelFrame {
		w.par = newWritePipeline(c.concurrency, c.frameSize, sl.fc)
	}
	if _, err := dst.Write(sl.header); err != nil {
		return nil, fmt.Errorf("envelope: writing header: %w", err)
	}
	return w, nil
}

// Write encrypts p. Full frames are written to the destination as soon as
// they are complete.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.declared >= 0 && w.written+int64(w.pending())+int64(len(p)) > w.declared {
		w.err = fmt.Errorf("%w: more than the declared %d plaintext bytes written", ErrLimit, w.declared)
		return 0, w.err
	}
	if w.par != nil {
		return w.writeParallel(p)
	}
	n := 0
	fs := w.sl.frameSize
	for len(p) > 0 {
		if len(w.buf) == 0 && len(p) >= fs {
			// Encrypt straight from the caller's buffer.
			if err := w.emit(p[:fs], false); err != nil {
				return n, err
			}
			p, n = p[fs:], n+fs
			continue
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, min(fs, 1<<20))
		}
		k := min(fs-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(w.buf) == fs {
			if err := w.emit(w.buf, false); err != nil {
				return n, err
			}
			w.buf = w.buf[:0]
		}
	}
	return n, nil
}

// pending returns the plaintext bytes accepted but not yet in a frame.
func (w *Writer) pending() int {
	if w.par != nil {
		return w.par.pending()
	}
	return len(w.buf)
}

func (w *Writer) emit(pt []byte, final bool) error {
	if !final && w.seq == maxFrames {
		w.err = limitErr("message needs more than %d frames", int64(maxFrames))
		return w.err
	}
	w.out = w.sl.fc.appendFrame(w.out[:0], w.seq, pt, final)
	if w.sl.hash != nil {
		w.sl.hash.Write(w.out)
	}
	if _, err := w.dst.Write(w.out); err != nil {
		w.err = fmt.Errorf("envelope: writing frame %d: %w", w.seq, err)
		return w.err
	}
	w.written += int64(len(pt))
	w.seq++
	return nil
}

// Close writes the final frame and the signature. It does not close the
// destination. A message is complete only once Close returns nil.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if w.declared >= 0 && w.written+int64(w.pending()) != w.declared {
		w.err = fmt.Errorf("%w: %d plaintext bytes written, %d declared", ErrLimit, w.written+int64(w.pending()), w.declared)
		return w.err
	}
	if w.par != nil {
		if _, err := w.closeParallel(); err != nil {
			return err
		}
	}
	if err := w.emit(w.buf, true); err != nil {
		return err
	}
	clear(w.buf)
	if w.sl.hash != nil {
		f, err := w.sl.footer()
		if err != nil {
			w.err = err
			return err
		}
		if _, err := w.dst.Write(f); err != nil {
			w.err = fmt.Errorf("envelope: writing signature: %w", err)
			return w.err
		}
	}
	return nil
}
