package s3crypto

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// copyS3EC copies an S3 Encryption Client object with a server-side
// CopyObject: the ciphertext and its metadata move as they are (the
// format binds neither bucket nor key), and so does its instruction file.
func (c *Client) copyS3EC(ctx context.Context, in *s3.CopyObjectInput, srcBucket, srcKey string, meta map[string]string, etag *string, optFns []func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	src := objectRef{bucket: aws.String(srcBucket), key: aws.String(srcKey),
		sseAlg: in.CopySourceSSECustomerAlgorithm, sseKey: in.CopySourceSSECustomerKey, sseMD5: in.CopySourceSSECustomerKeyMD5,
		expectedOwner: in.ExpectedSourceBucketOwner, requestPayer: in.RequestPayer}
	sm, usesInstr, err := c.s3ecResolve(ctx, meta, src, optFns)
	if err != nil {
		return nil, err
	}
	cp := *in
	if in.MetadataDirective == types.MetadataDirectiveReplace {
		if err := checkS3ECUserMeta(in.Metadata); err != nil {
			return nil, err
		}
		keys, _ := s3ecKeys(meta)
		cp.Metadata = maps.Clone(in.Metadata)
		if cp.Metadata == nil {
			cp.Metadata = map[string]string{}
		}
		maps.Copy(cp.Metadata, keys)
		if err := checkMetadataSize(cp.Metadata); err != nil {
			return nil, err
		}
	}
	if cp.CopySourceIfMatch == nil {
		cp.CopySourceIfMatch = etag // copy the object that was checked
	}
	out, err := c.api.CopyObject(ctx, &cp, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	if usesInstr && (aws.ToString(in.Bucket) != srcBucket || aws.ToString(in.Key) != srcKey) {
		// (An object copied onto itself keeps its instruction file, which
		// S3 would refuse to copy onto itself unchanged.)
		_, err := c.api.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: in.Bucket, Key: aws.String(aws.ToString(in.Key) + InstructionSuffix),
			CopySource:           aws.String(escapeCopySource(srcBucket, srcKey+InstructionSuffix)),
			CopySourceIfMatch:    sm.instrETag, // the file that was checked
			SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
			CopySourceSSECustomerAlgorithm: in.CopySourceSSECustomerAlgorithm, CopySourceSSECustomerKey: in.CopySourceSSECustomerKey,
			CopySourceSSECustomerKeyMD5: in.CopySourceSSECustomerKeyMD5,
			ServerSideEncryption:        in.ServerSideEncryption, SSEKMSKeyId: in.SSEKMSKeyId,
			SSEKMSEncryptionContext: in.SSEKMSEncryptionContext, BucketKeyEnabled: in.BucketKeyEnabled,
			ExpectedBucketOwner: in.ExpectedBucketOwner, ExpectedSourceBucketOwner: in.ExpectedSourceBucketOwner,
			RequestPayer: in.RequestPayer,
		}, optFns...)
		if err != nil {
			return nil, fmt.Errorf("%w: the object was copied but its instruction file was not: %w", ErrInstructionFile, apiErr(err))
		}
	}
	return out, nil
}

// escapeCopySource returns the CopySource of bucket/key.
func escapeCopySource(bucket, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return bucket + "/" + strings.Join(parts, "/")
}

// RewrapInput names an S3 Encryption Client object whose data key
// Rewrap wraps anew, and the new wrapping.
type RewrapInput struct {
	Bucket *string
	Key    *string
	// Keyring wraps the data key anew; nil keeps the client's keyring
	// (to change only the encryption context).
	Keyring keyring.Keyring
	// EncryptionContext is the encryption context of the new wrapping
	// (kms+context only). The context expected of the current wrapping
	// comes from WithEncryptionContext, as for GetObject.
	EncryptionContext map[string]string
	// The SSE-C key of the object and its instruction file, if any.
	SSECustomerAlgorithm, SSECustomerKey, SSECustomerKeyMD5 *string
	ExpectedBucketOwner                                     *string
}

// Rewrap re-keys an S3 Encryption Client object (V2 or V3): it unwraps
// the object's data key with the client's keyring, checks it (for V3,
// against the object's key commitment), wraps it with in.Keyring under
// in.EncryptionContext, and rewrites the metadata, never the body. An
// object with an instruction file gets a new instruction file and keeps
// its object untouched (the new file is written only over the one read,
// conditional on its ETag, so that an object replaced meanwhile keeps
// its own; S3 answers 412 PreconditionFailed otherwise); otherwise the object's metadata is replaced by a
// server-side CopyObject of the object onto itself (with
// MetadataDirective REPLACE, conditional on the ETag read, keeping the
// user metadata, content headers, storage class, tags and server-side
// encryption mode and KMS key it had; S3 gives the object a new version
// and last-modified time. Not kept, as with any CopyObject: an SSE-KMS
// encryption context of the object's own (HEAD does not return it; S3
// applies its default), the ACL (the copy gets the bucket's default) and
// Object Lock settings (the bucket's defaults apply to the new version).
// Objects over 5 GiB, which CopyObject does not take, fail). Envelope objects are not re-keyed this way (their
// header would need a new data key: re-encrypt them with CopyObject):
// ErrUnsupported. So are V1 and CBC objects. The output is that of the
// CopyObject request, or empty when only the instruction file was
// rewritten.
func (c *Client) Rewrap(ctx context.Context, in *RewrapInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if in == nil {
		return nil, opErr("Rewrap", nil, nil, invalid("nil input"))
	}
	out, err := c.rewrap(ctx, in, optFns)
	return out, opErr("Rewrap", in.Bucket, in.Key, err)
}

func (c *Client) rewrap(ctx context.Context, in *RewrapInput, optFns []func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if in.Bucket == nil || in.Key == nil {
		return nil, invalid("Bucket and Key are required")
	}
	kr := in.Keyring
	if kr == nil {
		kr = c.kr
	}
	head, err := c.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
		ExpectedBucketOwner: in.ExpectedBucketOwner}, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	if isEnvelope(head.Metadata) {
		return nil, fmt.Errorf("%w: Rewrap of an envelope object (re-encrypt it with CopyObject)", ErrUnsupported)
	}
	ref := objectRef{bucket: in.Bucket, key: in.Key, sseAlg: in.SSECustomerAlgorithm, sseKey: in.SSECustomerKey,
		sseMD5: in.SSECustomerKeyMD5, expectedOwner: in.ExpectedBucketOwner}
	sm, usesInstr, err := c.s3ecResolve(ctx, head.Metadata, ref, optFns)
	if err != nil {
		return nil, err
	}
	if sm.version == 1 || sm.suite == s3ecCBC {
		return nil, fmt.Errorf("%w: Rewrap of a V1 or CBC object", ErrUnsupported)
	}
	dk, err := unwrapS3EC(ctx, c.kr, c.cfg.policy, sm)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(dk)
	cc, err := openS3ECContent(sm.suite, dk, sm.iv, sm.commitment) // checks the commitment
	if err != nil {
		return nil, err
	}
	cc.wipe()
	_, nm, err := wrapS3EC(ctx, kr, sm.suite, in.EncryptionContext, dk)
	if err != nil {
		return nil, err
	}
	nm.iv, nm.commitment, nm.plainLen = sm.iv, sm.commitment, sm.plainLen
	entries := nm.entries()
	if usesInstr {
		_, instr := splitInstruction(entries, nm.version)
		put := &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key,
			SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
			ExpectedBucketOwner: in.ExpectedBucketOwner}
		if err := c.writeInstruction(ctx, put, instr, sm.instrETag, optFns); err != nil {
			return nil, err
		}
		return &s3.CopyObjectOutput{}, nil
	}
	meta := stripS3ECMeta(head.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	maps.Copy(meta, entries)
	if err := checkMetadataSize(meta); err != nil {
		return nil, err
	}
	out, err := c.api.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: in.Bucket, Key: in.Key, CopySource: aws.String(escapeCopySource(*in.Bucket, *in.Key)),
		CopySourceIfMatch: head.ETag, MetadataDirective: types.MetadataDirectiveReplace, Metadata: meta,
		CacheControl: head.CacheControl, ContentDisposition: head.ContentDisposition, ContentEncoding: head.ContentEncoding,
		ContentLanguage: head.ContentLanguage, ContentType: head.ContentType, Expires: head.Expires,
		StorageClass: types.StorageClass(head.StorageClass), WebsiteRedirectLocation: head.WebsiteRedirectLocation,
		ServerSideEncryption: head.ServerSideEncryption, SSEKMSKeyId: head.SSEKMSKeyId, BucketKeyEnabled: head.BucketKeyEnabled,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
		CopySourceSSECustomerAlgorithm: in.SSECustomerAlgorithm, CopySourceSSECustomerKey: in.SSECustomerKey,
		CopySourceSSECustomerKeyMD5: in.SSECustomerKeyMD5,
		ExpectedBucketOwner:         in.ExpectedBucketOwner, ExpectedSourceBucketOwner: in.ExpectedBucketOwner,
	}, optFns...)
	return out, apiErr(err)
}
