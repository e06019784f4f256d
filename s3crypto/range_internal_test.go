package s3crypto

import (
	"errors"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// FuzzRange checks that a parsed Range resolves to bytes inside the
// plaintext, as S3 would, and that the frames read for it lie inside the
// object and hold the range.
func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=5-", "bytes=-10", "bytes=65536-131071", "bytes=-0", "bytes=3-2", "bytes=00-01"} {
		f.Add(s, int64(200_000), 65536)
	}
	f.Add("bytes=0-", int64(0), 1)
	f.Fuzz(func(t *testing.T, s string, n int64, fs int) {
		if n < 0 || n > 1<<40 || fs < 1 || fs > envelope.MaxFrameSize {
			return
		}
		spec, err := parseRange(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		first, last, err := spec.resolve(n)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("%q of %d: %v", s, n, err)
			}
			return
		}
		if first < 0 || first > last || last >= n {
			t.Fatalf("%q of %d: %d-%d", s, n, first, last)
		}
		body, err := envelope.BodyLength(n, fs)
		if err != nil {
			return
		}
		const hlen = 300
		b := &rangeBody{fs: int64(fs), plainLen: n, first: first, last: last, seq: uint32(first/int64(fs)) + 1}
		start, end := b.span(hlen)
		if start < hlen || end > hlen+body || start >= end {
			t.Fatalf("%q of %d, frames of %d: ciphertext %d-%d of %d", s, n, fs, start, end, hlen+body)
		}
		// Walking the frames from start reaches end exactly, covering the range.
		off, pos := start, b.pos
		for seq := b.seq; pos <= last; seq++ {
			off += int64(b.frameLen(seq))
			pos += int64(fs)
		}
		if off != end || b.pos > first {
			t.Fatalf("%q of %d, frames of %d: frames end at %d, span %d-%d", s, n, fs, off, start, end)
		}
	})
}
