package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

func TestCopyObject(t *testing.T) {
	rec, c := setup(t)
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"tenant": "a"})
	pt := randBytes(200 << 10)
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("dir/a b"), Body: bytes.NewReader(pt),
		Metadata: map[string]string{"color": "blue"}, ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatal(err)
	}
	src := aws.String(bucket + "/" + url.PathEscape("dir/a b"))
	out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: src})
	if err != nil {
		t.Fatal(err)
	}
	if out.CopyObjectResult == nil || aws.ToString(out.CopyObjectResult.ETag) == "" {
		t.Error("no ETag in the copy output")
	}
	got, gout, err := get(ctx, c, "copy")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatal("copy differs from the source")
	}
	if gout.Metadata["color"] != "blue" || aws.ToString(gout.ContentType) != "text/plain" {
		t.Errorf("metadata %v, content type %q not copied", gout.Metadata, aws.ToString(gout.ContentType))
	}
	// Re-encrypted under a new data key and bound to the new key.
	a, _ := rawObject(t, rec.raw(), "dir/a b")
	b, _ := rawObject(t, rec.raw(), "copy")
	if bytes.Equal(a, b) {
		t.Error("copy is byte for byte the source")
	}

	// REPLACE takes the input's metadata.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("replaced"), CopySource: src,
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"color": "red"},
	})
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("replaced")})
	if err != nil {
		t.Fatal(err)
	}
	if head.Metadata["color"] != "red" || aws.ToInt64(head.ContentLength) != int64(len(pt)) {
		t.Errorf("replaced: metadata %v, length %v", head.Metadata, head.ContentLength)
	}
	if _, ok := head.Metadata[s3crypto.MetaFormat]; ok {
		t.Error("HeadObject returned s3crypto metadata")
	}

	// The source's expected context applies.
	other := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"tenant": "b"})
	_, err = c.CopyObject(other, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("c2"), CopySource: src})
	if !errors.Is(err, envelope.ErrContext) {
		t.Errorf("copy under another context: %v, want ErrContext", err)
	}
	for _, bad := range []string{"", "bucket", "bucket/", "/bucket", "bucket/k?x=1"} {
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("c3"), CopySource: aws.String(bad)})
		if !errors.Is(err, s3crypto.ErrInvalidRequest) {
			t.Errorf("CopySource %q: %v, want ErrInvalidRequest", bad, err)
		}
	}
}

func TestDeletePassThrough(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "a", bytes.NewReader([]byte("a")))
	put(t, ctx, c, "b", bytes.NewReader([]byte("b")))
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("b")}}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		_, _, err := get(ctx, c, k)
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) || errors.Is(err, envelope.ErrTransient) {
			t.Errorf("%s after delete: %v, want NoSuchKey, not transient", k, err)
		}
		var e *s3crypto.Error
		if !errors.As(err, &e) || e.Key != k {
			t.Errorf("%s: error does not name the key: %v", k, err)
		}
	}
}
