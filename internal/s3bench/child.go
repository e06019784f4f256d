package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// A client is one column of the comparison.
type client struct {
	name string // for -client and the report
	desc string // for the report
	// format is the s3crypto format PutObject writes; 0 for the plain
	// *s3.Client and for the peer.
	format s3crypto.Format
	peer   bool // the official S3 Encryption Client, through the peer CLI
	ranged bool // measure a 1 MiB ranged GET from the largest object
	// raw also measures a plain *s3.Client GET of the object this client
	// stored (ciphertext, not decrypted): the server's share of its GET.
	raw bool
	// bound also measures what a plain *s3.Client GET of the object this
	// client stored costs when the whole object must be read before any
	// of it is released: kept in a temporary file and read back (spool),
	// or read twice (twice). Nothing is decrypted: these are ceilings.
	bound bool
}

// clients are measured in this order. Each s3crypto format is one line,
// such as
//
//	{name: "s3ec-v3", desc: "s3crypto FormatS3ECv3", format: s3crypto.FormatS3ECv3},
//
// and is then put, got and held to the targets like the others.
var clients = []client{
	{name: "plain", desc: "plain `*s3.Client`"},
	{name: "envelope", desc: "s3crypto FormatEnvelope", format: s3crypto.FormatEnvelope, ranged: true, raw: true},
	{name: "s3ec-v3", desc: "s3crypto FormatS3ECv3", format: s3crypto.FormatS3ECv3, bound: true},
	{name: "s3ec-v4", desc: "official S3 Encryption Client for Go v4 (peer CLI)", peer: true},
}

func clientNamed(name string) (client, bool) {
	for _, c := range clients {
		if c.name == name {
			return c, true
		}
	}
	return client{}, false
}

// Credentials and Region of every client: the local servers accept any.
const (
	accessKey = "test"
	secretKey = "test"
	region    = "us-east-1"
)

// job is what a child process does: one operation of one client.
type job struct {
	client   string
	op       string // put, get, range or raw
	endpoint string
	bucket   string
	key      string
	kmsKey   string
	size     int64 // object size (plaintext)
	from, n  int64 // range: n bytes from offset from
	partSize int64 // s3crypto WithPartSize (0: the default)
}

// result is what a child prints on stdout, as JSON.
type result struct {
	Bytes   int64   `json:"bytes"`   // plaintext bytes moved
	Wire    int64   `json:"wire"`    // response body bytes read from the server
	Seconds float64 `json:"seconds"` // in the operation, after setup
}

func runChild(ctx context.Context, j job) error {
	c, ok := clientNamed(j.client)
	if !ok || c.peer {
		return fmt.Errorf("no client %q in this program", j.client)
	}
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	ct.base.(*http.Transport).MaxIdleConnsPerHost = 64
	s3c := s3.New(s3.Options{
		BaseEndpoint: aws.String(j.endpoint),
		UsePathStyle: true,
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:   &http.Client{Transport: ct},
	})
	var api interface {
		PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
		GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	} = s3c
	if c.format != 0 && j.op != "raw" && j.op != "spool" && j.op != "twice" {
		kmsc := kms.New(kms.Options{
			BaseEndpoint: aws.String(j.endpoint),
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		})
		kr, err := awskms.NewKeyring(kmsc, j.kmsKey)
		if err != nil {
			return err
		}
		opts := []s3crypto.Option{s3crypto.WithFormat(c.format)}
		if j.partSize > 0 {
			opts = append(opts, s3crypto.WithPartSize(j.partSize))
		}
		ec, err := s3crypto.New(s3c, kr, opts...)
		if err != nil {
			return err
		}
		api = ec
	}

	var res result
	start := time.Now()
	switch j.op {
	case "put":
		_, err := api.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(j.bucket), Key: aws.String(j.key), Body: newGen(j.size), ContentLength: aws.Int64(j.size),
		})
		if err != nil {
			return err
		}
		res.Bytes = j.size
	case "get", "range":
		in := &s3.GetObjectInput{Bucket: aws.String(j.bucket), Key: aws.String(j.key)}
		want, chk := j.size, &checker{}
		if j.op == "range" {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", j.from, j.from+j.n-1))
			want, chk.off = j.n, j.from
		}
		out, err := api.GetObject(ctx, in)
		if err != nil {
			return err
		}
		n, err := io.Copy(chk, out.Body)
		out.Body.Close()
		if err != nil {
			return err
		}
		if chk.err != nil {
			return chk.err
		}
		if n != want {
			return fmt.Errorf("read %d bytes, want %d", n, want)
		}
		res.Bytes = n
	case "raw":
		// The stored object through the plain client: bytes counted, not
		// decrypted or checked.
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(j.bucket), Key: aws.String(j.key)})
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, out.Body)
		out.Body.Close()
		if err != nil {
			return err
		}
		res.Bytes = j.size // the rate stays per plaintext byte, as for get
	case "spool", "twice":
		// The stored object through the plain client, nothing decrypted:
		// kept in a temporary file and read back, or read twice.
		if err := getBound(ctx, s3c, j); err != nil {
			return err
		}
		res.Bytes = j.size
	default:
		return errors.New("unknown -op " + j.op)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Wire = ct.n.Load()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// getBound is the spool and twice operations: a plain GET of the stored
// object kept in a temporary file and then read back, or made twice.
func getBound(ctx context.Context, s3c *s3.Client, j job) error {
	get := func(w io.Writer) error {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(j.bucket), Key: aws.String(j.key)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		_, err = io.Copy(w, out.Body)
		return err
	}
	if j.op == "twice" {
		if err := get(io.Discard); err != nil {
			return err
		}
		return get(io.Discard)
	}
	f, err := os.CreateTemp("", "s3bench-spool-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := get(f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, f)
	return err
}
