package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingServer answers every request with status and body, counting
// the requests it gets.
func countingServer(t *testing.T, tls bool, status int, body string) (*s3.Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1, HTTPClient: srv.Client(),
	}), &n
}

func TestSSECRefusedOverHTTP(t *testing.T) {
	ctx := context.Background()
	cli, n := countingServer(t, false, http.StatusNotFound, "<Error><Code>NoSuchKey</Code></Error>")
	c, err := s3crypto.New(cli, newKeyring(t), s3crypto.WithPartSize(s3crypto.MinPartSize))
	require.NoError(t, err)
	sse, err := s3crypto.SSECustomerKey(seqKey)
	require.NoError(t, err)
	b, k := aws.String(bucket), aws.String("k")
	calls := map[string]func() error{
		"put": func() error {
			_, err := c.PutObject(ctx, sse.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader([]byte("x"))}))
			return err
		},
		"multipart": func() error {
			_, err := c.PutObject(ctx, sse.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: onlyReader{bytes.NewReader(make([]byte, 6<<20))}}))
			return err
		},
		"get": func() error {
			_, err := c.GetObject(ctx, sse.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
			return err
		},
		"range": func() error {
			_, err := c.GetObject(ctx, sse.GetObject(&s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String("bytes=5-9")}))
			return err
		},
		"head": func() error {
			_, err := c.HeadObject(ctx, sse.HeadObject(&s3.HeadObjectInput{Bucket: b, Key: k}))
			return err
		},
		"copy source": func() error {
			_, err := c.CopyObject(ctx, sse.CopySource(&s3.CopyObjectInput{Bucket: b, Key: k, CopySource: aws.String(bucket + "/src")}))
			return err
		},
	}
	for name, call := range calls {
		err := call()
		require.ErrorIs(t, err, s3crypto.ErrInsecureEndpoint, name)
		assert.NotErrorIs(t, err, envelope.ErrTransient, name)
		var oe *s3crypto.Error
		require.ErrorAs(t, err, &oe, name)
		assert.Equal(t, bucket, oe.Bucket)
		assert.NotContains(t, err.Error(), seqKeyB64)
		assert.Contains(t, err.Error(), "http://127.0.0.1")
		assert.Zero(t, n.Load(), "%s: a request reached the server", name)
	}

	// The same plain client without SSE-C does send.
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	require.Error(t, err)
	assert.NotErrorIs(t, err, s3crypto.ErrInsecureEndpoint)
	assert.Positive(t, n.Load())
}

func TestSSECDenied(t *testing.T) {
	ctx := context.Background()
	cli, n := countingServer(t, true, http.StatusForbidden,
		`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>`)
	c, err := s3crypto.New(cli, newKeyring(t), s3crypto.WithPartSize(s3crypto.MinPartSize))
	require.NoError(t, err)
	sse, err := s3crypto.SSECustomerKey(seqKey)
	require.NoError(t, err)
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}

	for _, body := range [][]byte{[]byte("small"), make([]byte, 6<<20)} {
		ssec := sse.PutObject(in)
		ssec.Body = onlyReader{bytes.NewReader(body)}
		_, err = c.PutObject(ctx, ssec)
		require.ErrorIs(t, err, s3crypto.ErrSSECDenied, "%d bytes", len(body))
		var ae smithy.APIError
		require.ErrorAs(t, err, &ae, "the S3 error stays in the chain")
		assert.Equal(t, "AccessDenied", ae.ErrorCode())
		assert.Contains(t, err.Error(), "BlockedEncryptionTypes")
		assert.NotContains(t, err.Error(), seqKeyB64)
	}
	assert.Positive(t, n.Load(), "HTTPS requests are sent")

	// A read with a key answered 403 (GET with a body, HEAD without).
	b, k := aws.String(bucket), aws.String("k")
	_, err = c.GetObject(ctx, sse.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
	require.ErrorIs(t, err, s3crypto.ErrSSECKey)
	assert.NotErrorIs(t, err, s3crypto.ErrSSECDenied)
	_, err = c.HeadObject(ctx, sse.HeadObject(&s3.HeadObjectInput{Bucket: b, Key: k}))
	require.ErrorIs(t, err, s3crypto.ErrSSECKey)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	assert.NotErrorIs(t, err, s3crypto.ErrSSECKey, "a 403 without a key is not about keys")

	plain := *in
	plain.Body = bytes.NewReader([]byte("small"))
	_, err = c.PutObject(ctx, &plain)
	require.Error(t, err)
	assert.NotErrorIs(t, err, s3crypto.ErrSSECDenied, "no SSE-C, no SSE-C explanation")
	_, err = c.PutObject(ctx, s3crypto.SSES3().PutObject(&plain))
	assert.False(t, errors.Is(err, s3crypto.ErrSSECDenied))
}

// TestSSECOptFnsShared checks that adding the HTTPS check never appends
// to the caller's optFns in place: the parts of an upload share them
// (the race detector catches a shared append).
func TestSSECOptFnsShared(t *testing.T) {
	ctx := context.Background()
	c, err := s3crypto.New(tlsS3(t), newKeyring(t), s3crypto.WithPartSize(s3crypto.MinPartSize), s3crypto.WithConcurrency(4))
	require.NoError(t, err)
	sse, err := s3crypto.SSECustomerKey(seqKey)
	require.NoError(t, err)
	var applied atomic.Int64
	opts := make([]func(*s3.Options), 1, 8)
	opts[0] = func(*s3.Options) { applied.Add(1) }
	pt := randBytes(11 << 20)
	_, err = c.PutObject(ctx, sse.PutObject(&s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: onlyReader{bytes.NewReader(pt)}}), opts...)
	require.NoError(t, err)
	assert.EqualValues(t, 1+3+1, applied.Load(), "create, 3 parts, complete")
	assert.Nil(t, opts[:2][1], "nothing appended into the caller's array")
}

// A GET without the key of an SSE-C object is answered 400 InvalidRequest
// (AWS's and MinIO's wording).
func TestSSECKeyMissing(t *testing.T) {
	cli, _ := countingServer(t, true, http.StatusBadRequest,
		`<Error><Code>InvalidRequest</Code><Message>The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.</Message></Error>`)
	c, err := s3crypto.New(cli, newKeyring(t))
	require.NoError(t, err)
	_, err = c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	require.ErrorIs(t, err, s3crypto.ErrSSECKey)
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "InvalidRequest", ae.ErrorCode())
}
