package s3crypto_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// Objects in the format of the official Amazon S3 Encryption Client (V3),
// wrapped by AWS KMS with an encryption context, their data key in an
// instruction file.
func ExampleWithFormat_s3ec() {
	s3Client, stop := exampleS3("reports", false)
	defer stop()
	kmsServer := kmstest.NewServer() // stands in for AWS KMS
	defer kmsServer.Close()
	keyARN, _ := kmsServer.CreateKey()
	kr, err := awskms.NewKeyring(kmsServer.Client(), keyARN)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	if err != nil {
		log.Fatal(err)
	}
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"team": "finance"})
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv"), Body: strings.NewReader("a,b\n1,2\n")})
	if err != nil {
		log.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv")})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	fmt.Printf("%q %d\n", b, *out.ContentLength)
	// Output: "a,b\n1,2\n" 8
}

// Re-keying an S3EC object under another KMS key: only its metadata is
// rewritten.
func ExampleClient_Rewrap() {
	s3Client, stop := exampleS3("reports", false)
	defer stop()
	kmsServer := kmstest.NewServer()
	defer kmsServer.Close()
	oldARN, _ := kmsServer.CreateKey()
	newARN, _ := kmsServer.CreateKey()
	oldKR, _ := awskms.NewKeyring(kmsServer.Client(), oldARN)
	newKR, _ := awskms.NewKeyring(kmsServer.Client(), newARN)
	c, _ := s3crypto.New(s3Client, oldKR, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv"), Body: strings.NewReader("data")}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv"), Keyring: newKR}); err != nil {
		log.Fatal(err)
	}
	withNew, _ := s3crypto.New(s3Client, newKR)
	out, err := withNew.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.csv")})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	fmt.Println(string(b))
	// Output: data
}

// A ranged GET of an S3EC object: the format has one tag for the whole
// object, so a range is decrypted with AES-CTR and is not authenticated;
// the client must opt in.
func ExampleWithUnauthenticatedS3ECRanges() {
	s3Client, stop := exampleS3("logs", false)
	defer stop()
	kmsServer := kmstest.NewServer()
	defer kmsServer.Close()
	keyARN, _ := kmsServer.CreateKey()
	kr, err := awskms.NewKeyring(kmsServer.Client(), keyARN)
	if err != nil {
		log.Fatal(err)
	}
	c, err := s3crypto.New(s3Client, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithUnauthenticatedS3ECRanges())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String("app.log"), Body: strings.NewReader("0123456789abcdef")})
	if err != nil {
		log.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("logs"), Key: aws.String("app.log"), Range: aws.String("bytes=4-9")})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	fmt.Println(string(b), *out.ContentRange)
	// Output: 456789 bytes 4-9/16
}
