package s3crypto_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func Example() {
	// An in-process S3 server stands in for Amazon S3.
	backend := s3mem.New()
	backend.CreateBucket("photos")
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()
	s3Client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	})

	// A raw AES keyring; use keyring/awskms with AWS KMS in production.
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES("example", "photos-key", key)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr)
	if err != nil {
		log.Fatal(err)
	}

	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"owner": "alice"})
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("photos"), Key: aws.String("cat.txt"), Body: strings.NewReader("a picture of a cat"),
	})
	if err != nil {
		log.Fatal(err)
	}

	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.txt")})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	pt, err := io.ReadAll(out.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes: %s\n", *out.ContentLength, pt)

	// What S3 stores is ciphertext (the encryption context, bucket and
	// key included, is stored in the clear in the message header).
	raw, err := s3Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cat.txt")})
	if err != nil {
		log.Fatal(err)
	}
	defer raw.Body.Close()
	stored, _ := io.ReadAll(raw.Body)
	fmt.Println("stored plaintext:", strings.Contains(string(stored), "picture"))
	// Output:
	// 18 bytes: a picture of a cat
	// stored plaintext: false
}
