package spool

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readBack releases s and returns everything it kept.
func readBack(s *Spool) ([]byte, error) {
	if err := s.Release(); err != nil {
		return nil, err
	}
	var out []byte
	for {
		b, err := s.Next()
		if err != nil || b == nil {
			return out, err
		}
		out = append(out, b...)
	}
}

// TestRoundTrip writes in pieces of several sizes across the memory bound
// and the chunk size and reads the same bytes back; the file holds none
// of them as such and is removed on Close.
func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1001, Chunk, 3*Chunk + 17} {
		for _, piece := range []int{1, 999, Chunk, 5 * Chunk} {
			if piece == 1 && n > 2000 {
				continue
			}
			dir := t.TempDir()
			s := New(1000, -1, dir)
			data := randBytes(n)
			for p := data; len(p) > 0; {
				k := min(piece, len(p))
				if err := s.Write(p[:k]); err != nil {
					t.Fatal(err)
				}
				p = p[k:]
			}
			if s.Len() != int64(n) || s.InFile() != (n > 1000) {
				t.Fatalf("n=%d: Len %d, InFile %v", n, s.Len(), s.InFile())
			}
			if n > 1000+64 {
				disk, _ := os.ReadFile(files(t, dir)[0])
				if bytes.Contains(disk, data[1000:1064]) {
					t.Fatalf("n=%d: the file holds the data as such", n)
				}
			}
			got, err := readBack(s)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("n=%d piece=%d: %d bytes back, %v", n, piece, len(got), err)
			}
			s.Close()
			if f := files(t, dir); len(f) != 0 {
				t.Fatalf("n=%d: %v left", n, f)
			}
			for _, b := range s.Buffers() {
				if !bytes.Equal(b, make([]byte, len(b))) {
					t.Fatal("a buffer was not wiped")
				}
			}
		}
	}
}

// TestModified checks that a truncated or altered file fails with
// ErrModified.
func TestModified(t *testing.T) {
	for _, change := range []func([]byte) []byte{
		func(b []byte) []byte { return b[:len(b)-1] },
		func(b []byte) []byte { return b[:Chunk] },
		func(b []byte) []byte { b[10] ^= 1; return b },
		func(b []byte) []byte { return append(b[Chunk+16:], b[:Chunk+16]...) }, // chunks swapped
	} {
		dir := t.TempDir()
		s := New(0, -1, dir)
		if err := s.Write(randBytes(2*Chunk + 5)); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(); err != nil {
			t.Fatal(err)
		}
		name := files(t, dir)[0]
		disk, _ := os.ReadFile(name)
		if err := os.WriteFile(name, change(disk), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		for b := []byte{0}; err == nil && b != nil; {
			b, err = s.Next()
		}
		if !errors.Is(err, ErrModified) {
			t.Fatalf("modified file: %v", err)
		}
		s.Close()
	}
}

// TestLimit checks that more than the maximum is refused.
func TestLimit(t *testing.T) {
	s := New(10, 100, t.TempDir())
	if err := s.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(make([]byte, 1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("past the limit: %v", err)
	}
	if err := s.Reserve(0); err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestDroppedSpool checks that the file of a Spool dropped without Close
// is removed once the Spool is garbage collected.
func TestDroppedSpool(t *testing.T) {
	dir := t.TempDir()
	func() {
		s := New(0, -1, dir)
		if err := s.Write(randBytes(10)); err != nil {
			t.Fatal(err)
		}
	}()
	for range 50 {
		runtime.GC()
		if len(files(t, dir)) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the file of a dropped Spool was not removed")
}

// TestMisuse checks Write after Release and Next before it.
func TestMisuse(t *testing.T) {
	s := New(10, -1, t.TempDir())
	if _, err := s.Next(); err == nil {
		t.Fatal("Next before Release")
	}
	s.Release()
	if err := s.Write([]byte{1}); err == nil {
		t.Fatal("Write after Release")
	}
}
