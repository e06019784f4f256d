package s3crypto_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// TestMotoRewrap re-keys S3EC objects on moto, whose CopyObject honours
// MetadataDirective REPLACE (the in-process server merges the old
// metadata into the new) and whose PutObject honours If-Match.
//
// motoRewrapKeeps: from a KMS wrap to a raw AES one, the object keeps its
// user metadata and content type, loses the keys of the old wrap, and
// reads back with the new keyring.
func TestMotoRewrap(t *testing.T) {
	url := testserver.Moto(t)
	cli := testserver.S3Client(url, nil)
	t.Run("kms to aes", func(t *testing.T) { motoRewrapKeeps(t, cli) })
	t.Run("instruction race", func(t *testing.T) { motoRewrapRace(t, cli) })
	t.Run("copy onto itself", func(t *testing.T) { motoCopySelf(t, cli) })
}

// motoCopySelf: an S3EC object with an instruction file copied onto
// itself (to change its storage class) is copied, and its instruction
// file, which S3 would refuse to copy onto itself unchanged, is left as
// it is.
func motoCopySelf(t *testing.T, cli *s3.Client) {
	ctx := context.Background()
	bkt := newBucket(t, cli)
	kr, _ := s3ecKMSKeyring(t)
	c, err := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	require.NoError(t, err)
	pt := randBytes(100)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("o"), Body: bytes.NewReader(pt)})
	require.NoError(t, err)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bkt), Key: aws.String("o"), CopySource: aws.String(bkt + "/o"),
		StorageClass: types.StorageClassStandardIa})
	require.NoError(t, err)
	head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("o")})
	require.NoError(t, err)
	assert.Equal(t, types.StorageClassStandardIa, head.StorageClass)
	got, _ := readAll(t, c, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("o")})
	assert.Equal(t, pt, got)
}

func motoRewrapKeeps(t *testing.T, cli *s3.Client) {
	ctx := context.Background()
	bkt := newBucket(t, cli)
	kr, _ := s3ecKMSKeyring(t)
	c, err := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	require.NoError(t, err)
	pt := randBytes(3000)
	ec := map[string]string{"a": "b"}
	_, err = c.PutObject(s3crypto.WithEncryptionContext(ctx, ec), &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("r"),
		Body: bytes.NewReader(pt), Metadata: map[string]string{"owner": "me"}, ContentType: aws.String("text/csv")})
	require.NoError(t, err)
	aesKR := newKeyring(t)
	_, err = c.Rewrap(s3crypto.WithEncryptionContext(ctx, ec), &s3crypto.RewrapInput{Bucket: aws.String(bkt), Key: aws.String("r"), Keyring: aesKR})
	require.NoError(t, err)
	head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("r")})
	require.NoError(t, err)
	assert.Equal(t, "me", head.Metadata["owner"])
	assert.Equal(t, "text/csv", aws.ToString(head.ContentType))
	assert.Equal(t, "02", head.Metadata["x-amz-w"])
	for k := range head.Metadata {
		assert.False(t, strings.EqualFold(k, "x-amz-t"), "the old wrap's context stayed")
	}
	c2, err := s3crypto.New(cli, aesKR)
	require.NoError(t, err)
	got, _ := readAll(t, c2, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("r")})
	assert.Equal(t, pt, got)
}

// motoRewrapRace: moto, like S3, refuses the conditional write of the
// new instruction file when the object was replaced while Rewrap worked;
// the new object stays readable.
func motoRewrapRace(t *testing.T, cli *s3.Client) {
	ctx := context.Background()
	bkt := newBucket(t, cli)
	kr, srv := s3ecKMSKeyring(t)
	plain, err := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	require.NoError(t, err)
	in := func(body []byte) *s3.PutObjectInput {
		return &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("o"), Body: bytes.NewReader(body)}
	}
	_, err = plain.PutObject(ctx, in(randBytes(10)))
	require.NoError(t, err)
	pt2 := randBytes(20)
	race := &racingInstr{API: cli, swap: func() { _, err := plain.PutObject(ctx, in(pt2)); require.NoError(t, err) }}
	c, _ := s3crypto.New(race, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	arn, _ := srv.CreateKey()
	kr2, _ := awskms.NewKeyring(srv.Client(), arn)
	_, err = c.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String(bkt), Key: aws.String("o"), Keyring: kr2})
	assert.Error(t, err)
	got, _ := readAll(t, plain, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("o")})
	assert.Equal(t, pt2, got)
}
