package s3crypto

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// maxReadFrame bounds the frame length GetObject accepts, and so the
// memory a hostile object can make it allocate.
const maxReadFrame = 4 << 20

// GetObject gets an encrypted object and returns its plaintext. An object
// in an Amazon S3 Encryption Client format (see the package
// documentation) is read as that format says; the rest of this comment is
// about envelope objects. The
// output is a copy of S3's with Body the plaintext (closing it closes the
// S3 body), ContentLength the plaintext length (nil for an object whose
// metadata records neither it nor the header length, which s3crypto
// always records), the user metadata without
// the s3crypto keys, and no checksum fields (they are of the ciphertext);
// ETag, VersionId and the other fields are kept. The header of the
// object is authenticated before GetObject returns, with the bucket and
// key and the context from WithEncryptionContext as the expected
// encryption context, and Body releases each 64 KiB frame of plaintext
// only once its tag has verified: a tampered object fails with
// envelope.ErrAuthentication (or another envelope category) and releases
// nothing from the bad frame on. An object stored without client-side
// encryption fails with ErrNotEncrypted, and its body is not returned.
// An envelope object of a signed suite (which s3crypto does not write) is
// released only once its signature has verified, spooled as
// envelope.NewReader does.
//
// With Range (bytes=a-b, bytes=a- or bytes=-n, in plaintext offsets, as S3
// reads them), GetObject fetches only the message header and the frames
// that hold the range: one request for the start of the object (the
// header; and the frames too when the range is bounded and ends in the
// first 256 KiB of plaintext, or the object is small), one more for the
// rest of a longer header, and one for the frames, all conditional on the
// ETag of the first answer. Body releases exactly the requested bytes,
// each frame only once its tag has verified; ContentLength is their
// count and ContentRange "bytes a-b/total" in plaintext terms. A range
// that starts at or past the end of the plaintext (any range, for an
// empty object) fails with ErrInvalidRange, as S3 does; a malformed Range
// fails with ErrInvalidRequest. Objects of signed suites, whose signature
// covers the whole object, and objects stored without the header length
// in their metadata refuse ranges with ErrUnsupported. PartNumber is not
// supported and fails with ErrUnsupported before any request.
func (c *Client) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if in == nil {
		return nil, opErr("GetObject", nil, nil, invalid("nil input"))
	}
	out, err := c.getObject(ctx, in, optFns)
	return out, opErr("GetObject", in.Bucket, in.Key, err)
}

func (c *Client) getObject(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, _, err := c.getObjectOr(ctx, in, optFns, false)
	return out, err
}

// getObjectOr is getObject, but with keepS3EC (and no Range) the S3 answer
// for an object that is not an envelope object is returned as is, its
// body open, in s3ecRaw (CopyObject copies those on the server).
func (c *Client) getObjectOr(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options), keepS3EC bool) (plain, s3ecRaw *s3.GetObjectOutput, err error) {
	if in.PartNumber != nil {
		return nil, nil, fmt.Errorf("%w: GET of one part (PartNumber) of an encrypted object", ErrUnsupported)
	}
	ec, err := objectContext(ctx, aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, nil, err
	}
	if in.Range != nil {
		out, err := c.getRange(ctx, in, optFns, ec)
		return out, nil, err
	}
	get := *in
	raw, err := c.api.GetObject(ctx, &get, optFns...)
	if err != nil {
		return nil, nil, apiErr(err)
	}
	if raw.Body == nil {
		return nil, nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	if !isEnvelope(raw.Metadata) {
		if keepS3EC {
			return nil, raw, nil
		}
		out, err := c.getS3EC(ctx, in, raw, optFns)
		if err != nil && raw.Body != nil {
			raw.Body.Close()
		}
		return out, nil, err
	}
	raw.Body = readAheadBody(ctx, raw.Body, raw.ContentLength)
	pt, err := c.open(ctx, raw, ec, aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		raw.Body.Close()
		return nil, nil, err
	}
	out := *raw
	out.Body = pt
	out.ContentLength = nil
	if pt.want >= 0 {
		out.ContentLength = aws.Int64(pt.want)
	}
	out.Metadata = userMeta(raw.Metadata)
	out.ContentRange = nil
	out.AcceptRanges = aws.String("bytes")
	clearChecksums(&out)
	return &out, nil, nil
}

// open checks the metadata of raw and authenticates the message header.
func (c *Client) open(ctx context.Context, raw *s3.GetObjectOutput, ec map[string]string, bucket, key string) (*plainBody, error) {
	if raw.Body == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	om, err := parseMeta(raw.Metadata)
	if err != nil {
		return nil, err
	}
	if raw.ContentLength != nil {
		if err := om.setPlainLength(*raw.ContentLength); err != nil {
			return nil, err
		}
	}
	if want := om.ciphertextLength(); want >= 0 && raw.ContentLength != nil && *raw.ContentLength != want {
		return nil, fmt.Errorf("%w: object is %d bytes, its metadata implies %d", envelope.ErrFormat, *raw.ContentLength, want)
	}
	r, err := envelope.NewReader(ctx, raw.Body, c.kr, c.readOptions(ec, om)...)
	if err != nil {
		return nil, err
	}
	if fs := r.Header().FrameSize; fs != om.frameSize {
		r.Close()
		return nil, fmt.Errorf("%w: frame size %d in the message, %d in the metadata", envelope.ErrFormat, fs, om.frameSize)
	}
	return &plainBody{r: r, raw: raw.Body, want: om.plainLen, bucket: bucket, key: key}, nil
}

// plainBody is the plaintext of an object. It checks at the end that the
// message held as many bytes as the metadata says.
type plainBody struct {
	r           *envelope.Reader
	raw         io.ReadCloser
	want, n     int64
	bucket, key string
	err         error
}

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.want >= 0 && b.n > b.want {
		// Nothing past the stated length is released.
		n -= int(b.n - b.want)
		b.n = b.want
		err = fmt.Errorf("%w: more plaintext than the %d bytes the metadata says", envelope.ErrFormat, b.want)
	} else if errors.Is(err, io.EOF) && b.want >= 0 && b.n != b.want {
		err = fmt.Errorf("%w: %d bytes of plaintext, the metadata says %d", envelope.ErrFormat, b.n, b.want)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = getErr(b.bucket, b.key, err)
		return n, b.err
	}
	if err != nil {
		b.err = io.EOF
	}
	return n, err
}

// WriteTo writes the plaintext to w frame by frame, without the copy
// through a caller's buffer that Read makes (io.Copy uses it). It writes
// no byte beyond the length the metadata states: it stops there with an
// error.
func (b *plainBody) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		if errors.Is(b.err, io.EOF) {
			return 0, nil
		}
		return 0, b.err
	}
	cw := &plainWriter{b: b, w: w}
	n, err := b.r.WriteTo(cw)
	if err == nil && b.want >= 0 && b.n != b.want {
		err = fmt.Errorf("%w: %d bytes of plaintext, the metadata says %d", envelope.ErrFormat, b.n, b.want)
	}
	switch {
	case err == nil:
		b.err = io.EOF
	case cw.werr != nil && errors.Is(err, cw.werr):
		// The writer's own failure: returned as it is, the body not ended.
		return n, err
	default:
		b.err = getErr(b.bucket, b.key, err)
		return n, b.err
	}
	return n, nil
}

// plainWriter counts what plainBody.WriteTo releases and refuses what
// would exceed the stated length.
type plainWriter struct {
	b    *plainBody
	w    io.Writer
	werr error // the last error of w
}

func (cw *plainWriter) Write(p []byte) (int, error) {
	b := cw.b
	var over error
	if b.want >= 0 && b.n+int64(len(p)) > b.want {
		over = fmt.Errorf("%w: more plaintext than the %d bytes the metadata says", envelope.ErrFormat, b.want)
		p = p[:b.want-b.n]
	}
	n, err := cw.w.Write(p)
	if n < 0 || n > len(p) {
		n, err = 0, errInvalidWrite
	} else if n < len(p) && err == nil {
		err = io.ErrShortWrite // as io.Copy: a writer that takes nothing is not called again and again
	}
	b.n += int64(n)
	if err != nil {
		cw.werr = err
		return n, err
	}
	return n, over
}

// Close closes the decrypting reader and the S3 body.
func (b *plainBody) Close() error {
	b.r.Close()
	return b.raw.Close()
}

// HeadObject heads an object and reports its plaintext length as
// ContentLength, with the user metadata without the s3crypto (and S3
// Encryption Client) keys and no checksum fields. It authenticates nothing
// (no body is read): the length comes from the object metadata, which
// GetObject checks against the message; for an S3 Encryption Client
// object it is the object length less the 16-byte tag, checked against a
// recorded length, and its instruction file is read when it has one. An
// object without encryption metadata or instruction file fails with
// ErrNotEncrypted. For an object uploaded before its length was known,
// the plaintext length is computed from the object length.
func (c *Client) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if in == nil {
		return nil, opErr("HeadObject", nil, nil, invalid("nil input"))
	}
	out, err := c.headObject(ctx, in, optFns)
	return out, opErr("HeadObject", in.Bucket, in.Key, err)
}

func (c *Client) headObject(ctx context.Context, in *s3.HeadObjectInput, optFns []func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if in.Range != nil || in.PartNumber != nil {
		return nil, fmt.Errorf("%w: ranged HEAD (Range or PartNumber) of an encrypted object", ErrUnsupported)
	}
	head := *in
	raw, err := c.api.HeadObject(ctx, &head, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	if !isEnvelope(raw.Metadata) {
		return c.headS3EC(ctx, in, raw, optFns)
	}
	om, err := parseMeta(raw.Metadata)
	if err != nil {
		return nil, err
	}
	if raw.ContentLength != nil {
		if err := om.setPlainLength(*raw.ContentLength); err != nil {
			return nil, err
		}
	}
	out := *raw
	out.ContentLength = nil
	if om.plainLen >= 0 {
		out.ContentLength = aws.Int64(om.plainLen)
	}
	out.Metadata = userMeta(raw.Metadata)
	out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME = nil, nil, nil
	out.ChecksumMD5, out.ChecksumSHA1, out.ChecksumSHA256, out.ChecksumSHA512 = nil, nil, nil, nil
	out.ChecksumXXHASH128, out.ChecksumXXHASH3, out.ChecksumXXHASH64 = nil, nil, nil
	out.ChecksumType = ""
	return &out, nil
}

// DeleteObject deletes an object, passed through unchanged, and then
// its instruction file "<key>.instruction" (an S3 Encryption Client
// object may have one), unless the request names a VersionId (instruction
// files have versions of their own). A missing instruction file is no
// error; the output is that of the object's deletion.
func (c *Client) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if in == nil {
		return nil, opErr("DeleteObject", nil, nil, invalid("nil input"))
	}
	out, err := c.api.DeleteObject(ctx, in, optFns...)
	if err == nil && in.VersionId == nil {
		err = c.deleteInstruction(ctx, in, optFns)
	}
	return out, opErr("DeleteObject", in.Bucket, in.Key, apiErr(err))
}

// DeleteObjects deletes objects, passed through unchanged, and then the
// instruction files of those named without a VersionId, in further
// requests whose failures to delete (other than a missing file) are
// added to the output's Errors. Its errors name the bucket and no key.
func (c *Client) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	if in == nil {
		return nil, opErr("DeleteObjects", nil, nil, invalid("nil input"))
	}
	out, err := c.api.DeleteObjects(ctx, in, optFns...)
	if err == nil {
		err = c.deleteInstructions(ctx, in, out, optFns)
	}
	return out, opErr("DeleteObjects", in.Bucket, nil, apiErr(err))
}

// readOptions are the options of every read of an object: the expected
// context, the client's policy and cache, and frames no longer than the
// metadata says.
func (c *Client) readOptions(ec map[string]string, om *objectMeta) []envelope.Option {
	return []envelope.Option{
		envelope.WithContext(ec),
		envelope.WithCommitmentPolicy(c.cfg.policy),
		envelope.WithCache(c.cfg.cache),
		envelope.WithMaxFrameSize(min(om.frameSize, maxReadFrame)),
	}
}
