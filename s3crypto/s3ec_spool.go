package s3crypto

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/gcmstream"
)

// What the GET body of an S3EC GCM object keeps while it waits for the
// tag at the end of the object: the ciphertext as stored, the first
// s3ecSpoolMemory bytes in memory, the rest in a temporary file. The
// ciphertext is confidential under the content key already, so the file
// needs no second cipher; it needs integrity, since it may be modified
// between writing and reading it back. That comes from the object's own
// GHASH: while the body hashes the object for its tag, it records the
// GHASH state (a gcmstream.Mark, kept in memory only) at the start of the
// file and every s3ecChunk bytes in it, and after the tag verified, each
// chunk read back is hashed again from the Mark at its start and released
// only if it ends on the Mark at its end (see gcmstream/replay.go for why
// a modified chunk cannot pass without the key). The chunks are checked
// and decrypted by a few goroutines at once, a few chunks ahead of the
// reader, and released in order.
//
// The file is removed at the end of the body, on any failure, on Close,
// and, for a body dropped without Close, when the body is garbage
// collected.

// s3ecChunk is the length of the chunks read back and released at once
// (a multiple of 16).
const s3ecChunk = 256 << 10

// s3ecMaxWorkers bounds the goroutines that decrypt a released object.
const s3ecMaxWorkers = 4

// s3ecSpoolHook, when set (by tests), is called with the file's name
// after the tag verified and before anything is read back.
var s3ecSpoolHook func(name string)

var errSpoolModified = fmt.Errorf("%w: the temporary file of the object was modified", envelope.ErrAuthentication)

// s3ecSpool is what a body kept, and then its release. It holds no
// reference to the body, so that the body's cleanup can close it.
type s3ecSpool struct {
	memMax  int
	mem     []byte
	f       *os.File
	fileLen int64
	marks   []gcmstream.Mark // at the start of the file, every s3ecChunk, at its end
	cleanup runtime.Cleanup

	// The release: jobs (mem pieces, then file chunks) go to the workers
	// through jobs, each in one of the slots, and come back in order.
	memJobs, total int
	slots          []*s3ecJob
	jobs           chan *s3ecJob
	quit           chan struct{}
	wg             sync.WaitGroup
	dispatched     int      // jobs handed out
	head           int      // next job to release
	prev           *s3ecJob // the job released last, its slot not yet reused
	closed         bool
}

type s3ecJob struct {
	i    int
	buf  []byte // a file chunk, allocated by the first worker to need it
	out  []byte
	err  error
	done chan struct{}
}

func newS3ECSpool(memMax int) *s3ecSpool {
	return &s3ecSpool{memMax: memMax}
}

// room returns how much of n more content bytes may be kept at content
// offset off before a Mark is due; 0 means one is due now.
func (s *s3ecSpool) room(off int64, n int) int {
	if s.f == nil && len(s.mem) < s.memMax {
		return min(n, s.memMax-len(s.mem))
	}
	if len(s.marks) == 0 {
		return 0
	}
	next := s.marks[len(s.marks)-1].Offset() + s3ecChunk
	return int(min(int64(n), next-off))
}

func (s *s3ecSpool) mark(m gcmstream.Mark) error {
	if m.Offset() != int64(len(s.mem))+s.fileLen {
		return errors.New("s3crypto: spool mark out of place")
	}
	s.marks = append(s.marks, m)
	return nil
}

// write keeps p, which room allowed.
func (s *s3ecSpool) write(p []byte) error {
	if s.f == nil && len(s.mem) < s.memMax {
		if cap(s.mem)-len(s.mem) < len(p) {
			c := max(2*cap(s.mem), len(s.mem)+len(p), 256<<10)
			grown := make([]byte, len(s.mem), min(c, s.memMax))
			copy(grown, s.mem)
			clear(s.mem)
			s.mem = grown
		}
		s.mem = append(s.mem, p...)
		return nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "cryptkeeper-spool-*")
		if err != nil {
			return fmt.Errorf("%w: creating the temporary file: %w", envelope.ErrTransient, err)
		}
		s.f = f
	}
	if _, err := s.f.Write(p); err != nil {
		return fmt.Errorf("%w: writing the temporary file: %w", envelope.ErrTransient, err)
	}
	s.fileLen += int64(len(p))
	return nil
}

// release starts giving back what was kept, decrypted with key and iv
// (not retained): final is the Opener's Mark after Verify.
func (s *s3ecSpool) release(final gcmstream.Mark, key, iv []byte) error {
	if s.f != nil {
		if final.Offset() != int64(len(s.mem))+s.fileLen || len(s.marks) == 0 {
			return errors.New("s3crypto: spool out of step")
		}
		if s.marks[len(s.marks)-1].Offset() != final.Offset() {
			s.marks = append(s.marks, final)
		}
		if s3ecSpoolHook != nil {
			s3ecSpoolHook(s.f.Name())
		}
	}
	s.memJobs = (len(s.mem) + s3ecChunk - 1) / s3ecChunk
	s.total = s.memJobs + max(len(s.marks)-1, 0)
	if s.total == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), s3ecMaxWorkers, s.total)
	rs := make([]*gcmstream.Replayer, workers)
	for i := range rs {
		r, err := gcmstream.NewReplayer(key, iv)
		if err != nil {
			for _, r := range rs[:i] {
				r.Wipe()
			}
			return err
		}
		rs[i] = r
	}
	s.slots = make([]*s3ecJob, min(workers+1, s.total))
	s.jobs = make(chan *s3ecJob, len(s.slots))
	s.quit = make(chan struct{})
	for i := range s.slots {
		s.slots[i] = &s3ecJob{done: make(chan struct{}, 1)}
		s.dispatch(s.slots[i])
	}
	s.wg.Add(workers)
	for _, r := range rs {
		go s.work(r)
	}
	return nil
}

func (s *s3ecSpool) dispatch(j *s3ecJob) {
	if s.dispatched < s.total {
		j.i, j.out, j.err = s.dispatched, nil, nil
		s.dispatched++
		s.jobs <- j // never blocks: jobs holds every slot
	}
}

func (s *s3ecSpool) work(r *gcmstream.Replayer) {
	defer s.wg.Done()
	defer r.Wipe()
	for {
		select {
		case <-s.quit:
			return
		case j := <-s.jobs:
			j.out, j.err = s.do(r, j)
			j.done <- struct{}{}
		}
	}
}

// do decrypts job j: a piece of memory in place, or a chunk of the file
// read back and checked into the job's buffer.
func (s *s3ecSpool) do(r *gcmstream.Replayer, j *s3ecJob) ([]byte, error) {
	if j.i < s.memJobs {
		off := j.i * s3ecChunk
		p := s.mem[off:min(off+s3ecChunk, len(s.mem))]
		return p, r.Decrypt(p, int64(off))
	}
	from, to := s.marks[j.i-s.memJobs], s.marks[j.i-s.memJobs+1]
	if j.buf == nil {
		j.buf = make([]byte, s3ecChunk)
	}
	p := j.buf[:to.Offset()-from.Offset()]
	if _, err := s.f.ReadAt(p, from.Offset()-int64(len(s.mem))); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errSpoolModified // truncated
		}
		return nil, fmt.Errorf("%w: reading the temporary file: %w", envelope.ErrTransient, err)
	}
	if err := r.Open(p, from, to); err != nil {
		return nil, errSpoolModified
	}
	return p, nil
}

// next returns the next run of plaintext, or nil at the end. The run is
// valid until the next call.
func (s *s3ecSpool) next() ([]byte, error) {
	if s.closed {
		return nil, envelope.ErrClosed
	}
	if s.prev != nil {
		if s.prev.i < s.memJobs {
			clear(s.prev.out) // released plaintext, never read again
		}
		s.dispatch(s.prev)
		s.prev = nil
	}
	if s.head == s.total {
		return nil, nil
	}
	j := s.slots[s.head%len(s.slots)]
	<-j.done
	s.head++
	if j.err != nil {
		return nil, j.err
	}
	s.prev = j
	return j.out, nil
}

// buffers returns the arrays that held ciphertext or plaintext, for tests.
func (s *s3ecSpool) buffers() [][]byte {
	out := [][]byte{s.mem[:cap(s.mem)]}
	for _, j := range s.slots {
		out = append(out, j.buf[:cap(j.buf)])
	}
	return out
}

// close stops the workers, wipes what is held and removes the file. It
// may be called more than once.
func (s *s3ecSpool) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.cleanup.Stop()
	if s.quit != nil {
		close(s.quit)
		s.wg.Wait()
	}
	clear(s.mem[:cap(s.mem)])
	s.mem = nil
	for _, j := range s.slots {
		clear(j.buf[:cap(j.buf)])
		j.buf, j.out = nil, nil
	}
	gcmstream.WipeMarks(s.marks)
	s.marks = nil
	if s.f != nil {
		_ = s.f.Close()
		_ = os.Remove(s.f.Name())
		s.f = nil
	}
}
