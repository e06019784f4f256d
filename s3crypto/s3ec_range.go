package s3crypto

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/gcmstream"
)

// WithUnauthenticatedS3ECRanges lets GetObject serve a Range of an object
// in an S3 Encryption Client format (FormatS3ECv2, FormatS3ECv3 and the
// objects of the official clients), which it otherwise refuses with
// ErrUnsupported.
//
// Security warning: such an object is one AES-GCM message whose only tag
// covers the whole object, so a range is decrypted with AES-CTR (the GCM
// keystream) without any authentication: whoever can write the object can
// change the plaintext of a range at will, bit by bit, undetected. Use it
// only where the store is trusted as much as the writer, or the bytes are
// checked otherwise. Ranges of envelope objects (the default format) are
// authenticated and need no option. The official clients (Java) also
// require such an opt-in.
func WithUnauthenticatedS3ECRanges() Option {
	return func(c *config) error {
		c.s3ecRanges = true
		return nil
	}
}

// errS3ECRanges refuses a ranged GET of an S3EC object without
// WithUnauthenticatedS3ECRanges.
var errS3ECRanges = fmt.Errorf("%w: ranged GET of an S3 Encryption Client object, whose content is authenticated only as a whole (WithUnauthenticatedS3ECRanges allows unauthenticated ranges)", ErrUnsupported)

// getS3ECRange serves in.Range of an S3EC GCM object of objLen bytes (ciphertext incl.
// tag) whose metadata FMT has parsed, or fails with ErrUnsupported without the opt-in.
// etag makes the ranged fetch conditional. Takes ownership of cc.
//
// It fetches exactly the ciphertext bytes of the range (one GET,
// conditional on etag unless in.IfMatch is set) and decrypts them with
// AES-CTR from their offset; ContentLength and ContentRange are in
// plaintext terms.
func (c *Client) getS3ECRange(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options), cc *s3ecContent, objLen int64, etag *string) (*s3.GetObjectOutput, error) {
	defer cc.wipe()
	if !c.cfg.s3ecRanges {
		return nil, errS3ECRanges
	}
	if in.Range == nil {
		return nil, invalid("no Range")
	}
	if cc == nil || cc.suite == s3ecCBC || len(cc.key) != s3ecKeyLen {
		return nil, fmt.Errorf("%w: ranged GET of an AES-CBC S3 Encryption Client object", ErrUnsupported)
	}
	spec, err := parseRange(*in.Range)
	if err != nil {
		return nil, err
	}
	plainLen := objLen - s3ecTagLen
	if plainLen < 0 || plainLen > gcmstream.MaxLength {
		return nil, fmt.Errorf("%w: object of %d bytes cannot be an AES-GCM message", envelope.ErrFormat, objLen)
	}
	first, last, err := spec.resolve(plainLen)
	if err != nil {
		return nil, err
	}
	ctr, err := gcmstream.NewCTR(cc.key, cc.iv, first)
	if err != nil {
		return nil, err
	}
	req := *in
	req.Range = aws.String(fmt.Sprintf("bytes=%d-%d", first, last))
	pinned := req.IfMatch == nil && etag != nil
	if pinned {
		req.IfMatch = etag
	}
	raw, err := c.api.GetObject(ctx, &req, optFns...)
	if err != nil {
		return nil, changedErr(pinned, apiErr(err))
	}
	n := last - first + 1
	if raw.Body == nil || (raw.ContentLength != nil && *raw.ContentLength != n) {
		if raw.Body != nil {
			raw.Body.Close()
		}
		return nil, fmt.Errorf("%w: asked for %d bytes of the object, got %s", envelope.ErrFormat, n, lengthOf(raw.ContentLength))
	}
	out := *raw
	out.Body = &ctrBody{raw: raw.Body, ctr: ctr, left: n, bucket: aws.ToString(in.Bucket), key: aws.ToString(in.Key)}
	out.ContentLength = aws.Int64(n)
	out.ContentRange = aws.String(fmt.Sprintf("bytes %d-%d/%d", first, last, plainLen))
	out.AcceptRanges = aws.String("bytes")
	out.Metadata = s3ecUserMeta(raw.Metadata)
	clearChecksums(&out)
	return &out, nil
}

func lengthOf(n *int64) string {
	if n == nil {
		return "an unknown number"
	}
	return fmt.Sprint(*n)
}

// s3ecUserMeta returns m without the s3crypto keys and the S3 Encryption
// Client's (all x-amz-...).
func s3ecUserMeta(m map[string]string) map[string]string {
	out := userMeta(m)
	for k := range out {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			delete(out, k)
		}
	}
	return out
}

// ctrBody decrypts exactly left bytes of ciphertext as they are read,
// unauthenticated.
type ctrBody struct {
	raw         io.ReadCloser
	ctr         cipher.Stream
	left        int64
	bucket, key string
	err         error
}

func (b *ctrBody) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if _, wrapped := err.(*Error); err != nil && err != io.EOF && !wrapped && err != envelope.ErrClosed {
		b.err = getErr(b.bucket, b.key, err)
		err = b.err
	}
	return n, err
}

func (b *ctrBody) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		// The range must end where the object's answer ends.
		var one [1]byte
		if k, _ := io.ReadFull(b.raw, one[:]); k > 0 {
			b.err = fmt.Errorf("%w: the object's answer is longer than the range", envelope.ErrFormat)
			return 0, b.err
		}
		b.err = io.EOF
		b.ctr = nil
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	k, err := b.raw.Read(p)
	b.ctr.XORKeyStream(p[:k], p[:k])
	b.left -= int64(k)
	if errors.Is(err, io.EOF) {
		if b.left > 0 {
			b.err = fmt.Errorf("%w: object truncated", envelope.ErrFormat)
			return k, b.err
		}
		err = nil
	} else if err != nil {
		b.err = bodyErr(err)
		return k, b.err
	}
	return k, err
}

// Close closes the S3 body.
func (b *ctrBody) Close() error {
	if b.err == nil {
		b.err = envelope.ErrClosed
	}
	b.ctr = nil
	return b.raw.Close()
}
