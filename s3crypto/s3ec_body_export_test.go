package s3crypto

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Hooks into the S3EC content cipher for the external tests, which use the
// recording API wrapper of helpers_test.go.

type S3ECContent = s3ecContent
type S3ECSuite = s3ecSuite

const (
	S3ECCBC    = s3ecCBC
	S3ECGCM    = s3ecGCM
	S3ECCommit = s3ecCommit
)

func NewS3ECContent(suite s3ecSuite, dataKey []byte) (*S3ECContent, []byte, []byte, error) {
	return newS3ECContent(suite, dataKey)
}

func OpenS3ECContent(suite s3ecSuite, dataKey, ivOrMsgID, commitment []byte) (*S3ECContent, error) {
	return openS3ECContent(suite, dataKey, ivOrMsgID, commitment)
}

// Parts returns the key, IV and additional data of c.
func (c *s3ecContent) Parts() (key, iv, aad []byte) { return c.key, c.iv, c.aad }

func (c *Client) PutS3ECBody(ctx context.Context, in *s3.PutObjectInput, body io.Reader, plainLen int64, cc *S3ECContent, meta map[string]string) (*s3.PutObjectOutput, error) {
	return c.putS3ECBody(ctx, in, body, plainLen, cc, meta, nil)
}

func (c *Client) OpenS3ECBody(ctx context.Context, raw *s3.GetObjectOutput, cc *S3ECContent, plainLen int64) (io.ReadCloser, error) {
	return c.openS3ECBody(ctx, raw, cc, plainLen)
}

func (c *Client) GetS3ECRange(ctx context.Context, in *s3.GetObjectInput, cc *S3ECContent, objLen int64, etag *string) (*s3.GetObjectOutput, error) {
	return c.getS3ECRange(ctx, in, nil, cc, objLen, etag)
}

// SetS3ECSpoolMemory sets how much of an object a GET body keeps in
// memory, until the test ends. Tests that call it must not be parallel.
func SetS3ECSpoolMemory(n int) (restore func()) {
	old := s3ecSpoolMemory
	s3ecSpoolMemory = n
	return func() { s3ecSpoolMemory = old }
}
