package s3crypto

import (
	"errors"
	"strconv"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// FuzzPlainLength checks that the plaintext length computed from an object
// length inverts envelope.BodyLength, and that any length it accepts is
// consistent with it.
func FuzzPlainLength(f *testing.F) {
	f.Add(int64(0), 65536, int64(200), int64(0))
	f.Add(int64(65536), 65536, int64(200), int64(1))
	f.Add(int64(20<<20), 65536, int64(431), int64(-7))
	f.Add(int64(5), 1, int64(1), int64(33))
	f.Fuzz(func(t *testing.T, plain int64, frameSize int, headerLen, delta int64) {
		if plain < 0 || plain > 1<<40 || frameSize < 1 || frameSize > envelope.MaxFrameSize || headerLen < 1 || headerLen > 1<<22 {
			return
		}
		body, err := envelope.BodyLength(plain, frameSize)
		if err != nil {
			return
		}
		om := &objectMeta{plainLen: -1, frameSize: frameSize, headerLen: headerLen}
		if err := om.setPlainLength(headerLen + body); err != nil || om.plainLen != plain {
			t.Fatalf("plain %d frame %d header %d: got %d, %v", plain, frameSize, headerLen, om.plainLen, err)
		}
		om = &objectMeta{plainLen: -1, frameSize: frameSize, headerLen: headerLen}
		objectLen := headerLen + body + delta
		if err := om.setPlainLength(objectLen); err != nil {
			if !errors.Is(err, envelope.ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		got, err := envelope.BodyLength(om.plainLen, frameSize)
		if err != nil || headerLen+got != objectLen {
			t.Fatalf("object %d: plaintext %d implies %d (%v)", objectLen, om.plainLen, headerLen+got, err)
		}
	})
}

// FuzzParseMeta checks that metadata of any values parses without panic
// into values within range, or fails with a category.
func FuzzParseMeta(f *testing.F) {
	f.Add("envelope", "65536", "100", "300")
	f.Add("envelope", "0", "-1", "x")
	f.Add("other", "1", "1", "1")
	f.Fuzz(func(t *testing.T, format, frame, plain, header string) {
		m := map[string]string{MetaFormat: format, MetaFrameSize: frame, MetaPlainLength: plain, MetaHeaderLength: header}
		om, err := parseMeta(m)
		if err != nil {
			if !errors.Is(err, envelope.ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("uncategorized error %v", err)
			}
			return
		}
		if om.frameSize < 1 || om.frameSize > envelope.MaxFrameSize || om.plainLen < 0 || om.headerLen < 1 {
			t.Fatalf("out of range: %+v", om)
		}
		if n, _ := strconv.ParseInt(plain, 10, 64); n != om.plainLen {
			t.Fatalf("plaintext length %d from %q", om.plainLen, plain)
		}
		_ = om.ciphertextLength()
	})
}
