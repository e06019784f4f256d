package s3crypto

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// spoolObject is an S3EC V3 object of n bytes of plaintext, and what
// opens it.
type spoolObject struct {
	dk, id, com, pt, ct []byte
}

func newSpoolObject(t *testing.T, n int) *spoolObject {
	t.Helper()
	o := &spoolObject{dk: make([]byte, 32), pt: make([]byte, n)}
	rand.Read(o.dk)
	rand.Read(o.pt)
	cc, id, com, err := newS3ECContent(s3ecCommit, o.dk)
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cc.gcm()
	o.id, o.com, o.ct = id, com, aead.Seal(nil, cc.iv, o.pt, cc.aad)
	return o
}

// body opens the object as GetObject does, with or without its length.
func (o *spoolObject) body(t *testing.T, known bool) *s3ecGCMBody {
	t.Helper()
	cc, err := openS3ECContent(s3ecCommit, o.dk, o.id, o.com)
	if err != nil {
		t.Fatal(err)
	}
	raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.ct))}
	plainLen := int64(-1)
	if known {
		raw.ContentLength, plainLen = aws.Int64(int64(len(o.ct))), int64(len(o.pt))
	}
	rc, err := (&Client{}).openS3ECBody(context.Background(), raw, cc, plainLen)
	if err != nil {
		t.Fatal(err)
	}
	return rc.(*s3ecGCMBody)
}

// lowSpool lowers the memory bound to 64 KiB and sends temporary files to
// a directory of their own, which it returns.
func lowSpool(t *testing.T) string {
	old := s3ecSpoolMemory
	s3ecSpoolMemory = 64 << 10
	t.Cleanup(func() { s3ecSpoolMemory = old })
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func noFiles(t *testing.T, dir string) {
	t.Helper()
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("%d temporary files left", len(files))
	}
}

// TestS3ECSpoolRelease reads objects around the chunk and memory bounds,
// of known and unknown length, through small Reads and through WriteTo,
// and checks the plaintext and that the file is gone at the end.
func TestS3ECSpoolRelease(t *testing.T) {
	dir := lowSpool(t)
	for _, n := range []int{64<<10 + 1, s3ecChunk, s3ecChunk + 1, 64<<10 + s3ecChunk, 5*s3ecChunk - 16, 5*s3ecChunk + 7} {
		o := newSpoolObject(t, n)
		for _, known := range []bool{true, false} {
			b := o.body(t, known)
			var got bytes.Buffer
			if _, err := io.Copy(&got, b); err != nil || !bytes.Equal(got.Bytes(), o.pt) {
				t.Fatalf("n=%d known=%v WriteTo: %d bytes, %v", n, known, got.Len(), err)
			}
			noFiles(t, dir)
			b = o.body(t, known)
			small, err := io.ReadAll(oneByteReader{io.LimitReader(b, 3000)})
			if err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(b)
			if err != nil || !bytes.Equal(append(small, rest...), o.pt) {
				t.Fatalf("n=%d known=%v Read: %d bytes, %v", n, known, len(small)+len(rest), err)
			}
			noFiles(t, dir)
		}
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errWriter = errors.New("writer failed")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errWriter
	}
	w.n -= len(p)
	return len(p), nil
}

// TestS3ECSpoolWriteToFails checks that a failing writer ends the body
// with its error and removes the file.
func TestS3ECSpoolWriteToFails(t *testing.T) {
	dir := lowSpool(t)
	o := newSpoolObject(t, 3*s3ecChunk)
	b := o.body(t, true)
	if n, err := b.WriteTo(&failWriter{n: s3ecChunk + 5}); !errors.Is(err, errWriter) || n != s3ecChunk+5 {
		t.Fatalf("WriteTo: %d bytes, %v", n, err)
	}
	noFiles(t, dir)
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, errWriter) {
		t.Fatalf("Read after the failure: %v", err)
	}
	b.Close()
}

// TestS3ECSpoolTampered modifies the temporary file after the tag
// verified and before it is read back: a flipped bit, a swapped chunk, a
// truncation. The read fails with envelope.ErrAuthentication, releases
// the chunks before the modified one (which are as stored) and nothing
// from it on, and leaves no file.
func TestS3ECSpoolTampered(t *testing.T) {
	dir := lowSpool(t)
	n := 4*s3ecChunk + 100
	o := newSpoolObject(t, n)
	type edit struct {
		name string
		at   func(fileLen int) int // the first offset of the file that differs
		do   func(f []byte) []byte
	}
	at := func(off int) func(int) int { return func(int) int { return off } }
	last := func(fileLen int) int { return fileLen - 1 }
	edits := []edit{
		{"first byte", at(0), func(f []byte) []byte { f[0] ^= 1; return f }},
		{"chunk 1", at(s3ecChunk + 77), func(f []byte) []byte { f[s3ecChunk+77] ^= 1; return f }},
		{"last byte", last, func(f []byte) []byte { f[len(f)-1] ^= 0x80; return f }},
		{"chunks 1 and 2 swapped", at(s3ecChunk), func(f []byte) []byte {
			c1 := bytes.Clone(f[s3ecChunk : 2*s3ecChunk])
			copy(f[s3ecChunk:], f[2*s3ecChunk:3*s3ecChunk])
			copy(f[2*s3ecChunk:], c1)
			return f
		}},
		{"truncated by a byte", last, func(f []byte) []byte { return f[:len(f)-1] }},
		{"truncated to 2 chunks", at(2 * s3ecChunk), func(f []byte) []byte { return f[:2*s3ecChunk] }},
		{"emptied", at(0), func(f []byte) []byte { return nil }},
	}
	defer func() { s3ecSpoolHook = nil }()
	for _, e := range edits {
		for _, known := range []bool{true, false} {
			mem := 0
			if !known {
				mem = 64 << 10 // the first 64 KiB stay in memory
			}
			s3ecSpoolHook = func(name string) {
				f, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f, o.ct[mem:n]) {
					t.Fatalf("the file is not the stored content past %d bytes", mem)
				}
				if err := os.WriteFile(name, e.do(f), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			b := o.body(t, known)
			got, err := io.ReadAll(b)
			if !errors.Is(err, envelope.ErrAuthentication) {
				t.Fatalf("%s, known=%v: err %v", e.name, known, err)
			}
			if want := mem + e.at(n-mem)/s3ecChunk*s3ecChunk; !bytes.Equal(got, o.pt[:want]) {
				t.Fatalf("%s, known=%v: released %d bytes, want the %d before the modified chunk", e.name, known, len(got), want)
			}
			noFiles(t, dir)
		}
	}
}

// TestS3ECSpoolDropped checks that a body dropped in the middle of the
// release, without Close, has its file removed and its goroutines ended
// when it is garbage collected.
func TestS3ECSpoolDropped(t *testing.T) {
	dir := lowSpool(t)
	o := newSpoolObject(t, 6*s3ecChunk)
	base := runtime.NumGoroutine()
	func() {
		b := o.body(t, true)
		if _, err := b.Read(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 1 {
			t.Fatalf("%d temporary files while reading", len(files))
		}
	}()
	for i := 0; i < 100; i++ {
		runtime.GC()
		files, _ := os.ReadDir(dir)
		if len(files) == 0 && runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	files, _ := os.ReadDir(dir)
	t.Fatal(fmt.Sprintf("%d files and %d goroutines (%d before) left after the body was dropped", len(files), runtime.NumGoroutine(), base))
}

// TestS3ECReadAheadStopsOnFailure checks that a body failing while it
// reads the object (here: longer than its declared length) stops reading
// ahead and closes the S3 body at once, before Close.
func TestS3ECReadAheadStopsOnFailure(t *testing.T) {
	lowSpool(t)
	o := newSpoolObject(t, 2*s3ecChunk)
	cc, err := openS3ECContent(s3ecCommit, o.dk, o.id, o.com)
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	long := append(bytes.Clone(o.ct), make([]byte, 3*s3ecSpoolRead)...)
	src := &smallReads{r: bytes.NewReader(long)}
	raw := &s3.GetObjectOutput{Body: src}
	rc, err := (&Client{}).openS3ECBody(context.Background(), raw, cc, int64(len(o.pt)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 10)); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("object longer than declared: %v", err)
	}
	if !src.closed {
		t.Fatal("the S3 body is still open after the failure")
	}
	settled(t, base)
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

// lyingWriter reports more bytes written than it was given.
type lyingWriter struct{}

func (lyingWriter) Write(p []byte) (int, error) { return len(p) + 1, nil }

// TestS3ECWriteToLyingWriter checks that a writer reporting more than it
// was given fails WriteTo with an error (io.Copy refuses it too) rather
// than a panic, in memory and spooled.
func TestS3ECWriteToLyingWriter(t *testing.T) {
	dir := lowSpool(t)
	for _, n := range []int{1000, 3 * s3ecChunk} {
		b := newSpoolObject(t, n).body(t, true)
		if k, err := b.WriteTo(lyingWriter{}); err == nil || k != 0 {
			t.Fatalf("n=%d: WriteTo: %d bytes, %v", n, k, err)
		}
		b.Close()
		noFiles(t, dir)
	}
}
