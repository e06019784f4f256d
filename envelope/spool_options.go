package envelope

import (
	"fmt"
	"os"
)

// The options of a Reader of signed messages: how it keeps plaintext back
// until the signature verifies (spool.go), or that it does not.

// spoolOption returns the Option called name that sets how a Reader keeps
// the plaintext of a signed message back, with set. It is refused beside
// WithInsecureReleaseBeforeSignature, which keeps nothing back, so that
// (for instance) a limit set with WithMaxSpoolSize is never silently
// ignored.
func spoolOption(name string, set func(*config) error) Option {
	return option(name, opNewReader, func(c *config) error {
		if c.earlyRelease {
			return errEarlyRelease("WithInsecureReleaseBeforeSignature")
		}
		c.spoolOptName = name
		return set(c)
	})
}

// errEarlyRelease says why a spool option and early release, one of them
// named other, do not go together.
func errEarlyRelease(other string) error {
	return fmt.Errorf("cannot be combined with %s: a Reader that releases frames before the signature keeps nothing back, so the spool options would do nothing", other)
}

// WithSpoolMemory sets how many bytes of plaintext of a signed message a
// Reader keeps in memory while it waits for the signature (default
// DefaultSpoolMemory); the rest goes to an encrypted temporary file. n
// must be at least 0. It cannot be combined with
// WithInsecureReleaseBeforeSignature. It applies to NewReader only.
func WithSpoolMemory(n int) Option {
	return spoolOption("WithSpoolMemory", func(c *config) error {
		if n < 0 {
			return fmt.Errorf("spool memory %d below 0", n)
		}
		c.spoolMemory = n
		return nil
	})
}

// WithSpoolDir sets the directory of the temporary file in which a Reader
// keeps the plaintext of a signed message beyond WithSpoolMemory, sealed
// under a key held only in memory (default os.TempDir, also chosen by "").
// NewReader checks that dir exists and is a directory, and fails with
// ErrInvalidOption otherwise; failures to create or write the file in it
// later are ErrTransient. It cannot be combined with
// WithInsecureReleaseBeforeSignature. It applies to NewReader only.
func WithSpoolDir(dir string) Option {
	return spoolOption("WithSpoolDir", func(c *config) error {
		if dir != "" {
			fi, err := os.Stat(dir)
			if err != nil {
				return fmt.Errorf("spool directory: %w", err)
			}
			if !fi.IsDir() {
				return fmt.Errorf("spool directory %s is not a directory", dir)
			}
		}
		c.spoolDir = dir
		return nil
	})
}

// WithMaxSpoolSize makes a Reader refuse, with ErrLimit, a signed message
// whose plaintext exceeds n bytes, instead of keeping it back until the
// signature verifies; nothing of such a message is released. With n at
// most WithSpoolMemory nothing is written to disk. The default is no
// limit. It cannot be combined with WithInsecureReleaseBeforeSignature,
// which keeps nothing back. It applies to NewReader only.
func WithMaxSpoolSize(n int64) Option {
	return spoolOption("WithMaxSpoolSize", func(c *config) error {
		if n < 0 {
			return fmt.Errorf("max spool size %d below 0", n)
		}
		c.maxSpool = n
		return nil
	})
}

// WithInsecureReleaseBeforeSignature makes a Reader of a signed message
// release each regular frame as soon as its tag verifies, before the
// signature is checked, in constant memory and without a spool. This is
// insecure against every holder of the data key (any recipient): they can
// forge frames that are released before Read fails at the signature. Use
// it only when every reader of the message is as trusted as its writer, or
// when the caller discards everything read unless Read ends with io.EOF.
// The spool options (WithSpoolMemory, WithSpoolDir, WithMaxSpoolSize)
// cannot be combined with it. It applies to NewReader only.
func WithInsecureReleaseBeforeSignature() Option {
	return option("WithInsecureReleaseBeforeSignature", opNewReader, func(c *config) error {
		if c.spoolOptName != "" {
			return errEarlyRelease(c.spoolOptName)
		}
		c.earlyRelease = true
		return nil
	})
}
