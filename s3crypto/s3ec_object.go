package s3crypto

import (
	"context"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// s3ecTagLen is the GCM tag appended to the content of S3EC objects.
const s3ecTagBytes = 16

// putS3EC stores in in the client's S3EC format.
func (c *Client) putS3EC(ctx context.Context, in *s3.PutObjectInput, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	suite := s3ecCommit
	if c.cfg.format == FormatS3ECv2 {
		suite = s3ecGCM
	}
	user, _ := ctx.Value(ecKey{}).(map[string]string)
	body, declared := putBody(in)
	dk, sm, err := wrapS3EC(ctx, c.kr, suite, user, nil)
	if err != nil {
		return nil, err
	}
	cc, iv, commitment, err := newS3ECContent(suite, dk)
	keyring.Wipe(dk)
	if err != nil {
		return nil, err
	}
	defer cc.wipe()
	sm.iv, sm.commitment, sm.plainLen = iv, commitment, declared
	entries := sm.entries()
	meta := maps.Clone(in.Metadata)
	if meta == nil {
		meta = make(map[string]string, len(entries))
	}
	var instr map[string]string
	if c.cfg.instrFile {
		var obj map[string]string
		obj, instr = splitInstruction(entries, sm.version)
		maps.Copy(meta, obj)
	} else {
		maps.Copy(meta, entries)
	}
	if err := checkMetadataSize(meta); err != nil {
		return nil, err
	}
	out, err := c.putS3ECBody(ctx, in, body, declared, cc, meta, optFns)
	if err != nil {
		return nil, err
	}
	if instr != nil {
		if err := c.writeInstruction(ctx, in, instr, nil, optFns); err != nil {
			return nil, fmt.Errorf("the object was stored but cannot be decrypted: %w", err)
		}
	}
	return out, nil
}

// checkS3ECUserMeta refuses caller metadata that would be taken for S3EC
// keys.
func checkS3ECUserMeta(m map[string]string) error {
	keys, err := s3ecKeys(m)
	if err != nil {
		return invalid("metadata: %v", err)
	}
	for k := range keys {
		for _, s := range s3ecAllKeys {
			if k == s {
				return invalid("metadata key %q is one of the S3 Encryption Client's", k)
			}
		}
	}
	return nil
}

// isEnvelope reports whether an object's metadata is that of an envelope
// object.
func isEnvelope(meta map[string]string) bool {
	_, ok := metaValue(meta, MetaFormat)
	return ok
}

// s3ecPlainLength checks the object length against sm and returns the
// plaintext length (-1 when unknown: CBC without a recorded length).
func s3ecPlainLength(sm *s3ecMeta, objLen *int64) (int64, error) {
	if sm.suite == s3ecCBC {
		return sm.plainLen, nil
	}
	if objLen == nil {
		return sm.plainLen, nil
	}
	n := *objLen - s3ecTagBytes
	if n < 0 {
		return 0, fmt.Errorf("%w: object of %d bytes is shorter than its tag", envelope.ErrFormat, *objLen)
	}
	if sm.plainLen >= 0 && sm.plainLen != n {
		return 0, fmt.Errorf("%w: object is %d bytes, its metadata says %d of plaintext", envelope.ErrFormat, *objLen, sm.plainLen)
	}
	return n, nil
}

// getS3EC decrypts raw, the whole-object GET of an object that is not an
// envelope object.
func (c *Client) getS3EC(ctx context.Context, in *s3.GetObjectInput, raw *s3.GetObjectOutput, optFns []func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if raw.Body == nil {
		return nil, fmt.Errorf("%w: no body", envelope.ErrFormat)
	}
	sm, _, err := c.s3ecResolve(ctx, raw.Metadata, getRef(in), optFns)
	if err != nil {
		return nil, err
	}
	plainLen, err := s3ecPlainLength(sm, raw.ContentLength)
	if err != nil {
		return nil, err
	}
	cc, err := c.s3ecContentOf(ctx, sm)
	if err != nil {
		return nil, err
	}
	pt, err := c.openS3ECBody(ctx, raw, cc, plainLen)
	if err != nil {
		return nil, err
	}
	switch b := pt.(type) {
	case *s3ecGCMBody:
		b.bucket, b.key = aws.ToString(in.Bucket), aws.ToString(in.Key)
	case *s3ecCBCBody:
		b.bucket, b.key = aws.ToString(in.Bucket), aws.ToString(in.Key)
	}
	out := *raw
	out.Body = pt
	out.ContentLength = nil
	if plainLen >= 0 {
		out.ContentLength = aws.Int64(plainLen)
	}
	out.Metadata = stripS3ECMeta(raw.Metadata)
	out.ContentRange = nil
	clearChecksums(&out)
	return &out, nil
}

func getRef(in *s3.GetObjectInput) objectRef {
	return objectRef{bucket: in.Bucket, key: in.Key, sseAlg: in.SSECustomerAlgorithm, sseKey: in.SSECustomerKey,
		sseMD5: in.SSECustomerKeyMD5, expectedOwner: in.ExpectedBucketOwner, requestPayer: in.RequestPayer}
}

// getS3ECRangeOf serves a ranged GET of an object that is not an envelope
// object: meta and objLen come from the probe of getRange.
func (c *Client) getS3ECRangeOf(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options), meta map[string]string, objLen int64, etag *string) (*s3.GetObjectOutput, error) {
	sm, _, err := c.s3ecResolve(ctx, meta, getRef(in), optFns)
	if err != nil {
		return nil, err
	}
	if sm.suite == s3ecCBC {
		return nil, fmt.Errorf("%w: ranged GET of a CBC object", ErrUnsupported)
	}
	if _, err := s3ecPlainLength(sm, &objLen); err != nil {
		return nil, err
	}
	if !c.cfg.s3ecRanges {
		// Refused before the data key is unwrapped: no keyring call.
		return nil, errS3ECRanges
	}
	cc, err := c.s3ecContentOf(ctx, sm)
	if err != nil {
		return nil, err
	}
	out, err := c.getS3ECRange(ctx, in, optFns, cc, objLen, etag)
	if err != nil {
		return nil, err
	}
	out.Metadata = stripS3ECMeta(out.Metadata)
	return out, nil
}

// headS3EC completes a HEAD of an object that is not an envelope object.
func (c *Client) headS3EC(ctx context.Context, in *s3.HeadObjectInput, raw *s3.HeadObjectOutput, optFns []func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	sm, _, err := c.s3ecResolve(ctx, raw.Metadata, objectRef{bucket: in.Bucket, key: in.Key,
		sseAlg: in.SSECustomerAlgorithm, sseKey: in.SSECustomerKey, sseMD5: in.SSECustomerKeyMD5,
		expectedOwner: in.ExpectedBucketOwner, requestPayer: in.RequestPayer}, optFns)
	if err != nil {
		return nil, err
	}
	plainLen, err := s3ecPlainLength(sm, raw.ContentLength)
	if err != nil {
		return nil, err
	}
	out := *raw
	out.ContentLength = nil
	if plainLen >= 0 {
		out.ContentLength = aws.Int64(plainLen)
	}
	out.Metadata = stripS3ECMeta(raw.Metadata)
	// Checksums are of the ciphertext.
	out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME = nil, nil, nil
	out.ChecksumMD5, out.ChecksumSHA1, out.ChecksumSHA256, out.ChecksumSHA512 = nil, nil, nil, nil
	out.ChecksumXXHASH128, out.ChecksumXXHASH3, out.ChecksumXXHASH64 = nil, nil, nil
	out.ChecksumType = ""
	return &out, nil
}
