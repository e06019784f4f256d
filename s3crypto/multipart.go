package s3crypto

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// putMultipart encrypts body into a multipart upload. Ciphertext is cut
// into parts of the part size as the envelope writer produces it; up to
// concurrency parts are sent at once, and the writer waits for a free
// buffer before it fills a part, so at most concurrency parts are held
// (see take). Any
// failure (the body, the keyring, a part, ctx) aborts the upload.
func (c *Client) putMultipart(ctx context.Context, in *s3.PutObjectInput, body io.Reader, plainLen int64, ec map[string]string, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if plainLen >= 0 {
		// The header is far below a part, so a part's worth of margin
		// covers it.
		n, err := envelope.BodyLength(plainLen, FrameSize)
		if err != nil {
			return nil, err
		}
		if n/c.cfg.partSize+1 >= maxParts {
			return nil, invalid("%d bytes need more than %d parts of %d bytes (see WithPartSize)", plainLen, maxParts, c.cfg.partSize)
		}
	}
	up := &uploader{
		c: c, in: in, optFns: optFns,
		sem: make(chan struct{}, c.cfg.concurrency),
	}
	up.ctx, up.cancel = context.WithCancelCause(ctx)
	defer up.cancel(nil)
	// The writer puts the header in the first part's buffer; its length
	// goes into the metadata, so that the plaintext length can be
	// computed from the object length when it is not known now.
	w, err := envelope.NewWriter(up.ctx, up, c.kr, c.writerOptions(ec, plainLen)...)
	if err != nil {
		return nil, err
	}
	create := createInput(in)
	create.Metadata = c.metadata(in.Metadata, plainLen, int64(len(up.buf)))
	cout, err := c.api.CreateMultipartUpload(ctx, create, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	up.uploadID = cout.UploadId
	out, err := up.run(w, body, plainLen)
	if err != nil {
		return nil, up.abort(ctx, err)
	}
	// CompleteMultipartUpload does not echo these; CreateMultipartUpload does.
	out.SSECustomerAlgorithm, out.SSECustomerKeyMD5 = cout.SSECustomerAlgorithm, cout.SSECustomerKeyMD5
	out.SSEKMSEncryptionContext = cout.SSEKMSEncryptionContext
	return out, nil
}

// uploader is the io.Writer the envelope writer writes the ciphertext to.
type uploader struct {
	c        *Client
	in       *s3.PutObjectInput
	uploadID *string
	optFns   []func(*s3.Options)
	ctx      context.Context
	cancel   context.CancelCauseFunc

	buf  []byte // the part being filled
	next int32  // the number of the part being filled, less one
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	done []types.CompletedPart
	err  error
	free [][]byte
}

// abort aborts the upload after err, even when ctx has ended (no orphan
// parts), and returns err joined with any failure to abort.
func (up *uploader) abort(ctx context.Context, err error) error {
	in := &s3.AbortMultipartUploadInput{
		Bucket: up.in.Bucket, Key: up.in.Key, UploadId: up.uploadID,
		ExpectedBucketOwner: up.in.ExpectedBucketOwner, RequestPayer: up.in.RequestPayer,
	}
	if _, aerr := up.c.api.AbortMultipartUpload(context.WithoutCancel(ctx), in, up.optFns...); aerr != nil {
		err = errors.Join(err, apiErr(aerr))
	}
	return apiErr(err)
}

func (up *uploader) run(w io.WriteCloser, body io.Reader, plainLen int64) (*s3.PutObjectOutput, error) {
	src := &countingReader{r: contextReader{up.ctx, body}}
	_, err := io.Copy(w, src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if plainLen >= 0 && src.n != plainLen && (err == nil || errors.Is(err, envelope.ErrLimit)) && up.failed() == nil {
		err = invalid("ContentLength is %d but the body holds %s bytes", plainLen, lengthWord(src.n, plainLen))
	}
	if err == nil {
		up.send(up.buf)
		up.buf = nil
	}
	up.wg.Wait()
	if ferr := up.failed(); ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	if cerr := context.Cause(up.ctx); cerr != nil {
		return nil, cerr
	}
	slices.SortFunc(up.done, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	in := up.in
	cout, err := up.c.api.CompleteMultipartUpload(up.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: in.Bucket, Key: in.Key, UploadId: up.uploadID,
		MultipartUpload:     &types.CompletedMultipartUpload{Parts: up.done},
		ExpectedBucketOwner: in.ExpectedBucketOwner, RequestPayer: in.RequestPayer,
		IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
	}, up.optFns...)
	if err != nil {
		return nil, err
	}
	return &s3.PutObjectOutput{
		BucketKeyEnabled: cout.BucketKeyEnabled, ChecksumCRC32: cout.ChecksumCRC32, ChecksumCRC32C: cout.ChecksumCRC32C,
		ChecksumCRC64NVME: cout.ChecksumCRC64NVME, ChecksumSHA1: cout.ChecksumSHA1, ChecksumSHA256: cout.ChecksumSHA256,
		ChecksumType: cout.ChecksumType, ETag: cout.ETag, Expiration: cout.Expiration, RequestCharged: cout.RequestCharged,
		SSEKMSKeyId: cout.SSEKMSKeyId, ServerSideEncryption: cout.ServerSideEncryption, VersionId: cout.VersionId,
		ResultMetadata: cout.ResultMetadata,
	}, nil
}

// Write cuts ciphertext into parts and sends each full part.
func (up *uploader) Write(p []byte) (int, error) {
	n := 0
	size := int(up.c.cfg.partSize)
	for len(p) > 0 {
		if err := up.failed(); err != nil {
			return n, err
		}
		if up.buf == nil {
			b, err := up.take(size)
			if err != nil {
				return n, err
			}
			up.buf = b
		}
		k := min(size-len(up.buf), len(p))
		up.buf = append(up.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(up.buf) == size {
			up.send(up.buf)
			up.buf = nil
		}
	}
	return n, nil
}

func (up *uploader) buffer(size int) []byte {
	up.mu.Lock()
	defer up.mu.Unlock()
	if k := len(up.free); k > 0 {
		b := up.free[k-1]
		up.free = up.free[:k-1]
		return b[:0]
	}
	return make([]byte, 0, size)
}

// send uploads part, a buffer from take, as the next part. A nil part is
// sent, empty, only as the first.
func (up *uploader) send(part []byte) {
	if part == nil && (up.next > 0 || up.emptyPart() != nil) {
		return
	}
	up.next++
	num := up.next
	if num > maxParts {
		<-up.sem
		up.fail(invalid("the object needs more than %d parts of %d bytes (see WithPartSize)", maxParts, len(part)))
		return
	}
	up.wg.Add(1)
	go func() {
		defer up.wg.Done()
		defer func() { <-up.sem }()
		in := up.in
		out, err := up.c.api.UploadPart(up.ctx, &s3.UploadPartInput{
			Bucket: in.Bucket, Key: in.Key, UploadId: up.uploadID, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
			ChecksumAlgorithm: in.ChecksumAlgorithm, ExpectedBucketOwner: in.ExpectedBucketOwner, RequestPayer: in.RequestPayer,
			SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
		}, up.optFns...)
		if err != nil {
			up.fail(apiErr(err))
			return
		}
		up.mu.Lock()
		up.done = append(up.done, types.CompletedPart{
			PartNumber: aws.Int32(num), ETag: out.ETag,
			ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256,
		})
		up.free = append(up.free, part)
		up.mu.Unlock()
	}()
}

func (up *uploader) fail(err error) {
	up.mu.Lock()
	if up.err == nil {
		up.err = err
	}
	up.mu.Unlock()
	up.cancel(err)
}

func (up *uploader) failed() error {
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.err != nil {
		return up.err
	}
	return context.Cause(up.ctx)
}

// maxParts is the most parts S3 takes in one upload.
const maxParts = 10000

// countingReader counts the bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// contextReader stops reading once ctx has ended.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (r contextReader) Read(p []byte) (int, error) {
	if err := context.Cause(r.ctx); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// createInput copies the object fields of in.
func createInput(in *s3.PutObjectInput) *s3.CreateMultipartUploadInput {
	return &s3.CreateMultipartUploadInput{
		Bucket: in.Bucket, Key: in.Key, ACL: in.ACL, BucketKeyEnabled: in.BucketKeyEnabled,
		CacheControl: in.CacheControl, ChecksumAlgorithm: in.ChecksumAlgorithm,
		ContentDisposition: in.ContentDisposition, ContentEncoding: in.ContentEncoding,
		ContentLanguage: in.ContentLanguage, ContentType: in.ContentType,
		ExpectedBucketOwner: in.ExpectedBucketOwner, Expires: in.Expires,
		GrantFullControl: in.GrantFullControl, GrantRead: in.GrantRead, GrantReadACP: in.GrantReadACP, GrantWriteACP: in.GrantWriteACP,
		ObjectLockLegalHoldStatus: in.ObjectLockLegalHoldStatus, ObjectLockMode: in.ObjectLockMode,
		ObjectLockRetainUntilDate: in.ObjectLockRetainUntilDate, RequestPayer: in.RequestPayer,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
		SSEKMSEncryptionContext: in.SSEKMSEncryptionContext, SSEKMSKeyId: in.SSEKMSKeyId,
		ServerSideEncryption: in.ServerSideEncryption, StorageClass: in.StorageClass,
		Tagging: in.Tagging, WebsiteRedirectLocation: in.WebsiteRedirectLocation,
		ObjectLockEventHold: in.ObjectLockEventHold, ObjectLockEventHoldDurationDays: in.ObjectLockEventHoldDurationDays,
		ObjectLockEventHoldDurationYears: in.ObjectLockEventHoldDurationYears,
	}
}
