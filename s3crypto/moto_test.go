package s3crypto_test

// TestMoto runs s3crypto against moto (moto_server 5.2.1, S3 and KMS on
// one port), through the real *s3.Client over HTTP, path-style: an S3
// implementation other than the in-process one of the other tests. One
// server serves every subtest. Without moto_server on PATH the test
// fails, unless CRYPTKEEPER_NO_MOTO=1; CRYPTKEEPER_MOTO_URL names a
// running server instead.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newBucket creates a bucket of a fresh name (a server named by
// CRYPTKEEPER_MOTO_URL may be shared).
func newBucket(t *testing.T, cli *s3.Client) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "cryptkeeper-" + hex.EncodeToString(b)
	_, err := cli.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	return name
}

// readAll gets key through c (with in's other fields) and returns the
// plaintext and the output.
func readAll(t *testing.T, c *s3crypto.Client, in *s3.GetObjectInput) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(context.Background(), in)
	require.NoError(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return b, out
}

// noUploads checks that no multipart upload is left in bkt.
func noUploads(t *testing.T, cli *s3.Client, bkt string) {
	t.Helper()
	out, err := cli.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt)})
	require.NoError(t, err)
	assert.Empty(t, out.Uploads, "multipart uploads left")
}

// cancelAfter reads r and cancels the context after n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestMoto(t *testing.T) {
	ctx := context.Background()
	url := testserver.Moto(t)
	cli := testserver.S3Client(url, nil)
	bkt := newBucket(t, cli)
	c, err := s3crypto.New(cli, newKeyring(t), s3crypto.WithPartSize(5<<20))
	require.NoError(t, err)
	obj := func(key string) (*string, *string) { return aws.String(bkt), aws.String(key) }

	small, large := randBytes(1000), randBytes(11<<20)
	t.Run("small", func(t *testing.T) {
		b, k := obj("small")
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(small)})
		require.NoError(t, err)
		got, out := readAll(t, c, &s3.GetObjectInput{Bucket: b, Key: k})
		assert.Equal(t, small, got)
		assert.EqualValues(t, len(small), aws.ToInt64(out.ContentLength))
		raw, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
		require.NoError(t, err)
		stored, err := io.ReadAll(raw.Body)
		require.NoError(t, err)
		assert.False(t, bytes.Contains(stored, small[:32]), "plaintext stored")
	})

	t.Run("multipart", func(t *testing.T) {
		b, k := obj("large")
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: onlyReader{bytes.NewReader(large)}})
		require.NoError(t, err)
		got, out := readAll(t, c, &s3.GetObjectInput{Bucket: b, Key: k})
		assert.True(t, bytes.Equal(large, got))
		assert.EqualValues(t, len(large), aws.ToInt64(out.ContentLength))
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
		require.NoError(t, err)
		assert.EqualValues(t, len(large), aws.ToInt64(head.ContentLength))
		noUploads(t, cli, bkt)

		for _, r := range []struct {
			rng         string
			first, last int
		}{
			{"bytes=0-99", 0, 99},
			{"bytes=5242000-5300000", 5242000, 5300000},
			{"bytes=-1000", len(large) - 1000, len(large) - 1},
			{"bytes=11000000-", 11000000, len(large) - 1},
		} {
			got, out := readAll(t, c, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String(r.rng)})
			assert.True(t, bytes.Equal(large[r.first:r.last+1], got), r.rng)
			assert.EqualValues(t, r.last-r.first+1, aws.ToInt64(out.ContentLength), r.rng)
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String("bytes=20000000-")})
		require.ErrorIs(t, err, s3crypto.ErrInvalidRange)
	})

	t.Run("copy", func(t *testing.T) {
		b, k := obj("copy")
		out, err := c.CopyObject(ctx, s3crypto.SSES3().CopyObject(&s3.CopyObjectInput{
			Bucket: b, Key: k, CopySource: aws.String(bkt + "/small")}))
		require.NoError(t, err)
		assert.Equal(t, types.ServerSideEncryptionAes256, out.ServerSideEncryption)
		got, _ := readAll(t, c, &s3.GetObjectInput{Bucket: b, Key: k})
		assert.Equal(t, small, got)
	})

	t.Run("delete", func(t *testing.T) {
		for _, k := range []string{"d1", "d2", "d3"} {
			b, k := obj(k)
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(small)})
			require.NoError(t, err)
		}
		b, k := obj("d1")
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
		require.NoError(t, err)
		dout, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("d2")}, {Key: aws.String("d3")}}}})
		require.NoError(t, err)
		assert.Len(t, dout.Deleted, 2)
		for _, key := range []string{"d1", "d2", "d3"} {
			b, k := obj(key)
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
			var nsk *types.NoSuchKey
			require.ErrorAs(t, err, &nsk, key)
		}
	})

	t.Run("abort on body failure", func(t *testing.T) {
		b, k := obj("failed")
		// The listing shows an upload left open.
		up, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
		require.NoError(t, err)
		list, err := cli.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
		require.NoError(t, err)
		require.Len(t, list.Uploads, 1)
		_, err = cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: up.UploadId})
		require.NoError(t, err)

		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: &failingReader{n: 8 << 20}})
		require.ErrorIs(t, err, errBody)
		noUploads(t, cli, bkt)
		_, err = cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
		require.Error(t, err, "nothing stored")
	})

	t.Run("abort on cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b, k := obj("canceled")
		_, err := c.PutObject(cctx, &s3.PutObjectInput{Bucket: b, Key: k,
			Body: &cancelAfter{r: bytes.NewReader(large), n: 8 << 20, cancel: cancel}})
		require.ErrorIs(t, err, context.Canceled)
		noUploads(t, cli, bkt)
	})

	t.Run("sse-kms and sse-s3", func(t *testing.T) {
		kc := kms.New(kms.Options{BaseEndpoint: aws.String(url), Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", ""), RetryMaxAttempts: 2})
		key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
		require.NoError(t, err)
		arn := aws.ToString(key.KeyMetadata.Arn)
		kmsSSE := s3crypto.SSEKMS(arn, map[string]string{"app": "cryptkeeper"}, true)
		for name, body := range map[string][]byte{"kms-small": small, "kms-large": large} {
			b, k := obj(name)
			out, err := c.PutObject(ctx, kmsSSE.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: onlyReader{bytes.NewReader(body)}}))
			require.NoError(t, err, name)
			assert.Equal(t, types.ServerSideEncryptionAwsKms, out.ServerSideEncryption, name)
			assert.Equal(t, arn, aws.ToString(out.SSEKMSKeyId), name)
			head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
			require.NoError(t, err, name)
			assert.Equal(t, types.ServerSideEncryptionAwsKms, head.ServerSideEncryption, name)
			assert.Equal(t, arn, aws.ToString(head.SSEKMSKeyId), name)
			got, gout := readAll(t, c, &s3.GetObjectInput{Bucket: b, Key: k})
			assert.True(t, bytes.Equal(body, got), name)
			assert.Equal(t, types.ServerSideEncryptionAwsKms, gout.ServerSideEncryption, name)
		}
		b, k := obj("s3")
		out, err := c.PutObject(ctx, s3crypto.SSES3().PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(small)}))
		require.NoError(t, err)
		assert.Equal(t, types.ServerSideEncryptionAes256, out.ServerSideEncryption)
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
		require.NoError(t, err)
		assert.Equal(t, types.ServerSideEncryptionAes256, head.ServerSideEncryption)
		assert.EqualValues(t, len(small), aws.ToInt64(head.ContentLength))

		// Server-side encryption alone is not client-side encryption.
		b, k = obj("sse-only")
		_, err = cli.PutObject(ctx, s3crypto.SSES3().PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(small)}))
		require.NoError(t, err)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
		require.ErrorIs(t, err, s3crypto.ErrNotEncrypted)
	})
}

// replaceOnGet overwrites the object (through put) before forwarding the
// GetObject call number at, as a concurrent writer would.
type replaceOnGet struct {
	s3crypto.API
	calls, at int
	put       func()
}

func (r *replaceOnGet) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if r.calls++; r.calls == r.at {
		r.put()
	}
	return r.API.GetObject(ctx, in, optFns...)
}

// TestMotoRangeReplaced checks that a ranged GET whose object is replaced
// between its requests (S3 answers 412 to the conditions s3crypto adds)
// fails as envelope.ErrTransient, since a new GetObject reads the new
// object, while a stale If-Match of the caller's own stays permanent.
func TestMotoRangeReplaced(t *testing.T) {
	ctx := context.Background()
	url := testserver.Moto(t)
	cli := testserver.S3Client(url, nil)
	bkt := newBucket(t, cli)
	kr := newKeyring(t)
	c, err := s3crypto.New(cli, kr)
	require.NoError(t, err)
	putObj := func() *s3.PutObjectOutput {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("obj"), Body: bytes.NewReader(randBytes(1 << 20))})
		require.NoError(t, err)
		return out
	}
	first := putObj()
	rc, err := s3crypto.New(&replaceOnGet{API: cli, at: 2, put: func() { putObj() }}, kr)
	require.NoError(t, err)
	_, err = rc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("obj"), Range: aws.String("bytes=500000-500010")})
	assert.ErrorIs(t, err, envelope.ErrTransient, "object replaced between the requests")

	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("obj"), Range: aws.String("bytes=500000-500010"), IfMatch: first.ETag})
	require.Error(t, err)
	assert.NotErrorIs(t, err, envelope.ErrTransient, "stale If-Match of the caller")

	// The same for an S3 Encryption Client object (an unauthenticated range).
	opts := []s3crypto.Option{s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithUnauthenticatedS3ECRanges()}
	c, err = s3crypto.New(cli, kr, opts...)
	require.NoError(t, err)
	putObj()
	rc, err = s3crypto.New(&replaceOnGet{API: cli, at: 2, put: func() { putObj() }}, kr, opts...)
	require.NoError(t, err)
	_, err = rc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("obj"), Range: aws.String("bytes=500000-500010")})
	assert.ErrorIs(t, err, envelope.ErrTransient, "S3EC object replaced between the requests")
}
