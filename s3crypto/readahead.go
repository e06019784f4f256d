package s3crypto

import (
	"context"
	"errors"
	"io"
)

// A whole-object GET reads the S3 body ahead of the decrypting reader, in
// a goroutine, so that the network keeps flowing while frames are opened:
// up to readAheadChunks chunks of readAheadChunk bytes wait to be read,
// in at most readAheadChunks+2 buffers (3 MiB) allocated as they are
// needed and reused. The body is ciphertext: this holds no plaintext.
const (
	readAheadChunk  = 512 << 10
	readAheadChunks = 4
	// readAheadMin is the smallest body of known length read ahead: a
	// smaller one is read directly.
	readAheadMin = 2 * readAheadChunk
)

// errBodyClosed is what a Read after Close returns.
var errBodyClosed = errors.New("s3crypto: read of a closed object body")

// readAheadBody returns body, read ahead once it is first read if it is
// not known to be shorter than readAheadMin. The goroutine starts only at
// the first Read, so a body that is never read (an object GetObject
// refuses) is never read ahead; it stops at the end of the body, at the
// first error, when ctx ends and on Close, which waits for it.
func readAheadBody(ctx context.Context, body io.ReadCloser, length *int64) io.ReadCloser {
	if body == nil || (length != nil && *length < readAheadMin) {
		return body
	}
	return readAheadSized(ctx, body, readAheadChunk, readAheadChunks)
}

// readAheadSized returns body read ahead in up to chunks chunks of size
// bytes (chunks+2 buffers).
func readAheadSized(ctx context.Context, body io.ReadCloser, size, chunks int) *readAhead {
	return &readAhead{ctx: ctx, body: body, size: size, chunks: chunks}
}

type readAhead struct {
	ctx          context.Context
	body         io.ReadCloser
	size, chunks int // of the buffers

	started, closed bool
	full            chan []byte   // read chunks; closed by the filler after it sets err
	free            chan []byte   // buffers the reader is done with
	done            chan struct{} // closed by Close
	exited          chan struct{} // closed when the filler returns
	err             error         // why the filler stopped; read after full is closed

	cur []byte // the unread rest of the chunk being read
	buf []byte // cur's whole buffer
}

func (r *readAhead) start() {
	r.started = true
	r.full = make(chan []byte, r.chunks)
	r.free = make(chan []byte, r.chunks+2)
	r.done = make(chan struct{})
	r.exited = make(chan struct{})
	go r.fill()
}

// fill reads the body chunk by chunk until it ends, fails, ctx ends or
// the body is closed. Errors of the body are kept as they are.
func (r *readAhead) fill() {
	defer close(r.exited)
	defer close(r.full)
	allocated := 0
	for {
		var b []byte
		select {
		case b = <-r.free:
		default:
			if allocated < r.chunks+2 {
				b = make([]byte, r.size)
				allocated++
				break
			}
			select {
			case b = <-r.free:
			case <-r.done:
				r.err = errBodyClosed
				return
			case <-r.ctx.Done():
				r.err = context.Cause(r.ctx)
				return
			}
		}
		n, err := 0, error(nil)
		for n < len(b) && err == nil {
			var k int
			k, err = r.body.Read(b[n:])
			n += k
		}
		if n > 0 {
			select {
			case r.full <- b[:n]:
			case <-r.done:
				r.err = errBodyClosed
				return
			case <-r.ctx.Done():
				r.err = context.Cause(r.ctx)
				return
			}
		}
		if err != nil {
			r.err = err
			return
		}
	}
}

func (r *readAhead) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errBodyClosed
	}
	if !r.started {
		r.start()
	}
	for len(r.cur) == 0 {
		if r.buf != nil {
			r.free <- r.buf[:cap(r.buf)] // never blocks: free holds every buffer
			r.buf = nil
		}
		b, err := r.receive()
		if err != nil {
			return 0, err
		}
		r.cur, r.buf = b, b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// chunk returns the next chunk read ahead, whole, valid until the next
// call of chunk, Read or Close; at the end, the error the body ended with
// (io.EOF). It must not be mixed with Read.
func (r *readAhead) chunk() ([]byte, error) {
	if r.closed {
		return nil, errBodyClosed
	}
	if !r.started {
		r.start()
	}
	if r.buf != nil {
		r.free <- r.buf[:cap(r.buf)] // never blocks: free holds every buffer
		r.buf, r.cur = nil, nil
	}
	b, err := r.receive()
	if err != nil {
		return nil, err
	}
	r.buf = b
	return b, nil
}

// receive waits for the next chunk read ahead. The end of ctx fails it
// with the cause at once, whatever the filler is doing: it may be blocked
// in a Read of a body that does not watch ctx, and chunks still queued
// are not released after the end of ctx.
func (r *readAhead) receive() ([]byte, error) {
	if r.ctx.Err() != nil {
		return nil, context.Cause(r.ctx)
	}
	select {
	case b, ok := <-r.full:
		if !ok {
			return nil, r.err
		}
		return b, nil
	case <-r.ctx.Done():
		return nil, context.Cause(r.ctx)
	}
}

// Close closes the body and waits for the filler to stop.
func (r *readAhead) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.started {
		close(r.done)
	}
	err := r.body.Close()
	if r.started {
		<-r.exited
	}
	r.cur, r.buf = nil, nil
	return err
}
