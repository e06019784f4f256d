package s3crypto

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// PutObject encrypts in.Body and stores it in the client's format (see
// WithFormat; an envelope object by default). The input is not modified. in.ContentLength, if set, is the plaintext length, and
// the body must hold exactly that many bytes. A body of up to the part
// size (see WithPartSize) is stored with one PutObject request; a longer
// one, or one of unknown length that turns out longer, is stored with a
// multipart upload whose parts are encrypted and sent in parallel, and
// which is aborted on any failure, including the end of ctx. Only
// ciphertext is ever sent. Checksums and Content-MD5 set by the caller
// would be of the plaintext and are refused with ErrInvalidRequest; set
// ChecksumAlgorithm instead to have the SDK checksum the ciphertext.
// The output is that of the PutObject or CompleteMultipartUpload request.
func (c *Client) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if in == nil {
		return nil, opErr("PutObject", nil, nil, invalid("nil input"))
	}
	out, err := c.putObject(ctx, in, optFns)
	return out, opErr("PutObject", in.Bucket, in.Key, err)
}

// putBody returns the body of in (empty when nil) and its length: the
// declared ContentLength, else the length knownLength finds, else -1.
func putBody(in *s3.PutObjectInput) (io.Reader, int64) {
	var body io.Reader = bytes.NewReader(nil)
	if in.Body != nil {
		body = in.Body
	}
	if in.ContentLength != nil {
		return body, *in.ContentLength
	}
	if n, ok := knownLength(body); ok {
		return body, n
	}
	return body, -1
}

func (c *Client) putObject(ctx context.Context, in *s3.PutObjectInput, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := checkPutInput(in); err != nil {
		return nil, err
	}
	if c.cfg.format != FormatEnvelope {
		if err := checkS3ECUserMeta(in.Metadata); err != nil {
			return nil, err
		}
		return c.putS3EC(ctx, in, optFns)
	}
	ec, err := objectContext(ctx, aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, err
	}
	body, declared := putBody(in)
	if declared > c.cfg.partSize {
		return c.putMultipart(ctx, in, body, declared, ec, optFns)
	}
	// Read up to a part of plaintext: a body that ends within it is stored
	// with one request.
	limit := c.cfg.partSize
	if declared >= 0 {
		limit = declared
	}
	pt, err := readUpTo(body, limit+1)
	if err != nil {
		return nil, err
	}
	n := len(pt)
	if declared >= 0 && int64(n) != declared {
		clear(pt)
		return nil, invalid("ContentLength is %d but the body holds %s bytes", declared, lengthWord(int64(n), declared))
	}
	if int64(n) > limit {
		// The first part's plaintext is wiped and let go once encrypted.
		return c.putMultipart(ctx, in, io.MultiReader(&wipingReader{b: pt}, body), -1, ec, optFns)
	}
	defer clear(pt)
	return c.putSingle(ctx, in, pt, ec, optFns)
}

// readUpTo reads r until its end or max bytes. The buffer grows by
// doubling up to max (never past it), and outgrown buffers are wiped.
func readUpTo(r io.Reader, max int64) ([]byte, error) {
	buf := make([]byte, 0, min(max, 64<<10))
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max, 2*int64(cap(buf))))
			copy(grown, buf)
			clear(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
	}
	return buf, nil
}

// wipingReader reads b, then wipes it and drops it.
type wipingReader struct {
	b   []byte
	off int
}

func (r *wipingReader) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		clear(r.b)
		r.b, r.off = nil, 0
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func lengthWord(n, declared int64) string {
	if n > declared {
		return "more"
	}
	return strconv.FormatInt(n, 10)
}

// putSingle encrypts pt into memory (at most a part) and stores it with
// one request. The body is seekable, so the SDK can sign it and retry.
func (c *Client) putSingle(ctx context.Context, in *s3.PutObjectInput, pt []byte, ec map[string]string, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	bodyLen, err := envelope.BodyLength(int64(len(pt)), FrameSize)
	if err != nil {
		return nil, err
	}
	var ct bytes.Buffer
	w, err := envelope.NewWriter(ctx, &ct, c.kr, c.writerOptions(ec, int64(len(pt)))...)
	if err != nil {
		return nil, err
	}
	headerLen := int64(ct.Len())
	ct.Grow(int(bodyLen))
	if _, err := w.Write(pt); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if int64(ct.Len()) != headerLen+bodyLen {
		return nil, errors.New("s3crypto: ciphertext length differs from the computed length")
	}
	put := *in
	put.Body = bytes.NewReader(ct.Bytes())
	put.ContentLength = aws.Int64(int64(ct.Len()))
	put.Metadata = c.metadata(in.Metadata, int64(len(pt)), headerLen)
	out, err := c.api.PutObject(ctx, &put, optFns...)
	return out, apiErr(err)
}

// writerOptions are the envelope options of a new object.
func (c *Client) writerOptions(ec map[string]string, plainLen int64) []envelope.Option {
	opts := []envelope.Option{
		envelope.WithContext(ec),
		envelope.WithSuite(c.suite()),
		envelope.WithFrameSize(FrameSize),
		envelope.WithCommitmentPolicy(c.cfg.policy),
	}
	if plainLen >= 0 {
		opts = append(opts, envelope.WithPlaintextLength(plainLen), envelope.WithCache(c.cfg.cache))
	}
	return opts
}

// metadata returns the caller's metadata with the s3crypto keys added.
// plainLen and headerLen are left out when negative.
func (c *Client) metadata(user map[string]string, plainLen, headerLen int64) map[string]string {
	m := maps.Clone(user)
	if m == nil {
		m = make(map[string]string, 4)
	}
	m[MetaFormat] = c.cfg.format.String()
	m[MetaFrameSize] = strconv.Itoa(FrameSize)
	if plainLen >= 0 {
		m[MetaPlainLength] = strconv.FormatInt(plainLen, 10)
	}
	if headerLen >= 0 {
		m[MetaHeaderLength] = strconv.FormatInt(headerLen, 10)
	}
	return m
}

// checkPutInput refuses fields that cannot hold for the ciphertext.
func checkPutInput(in *s3.PutObjectInput) error {
	if in.Bucket == nil || in.Key == nil {
		return invalid("Bucket and Key are required")
	}
	if in.ContentLength != nil && *in.ContentLength < 0 {
		return invalid("negative ContentLength %d", *in.ContentLength)
	}
	set := map[string]*string{
		"ContentMD5": in.ContentMD5, "ChecksumCRC32": in.ChecksumCRC32, "ChecksumCRC32C": in.ChecksumCRC32C,
		"ChecksumCRC64NVME": in.ChecksumCRC64NVME, "ChecksumMD5": in.ChecksumMD5, "ChecksumSHA1": in.ChecksumSHA1,
		"ChecksumSHA256": in.ChecksumSHA256, "ChecksumSHA512": in.ChecksumSHA512, "ChecksumXXHASH128": in.ChecksumXXHASH128,
		"ChecksumXXHASH3": in.ChecksumXXHASH3, "ChecksumXXHASH64": in.ChecksumXXHASH64,
	}
	for name, v := range set {
		if v != nil {
			return invalid("%s is set: it would be of the plaintext, not of the stored ciphertext (set ChecksumAlgorithm to have the ciphertext checksummed)", name)
		}
	}
	if in.WriteOffsetBytes != nil {
		return invalid("WriteOffsetBytes: appending to an encrypted object is not possible")
	}
	if strings.EqualFold(aws.ToString(in.ContentEncoding), "aws-chunked") {
		return invalid("ContentEncoding aws-chunked")
	}
	return checkUserMeta(in.Metadata)
}

// knownLength returns the unread length of readers whose length is known
// without reading them.
func knownLength(r io.Reader) (int64, bool) {
	switch b := r.(type) {
	case *bytes.Reader:
		return int64(b.Len()), true
	case *strings.Reader:
		return int64(b.Len()), true
	case *bytes.Buffer:
		return int64(b.Len()), true
	}
	return 0, false
}
