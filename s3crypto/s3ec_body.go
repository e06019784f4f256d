package s3crypto

import (
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// This file holds the content cipher of objects in the formats of the
// Amazon S3 Encryption Client (S3EC): the whole object body is one AES-GCM
// message (content followed by a 16-byte tag), or, for legacy objects,
// AES-CBC with PKCS#7 padding.

// s3ecSuite is an S3EC content-encryption algorithm (the suite IDs of the
// S3 Encryption Client's algorithm suites).
type s3ecSuite uint16

const (
	s3ecCBC    s3ecSuite = 0x0070 // AES/CBC/PKCS5Padding: legacy, decrypt only, unauthenticated
	s3ecGCM    s3ecSuite = 0x0072 // AES/GCM/NoPadding (V2)
	s3ecCommit s3ecSuite = 0x0073 // AES-256-GCM with HKDF-SHA512 key commitment (V3, "115")
)

// s3ecContent is what encrypts or decrypts one object's content. It owns key.
type s3ecContent struct {
	suite s3ecSuite
	key   []byte // 32-byte content key (derived from the data key for s3ecCommit)
	iv    []byte // 12 bytes for GCM (random for s3ecGCM, twelve 0x01 for s3ecCommit), 16 for CBC
	aad   []byte // nil, or {0x00, 0x73} for s3ecCommit
}

// wipe zeroes the content key.
func (c *s3ecContent) wipe() {
	if c == nil {
		return
	}
	clear(c.key)
	c.key = nil
}

var errS3ECNotYet = errors.New("s3crypto: S3EC content cipher not implemented yet")

// newS3ECContent prepares the content encryption of a new object under dataKey (32
// bytes, not retained). For s3ecGCM it draws a random 12-byte IV and returns it as
// ivOrMsgID; for s3ecCommit it draws a random non-zero 28-byte message ID (returned as
// ivOrMsgID) and returns the 28-byte commitment. s3ecCBC is refused.
func newS3ECContent(suite s3ecSuite, dataKey []byte) (c *s3ecContent, ivOrMsgID, commitment []byte, err error) {
	return nil, nil, nil, errS3ECNotYet
}

// openS3ECContent prepares the decryption of an object: ivOrMsgID is x-amz-iv (12 or 16
// bytes) or x-amz-i (28 bytes); commitment is x-amz-d (s3ecCommit only), compared in
// constant time before the content key is derived (mismatch: an error matching
// envelope.ErrAuthentication). Wrong lengths: envelope.ErrFormat.
func openS3ECContent(suite s3ecSuite, dataKey, ivOrMsgID, commitment []byte) (*s3ecContent, error) {
	return nil, errS3ECNotYet
}

// putS3ECBody encrypts body with cc and stores the ciphertext (content + 16-byte tag)
// at in.Bucket/in.Key with meta as the object's user metadata (the caller's plus the
// S3EC keys, already built by FMT), with one PutObject up to the part size or a parallel
// multipart upload (aborted on failure), like the envelope path. plainLen is the declared
// plaintext length or -1. It copies the other fields of in as the envelope path does
// (and rejects nothing FMT has not already checked). It does not wipe cc.
func (c *Client) putS3ECBody(ctx context.Context, in *s3.PutObjectInput, body io.Reader, plainLen int64, cc *s3ecContent, meta map[string]string, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, errS3ECNotYet
}

// openS3ECBody returns the plaintext of raw (the output of a whole-object GET) as a
// reader that releases no byte before the tag has verified (GCM suites; bounded
// memory, spooling beyond it), or, for s3ecCBC, the unpadded plaintext (FMT only calls
// it for CBC under a permissive policy). plainLen is the plaintext length the metadata
// states, or -1; a mismatch is envelope.ErrFormat. It takes ownership of cc (wipes it on
// Close, EOF and error) and closes raw.Body on Close.
func (c *Client) openS3ECBody(ctx context.Context, raw *s3.GetObjectOutput, cc *s3ecContent, plainLen int64) (io.ReadCloser, error) {
	cc.wipe()
	return nil, errS3ECNotYet
}

// getS3ECRange serves in.Range of an S3EC GCM object of objLen bytes (ciphertext incl.
// tag) whose metadata FMT has parsed, or fails with ErrUnsupported without the opt-in.
// etag makes the ranged fetch conditional. Takes ownership of cc.
func (c *Client) getS3ECRange(ctx context.Context, in *s3.GetObjectInput, optFns []func(*s3.Options), cc *s3ecContent, objLen int64, etag *string) (*s3.GetObjectOutput, error) {
	cc.wipe()
	return nil, errS3ECNotYet
}
