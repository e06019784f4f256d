package s3crypto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqKey is the 32 bytes 0x00..0x1f; its base64 and the base64 of its MD5
// were computed independently (Python hashlib).
var seqKey = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

const (
	seqKeyB64    = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	seqKeyMD5B64 = "tP/LI3N87DFaSk0aoqYgzg=="
)

func TestSSECustomerKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := s3crypto.SSECustomerKey(make([]byte, n))
		require.ErrorIs(t, err, s3crypto.ErrInvalidRequest, "%d bytes", n)
	}
	key := bytes.Clone(seqKey)
	sse, err := s3crypto.SSECustomerKey(key)
	require.NoError(t, err)
	clear(key) // the caller may wipe its key: the SSE holds its own encoding

	in := &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("old")}
	put := sse.PutObject(in)
	assert.Equal(t, "AES256", aws.ToString(put.SSECustomerAlgorithm))
	assert.Equal(t, seqKeyB64, aws.ToString(put.SSECustomerKey))
	assert.Equal(t, seqKeyMD5B64, aws.ToString(put.SSECustomerKeyMD5), "MD5 of the raw key, not of its base64")
	assert.Empty(t, put.ServerSideEncryption, "the other modes are cleared")
	assert.Nil(t, put.SSEKMSKeyId)
	assert.Equal(t, "old", aws.ToString(in.SSEKMSKeyId), "input not modified")
	assert.Nil(t, in.SSECustomerKey, "input not modified")

	get := sse.GetObject(&s3.GetObjectInput{Bucket: aws.String("b")})
	head := sse.HeadObject(&s3.HeadObjectInput{Bucket: aws.String("b")})
	for _, f := range [][3]*string{
		{get.SSECustomerAlgorithm, get.SSECustomerKey, get.SSECustomerKeyMD5},
		{head.SSECustomerAlgorithm, head.SSECustomerKey, head.SSECustomerKeyMD5},
	} {
		assert.Equal(t, []string{"AES256", seqKeyB64, seqKeyMD5B64}, []string{aws.ToString(f[0]), aws.ToString(f[1]), aws.ToString(f[2])})
	}

	// Copy: source and destination keys are set apart.
	dst, err := s3crypto.SSECustomerKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	cp := dst.CopyObject(sse.CopySource(&s3.CopyObjectInput{CopySource: aws.String("b/k")}))
	assert.Equal(t, seqKeyB64, aws.ToString(cp.CopySourceSSECustomerKey))
	assert.Equal(t, seqKeyMD5B64, aws.ToString(cp.CopySourceSSECustomerKeyMD5))
	assert.Equal(t, "AES256", aws.ToString(cp.CopySourceSSECustomerAlgorithm))
	assert.Equal(t, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), aws.ToString(cp.SSECustomerKey))
	assert.NotEqual(t, aws.ToString(cp.SSECustomerKeyMD5), aws.ToString(cp.CopySourceSSECustomerKeyMD5))

	// The zero SSE clears every field: the bucket default applies.
	none := s3crypto.SSE{}.PutObject(put)
	assert.Nil(t, none.SSECustomerKey)
	assert.Nil(t, none.SSECustomerAlgorithm)
}

type holder struct {
	name string
	sse  s3crypto.SSE
}

type Exported struct{ SSE s3crypto.SSE }

func TestSSERedacted(t *testing.T) {
	sse, err := s3crypto.SSECustomerKey(seqKey)
	require.NoError(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("put", "sse", sse, "in", holder{"x", sse})
	js, err := json.Marshal(Exported{sse})
	require.NoError(t, err)
	outs := []string{
		sse.String(), sse.GoString(), logged.String(), string(js),
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", sse, sse, sse, sse, sse, sse, sse, sse),
		fmt.Sprintf("%v %+v %#v", holder{"x", sse}, holder{"x", sse}, &holder{"x", sse}),
		fmt.Sprintf("%v %+v %#v", Exported{sse}, Exported{sse}, []s3crypto.SSE{sse}),
	}
	secrets := []string{seqKeyB64, seqKeyMD5B64, hex.EncodeToString(seqKey), string(seqKey),
		fmt.Sprint(seqKey), hex.EncodeToString([]byte(seqKeyB64))}
	for _, out := range outs {
		for _, s := range secrets {
			assert.NotContains(t, out, s)
		}
	}
	assert.Contains(t, fmt.Sprint(sse), "SSE-C")
	assert.Contains(t, logged.String(), "SSE-C")
}

func TestSSEKMSAndS3(t *testing.T) {
	ec := map[string]string{"tenant": "acme", "a": "ü", "z": "1"}
	sse := s3crypto.SSEKMS("alias/app", ec, true)
	in := &s3.PutObjectInput{Bucket: aws.String("b"), SSECustomerKey: aws.String("x")}
	put := sse.PutObject(in)
	assert.Equal(t, types.ServerSideEncryptionAwsKms, put.ServerSideEncryption)
	assert.Equal(t, "alias/app", aws.ToString(put.SSEKMSKeyId))
	assert.True(t, aws.ToBool(put.BucketKeyEnabled))
	assert.Nil(t, put.SSECustomerKey, "SSE-C cleared")
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(put.SSEKMSEncryptionContext))
	require.NoError(t, err)
	assert.Equal(t, `{"a":"ü","tenant":"acme","z":"1"}`, string(raw), "UTF-8 JSON, keys sorted")
	for range 10 { // stable: the same map gives the same header
		again := s3crypto.SSEKMS("alias/app", map[string]string{"z": "1", "tenant": "acme", "a": "ü"}, true).PutObject(in)
		assert.Equal(t, aws.ToString(put.SSEKMSEncryptionContext), aws.ToString(again.SSEKMSEncryptionContext))
	}

	bare := s3crypto.SSEKMS("", nil, false).CopyObject(&s3.CopyObjectInput{})
	assert.Equal(t, types.ServerSideEncryptionAwsKms, bare.ServerSideEncryption)
	assert.Nil(t, bare.SSEKMSKeyId, "no key id: the account's aws/s3 key")
	assert.Nil(t, bare.SSEKMSEncryptionContext)
	assert.Nil(t, bare.BucketKeyEnabled, "false leaves the bucket's setting")
	assert.Nil(t, sse.GetObject(&s3.GetObjectInput{SSECustomerKey: aws.String("x")}).SSECustomerKey)

	s3s := s3crypto.SSES3().PutObject(put)
	assert.Equal(t, types.ServerSideEncryptionAes256, s3s.ServerSideEncryption)
	assert.Nil(t, s3s.SSEKMSKeyId)
	assert.Nil(t, s3s.SSEKMSEncryptionContext)
	assert.Nil(t, s3s.BucketKeyEnabled)
	assert.Equal(t, "SSE-S3", s3crypto.SSES3().String())
	assert.Contains(t, fmt.Sprint(sse), "alias/app")
}

// tlsS3 starts an in-process S3 server over TLS (it ignores SSE headers)
// and returns a real *s3.Client for it.
func tlsS3(t testing.TB) *s3.Client {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(bucket))
	srv := httptest.NewTLSServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1, HTTPClient: srv.Client(),
	})
}

// sseSpy records the server-side encryption fields of every request.
type sseSpy struct {
	s3crypto.API
	mu   sync.Mutex
	seen []string // "Op key=<md5> src=<md5> sse=<mode> kms=<id>"
}

func (s *sseSpy) note(op string, md5, srcMD5 *string, mode types.ServerSideEncryption, kms *string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, fmt.Sprintf("%s key=%s src=%s sse=%s kms=%s", op, aws.ToString(md5), aws.ToString(srcMD5), mode, aws.ToString(kms)))
}

func (s *sseSpy) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.seen
	s.seen = nil
	return out
}

func (s *sseSpy) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	s.note("PutObject", in.SSECustomerKeyMD5, nil, in.ServerSideEncryption, in.SSEKMSKeyId)
	return s.API.PutObject(ctx, in, o...)
}

func (s *sseSpy) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	s.note("GetObject", in.SSECustomerKeyMD5, nil, "", nil)
	return s.API.GetObject(ctx, in, o...)
}

func (s *sseSpy) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	s.note("HeadObject", in.SSECustomerKeyMD5, nil, "", nil)
	return s.API.HeadObject(ctx, in, o...)
}

func (s *sseSpy) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, o ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	s.note("CreateMultipartUpload", in.SSECustomerKeyMD5, nil, in.ServerSideEncryption, in.SSEKMSKeyId)
	out, err := s.API.CreateMultipartUpload(ctx, in, o...)
	if err == nil { // echo as S3 does (the in-process server does not)
		out.SSECustomerAlgorithm, out.SSECustomerKeyMD5 = in.SSECustomerAlgorithm, in.SSECustomerKeyMD5
		out.SSEKMSEncryptionContext = in.SSEKMSEncryptionContext
	}
	return out, err
}

func (s *sseSpy) UploadPart(ctx context.Context, in *s3.UploadPartInput, o ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	s.note("UploadPart", in.SSECustomerKeyMD5, nil, "", nil)
	return s.API.UploadPart(ctx, in, o...)
}

func (s *sseSpy) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, o ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	s.note("CompleteMultipartUpload", in.SSECustomerKeyMD5, nil, "", nil)
	return s.API.CompleteMultipartUpload(ctx, in, o...)
}

func (s *sseSpy) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	s.note("CopyObject", in.SSECustomerKeyMD5, in.CopySourceSSECustomerKeyMD5, in.ServerSideEncryption, in.SSEKMSKeyId)
	return s.API.CopyObject(ctx, in, o...)
}

// TestSSEPropagated checks that the SSE fields of an input reach every
// request Client makes for it, over TLS (so the SSE-C check lets them
// through).
func TestSSEPropagated(t *testing.T) {
	ctx := context.Background()
	spy := &sseSpy{API: tlsS3(t)}
	c, err := s3crypto.New(spy, newKeyring(t), s3crypto.WithPartSize(s3crypto.MinPartSize))
	require.NoError(t, err)
	keyA, err := s3crypto.SSECustomerKey(seqKey)
	require.NoError(t, err)
	keyB, err := s3crypto.SSECustomerKey(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, err)
	md5B := aws.ToString(keyB.GetObject(&s3.GetObjectInput{}).SSECustomerKeyMD5)
	obj := func(k string) (*string, *string) { return aws.String(bucket), aws.String(k) }
	only := func(t *testing.T, want string, reqs []string, n int) {
		t.Helper()
		require.Len(t, reqs, n, "%q", reqs)
		for _, r := range reqs {
			op, _, _ := strings.Cut(r, " ")
			assert.Equal(t, op+" "+want, r)
		}
	}
	keyAOnly := "key=" + seqKeyMD5B64 + " src= sse= kms="

	pt := randBytes(6<<20 + 1000)
	b, k := obj("multi")
	out, err := c.PutObject(ctx, keyA.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: onlyReader{bytes.NewReader(pt)}}))
	require.NoError(t, err)
	assert.Equal(t, "AES256", aws.ToString(out.SSECustomerAlgorithm), "the echo of CreateMultipartUpload")
	assert.Equal(t, seqKeyMD5B64, aws.ToString(out.SSECustomerKeyMD5))
	reqs := spy.requests()
	only(t, keyAOnly, reqs, 1+2+1) // create, 2 parts, complete
	assert.Equal(t, "UploadPart", strings.Fields(reqs[2])[0])

	b, k = obj("small")
	_, err = c.PutObject(ctx, keyA.PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(pt[:1000])}))
	require.NoError(t, err)
	only(t, keyAOnly, spy.requests(), 1)

	b, k = obj("multi")
	ranged := 0
	for _, rng := range []string{"bytes=100-200", "bytes=6000000-6100000", "bytes=-5", "bytes=6000000-"} {
		out, err := c.GetObject(ctx, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String(rng)}))
		require.NoError(t, err, rng)
		_, err = io.Copy(io.Discard, out.Body)
		require.NoError(t, err)
		out.Body.Close()
		reqs := spy.requests()
		ranged += len(reqs)
		only(t, keyAOnly, reqs, len(reqs))
	}
	assert.Greater(t, ranged, 4, "some ranges take more than one GET, each with the key")
	got, err := c.GetObject(ctx, keyA.GetObject(&s3.GetObjectInput{Bucket: b, Key: k}))
	require.NoError(t, err)
	all, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.True(t, bytes.Equal(pt, all))
	_, err = c.HeadObject(ctx, keyA.HeadObject(&s3.HeadObjectInput{Bucket: b, Key: k}))
	require.NoError(t, err)
	only(t, keyAOnly, spy.requests(), 2)

	// CopyObject re-encrypts: the source key on the get, the destination
	// key on the put.
	_, err = c.CopyObject(ctx, keyB.CopyObject(keyA.CopySource(&s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/small")})))
	require.NoError(t, err)
	reqs = spy.requests()
	require.Equal(t, []string{"GetObject " + keyAOnly, "PutObject key=" + md5B + " src= sse= kms="}, reqs)

	// SSE-KMS reaches CreateMultipartUpload (the parts carry nothing).
	b, k = obj("kms")
	out, err = c.PutObject(ctx, s3crypto.SSEKMS("alias/x", map[string]string{"a": "b"}, false).PutObject(&s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(pt)}))
	require.NoError(t, err)
	assert.Equal(t, "eyJhIjoiYiJ9", aws.ToString(out.SSEKMSEncryptionContext), `base64 of {"a":"b"}, echoed`)
	reqs = spy.requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "CreateMultipartUpload key= src= sse=aws:kms kms=alias/x", reqs[0])
}
