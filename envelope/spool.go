package envelope

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The spool of a Reader of a signed message. Anyone who can decrypt a
// signed message holds its data key and can forge frames that pass their
// tags; only the signature at the end tells. So a Reader keeps the
// plaintext of a signed message back until the signature verifies: the
// first DefaultSpoolMemory bytes (WithSpoolMemory) in memory, the rest in
// a temporary file (WithSpoolDir) in chunks sealed with AES-256-GCM under
// a random key that exists only in this process's memory, so plaintext
// never reaches the disk. WithMaxSpoolSize refuses larger messages
// instead. The file is removed when the message has been read, when
// reading fails, on Close, or (for a Reader dropped without Close) when
// the Reader is garbage collected.

// DefaultSpoolMemory is how much plaintext of a signed message a Reader
// holds in memory, by default, while it waits for the signature; more
// goes to an encrypted temporary file.
const DefaultSpoolMemory = 4 << 20

// spoolChunk is the plaintext length of one sealed chunk of the file.
const spoolChunk = 64 << 10

type spool struct {
	memMax int
	max    int64 // -1: no limit
	dir    string

	mem   []byte // the first memMax bytes
	total int64  // bytes written, including the file's

	f       *os.File
	cleanup runtime.Cleanup
	aead    cipher.AEAD
	chunk   []byte // plaintext gathered for the file; on release, the chunk being read
	chunks  uint64 // chunks in the file
	filePT  int64  // plaintext bytes in the file, including those in chunk

	releasing bool
	memDone   bool
	readAt    uint64 // next chunk to release
}

// reserve fails with ErrLimit when n more bytes would exceed the limit.
func (s *spool) reserve(n int) error {
	if s.max >= 0 && s.total+int64(n) > s.max {
		return limitErr("signed message holds more than %d bytes of plaintext to keep back until its signature verifies", s.max)
	}
	return nil
}

// write keeps a copy of p.
func (s *spool) write(owner *Reader, p []byte) error {
	if err := s.reserve(len(p)); err != nil {
		return err
	}
	s.total += int64(len(p))
	if s.f == nil {
		if k := min(s.memMax-len(s.mem), len(p)); k > 0 {
			if cap(s.mem)-len(s.mem) < k {
				grown := make([]byte, len(s.mem), min(s.memMax, max(2*cap(s.mem), len(s.mem)+k)))
				copy(grown, s.mem)
				clear(s.mem)
				s.mem = grown
			}
			s.mem = append(s.mem, p[:k]...)
			p = p[k:]
		}
		if len(p) == 0 {
			return nil
		}
		if err := s.open(owner); err != nil {
			return err
		}
	}
	s.filePT += int64(len(p))
	for len(p) > 0 {
		if len(s.chunk) == 0 && len(p) >= spoolChunk {
			// A whole chunk is sealed straight from p.
			if err := s.seal(p[:spoolChunk]); err != nil {
				return err
			}
			p = p[spoolChunk:]
			continue
		}
		k := copy(s.chunk[len(s.chunk):spoolChunk], p)
		s.chunk, p = s.chunk[:len(s.chunk)+k], p[k:]
		if len(s.chunk) == spoolChunk {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// open creates the file and its key. The cleanup removes the file if the
// Reader is dropped without Close.
func (s *spool) open(owner *Reader) error {
	key := make([]byte, 32)
	defer keyring.Wipe(key)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	aead, err := newGCM(key)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, "cryptkeeper-spool-*")
	if err != nil {
		return fmt.Errorf("%w: creating the spool file for a signed message: %w", ErrTransient, err)
	}
	s.f, s.aead = f, aead
	s.chunk = make([]byte, 0, spoolChunk+tagLen)
	s.cleanup = runtime.AddCleanup(owner, removeSpoolFile, f)
	return nil
}

func removeSpoolFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

func spoolNonce(i uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], i)
	return n[:]
}

// flush seals the gathered chunk and appends it to the file.
func (s *spool) flush() error { return s.seal(s.chunk) }

// seal seals pt (the gathered chunk, or a whole chunk elsewhere) into
// s.chunk's array and appends it to the file.
func (s *spool) seal(pt []byte) error {
	sealed := s.aead.Seal(s.chunk[:0], spoolNonce(s.chunks), pt, nil)
	if _, err := s.f.Write(sealed); err != nil {
		return fmt.Errorf("%w: writing the spool file: %w", ErrTransient, err)
	}
	s.chunks++
	s.chunk = s.chunk[:0]
	return nil
}

// release switches from keeping to releasing, once the signature verified.
func (s *spool) release() error {
	s.releasing = true
	if s.f == nil {
		return nil
	}
	if len(s.chunk) > 0 {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%w: reading the spool file: %w", ErrTransient, err)
	}
	return nil
}

// next returns the next run of kept plaintext, or nil once all of it was
// returned.
func (s *spool) next() ([]byte, error) {
	if !s.memDone {
		s.memDone = true
		if len(s.mem) > 0 {
			return s.mem, nil
		}
	}
	if s.f == nil || s.readAt == s.chunks {
		return nil, nil
	}
	n := int(min(spoolChunk, s.filePT-int64(s.readAt)*spoolChunk))
	buf := s.chunk[:n+tagLen]
	if _, err := io.ReadFull(s.f, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: spool file truncated", ErrAuthentication)
		}
		return nil, fmt.Errorf("%w: reading the spool file: %w", ErrTransient, err)
	}
	pt, err := s.aead.Open(buf[:0], spoolNonce(s.readAt), buf, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: spool file modified", ErrAuthentication)
	}
	s.readAt++
	return pt, nil
}

// close removes the file and wipes the kept plaintext.
func (s *spool) close() {
	clear(s.mem)
	s.mem = nil
	clear(s.chunk[:cap(s.chunk)])
	if s.f != nil {
		s.cleanup.Stop()
		removeSpoolFile(s.f)
		s.f, s.aead = nil, nil
	}
}
