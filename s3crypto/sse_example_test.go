package s3crypto_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// SSE-C on top of client-side encryption: the same SSE value sets the key
// on the put and on the get, and never prints it.
func ExampleSSECustomerKey() {
	s3Client, stop := exampleS3("vault", true)
	defer stop()
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	kr, err := keyring.NewRawAES("example", "vault-key", dataKey)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr)
	if err != nil {
		log.Fatal(err)
	}

	sseKey := make([]byte, 32) // keep it: S3 cannot read the object without it
	rand.Read(sseKey)
	sse, err := s3crypto.SSECustomerKey(sseKey)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sse)

	ctx := context.Background()
	in := &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("note"), Body: strings.NewReader("secret note")}
	if _, err := c.PutObject(ctx, sse.PutObject(in)); err != nil {
		log.Fatal(err)
	}
	out, err := c.GetObject(ctx, sse.GetObject(&s3.GetObjectInput{Bucket: aws.String("vault"), Key: aws.String("note")}))
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// SSE-C(key redacted)
	// secret note
}

// An SSE-C key is refused over plain HTTP before anything is sent.
func ExampleErrInsecureEndpoint() {
	s3Client, stop := exampleS3("vault", false) // http://
	defer stop()
	kr, err := keyring.NewRawAES("example", "vault-key", make([]byte, 32))
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr)
	if err != nil {
		log.Fatal(err)
	}
	sse, err := s3crypto.SSECustomerKey(make([]byte, 32))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.PutObject(context.Background(), sse.PutObject(&s3.PutObjectInput{
		Bucket: aws.String("vault"), Key: aws.String("note"), Body: bytes.NewReader([]byte("x")),
	}))
	fmt.Println(errors.Is(err, s3crypto.ErrInsecureEndpoint))
	// Output: true
}

// SSE-KMS sends the encryption context as base64 of its JSON, keys sorted.
func ExampleSSEKMS() {
	sse := s3crypto.SSEKMS("alias/reports", map[string]string{"team": "finance", "app": "ledger"}, true)
	in := sse.PutObject(&s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv")})
	ec, _ := base64.StdEncoding.DecodeString(aws.ToString(in.SSEKMSEncryptionContext))
	fmt.Println(in.ServerSideEncryption, aws.ToString(in.SSEKMSKeyId), aws.ToBool(in.BucketKeyEnabled))
	fmt.Println(string(ec))
	// Output:
	// aws:kms alias/reports true
	// {"app":"ledger","team":"finance"}
}

// A copy between SSE-C keys: the source key reads, the destination key
// writes.
func ExampleSSE_CopySource() {
	src, _ := s3crypto.SSECustomerKey(bytes.Repeat([]byte{1}, 32))
	dst, _ := s3crypto.SSECustomerKey(bytes.Repeat([]byte{2}, 32))
	in := dst.CopyObject(src.CopySource(&s3.CopyObjectInput{
		Bucket: aws.String("b"), Key: aws.String("copy"), CopySource: aws.String("b/original"),
	}))
	fmt.Println(aws.ToString(in.CopySourceSSECustomerAlgorithm), aws.ToString(in.SSECustomerAlgorithm),
		aws.ToString(in.CopySourceSSECustomerKeyMD5) != aws.ToString(in.SSECustomerKeyMD5))
	// Output: AES256 AES256 true
}
