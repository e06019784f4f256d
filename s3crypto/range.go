package s3crypto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// headerProbe is how much of an object the first request of a ranged GET
// asks for at least: the message header (most are a few hundred bytes)
// and, for a small object, the frames too. A bounded range that ends
// within the first cheapProbe bytes of plaintext is read whole with the
// first request.
const (
	headerProbe = 4 << 10
	cheapProbe  = 4 * FrameSize
)

// probeLength returns how many bytes the first request for r asks for.
func (r rangeSpec) probeLength() int64 {
	if r.first < 0 || r.last < 0 || r.last >= cheapProbe {
		return headerProbe
	}
	return headerProbe + (r.last/FrameSize+1)*(FrameSize+frameOverhead)
}

// rangeSpec is a parsed Range header: bytes=first-last, bytes=first- (last
// < 0) or bytes=-suffix (first < 0).
type rangeSpec struct {
	first, last, suffix int64
}

// parseRange parses a single byte range as S3 accepts it.
func parseRange(s string) (rangeSpec, error) {
	bad := func() (rangeSpec, error) {
		return rangeSpec{}, invalid("Range %q is not bytes=a-b, bytes=a- or bytes=-n", s)
	}
	v, ok := strings.CutPrefix(s, "bytes=")
	if !ok {
		return bad()
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok || (a == "" && b == "") {
		return bad()
	}
	num := func(x string) (int64, bool) {
		if x == "" || strings.TrimLeft(x, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	r := rangeSpec{first: -1, last: -1}
	if a == "" {
		n, ok := num(b)
		if !ok {
			return bad()
		}
		r.suffix = n
		return r, nil
	}
	if r.first, ok = num(a); !ok {
		return bad()
	}
	if b != "" {
		if r.last, ok = num(b); !ok || r.last < r.first {
			return bad()
		}
	}
	return r, nil
}

// resolve returns the inclusive plaintext range r selects from n bytes, as
// S3 does, or ErrInvalidRange.
func (r rangeSpec) resolve(n int64) (first, last int64, err error) {
	if r.first < 0 {
		if r.suffix == 0 || n == 0 {
			return 0, 0, fmt.Errorf("%w: bytes=-%d of %d bytes", ErrInvalidRange, r.suffix, n)
		}
		return max(n-r.suffix, 0), n - 1, nil
	}
	if r.first >= n {
		return 0, 0, fmt.Errorf("%w: range starts at %d, the object holds %d bytes", ErrInvalidRange, r.first, n)
	}
	if r.last < 0 || r.last >= n {
		return r.first, n - 1, nil
	}
	return r.first, r.last, nil
}

// getRange gets the plaintext bytes in.Range selects: one request for the
// header (and the frames, when they lie in the bytes it asks for), one
// more for the rest of a long header, and one for the frames.
func (c *Client) getRange(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options), ec map[string]string) (*s3.GetObjectOutput, error) {
	spec, err := parseRange(*in.Range)
	if err != nil {
		return nil, err
	}
	req := *in
	probe := spec.probeLength()
	req.Range = aws.String(fmt.Sprintf("bytes=0-%d", probe-1))
	raw, err := c.api.GetObject(ctx, &req, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	if raw.Body == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	prefix, err := readPrefix(raw.Body, probe)
	raw.Body.Close()
	if err != nil {
		return nil, err
	}
	pinned := raw.ETag != nil && req.IfMatch == nil
	if pinned {
		req.IfMatch = raw.ETag // the next requests read the same object
	}
	total, err := objectLength(raw, len(prefix))
	if err != nil {
		return nil, err
	}
	if !isEnvelope(raw.Metadata) {
		return c.getS3ECRangeOf(ctx, in, optFns, raw.Metadata, total, req.IfMatch)
	}
	om, err := parseMeta(raw.Metadata)
	if err != nil {
		return nil, err
	}
	if signedPrefix(prefix) {
		return nil, fmt.Errorf("%w: ranged GET of an object of a signed suite (the signature covers the whole object)", ErrUnsupported)
	}
	if om.headerLen < 0 {
		return nil, fmt.Errorf("%w: ranged GET of an object whose metadata lacks %s", ErrUnsupported, MetaHeaderLength)
	}
	if err := om.setPlainLength(total); err != nil {
		return nil, err
	}
	if want := om.ciphertextLength(); want != total {
		return nil, fmt.Errorf("%w: object is %d bytes, its metadata implies %d", envelope.ErrFormat, total, want)
	}
	if n := int64(len(prefix)); n < om.headerLen {
		req.Range = aws.String(fmt.Sprintf("bytes=%d-%d", n, om.headerLen-1))
		rest, err := c.fetch(ctx, &req, optFns, om.headerLen-n)
		if err != nil {
			return nil, changedErr(pinned, err)
		}
		prefix = append(prefix, rest...)
	}
	o, err := envelope.OpenHeader(ctx, bytes.NewReader(prefix[:om.headerLen]), c.kr, c.readOptions(ec, om)...)
	if err != nil {
		return nil, err
	}
	if o.FrameSize() != om.frameSize || int64(o.HeaderLength()) != om.headerLen {
		o.Close()
		return nil, fmt.Errorf("%w: frame size %d and header length %d in the message, %d and %d in the metadata",
			envelope.ErrFormat, o.FrameSize(), o.HeaderLength(), om.frameSize, om.headerLen)
	}
	first, last, err := spec.resolve(om.plainLen)
	if err != nil {
		o.Close()
		return nil, err
	}
	body := &rangeBody{o: o, fs: int64(om.frameSize), plainLen: om.plainLen, first: first, last: last,
		seq: uint32(first/int64(om.frameSize)) + 1, bucket: aws.ToString(in.Bucket), key: aws.ToString(in.Key)}
	start, end := body.span(om.headerLen)
	out := *raw
	if end <= int64(len(prefix)) {
		body.src = io.NopCloser(bytes.NewReader(prefix[start:end]))
	} else {
		req.Range = aws.String(fmt.Sprintf("bytes=%d-%d", start, end-1))
		raw2, err := c.api.GetObject(ctx, &req, optFns...)
		if err != nil {
			o.Close()
			return nil, changedErr(pinned, apiErr(err))
		}
		if raw2.Body == nil {
			o.Close()
			return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
		}
		if raw2.ContentLength != nil && *raw2.ContentLength != end-start {
			raw2.Body.Close()
			o.Close()
			return nil, fmt.Errorf("%w: asked for %d bytes of the object, got %d", envelope.ErrFormat, end-start, *raw2.ContentLength)
		}
		body.src = readAheadBody(ctx, raw2.Body, raw2.ContentLength)
		out = *raw2
	}
	out.Body = body
	out.ContentLength = aws.Int64(last - first + 1)
	out.ContentRange = aws.String(fmt.Sprintf("bytes %d-%d/%d", first, last, om.plainLen))
	out.AcceptRanges = aws.String("bytes")
	out.Metadata = userMeta(raw.Metadata)
	clearChecksums(&out)
	return &out, nil
}

// fetch gets exactly n bytes with req.
func (c *Client) fetch(ctx context.Context, req *s3.GetObjectInput, optFns []func(*s3.Options), n int64) ([]byte, error) {
	raw, err := c.api.GetObject(ctx, req, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	if raw.Body == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	defer raw.Body.Close()
	return readExactly(raw.Body, n)
}

// changedErr classifies err, the failure of a request of a ranged GET: when
// s3crypto made the request conditional on the ETag of its first answer
// (pinned), S3's 412 means the object was replaced in between, which a new
// GetObject does not meet, so it may pass.
func changedErr(pinned bool, err error) error {
	var re interface{ HTTPStatusCode() int }
	if pinned && !errors.Is(err, envelope.ErrTransient) && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
		return fmt.Errorf("%w: the object changed during the ranged GET: %w", envelope.ErrTransient, err)
	}
	return err
}

// readPrefix reads r to its end, up to max bytes.
func readPrefix(r io.Reader, max int64) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	b, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the object: %w", envelope.ErrTransient, err)
	}
	return b, nil
}

// readExactly reads n bytes from r.
func readExactly(r io.Reader, n int64) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, bodyErr(err)
	}
	return b, nil
}

// bodyErr classifies an error reading ciphertext from S3: the object
// ending early is a format error, anything else may pass.
func bodyErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: object truncated", envelope.ErrFormat)
	}
	return fmt.Errorf("%w: reading the object: %w", envelope.ErrTransient, err)
}

// objectLength returns the length of the whole object from the answer to
// a ranged GET (got bytes long).
func objectLength(raw *s3.GetObjectOutput, got int) (int64, error) {
	if raw.ContentRange == nil {
		if raw.ContentLength != nil && *raw.ContentLength == int64(got) {
			return int64(got), nil // the whole object
		}
		return 0, fmt.Errorf("%w: ranged GET answered without Content-Range", envelope.ErrFormat)
	}
	_, tot, ok := strings.Cut(*raw.ContentRange, "/")
	n, err := strconv.ParseInt(tot, 10, 64)
	if !ok || err != nil || n < int64(got) {
		return 0, fmt.Errorf("%w: Content-Range %q", envelope.ErrFormat, *raw.ContentRange)
	}
	return n, nil
}

// signedPrefix reports whether the message starting with b is of a signed
// suite (false when b is too short to say: OpenHeader then decides).
func signedPrefix(b []byte) bool {
	var id []byte
	switch {
	case len(b) >= 4 && b[0] == 1:
		id = b[2:4]
	case len(b) >= 3 && b[0] == 2:
		id = b[1:3]
	default:
		return false
	}
	return envelope.SuiteID(uint16(id[0])<<8 | uint16(id[1])).Signed()
}

// rangeBody releases plaintext bytes first..last of an object, reading
// the frames that hold them from src and authenticating each before
// releasing any of its bytes.
type rangeBody struct {
	o              *envelope.FrameOpener
	src            io.ReadCloser
	fs, plainLen   int64
	first, last    int64
	seq            uint32 // the next frame
	pos            int64  // plaintext offset of the next frame's start
	frame, pt, out []byte
	started        bool
	bucket, key    string
	err            error
}

// span returns the ciphertext offsets [start, end) of the frames that hold
// the range, in a message whose header is hlen bytes.
func (b *rangeBody) span(hlen int64) (start, end int64) {
	fseq, lseq := b.first/b.fs+1, b.last/b.fs+1
	stride := b.fs + frameOverhead
	start = hlen + (fseq-1)*stride
	end = hlen + (lseq-1)*stride + int64(b.frameLen(uint32(lseq)))
	b.pos = (fseq - 1) * b.fs
	return start, end
}

// final reports whether frame seq is the final frame.
func (b *rangeBody) final(seq uint32) bool { return int64(seq) > b.plainLen/b.fs }

func (b *rangeBody) frameLen(seq uint32) int {
	if b.final(seq) {
		return envelope.FrameLength(int(b.plainLen%b.fs), true)
	}
	return envelope.FrameLength(int(b.fs), false)
}

func (b *rangeBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.pos > b.last {
			b.wipe()
			b.err = io.EOF
			return 0, io.EOF
		}
		if err := b.next(); err != nil {
			b.wipe()
			b.err = getErr(b.bucket, b.key, err)
			return 0, b.err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// next reads and opens the next frame and sets b.out to the part of its
// plaintext in the range.
func (b *rangeBody) next() error {
	n := b.frameLen(b.seq)
	if cap(b.frame) < n {
		b.frame = make([]byte, n)
	}
	b.frame = b.frame[:n]
	if _, err := io.ReadFull(b.src, b.frame); err != nil {
		return bodyErr(err)
	}
	pt, err := b.o.OpenFrame(b.pt[:0], b.seq, b.final(b.seq), b.frame)
	if err != nil {
		return err
	}
	b.pt = pt
	lo := max(b.first-b.pos, 0)
	hi := min(b.last-b.pos+1, int64(len(pt)))
	b.out = pt[lo:hi]
	b.pos += b.fs
	b.seq++
	return nil
}

func (b *rangeBody) wipe() {
	b.out = nil
	clear(b.pt[:cap(b.pt)])
	b.o.Close()
}

// Close wipes the plaintext held and closes the S3 body.
func (b *rangeBody) Close() error {
	b.wipe()
	if b.err == nil {
		b.err = envelope.ErrClosed
	}
	return b.src.Close()
}

// clearChecksums removes the checksum fields of out: they are of the
// ciphertext.
func clearChecksums(out *s3.GetObjectOutput) {
	out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME = nil, nil, nil
	out.ChecksumMD5, out.ChecksumSHA1, out.ChecksumSHA256, out.ChecksumSHA512 = nil, nil, nil, nil
	out.ChecksumXXHASH128, out.ChecksumXXHASH3, out.ChecksumXXHASH64 = nil, nil, nil
	out.ChecksumType = ""
}
