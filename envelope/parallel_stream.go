package envelope

import (
	"fmt"
)

// Streaming in parallel. A Writer copies plaintext into batches laid out
// as the frames will be written and seals each full batch in place on its
// own goroutine; the calling goroutine writes (and hashes) finished
// batches in order. A Reader reads batches of frames ahead, opens each in
// place on its own goroutine and releases frames in order once their tags
// verify. At most window batches are in flight, so memory stays bounded
// by about (window+1) × max(batchBytes, frame size).
//
// Each batch runs on a goroutine started for it that ends by itself when
// the batch is done, so a Writer or Reader that is dropped without Close
// leaks nothing. Per batch (not per frame) that costs one goroutine start.

// frameRef locates one frame inside a batch buffer.
type frameRef struct {
	iv    int // offset of the IV
	ct    int // offset of the ciphertext (plaintext once opened)
	n     int // plaintext length
	final bool
}

// batch is a run of consecutive frames of one message.
type batch struct {
	buf    []byte
	frames []frameRef // reader only
	count  int        // frames in the batch
	seq    uint32     // sequence number of the first frame
	fc     *frameCrypter
	done   chan struct{}
	src    []byte // writer: the caller's plaintext, sealed from there; nil when it was copied into buf

	ok      int   // reader: frames opened before the first failure
	authErr error // reader: the first frame that failed
	tailErr error // reader: what stopped reading after these frames
}

// window holds the batches in flight in order and recycles finished ones.
type window struct {
	max      int
	inflight []*batch
	free     []*batch
	proto    *frameCrypter
}

func (w *window) get() *batch {
	if n := len(w.free); n > 0 {
		b := w.free[n-1]
		w.free = w.free[:n-1]
		return b
	}
	return &batch{fc: w.proto.crypters(2)[1], done: make(chan struct{}, 1)}
}

func (w *window) put(b *batch) {
	b.buf, b.frames = b.buf[:0], b.frames[:0]
	b.count, b.ok, b.authErr, b.tailErr, b.src = 0, 0, nil, nil, nil
	w.free = append(w.free, b)
}

func (w *window) full() bool { return len(w.inflight) >= w.max }

// oldest waits for the first batch in flight and removes it from the window.
func (w *window) oldest() *batch {
	b := w.inflight[0]
	<-b.done
	w.inflight[0] = nil
	w.inflight = w.inflight[1:]
	return b
}

// oldestReady reports whether the first batch in flight is done, without
// waiting.
func (w *window) oldestReady() bool {
	select {
	case <-w.inflight[0].done:
		w.inflight[0].done <- struct{}{}
		return true
	default:
		return false
	}
}

// ---- Writer ----

type writePipeline struct {
	window
	per  int // frames per batch
	flen int // serialized length of a regular frame
	cur  *batch
	fill int // plaintext bytes of the partial frame in cur
}

func newWritePipeline(concurrency, fs int, fc *frameCrypter) *writePipeline {
	return &writePipeline{
		window: window{max: concurrency + 1, proto: fc},
		per:    framesPerBatch(fs),
		flen:   regularHeadLen + fs + tagLen,
	}
}

// pending returns the plaintext bytes accepted but not yet in a full frame.
func (p *writePipeline) pending() int { return p.fill }

// writeParallel copies p into frame slots; full batches are sealed on
// their own goroutine.
func (w *Writer) writeParallel(p []byte) (int, error) {
	wp := w.par
	fs := w.sl.frameSize
	n := 0
	// Whole batches are sealed straight from p when nothing is pending;
	// Write waits for them before returning, since p is the caller's.
	defer w.releaseBorrowed()
	for len(p) > 0 {
		if whole := wp.per * fs; wp.cur == nil && len(p) >= whole {
			if uint64(w.seq)+uint64(wp.per) > maxFrames {
				w.err = limitErr("message needs more than %d frames", int64(maxFrames))
				return n, w.err
			}
			b := wp.get()
			b.seq, b.count, b.src = w.seq, wp.per, p[:whole]
			if cap(b.buf) < wp.per*wp.flen {
				b.buf = make([]byte, wp.per*wp.flen)
			}
			b.buf = b.buf[:wp.per*wp.flen]
			w.seq += uint32(wp.per)
			w.written += int64(whole)
			p, n = p[whole:], n+whole
			if err := w.dispatch(b); err != nil {
				return n, err
			}
			continue
		}
		if wp.cur == nil {
			wp.cur = wp.get()
			wp.cur.seq = w.seq
		}
		b := wp.cur
		slot := b.count*wp.flen + regularHeadLen
		if len(b.buf) < slot+fs {
			// Grow one frame at a time up to a whole batch, so that a small
			// message never allocates a whole batch.
			want := min(wp.per*wp.flen, max(2*cap(b.buf), slot+fs+tagLen))
			if cap(b.buf) < slot+fs+tagLen {
				grown := make([]byte, len(b.buf), want)
				copy(grown, b.buf)
				b.buf = grown
			}
			b.buf = b.buf[:slot+fs+tagLen]
		}
		k := copy(b.buf[slot+wp.fill:slot+fs], p)
		p, n, wp.fill = p[k:], n+k, wp.fill+k
		if wp.fill < fs {
			continue
		}
		if w.seq == maxFrames {
			w.err = limitErr("message needs more than %d frames", int64(maxFrames))
			return n, w.err
		}
		wp.fill = 0
		b.count++
		w.seq++
		w.written += int64(fs)
		if b.count == wp.per {
			wp.cur = nil
			if err := w.dispatch(b); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// dispatch starts sealing b, first making room in the window.
func (w *Writer) dispatch(b *batch) error {
	wp := w.par
	for wp.full() {
		if err := w.flushOldest(); err != nil {
			return err
		}
	}
	wp.inflight = append(wp.inflight, b)
	go sealBatch(b, wp.flen, w.sl.frameSize)
	return nil
}

func sealBatch(b *batch, flen, fs int) {
	for i := range b.count {
		off := i * flen
		var pt []byte
		if b.src != nil {
			pt = b.src[i*fs : (i+1)*fs]
		} else {
			// Sealed in place: the ciphertext overwrites pt exactly.
			pt = b.buf[off+regularHeadLen : off+regularHeadLen+fs]
		}
		b.fc.appendFrame(b.buf[off:off:off+flen], b.seq+uint32(i), pt, false)
	}
	b.done <- struct{}{}
}

// releaseBorrowed waits until no batch in flight still reads the caller's
// buffer.
func (w *Writer) releaseBorrowed() {
	for _, b := range w.par.inflight {
		if b.src != nil {
			<-b.done
			b.src = nil
			b.done <- struct{}{}
		}
	}
}

// flushOldest writes the oldest sealed batch to the destination.
func (w *Writer) flushOldest() error {
	b := w.par.oldest()
	defer w.par.put(b)
	out := b.buf[:b.count*w.par.flen]
	if w.sl.hash != nil {
		w.sl.hash.Write(out)
	}
	if _, err := w.dst.Write(out); err != nil {
		w.err = fmt.Errorf("envelope: writing frames %d to %d: %w", b.seq, b.seq+uint32(b.count)-1, err)
		return w.err
	}
	return nil
}

// closeParallel seals and writes every full frame, then returns the
// plaintext of the final frame (which stays valid until the next write).
func (w *Writer) closeParallel() ([]byte, error) {
	wp := w.par
	var rest []byte
	if b := wp.cur; b != nil {
		if wp.fill > 0 {
			slot := b.count*wp.flen + regularHeadLen
			rest = append(w.buf[:0], b.buf[slot:slot+wp.fill]...)
			clear(b.buf[slot : slot+wp.fill])
			wp.fill = 0
		}
		wp.cur = nil
		if b.count > 0 {
			if err := w.dispatch(b); err != nil {
				return nil, err
			}
		} else {
			wp.put(b)
		}
	}
	w.buf = rest
	for len(wp.inflight) > 0 {
		if err := w.flushOldest(); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// ---- Reader ----

type readPipeline struct {
	window
	per     int
	rel     *batch // batch being released
	relNext int    // next frame of rel to release
	readEnd bool   // the final frame was read, or reading failed
}

func newReadPipeline(concurrency, fs int) *readPipeline {
	return &readPipeline{window: window{max: concurrency + 1}, per: framesPerBatch(fs)}
}

// wipe clears every batch buffer, once the Reader is done with them,
// first waiting for the batches still being opened.
func (rp *readPipeline) wipe() {
	for _, b := range rp.inflight {
		<-b.done
		clear(b.buf[:cap(b.buf)])
	}
	if rp.rel != nil {
		clear(rp.rel.buf[:cap(rp.rel.buf)])
	}
	for _, b := range rp.free {
		clear(b.buf[:cap(b.buf)])
	}
	rp.inflight, rp.rel, rp.free = nil, nil, nil
	rp.readEnd = true
}

// nextParallel sets r.out to the plaintext of the next verified frame.
func (r *Reader) nextParallel() error {
	rp := r.par
	for {
		if b := rp.rel; b != nil {
			releasable := b.ok
			if b.tailErr != nil && b.count > 0 && b.frames[b.count-1].final {
				releasable = min(releasable, b.count-1) // the final frame waits for the signature
			}
			if rp.relNext < releasable {
				f := b.frames[rp.relNext]
				rp.relNext++
				r.out = b.buf[f.ct : f.ct+f.n]
				if f.final {
					r.done = true
				}
				return nil
			}
			if b.authErr != nil {
				return b.authErr
			}
			if b.tailErr != nil {
				return b.tailErr
			}
			rp.rel = nil
			rp.put(b)
			if r.done {
				return nil
			}
		}
		// Read ahead while there is room, unless the oldest batch is ready.
		for !rp.readEnd && !rp.full() && (len(rp.inflight) == 0 || !rp.oldestReady()) {
			if err := contextErr(r.ctx); err != nil {
				return err
			}
			b := rp.get()
			r.readBatch(b)
			rp.inflight = append(rp.inflight, b)
			go openBatch(b)
		}
		if len(rp.inflight) == 0 {
			return formatErr("message ends without a final frame")
		}
		rp.rel, rp.relNext = rp.oldest(), 0
	}
}

// readBatch reads up to one batch of frames into b, checking each header.
// Reading stops after the final frame (whose footer it verifies) or at the
// first error, which is kept in b.tailErr and reported after the frames
// before it.
func (r *Reader) readBatch(b *batch) {
	rp := r.par
	b.seq = r.seq
	for b.count < rp.per {
		start := len(b.buf)
		var err error
		if b.buf, err = r.appendRead(b.buf, 4, "frame sequence number"); err != nil {
			b.tailErr, rp.readEnd = err, true
			return
		}
		first := b.buf[start:]
		hl := headLen(first)
		what := "frame IV"
		if isFinalMarker(first) {
			what = "final frame header"
		}
		if b.buf, err = r.appendRead(b.buf, hl-4, what); err != nil {
			b.tailErr, rp.readEnd = err, true
			return
		}
		fh, err := r.rules.checkHead(b.buf[start:start+hl], r.seq)
		if err != nil {
			b.tailErr, rp.readEnd = err, true
			return
		}
		if b.buf, err = r.appendRead(b.buf, fh.n+tagLen, "frame"); err != nil {
			b.tailErr, rp.readEnd = err, true
			return
		}
		ivOff := start + 4
		if fh.final {
			ivOff = start + 8
		}
		b.frames = append(b.frames, frameRef{iv: ivOff, ct: start + hl, n: fh.n, final: fh.final})
		b.count++
		r.seq++
		if fh.final {
			rp.readEnd = true
			b.tailErr = r.finish()
			return
		}
	}
}

// openBatch opens the frames of b in place, stopping at the first failure.
func openBatch(b *batch) {
	for i, f := range b.frames[:b.count] {
		seq := b.seq + uint32(i)
		ct := b.buf[f.ct : f.ct+f.n+tagLen]
		if !b.fc.openTo(ct[:0], b.buf[f.iv:f.iv+ivLen], ct, frameLabel(f.final), seq, uint64(f.n)) {
			b.authErr = frameAuthErr(seq)
			break
		}
		b.ok++
	}
	b.done <- struct{}{}
}
