package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
)

// period is the length of the generated content's repeating pattern: a
// little over 1 MiB, so that it lines up with neither parts nor frames.
const period = 1<<20 + 13

// pattern is the repeating content of every generated body, the same in
// every process.
var pattern = func() []byte {
	b := make([]byte, period)
	r := rand.NewChaCha8([32]byte{'s', '3', 'b', 'e', 'n', 'c', 'h'})
	_, _ = r.Read(b)
	return b
}()

// gen is a body of size bytes generated on the fly: an io.ReadSeeker
// (so the SDK can sign it and retry) that holds nothing but its offset.
type gen struct {
	size, off int64
}

func newGen(size int64) *gen { return &gen{size: size} }

func (g *gen) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.size-g.off)]
	n := fill(p, g.off)
	g.off += int64(n)
	return n, nil
}

func (g *gen) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, errors.New("gen: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("gen: negative offset")
	}
	g.off = offset
	return offset, nil
}

// fill writes the content at offset off into p.
func fill(p []byte, off int64) int {
	n := 0
	for n < len(p) {
		n += copy(p[n:], pattern[(off+int64(n))%period:])
	}
	return n
}

// checker is an io.Writer that compares what is written with the
// content generated from offset off on.
type checker struct {
	off int64
	err error
}

func (c *checker) Write(p []byte) (int, error) {
	for done := 0; done < len(p); {
		at := (c.off + int64(done)) % period
		n := min(len(p)-done, int(period-at))
		if !bytes.Equal(p[done:done+n], pattern[at:at+int64(n)]) && c.err == nil {
			c.err = fmt.Errorf("content differs in the %d bytes at offset %d", n, c.off+int64(done))
		}
		done += n
	}
	c.off += int64(len(p))
	return len(p), nil
}

// countingTransport counts the bytes of every response body read through
// it: what a GET moved over the wire.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
