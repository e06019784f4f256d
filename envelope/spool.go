package envelope

import (
	"errors"
	"fmt"

	ispool "github.com/cryptkeeper-go/cryptkeeper/internal/spool"
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
// the Reader is garbage collected. The mechanism is internal/spool's;
// this file gives its errors the envelope categories.

// DefaultSpoolMemory is how much plaintext of a signed message a Reader
// holds in memory, by default, while it waits for the signature; more
// goes to an encrypted temporary file.
const DefaultSpoolMemory = 4 << 20

type spool struct {
	memMax int
	max    int64 // -1: no limit
	dir    string

	s     *ispool.Spool
	total int64 // bytes written
}

func (s *spool) inner() *ispool.Spool {
	if s.s == nil {
		s.s = ispool.New(s.memMax, s.max, s.dir)
	}
	return s.s
}

// spoolErr gives an error of the spool its envelope category.
func (s *spool) err(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ispool.ErrLimit):
		return limitErr("signed message holds more than %d bytes of plaintext to keep back until its signature verifies", s.max)
	case errors.Is(err, ispool.ErrModified):
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	default:
		return fmt.Errorf("%w: %w", ErrTransient, err)
	}
}

// reserve fails with ErrLimit when n more bytes would exceed the limit.
func (s *spool) reserve(n int) error { return s.err(s.inner().Reserve(n)) }

// write keeps a copy of p. The spool's file goes when the Reader that
// holds the spool is garbage collected.
func (s *spool) write(_ *Reader, p []byte) error {
	if err := s.inner().Write(p); err != nil {
		return s.err(err)
	}
	s.total += int64(len(p))
	return nil
}

// release switches from keeping to releasing, once the signature verified.
func (s *spool) release() error { return s.err(s.inner().Release()) }

// next returns the next run of kept plaintext, or nil once all of it was
// returned.
func (s *spool) next() ([]byte, error) {
	b, err := s.inner().Next()
	return b, s.err(err)
}

// buffers returns the arrays that hold kept plaintext.
func (s *spool) buffers() [][]byte {
	if s.s == nil {
		return nil
	}
	return s.s.Buffers()
}

// close removes the file and wipes the kept plaintext.
func (s *spool) close() {
	if s.s != nil {
		s.s.Close()
	}
}
