// Package spool keeps a stream of bytes back until its owner may release
// them: the first bytes in memory, the rest in a temporary file in chunks
// sealed with AES-256-GCM under a random key that exists only in this
// process's memory, so that what is kept never reaches the disk readable
// by anyone, nor modifiable without detection. The file is removed when
// everything was read back, on Close, or (for a Spool dropped without
// Close) when the Spool is garbage collected.
//
// It serves the readers that must hold data until a check at the end of
// a stream passes: the signature of a signed envelope message, the tag of
// a whole-object AES-GCM message. It imports nothing of this module, so
// that every package may use it.
package spool

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Chunk is the length of one sealed chunk of the file, before sealing.
const Chunk = 64 << 10

const tagLen = 16

// Errors of a Spool. The callers give them their own categories.
var (
	// ErrLimit means that keeping more would exceed the Spool's maximum.
	ErrLimit = errors.New("spool: limit exceeded")
	// ErrIO means the temporary file could not be created, written or
	// read; it may pass.
	ErrIO = errors.New("spool: temporary file failed")
	// ErrModified means the temporary file was truncated or altered
	// between writing and reading it back.
	ErrModified = errors.New("spool: temporary file modified")
)

// Spool keeps bytes back. Write them, then Release, then read them back
// with Next. A Spool is not safe for concurrent use.
type Spool struct {
	memMax int
	max    int64 // -1: no limit
	dir    string

	mem   []byte // the first memMax bytes
	total int64  // bytes written, including the file's

	f       *os.File
	cleanup runtime.Cleanup
	aead    cipher.AEAD
	chunk   []byte // bytes gathered for the file; on release, the chunk being read
	chunks  uint64 // chunks in the file
	filePT  int64  // bytes in the file, including those in chunk

	releasing bool
	memDone   bool
	readAt    uint64 // next chunk to release
}

// New returns a Spool that keeps up to memMax bytes in memory and the
// rest in a temporary file in dir (os.TempDir when ""), and refuses more
// than max bytes in all (no limit when max < 0).
func New(memMax int, max int64, dir string) *Spool {
	return &Spool{memMax: max0(memMax), max: max, dir: dir}
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// Len returns how many bytes were written.
func (s *Spool) Len() int64 { return s.total }

// InFile reports whether some of the bytes went to the temporary file.
func (s *Spool) InFile() bool { return s.f != nil }

// Reserve fails with ErrLimit when n more bytes would exceed the maximum.
func (s *Spool) Reserve(n int) error {
	if s.max >= 0 && s.total+int64(n) > s.max {
		return fmt.Errorf("%w: more than %d bytes to keep back", ErrLimit, s.max)
	}
	return nil
}

// Write keeps a copy of p.
func (s *Spool) Write(p []byte) error {
	if s.releasing {
		return errors.New("spool: Write after Release")
	}
	if err := s.Reserve(len(p)); err != nil {
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
		if err := s.open(); err != nil {
			return err
		}
	}
	s.filePT += int64(len(p))
	for len(p) > 0 {
		if len(s.chunk) == 0 && len(p) >= Chunk {
			// A whole chunk is sealed straight from p.
			if err := s.seal(p[:Chunk]); err != nil {
				return err
			}
			p = p[Chunk:]
			continue
		}
		k := copy(s.chunk[len(s.chunk):Chunk], p)
		s.chunk, p = s.chunk[:len(s.chunk)+k], p[k:]
		if len(s.chunk) == Chunk {
			if err := s.seal(s.chunk); err != nil {
				return err
			}
		}
	}
	return nil
}

// open creates the file and its key. The cleanup removes the file if the
// Spool is dropped without Close.
func (s *Spool) open() error {
	key := make([]byte, 32)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, "cryptkeeper-spool-*")
	if err != nil {
		return fmt.Errorf("%w: creating the spool file: %w", ErrIO, err)
	}
	s.f, s.aead = f, aead
	s.chunk = make([]byte, 0, Chunk+tagLen)
	s.cleanup = runtime.AddCleanup(s, removeFile, f)
	return nil
}

func removeFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

func nonce(i uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], i)
	return n[:]
}

// seal seals pt (the gathered chunk, or a whole chunk elsewhere) into
// s.chunk's array and appends it to the file.
func (s *Spool) seal(pt []byte) error {
	sealed := s.aead.Seal(s.chunk[:0], nonce(s.chunks), pt, nil)
	if _, err := s.f.Write(sealed); err != nil {
		return fmt.Errorf("%w: writing the spool file: %w", ErrIO, err)
	}
	s.chunks++
	s.chunk = s.chunk[:0]
	return nil
}

// Release switches from keeping to giving back. Write may no longer be
// called.
func (s *Spool) Release() error {
	s.releasing = true
	if s.f == nil {
		return nil
	}
	if len(s.chunk) > 0 {
		if err := s.seal(s.chunk); err != nil {
			return err
		}
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%w: reading the spool file: %w", ErrIO, err)
	}
	return nil
}

// Next returns the next run of kept bytes, or nil once all of them were
// returned. The run stays valid until the next call of Next or Close;
// the caller may overwrite it (decrypt it in place, say).
func (s *Spool) Next() ([]byte, error) {
	if !s.releasing {
		return nil, errors.New("spool: Next before Release")
	}
	if !s.memDone {
		s.memDone = true
		if len(s.mem) > 0 {
			return s.mem, nil
		}
	}
	if s.f == nil || s.readAt == s.chunks {
		return nil, nil
	}
	n := int(min(Chunk, s.filePT-int64(s.readAt)*Chunk))
	buf := s.chunk[:n+tagLen]
	if _, err := io.ReadFull(s.f, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: spool file truncated", ErrModified)
		}
		return nil, fmt.Errorf("%w: reading the spool file: %w", ErrIO, err)
	}
	pt, err := s.aead.Open(buf[:0], nonce(s.readAt), buf, nil)
	if err != nil {
		return nil, ErrModified
	}
	s.readAt++
	return pt, nil
}

// Buffers returns the arrays in which the Spool holds bytes (whole, to
// their capacity), for tests that check they are wiped.
func (s *Spool) Buffers() [][]byte {
	return [][]byte{s.mem[:cap(s.mem)], s.chunk[:cap(s.chunk)]}
}

// Close removes the file and wipes the bytes kept in memory. It may be
// called more than once.
func (s *Spool) Close() {
	clear(s.mem[:cap(s.mem)])
	s.mem = nil
	clear(s.chunk[:cap(s.chunk)])
	if s.f != nil {
		s.cleanup.Stop()
		removeFile(s.f)
		s.f, s.aead = nil, nil
	}
}
