package s3crypto

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// smallReads returns at most 1000 bytes a Read, then err.
type smallReads struct {
	r      io.Reader
	err    error
	closed bool
}

func (s *smallReads) Read(p []byte) (int, error) {
	n, err := s.r.Read(p[:min(len(p), 1000)])
	if err == io.EOF && s.err != nil {
		err = s.err
	}
	return n, err
}

func (s *smallReads) Close() error { s.closed = true; return nil }

// settled waits for the goroutine count to come back to base.
func settled(t *testing.T, base int) {
	t.Helper()
	for i := 0; i < 200 && runtime.NumGoroutine() > base; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines, %d before", n, base)
	}
}

func TestReadAheadContent(t *testing.T) {
	base := runtime.NumGoroutine()
	data := make([]byte, 9*readAheadChunk+77)
	rand.Read(data)
	src := &smallReads{r: bytes.NewReader(data)}
	body := readAheadBody(context.Background(), src, nil)
	if _, ok := body.(*readAhead); !ok {
		t.Fatalf("body of unknown length not read ahead: %T", body)
	}
	got, err := io.ReadAll(body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (want %d), equal %v, err %v", len(got), len(data), bytes.Equal(got, data), err)
	}
	if err := body.Close(); err != nil || !src.closed {
		t.Fatalf("Close: %v, body closed %v", err, src.closed)
	}
	if _, err := body.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	settled(t, base)
}

func TestReadAheadSmallBodyDirect(t *testing.T) {
	src := &smallReads{r: bytes.NewReader(nil)}
	n := int64(readAheadMin - 1)
	if body := readAheadBody(context.Background(), src, &n); body != io.ReadCloser(src) {
		t.Fatalf("body of %d bytes wrapped: %T", n, body)
	}
}

// An error of the body reaches the reader as it is, after the bytes read
// before it; a truncated body is not turned into a clean end.
func TestReadAheadKeepsErrors(t *testing.T) {
	for _, want := range []error{io.ErrUnexpectedEOF, errors.New("connection reset")} {
		base := runtime.NumGoroutine()
		data := make([]byte, 3*readAheadChunk+5)
		body := readAheadBody(context.Background(), &smallReads{r: bytes.NewReader(data), err: want}, nil)
		got, err := io.ReadAll(body)
		if err != want || len(got) != len(data) {
			t.Fatalf("read %d of %d bytes, error %v, want %v", len(got), len(data), err, want)
		}
		body.Close()
		settled(t, base)
	}
}

// Close in the middle of an endless body, with the filler blocked on a
// full queue or in the body's Read, stops it.
func TestReadAheadCloseStopsFiller(t *testing.T) {
	base := runtime.NumGoroutine()
	for _, wait := range []time.Duration{0, 20 * time.Millisecond} {
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := pw.Write(buf); err != nil {
					return
				}
			}
		}()
		body := readAheadBody(context.Background(), pr, nil)
		if _, err := io.ReadFull(body, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		if err := body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	settled(t, base)
}

// A body that never answers: the end of ctx stops the filler and fails
// the Read with the cause.
func TestReadAheadContextEnd(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, readAheadChunk*(readAheadChunks+3)))
	}()
	body := readAheadBody(ctx, pr, nil)
	if _, err := io.ReadFull(body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the filler waits on a full queue
	cancel()
	_, err := io.Copy(io.Discard, body)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	body.Close()
	settled(t, base)
}

// A body that is never read is never read ahead.
func TestReadAheadUnreadNoGoroutine(t *testing.T) {
	base := runtime.NumGoroutine()
	src := &smallReads{r: bytes.NewReader(make([]byte, 10))}
	body := readAheadBody(context.Background(), src, nil)
	if n := runtime.NumGoroutine(); n != base {
		t.Fatalf("%d goroutines before any Read, %d before", n, base)
	}
	body.Close()
	if !src.closed {
		t.Fatal("body not closed")
	}
}
