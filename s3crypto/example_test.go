package s3crypto_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// exampleS3 starts an in-process S3 server (standing in for Amazon S3)
// with one bucket and returns a client for it; with tls the server speaks
// HTTPS (as SSE-C needs) and the client trusts its certificate.
func exampleS3(bucket string, tls bool) (*s3.Client, func()) {
	backend := s3mem.New()
	backend.CreateBucket(bucket)
	srv := httptest.NewUnstartedServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:  srv.Client(),
	}), srv.Close
}

func Example() {
	s3Client, stop := exampleS3("photos", false)
	defer stop()

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

// An object read with another expected encryption context fails before
// any of its plaintext is returned.
func ExampleWithEncryptionContext() {
	s3Client, stop := exampleS3("invoices", false)
	defer stop()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES("example", "invoices-key", key)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr)
	if err != nil {
		log.Fatal(err)
	}

	alice := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"tenant": "alice"})
	bob := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"tenant": "bob"})
	in := &s3.PutObjectInput{Bucket: aws.String("invoices"), Key: aws.String("2026/11.pdf"), Body: strings.NewReader("invoice")}
	if _, err := c.PutObject(alice, in); err != nil {
		log.Fatal(err)
	}

	_, err = c.GetObject(bob, &s3.GetObjectInput{Bucket: aws.String("invoices"), Key: aws.String("2026/11.pdf")})
	fmt.Println("bob:", errors.Is(err, envelope.ErrContext))
	out, err := c.GetObject(alice, &s3.GetObjectInput{Bucket: aws.String("invoices"), Key: aws.String("2026/11.pdf")})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	pt, _ := io.ReadAll(out.Body)
	fmt.Println("alice:", string(pt))
	// Output:
	// bob: true
	// alice: invoice
}

// ExampleClient_GetObject_range reads a few bytes from the middle of an
// object: only the header and the frame that holds them are fetched and
// decrypted.
func ExampleClient_GetObject_range() {
	s3Client, stop := exampleS3("logs", false)
	defer stop()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES("example", "logs-key", key)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	body := strings.Repeat("0123456789", 20_000) // 200,000 bytes: four frames
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String("app.log"), Body: strings.NewReader(body)})
	if err != nil {
		log.Fatal(err)
	}

	out, err := c.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String("logs"), Key: aws.String("app.log"), Range: aws.String("bytes=100003-100009"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	pt, err := io.ReadAll(out.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), *out.ContentLength, *out.ContentRange)

	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("logs"), Key: aws.String("app.log"), Range: aws.String("bytes=200000-")})
	fmt.Println(errors.Is(err, s3crypto.ErrInvalidRange))
	// Output:
	// 3456789 7 bytes 100003-100009/200000
	// true
}
