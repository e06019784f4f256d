// Command s3 stores and reads client-side encrypted S3 objects with
// package s3crypto, offline: an in-process S3 (gofakes3) and an in-process
// KMS (package kmstest) stand in for AWS, and the real AWS SDK clients talk
// to them over HTTP.
//
// It wraps an *s3.Client, puts a 12 MiB object (a multipart upload of
// 5 MiB parts), reads its plaintext length with HeadObject, reads a range
// and the whole object, shows that what S3 stores is ciphertext, and what
// a reader expecting another encryption context sees.
//
//	go run ./examples/s3
//
// Against AWS, use s3.NewFromConfig(cfg) and kms.NewFromConfig(cfg) and
// your key ARN instead of the local servers.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

const (
	bucket = "reports"
	key    = "2026/q4.csv"
	size   = 12 << 20
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The local servers.
	kmsSrv := kmstest.NewServer()
	defer kmsSrv.Close()
	keyARN, err := kmsSrv.CreateKey()
	if err != nil {
		return err
	}
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return err
	}
	s3Srv := httptest.NewUnstartedServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	s3Srv.Config.ErrorLog = log.New(io.Discard, "", 0) // gofakes3 writes some error headers twice
	s3Srv.Start()
	defer s3Srv.Close()
	s3Client := s3.New(s3.Options{
		BaseEndpoint: aws.String(s3Srv.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})

	// Wrap the S3 client. parts counts the UploadPart calls it makes.
	kr, err := awskms.NewKeyring(kmsSrv.Client(), keyARN)
	if err != nil {
		return err
	}
	api := &partCounter{API: s3Client}
	c, err := s3crypto.New(api, kr, s3crypto.WithPartSize(5<<20))
	if err != nil {
		return err
	}

	// Every call carries the encryption context its object is bound to
	// (beside the bucket and key, which s3crypto binds itself).
	acme := s3crypto.WithEncryptionContext(ctx, map[string]string{"tenant": "acme"})
	plain := report(size)
	_, err = c.PutObject(acme, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(plain)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "put %d bytes: %d parts, %d KMS call(s)\n", len(plain), api.parts.Load(), kmsSrv.TotalCalls())

	head, err := c.HeadObject(acme, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "head: ContentLength %d (the plaintext)\n", aws.ToInt64(head.ContentLength))

	// A range in plaintext offsets: only the message header and the frame
	// that holds it are fetched, and the frame is authenticated before
	// its bytes are returned.
	out, err := c.GetObject(acme, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String("bytes=1000000-1000039")})
	if err != nil {
		return err
	}
	part, err := readAll(out.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "range: %s, %d bytes %q, equal: %v\n", aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength), part, bytes.Equal(part, plain[1000000:1000040]))

	out, err = c.GetObject(acme, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	whole, err := readAll(out.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "get: %d bytes, sha256 equal: %v\n", len(whole), sha256.Sum256(whole) == sha256.Sum256(plain))

	// What S3 holds, read with the plain client: ciphertext.
	raw, err := s3Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	stored, err := readAll(raw.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stored: %d bytes (%d more than the plaintext), holds plaintext: %v, format %q\n",
		len(stored), len(stored)-len(plain), bytes.Contains(stored, plain[:32]), raw.Metadata[s3crypto.MetaFormat])

	// A reader that expects another tenant's object gets an error, and
	// no plaintext.
	globex := s3crypto.WithEncryptionContext(ctx, map[string]string{"tenant": "globex"})
	_, err = c.GetObject(globex, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var oe *s3crypto.Error
	fmt.Fprintf(w, "as tenant globex: envelope.ErrContext %v, names the object: %v\n",
		errors.Is(err, envelope.ErrContext), errors.As(err, &oe) && oe.Bucket == bucket && oe.Key == key)
	if err == nil {
		return errors.New("a reader expecting another context read the object")
	}
	return nil
}

// report returns n bytes of CSV-like text.
func report(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%08d,acme,widget-%04d,%6d.%02d\n", i, i%9973, i*37%100000, i%100)
	}
	return b.Bytes()[:n]
}

func readAll(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	return io.ReadAll(body)
}

// partCounter counts the parts of multipart uploads.
type partCounter struct {
	s3crypto.API
	parts atomic.Int32
}

func (p *partCounter) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	p.parts.Add(1)
	return p.API.UploadPart(ctx, in, optFns...)
}
