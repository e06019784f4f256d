package s3crypto_test

// TestMinIO runs s3crypto with SSE-C on top against MinIO over TLS (a
// self-signed certificate), through the real *s3.Client: the one server
// here that enforces SSE-C. One server serves every subtest. Without a
// MinIO binary the test is skipped, or fails when CI is set (see
// internal/testserver).

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newSSEC(t *testing.T) s3crypto.SSE {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	sse, err := s3crypto.SSECustomerKey(key)
	require.NoError(t, err)
	return sse
}

func TestMinIO(t *testing.T) {
	ctx := context.Background()
	endpoint, roots := testserver.MinIO(t)
	cli := testserver.S3Client(endpoint, roots)
	bkt := newBucket(t, cli)
	c, err := s3crypto.New(cli, newKeyring(t), s3crypto.WithPartSize(5<<20))
	require.NoError(t, err)
	obj := func(key string) (*string, *string) { return aws.String(bkt), aws.String(key) }
	keyA, keyB := newSSEC(t), newSSEC(t)
	small, large := randBytes(1000), randBytes(11<<20)

	t.Run("round trip", func(t *testing.T) {
		for name, body := range map[string][]byte{"small": small, "large": large} {
			b, k := obj(name)
			out, err := c.PutObject(ctx, keyA.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: onlyReader{bytes.NewReader(body)}}))
			require.NoError(t, err, name)
			if name == "small" { // MinIO does not echo SSE-C on CreateMultipartUpload (S3 does)
				assert.Equal(t, "AES256", aws.ToString(out.SSECustomerAlgorithm), name)
			}
			got, gout := readAll(t, c, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
			assert.True(t, bytes.Equal(body, got), name)
			assert.EqualValues(t, len(body), aws.ToInt64(gout.ContentLength), name)
			head, err := c.HeadObject(ctx, keyA.HeadObject(&s3.HeadObjectInput{Bucket: b, Key: k}))
			require.NoError(t, err, name)
			assert.EqualValues(t, len(body), aws.ToInt64(head.ContentLength), name)
			assert.Equal(t, "AES256", aws.ToString(head.SSECustomerAlgorithm), name)
		}
		noUploads(t, cli, bkt)
		b, k := obj("large")
		for _, r := range []struct {
			rng         string
			first, last int
		}{
			{"bytes=10-20", 10, 20},
			{"bytes=5242000-5300000", 5242000, 5300000},
			{"bytes=-70000", len(large) - 70000, len(large) - 1},
		} {
			got, _ := readAll(t, c, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String(r.rng)}))
			assert.True(t, bytes.Equal(large[r.first:r.last+1], got), r.rng)
		}
	})

	t.Run("enforced", func(t *testing.T) {
		b, k := obj("large")
		// Without the key MinIO refuses the object, through s3crypto or not.
		_, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
		var ae smithy.APIError
		require.ErrorAs(t, err, &ae)
		t.Logf("GET without the key: %v", err)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
		require.ErrorAs(t, err, &ae)
		require.ErrorIs(t, err, s3crypto.ErrSSECKey, "explained")
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String("bytes=0-9")})
		require.ErrorIs(t, err, s3crypto.ErrSSECKey)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
		require.Error(t, err)
		// With the key and without s3crypto: the envelope ciphertext.
		raw, err := cli.GetObject(ctx, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
		require.NoError(t, err)
		stored, err := io.ReadAll(raw.Body)
		require.NoError(t, err)
		assert.Greater(t, len(stored), len(large))
		assert.EqualValues(t, 2, stored[0], "envelope message version 2")
		assert.False(t, bytes.Contains(stored, large[1000:1032]), "plaintext stored")
	})

	t.Run("wrong key", func(t *testing.T) {
		b, k := obj("small")
		_, err := c.GetObject(ctx, keyB.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
		require.ErrorIs(t, err, s3crypto.ErrSSECKey)
		assert.NotErrorIs(t, err, envelope.ErrTransient)
		var oe *s3crypto.Error
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "small", oe.Key)
		t.Logf("GET with the wrong key: %v", err)
		_, err = c.HeadObject(ctx, keyB.HeadObject(&s3.HeadObjectInput{Bucket: b, Key: k}))
		require.ErrorIs(t, err, s3crypto.ErrSSECKey)
		_, err = c.CopyObject(ctx, keyB.CopySource(&s3.CopyObjectInput{Bucket: b, Key: aws.String("nope"), CopySource: aws.String(bkt + "/small")}))
		require.ErrorIs(t, err, s3crypto.ErrSSECKey, "the source read of a copy")
	})

	t.Run("copy", func(t *testing.T) {
		b, k := obj("copied")
		_, err := c.CopyObject(ctx, keyB.CopyObject(keyA.CopySource(&s3.CopyObjectInput{
			Bucket: b, Key: k, CopySource: aws.String(bkt + "/large")})))
		require.NoError(t, err)
		got, _ := readAll(t, c, keyB.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
		assert.True(t, bytes.Equal(large, got))
		_, err = c.GetObject(ctx, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
		require.ErrorIs(t, err, s3crypto.ErrSSECKey, "the copy is under the destination key only")
	})
}
