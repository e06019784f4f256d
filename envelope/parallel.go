package envelope

import (
	"sync"
	"sync/atomic"
)

// Parallel framing. Once the message key is derived, frames are
// independent: frame i is sealed with IV = seq(i) and an AAD that names
// its sequence number, so frames can be sealed and opened on several
// goroutines and the output is byte for byte the sequential one. A
// cipher.AEAD from crypto/cipher.NewGCM holds only the expanded key and is
// safe for concurrent Seal and Open; the per-frame scratch (IV and AAD)
// lives in a frameCrypter, one per goroutine.
//
// Work is split into batches of whole frames of at least batchBytes of
// plaintext, so that the cost of handing a batch to another goroutine is
// small beside the work, and messages of fewer than two batches stay on the
// calling goroutine.
const (
	batchBytes = 256 << 10
	// maxParallelFrame is the largest frame a streaming Writer or Reader
	// processes in parallel: its window holds a few frames per goroutine.
	maxParallelFrame = 4 << 20
	// minParallelReadFrame is the smallest frame a streaming Reader opens
	// in parallel. Smaller frames are read through the 64 KiB read buffer
	// and copied once more into a batch; for them the copying on the
	// calling goroutine costs more than the opening it hands off, and
	// opening each frame where it was just read (hot in cache) is faster.
	minParallelReadFrame = 16 << 10
)

// framesPerBatch returns how many frames of fs bytes make one batch.
func framesPerBatch(fs int) int {
	return max(1, batchBytes/fs)
}

// runBatches calls work(w, i) for every i in [0, n) on up to workers
// goroutines; w in [0, workers) names the goroutine, so that work can use
// per-goroutine scratch. When inOrder is nil the calling goroutine is one of the
// workers; otherwise it calls inOrder(i) for i = 0, 1, ... as soon as
// batch i (and every batch before it) is done, overlapping that in-order
// stage (hashing) with the work on later batches, and workers-1 goroutines
// (at least one) do the work, so that the goroutines never outnumber the
// cores they were sized for. work must not fail;
// errors are recorded by the callers.
func runBatches(n, workers int, work func(w, i int), inOrder func(i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			work(0, i)
			if inOrder != nil {
				inOrder(i)
			}
		}
		return
	}
	var next atomic.Int64
	var done chan int
	if inOrder != nil {
		done = make(chan int, n)
	}
	loop := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			work(w, i)
			if done != nil {
				done <- i
			}
		}
	}
	var wg sync.WaitGroup
	spawn := max(workers-1, 1)
	for w := range spawn {
		wg.Go(func() { loop(workers - 1 - w) })
	}
	if inOrder == nil {
		loop(0)
		wg.Wait()
		return
	}
	finished := make([]bool, n)
	for want := 0; want < n; {
		finished[<-done] = true
		for want < n && finished[want] {
			inOrder(want)
			want++
		}
	}
	wg.Wait()
}

// sealFrames appends the framed body of pt (regular frames, then a final
// frame holding the remainder, possibly empty) to dst, using up to workers
// goroutines, and feeds the body to the signature hash on signed suites.
func (sl *sealer) sealFrames(dst, pt []byte, workers int) []byte {
	fs := sl.frameSize
	regular := len(pt) / fs
	flen := fs + 4 + ivLen + tagLen
	start := len(dst)
	size := int(bodySize(int64(len(pt)), fs))
	if cap(dst)-start < size {
		grown := make([]byte, start, start+size)
		copy(grown, dst)
		dst = grown
	}
	per := framesPerBatch(fs)
	batches := (regular + per - 1) / per
	if batches < 2 {
		workers = 1
	}
	if workers <= 1 {
		for b := range batches {
			first, last := b*per, min((b+1)*per, regular)
			sl.sealRange(sl.fc, dst, pt, start, first, last)
			if sl.hash != nil {
				sl.hash.Write(dst[start+first*flen : start+last*flen])
			}
		}
	} else {
		crypters := sl.fc.crypters(workers)
		work := func(w, b int) {
			sl.sealRange(crypters[w], dst, pt, start, b*per, min((b+1)*per, regular))
		}
		var hashStage func(int)
		if sl.hash != nil {
			hashStage = func(b int) {
				sl.hash.Write(dst[start+b*per*flen : start+min((b+1)*per, regular)*flen])
			}
		}
		runBatches(batches, workers, work, hashStage)
	}
	end := start + regular*flen
	dst = sl.fc.appendFrame(dst[:end], uint32(regular+1), pt[regular*fs:], true)
	if sl.hash != nil {
		sl.hash.Write(dst[end:])
	}
	return dst
}

// sealRange seals regular frames [first, last) of pt into their places in
// dst, whose body starts at start.
func (sl *sealer) sealRange(fc *frameCrypter, dst, pt []byte, start, first, last int) {
	fs := sl.frameSize
	flen := fs + regularHeadLen + tagLen
	for i := first; i < last; i++ {
		off := start + i*flen
		fc.appendFrame(dst[off:off:off+flen], uint32(i+1), pt[i*fs:(i+1)*fs], false)
	}
}

// crypters returns n frame crypters sharing fc's AEAD and message id: fc
// itself first, then copies with their own scratch.
func (fc *frameCrypter) crypters(n int) []*frameCrypter {
	out := make([]*frameCrypter, max(n, 1))
	out[0] = fc
	for i := 1; i < len(out); i++ {
		out[i] = newFrameCrypter(fc.aead, fc.aad[:fc.mid])
	}
	return out
}
