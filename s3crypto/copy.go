package s3crypto

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// CopyObject copies an encrypted object. An S3 Encryption Client object
// is copied by the server (CopyObject as given, made conditional on the
// ETag of the source as its GET answered, the body of which is not read;
// with its instruction file if it has one):
// that format binds neither bucket nor key, and its ciphertext and
// metadata stay valid anywhere; with MetadataDirective REPLACE its S3EC
// metadata is carried over beside the input's. Its encryption context is
// not checked (nothing is decrypted); to re-key it see Rewrap.
//
// An envelope object is copied by re-encrypting it: it gets and
// decrypts the source (authenticating it as GetObject does) and puts the
// plaintext, streamed, as a new object at the destination, under a new
// data key. A server-side copy would not do: the bucket and key are bound
// into each object's encryption context, so a byte-for-byte copy at
// another key fails to decrypt, and an envelope header is never
// re-authenticated under the same data key. The context from
// WithEncryptionContext is the expected context of the source and the
// bound context of the copy. With MetadataDirective COPY (the default)
// the copy gets the source's user metadata and content headers; with
// REPLACE, those of the input. CopySourceIf* conditions and the
// CopySourceSSECustomer* fields apply to the get; the SSE, ACL, storage
// and tagging fields to the put (TaggingDirective COPY is not carried
// over: the copy gets the input's Tagging). The output carries the ETag,
// VersionId and server-side encryption of the new object.
func (c *Client) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if in == nil {
		return nil, opErr("CopyObject", nil, nil, invalid("nil input"))
	}
	out, err := c.copyObject(ctx, in, optFns)
	return out, opErr("CopyObject", in.Bucket, in.Key, err)
}

func (c *Client) copyObject(ctx context.Context, in *s3.CopyObjectInput, optFns []func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if in.Bucket == nil || in.Key == nil {
		return nil, invalid("Bucket and Key are required")
	}
	srcBucket, srcKey, version, err := parseCopySource(aws.ToString(in.CopySource))
	if err != nil {
		return nil, err
	}
	if err := checkUserMeta(in.Metadata); err != nil {
		return nil, err
	}
	getIn := &s3.GetObjectInput{
		Bucket: aws.String(srcBucket), Key: aws.String(srcKey), VersionId: version,
		IfMatch: in.CopySourceIfMatch, IfNoneMatch: in.CopySourceIfNoneMatch,
		IfModifiedSince: in.CopySourceIfModifiedSince, IfUnmodifiedSince: in.CopySourceIfUnmodifiedSince,
		SSECustomerAlgorithm: in.CopySourceSSECustomerAlgorithm, SSECustomerKey: in.CopySourceSSECustomerKey,
		SSECustomerKeyMD5:   in.CopySourceSSECustomerKeyMD5,
		ExpectedBucketOwner: in.ExpectedSourceBucketOwner, RequestPayer: in.RequestPayer,
	}
	src, s3ecRaw, err := c.getObjectOr(ctx, getIn, optFns, true)
	if err != nil {
		return nil, opErr("GetObject", getIn.Bucket, getIn.Key, err)
	}
	if s3ecRaw != nil {
		// Not an envelope object: copied on the server, its body unread.
		s3ecRaw.Body.Close()
		return c.copyS3EC(ctx, in, srcBucket, srcKey, s3ecRaw.Metadata, s3ecRaw.ETag, optFns)
	}
	defer src.Body.Close()
	put := &s3.PutObjectInput{
		Bucket: in.Bucket, Key: in.Key, Body: src.Body, ContentLength: src.ContentLength,
		ACL: in.ACL, BucketKeyEnabled: in.BucketKeyEnabled, ChecksumAlgorithm: in.ChecksumAlgorithm,
		ExpectedBucketOwner: in.ExpectedBucketOwner,
		GrantFullControl:    in.GrantFullControl, GrantRead: in.GrantRead, GrantReadACP: in.GrantReadACP, GrantWriteACP: in.GrantWriteACP,
		IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
		ObjectLockLegalHoldStatus: in.ObjectLockLegalHoldStatus, ObjectLockMode: in.ObjectLockMode,
		ObjectLockRetainUntilDate: in.ObjectLockRetainUntilDate, RequestPayer: in.RequestPayer,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
		SSEKMSEncryptionContext: in.SSEKMSEncryptionContext, SSEKMSKeyId: in.SSEKMSKeyId,
		ServerSideEncryption: in.ServerSideEncryption, StorageClass: in.StorageClass,
		Tagging: in.Tagging, WebsiteRedirectLocation: in.WebsiteRedirectLocation,
	}
	if in.MetadataDirective == types.MetadataDirectiveReplace {
		put.Metadata = in.Metadata
		put.CacheControl, put.ContentDisposition, put.ContentEncoding = in.CacheControl, in.ContentDisposition, in.ContentEncoding
		put.ContentLanguage, put.ContentType, put.Expires = in.ContentLanguage, in.ContentType, in.Expires
	} else {
		put.Metadata = src.Metadata
		put.CacheControl, put.ContentDisposition, put.ContentEncoding = src.CacheControl, src.ContentDisposition, src.ContentEncoding
		put.ContentLanguage, put.ContentType, put.Expires = src.ContentLanguage, src.ContentType, src.Expires
	}
	pout, err := c.putObject(ctx, put, optFns)
	if err != nil {
		return nil, err
	}
	return &s3.CopyObjectOutput{
		BucketKeyEnabled: pout.BucketKeyEnabled,
		CopyObjectResult: &types.CopyObjectResult{
			ETag: pout.ETag, ChecksumCRC32: pout.ChecksumCRC32, ChecksumCRC32C: pout.ChecksumCRC32C,
			ChecksumCRC64NVME: pout.ChecksumCRC64NVME, ChecksumSHA1: pout.ChecksumSHA1, ChecksumSHA256: pout.ChecksumSHA256,
			ChecksumType: pout.ChecksumType,
		},
		CopySourceVersionId: src.VersionId, Expiration: pout.Expiration, RequestCharged: pout.RequestCharged,
		SSECustomerAlgorithm: pout.SSECustomerAlgorithm, SSECustomerKeyMD5: pout.SSECustomerKeyMD5,
		SSEKMSEncryptionContext: pout.SSEKMSEncryptionContext, SSEKMSKeyId: pout.SSEKMSKeyId,
		ServerSideEncryption: pout.ServerSideEncryption, VersionId: pout.VersionId,
		ResultMetadata: pout.ResultMetadata,
	}, nil
}

// parseCopySource splits a CopySource ("bucket/key", URL-encoded,
// optionally with "?versionId=...").
func parseCopySource(s string) (bucket, key string, version *string, err error) {
	path, query, _ := strings.Cut(s, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil || len(q) != 1 || q.Get("versionId") == "" {
			return "", "", nil, invalid("CopySource query %q (only versionId is understood)", query)
		}
		version = aws.String(q.Get("versionId"))
	}
	path, err = url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return "", "", nil, invalid("CopySource %q: %v", s, err)
	}
	if strings.HasPrefix(path, "arn:") {
		return "", "", nil, fmt.Errorf("%w: CopySource access point ARN", ErrUnsupported)
	}
	bucket, key, ok := strings.Cut(path, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", nil, invalid("CopySource %q is not bucket/key", s)
	}
	return bucket, key, version, nil
}
