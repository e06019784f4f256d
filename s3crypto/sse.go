package s3crypto

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// SSE is a server-side encryption setting: the request fields that make
// S3 encrypt what it stores, on top of the client-side encryption of a
// Client (or on their own, with a plain *s3.Client). Build one with
// SSECustomerKey, SSEKMS or SSES3; the zero SSE is no setting (the
// bucket's default encryption).
//
// An SSE is applied per call by its methods named after the operation,
// which return a copy of the input with the fields set and leave the
// input as it was:
//
//	in := sse.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: r})
//	_, err := c.PutObject(ctx, in)
//
// Client carries the fields of its inputs to every request it makes for
// them: CreateMultipartUpload, each UploadPart and
// CompleteMultipartUpload (SSE-C repeats the key on each), every ranged
// GET of a GetObject, the get and the put of a CopyObject. Each method
// sets the fields of its own mode and clears those of the others, so an
// input holds at most one.
//
// An SSE-C key is a secret: an SSE never prints it (String, GoString,
// Format and LogValue show the mode only, and a struct holding an SSE
// prints a pointer in its place), but the inputs its methods return carry
// it base64-encoded, as S3 needs, so do not log them. Client refuses to
// send it over plain HTTP ([ErrInsecureEndpoint]).
type SSE struct {
	mode      sseMode
	customer  *customerKey // SSE-C; a pointer, so that printing a struct holding an SSE shows no key
	kmsKeyID  string
	kmsCtx    string // base64 of the JSON context
	bucketKey bool
}

type sseMode int

const (
	sseNone sseMode = iota
	sseC
	sseKMS
	sseS3
)

// customerKey is an SSE-C key as S3 takes it.
type customerKey struct {
	key, md5 string // base64 of the key and of its MD5
}

// SSECustomerKeyLength is the length of an SSE-C key (AES-256).
const SSECustomerKeyLength = 32

// SSECustomerKey returns the SSE-C setting for key, which must be
// SSECustomerKeyLength bytes (ErrInvalidRequest otherwise): algorithm
// AES256, the key base64-encoded and the base64 MD5 of the raw key, as S3
// wants them. key is not retained; the caller may wipe it. S3 stores no
// copy of the key: an object stored with it cannot be read without it.
func SSECustomerKey(key []byte) (SSE, error) {
	if len(key) != SSECustomerKeyLength {
		return SSE{}, invalid("SSE-C key of %d bytes, want %d", len(key), SSECustomerKeyLength)
	}
	sum := md5.Sum(key) // S3's integrity check of the key, not a security function
	return SSE{mode: sseC, customer: &customerKey{
		key: base64.StdEncoding.EncodeToString(key),
		md5: base64.StdEncoding.EncodeToString(sum[:]),
	}}, nil
}

// SSEKMS returns the SSE-KMS setting (aws:kms): S3 encrypts with a data
// key of the KMS key keyID (a key id, ARN or alias; "" for the account's
// aws/s3 key), under the encryption context ec (nil for none; S3 adds the
// object ARN), with an S3 Bucket Key when bucketKey is true (false leaves
// the bucket's setting). The context is sent as base64 of its JSON, keys
// sorted, so the same map always gives the same header.
func SSEKMS(keyID string, ec map[string]string, bucketKey bool) SSE {
	s := SSE{mode: sseKMS, kmsKeyID: keyID, bucketKey: bucketKey}
	if len(ec) > 0 {
		b, _ := json.Marshal(ec) // a map[string]string always marshals, keys sorted
		s.kmsCtx = base64.StdEncoding.EncodeToString(b)
	}
	return s
}

// SSES3 returns the SSE-S3 setting (AES256 with keys S3 manages).
func SSES3() SSE { return SSE{mode: sseS3} }

// PutObject returns a copy of in with the fields of s set and the other
// server-side encryption fields cleared.
func (s SSE) PutObject(in *s3.PutObjectInput) *s3.PutObjectInput {
	out := *in
	out.SSECustomerAlgorithm, out.SSECustomerKey, out.SSECustomerKeyMD5 = s.customerFields()
	out.ServerSideEncryption, out.SSEKMSKeyId, out.SSEKMSEncryptionContext, out.BucketKeyEnabled = s.serverFields()
	return &out
}

// GetObject returns a copy of in with the SSE-C key of s set (and cleared
// for the other modes, which need nothing to read an object).
func (s SSE) GetObject(in *s3.GetObjectInput) *s3.GetObjectInput {
	out := *in
	out.SSECustomerAlgorithm, out.SSECustomerKey, out.SSECustomerKeyMD5 = s.customerFields()
	return &out
}

// HeadObject returns a copy of in with the SSE-C key of s set (and
// cleared for the other modes).
func (s SSE) HeadObject(in *s3.HeadObjectInput) *s3.HeadObjectInput {
	out := *in
	out.SSECustomerAlgorithm, out.SSECustomerKey, out.SSECustomerKeyMD5 = s.customerFields()
	return &out
}

// CopyObject returns a copy of in with s as the encryption of the
// destination (the copy), the other destination fields cleared. The
// source's key, when it is stored with SSE-C, is set by CopySource:
// dst.CopyObject(src.CopySource(in)).
func (s SSE) CopyObject(in *s3.CopyObjectInput) *s3.CopyObjectInput {
	out := *in
	out.SSECustomerAlgorithm, out.SSECustomerKey, out.SSECustomerKeyMD5 = s.customerFields()
	out.ServerSideEncryption, out.SSEKMSKeyId, out.SSEKMSEncryptionContext, out.BucketKeyEnabled = s.serverFields()
	return &out
}

// CopySource returns a copy of in with the SSE-C key of s set as the key
// of the copy's source (CopySourceSSECustomer*), and cleared for the
// other modes, whose objects S3 reads without a key.
func (s SSE) CopySource(in *s3.CopyObjectInput) *s3.CopyObjectInput {
	out := *in
	out.CopySourceSSECustomerAlgorithm, out.CopySourceSSECustomerKey, out.CopySourceSSECustomerKeyMD5 = s.customerFields()
	return &out
}

func (s SSE) customerFields() (alg, key, sum *string) {
	if s.mode != sseC || s.customer == nil {
		return nil, nil, nil
	}
	return aws.String(string(types.ServerSideEncryptionAes256)), aws.String(s.customer.key), aws.String(s.customer.md5)
}

func (s SSE) serverFields() (mode types.ServerSideEncryption, keyID, ec *string, bucketKey *bool) {
	switch s.mode {
	case sseKMS:
		if s.kmsKeyID != "" {
			keyID = aws.String(s.kmsKeyID)
		}
		if s.kmsCtx != "" {
			ec = aws.String(s.kmsCtx)
		}
		if s.bucketKey {
			bucketKey = aws.Bool(true)
		}
		return types.ServerSideEncryptionAwsKms, keyID, ec, bucketKey
	case sseS3:
		return types.ServerSideEncryptionAes256, nil, nil, nil
	}
	return "", nil, nil, nil
}

// String names the mode (and the KMS key id); never the SSE-C key.
func (s SSE) String() string {
	switch s.mode {
	case sseC:
		return "SSE-C(key redacted)"
	case sseKMS:
		return fmt.Sprintf("SSE-KMS(key %q)", s.kmsKeyID)
	case sseS3:
		return "SSE-S3"
	}
	return "SSE(none)"
}

// GoString is String: %#v shows no key either.
func (s SSE) GoString() string { return s.String() }

// Format prints String for every verb, so that no verb (%x, %+v, ...)
// reaches the key.
func (s SSE) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue makes log/slog log String.
func (s SSE) LogValue() slog.Value { return slog.StringValue(s.String()) }
