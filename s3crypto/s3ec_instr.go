package s3crypto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// InstructionSuffix ends the key of an instruction file: the object
// "photo.jpg" has the instruction file "photo.jpg.instruction".
const InstructionSuffix = ".instruction"

// objectRef is what a request for an object's instruction file takes from
// the request for the object: where it is, and the SSE-C key and owner
// checks (never the VersionId: an instruction file has its own versions).
type objectRef struct {
	bucket, key            *string
	sseAlg, sseKey, sseMD5 *string
	expectedOwner          *string
	requestPayer           types.RequestPayer
}

func (r objectRef) instrKey() *string { return aws.String(aws.ToString(r.key) + InstructionSuffix) }

// isNotFound reports an S3 answer that the object does not exist.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

// readInstruction returns the S3EC keys of the instruction file of ref
// and its ETag, or found false when there is none.
func (c *Client) readInstruction(ctx context.Context, ref objectRef, optFns []func(*s3.Options)) (map[string]string, *string, bool, error) {
	out, err := c.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: ref.bucket, Key: ref.instrKey(),
		SSECustomerAlgorithm: ref.sseAlg, SSECustomerKey: ref.sseKey, SSECustomerKeyMD5: ref.sseMD5,
		ExpectedBucketOwner: ref.expectedOwner, RequestPayer: ref.requestPayer,
	}, optFns...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("instruction file: %w", apiErr(err))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxInstructionFile+1))
	if err != nil {
		// The file exists: a failure to read it is the connection's
		// (transient) or a cut-off body (format), never "not encrypted".
		return nil, nil, false, fmt.Errorf("instruction file: %w", bodyErr(err))
	}
	if len(body) > maxInstructionFile {
		return nil, nil, false, fmt.Errorf("%w: instruction file longer than %d bytes", envelope.ErrFormat, maxInstructionFile)
	}
	m, err := parseInstruction(body)
	if err != nil {
		return nil, nil, false, err
	}
	keys, err := s3ecKeys(m)
	return keys, out.ETag, true, err
}

// mergeInstruction combines the S3EC keys of an object (obj) with those of
// its instruction file (instr) and returns them with the format version.
// A V3 instruction file must not hold the keys that stay with the object
// (x-amz-c, x-amz-d, x-amz-i), which the object must hold; a V1/V2 one
// holds every key, and the object none.
func mergeInstruction(obj, instr map[string]string) (map[string]string, int, error) {
	if _, ok := instr[s3ecInstrTag]; ok {
		delete(instr, s3ecInstrTag)
	}
	iv, iinstr, err := s3ecLayout(instr)
	if err != nil {
		return nil, 0, fmt.Errorf("instruction file: %w", err)
	}
	if iinstr {
		return nil, 0, fmt.Errorf("%w: instruction file holds %v, which belong in the object metadata", envelope.ErrFormat, v3Object)
	}
	ov, _, err := s3ecLayout(obj)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case iv == 0:
		return nil, 0, fmt.Errorf("%w: instruction file holds no encrypted data key", envelope.ErrFormat)
	case iv == 3 && ov != 3:
		return nil, 0, fmt.Errorf("%w: V3 instruction file for an object without %v", envelope.ErrFormat, v3Object)
	case iv != 3 && ov != 0:
		return nil, 0, fmt.Errorf("%w: V%d instruction file for an object with S3 Encryption Client metadata", envelope.ErrFormat, iv)
	}
	if iv == 3 {
		// The commitment binds the data key to the object only when it
		// comes from the object: a file that could carry it could carry
		// the commitment of another data key.
		for _, k := range v3Object {
			if _, ok := instr[k]; ok {
				return nil, 0, fmt.Errorf("%w: instruction file holds %s, which belongs in the object metadata", envelope.ErrFormat, k)
			}
			if _, ok := obj[k]; !ok {
				return nil, 0, fmt.Errorf("%w: V3 object metadata without %s", envelope.ErrFormat, k)
			}
		}
	}
	merged := make(map[string]string, len(obj)+len(instr))
	for k, v := range instr {
		merged[k] = v
	}
	for k, v := range obj {
		if _, dup := merged[k]; dup {
			return nil, 0, fmt.Errorf("%w: %s both in the object metadata and in the instruction file", envelope.ErrFormat, k)
		}
		merged[k] = v
	}
	return merged, iv, nil
}

// s3ecResolve returns the S3EC metadata of the object whose user metadata
// is meta, reading its instruction file when the metadata alone does not
// hold it. An object with neither fails with ErrNotEncrypted; a V3 object
// whose instruction file is missing with ErrInstructionFile.
func (c *Client) s3ecResolve(ctx context.Context, meta map[string]string, ref objectRef, optFns []func(*s3.Options)) (*s3ecMeta, bool, error) {
	keys, err := s3ecKeys(meta)
	if err != nil {
		return nil, false, err
	}
	if _, ok := keys[s3ecInstrTag]; ok {
		return nil, false, fmt.Errorf("%w: the object is an instruction file", ErrNotEncrypted)
	}
	version, needInstr, err := s3ecLayout(keys)
	if err != nil {
		return nil, false, err
	}
	if version != 0 && !needInstr {
		sm, err := parseS3EC(keys, version)
		return sm, false, err
	}
	instr, etag, found, err := c.readInstruction(ctx, ref, optFns)
	if err != nil {
		if !needInstr && !errors.Is(err, envelope.ErrTransient) && !errors.Is(err, envelope.ErrFormat) {
			// S3 answers 403 rather than 404 for a missing key to callers
			// without s3:ListBucket.
			return nil, false, fmt.Errorf("%w (and its instruction file could not be read: %w)", ErrNotEncrypted, err)
		}
		if needInstr {
			return nil, false, fmt.Errorf("%w: %w", ErrInstructionFile, err)
		}
		return nil, false, err
	}
	if !found {
		if needInstr {
			return nil, false, fmt.Errorf("%w: the object has V3 metadata without an encrypted data key, and %s does not exist", ErrInstructionFile, aws.ToString(ref.instrKey()))
		}
		return nil, false, ErrNotEncrypted
	}
	merged, version, err := mergeInstruction(keys, instr)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrInstructionFile, err)
	}
	sm, err := parseS3EC(merged, version)
	if sm != nil {
		sm.instrETag = etag
	}
	return sm, true, err
}

// writeInstruction stores entries as the instruction file of ref, with
// the SSE fields of put; with ifMatch, only over the instruction file of
// that ETag.
func (c *Client) writeInstruction(ctx context.Context, put *s3.PutObjectInput, entries map[string]string, ifMatch *string, optFns []func(*s3.Options)) error {
	body, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	_, err = c.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: put.Bucket, Key: aws.String(aws.ToString(put.Key) + InstructionSuffix),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType:          aws.String("application/json"),
		Metadata:             map[string]string{s3ecInstrTag: ""},
		SSECustomerAlgorithm: put.SSECustomerAlgorithm, SSECustomerKey: put.SSECustomerKey, SSECustomerKeyMD5: put.SSECustomerKeyMD5,
		ServerSideEncryption: put.ServerSideEncryption, SSEKMSKeyId: put.SSEKMSKeyId,
		SSEKMSEncryptionContext: put.SSEKMSEncryptionContext, BucketKeyEnabled: put.BucketKeyEnabled,
		ExpectedBucketOwner: put.ExpectedBucketOwner, RequestPayer: put.RequestPayer,
		ACL: put.ACL, StorageClass: put.StorageClass, IfMatch: ifMatch,
	}, optFns...)
	if err != nil {
		return fmt.Errorf("%w: writing %s: %w", ErrInstructionFile, aws.ToString(put.Key)+InstructionSuffix, apiErr(err))
	}
	return nil
}

// deleteInstruction deletes the instruction file of key; one that does
// not exist is no error.
func (c *Client) deleteInstruction(ctx context.Context, in *s3.DeleteObjectInput, optFns []func(*s3.Options)) error {
	_, err := c.api.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: in.Bucket, Key: aws.String(aws.ToString(in.Key) + InstructionSuffix),
		ExpectedBucketOwner: in.ExpectedBucketOwner, RequestPayer: in.RequestPayer,
		BypassGovernanceRetention: in.BypassGovernanceRetention, MFA: in.MFA,
	}, optFns...)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting the instruction file: %w", apiErr(err))
	}
	return nil
}

// maxDeleteKeys is the most keys one DeleteObjects request takes.
const maxDeleteKeys = 1000

// deleteInstructions deletes the instruction files of the objects of in
// named without a VersionId, adding the failures to out.Errors.
func (c *Client) deleteInstructions(ctx context.Context, in *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput, optFns []func(*s3.Options)) error {
	if in.Delete == nil {
		return nil
	}
	var ids []types.ObjectIdentifier
	for _, o := range in.Delete.Objects {
		if o.VersionId == nil && o.Key != nil {
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(*o.Key + InstructionSuffix)})
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), maxDeleteKeys)
		res, err := c.api.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: in.Bucket, Delete: &types.Delete{Objects: ids[:n], Quiet: aws.Bool(true)},
			ExpectedBucketOwner: in.ExpectedBucketOwner, RequestPayer: in.RequestPayer,
			BypassGovernanceRetention: in.BypassGovernanceRetention, MFA: in.MFA,
		}, optFns...)
		if err != nil {
			return fmt.Errorf("deleting instruction files: %w", err)
		}
		for _, e := range res.Errors {
			if code := aws.ToString(e.Code); code != "NoSuchKey" && code != "NotFound" && out != nil {
				out.Errors = append(out.Errors, e)
			}
		}
		ids = ids[n:]
	}
	return nil
}

// jsonBytes is the body of an instruction file holding entries.
func jsonBytes(entries map[string]string) ([]byte, error) { return json.Marshal(entries) }
