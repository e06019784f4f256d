package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/spf13/cobra"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/awserr"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// s3Flags are the flags of the s3 commands.
type s3Flags struct {
	keyFlags
	endpoint      string
	pathStyle     bool
	format        string
	instruction   bool
	force         bool
	rng           string
	unauthRanges  bool
	partSize      int64
	concurrency   int
	quiet         bool
	requirePolicy string
}

func (f *s3Flags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	f.keyFlags.register(fs, "kms-endpoint-url")
	fs.StringVar(&f.endpoint, "endpoint-url", "", "S3 endpoint (also KMS's unless --kms-endpoint-url)")
	fs.BoolVar(&f.pathStyle, "path-style", false, "path-style S3 addressing (the default with --endpoint-url)")
	fs.BoolVarP(&f.force, "force", "f", false, "replace an existing object (put, cp) or file (get)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
}

// parseS3URL splits s3://bucket/key.
func parseS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || key == "" {
		return "", "", usagef("%q: want s3://BUCKET/KEY", u)
	}
	return bucket, key, nil
}

// s3Clients are the encrypting client and the plain one beneath it (used
// only to see whether an object exists).
type s3Clients struct {
	enc *s3crypto.Client
	raw *s3.Client
}

func (f *s3Flags) client(ctx context.Context, writing bool) (*s3Clients, context.Context, error) {
	if f.keyFlags.endpoint == "" {
		f.keyFlags.endpoint = f.endpoint
	}
	ec, err := f.encryptionContext()
	if err != nil {
		return nil, nil, err
	}
	policy, err := parsePolicy(f.policy)
	if err != nil {
		return nil, nil, err
	}
	opts := []s3crypto.Option{s3crypto.WithCommitmentPolicy(policy)}
	switch f.format {
	case "", "envelope":
	case "s3ec-v3":
		opts = append(opts, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	case "s3ec-v2":
		opts = append(opts, s3crypto.WithFormat(s3crypto.FormatS3ECv2))
	default:
		return nil, nil, usagef("--format %q: envelope, s3ec-v3 or s3ec-v2", f.format)
	}
	if f.instruction {
		opts = append(opts, s3crypto.WithInstructionFile())
	}
	if f.unauthRanges {
		opts = append(opts, s3crypto.WithUnauthenticatedS3ECRanges())
	}
	if f.partSize != 0 {
		opts = append(opts, s3crypto.WithPartSize(f.partSize))
	}
	if f.concurrency != 0 {
		opts = append(opts, s3crypto.WithConcurrency(f.concurrency))
	}
	c, err := f.newCache()
	if err != nil {
		return nil, nil, err
	}
	if c != nil {
		opts = append(opts, s3crypto.WithCache(c))
	}
	kr, err := f.keyring(ctx, writing)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := awsConfig(ctx, f.region, "")
	if err != nil {
		return nil, nil, err
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if f.endpoint != "" {
			o.BaseEndpoint = aws.String(f.endpoint)
			o.UsePathStyle = true
		}
		// Ranged GETs carry no checksum; that is expected, not news.
		o.DisableLogOutputChecksumValidationSkipped = true
		if f.pathStyle {
			o.UsePathStyle = true
		}
	})
	cc, err := s3crypto.New(s3c, kr, opts...)
	if err != nil {
		return nil, nil, &usageError{err}
	}
	if ec != nil {
		ctx = s3crypto.WithEncryptionContext(ctx, ec)
	}
	return &s3Clients{cc, s3c}, ctx, nil
}

func newS3(e *env) *cobra.Command {
	f := &s3Flags{}
	s3cmd := &cobra.Command{
		Use:   "s3",
		Short: "Put, get, head and copy client-side encrypted S3 objects",
		Long: `Client-side encrypted Amazon S3 objects through package s3crypto: put
encrypts before upload, get authenticates before a byte reaches the output.
get and head read every format s3crypto reads (envelope objects, and Amazon
S3 Encryption Client V1/V2/V3 objects); put and cp write --format.`,
		Example: `  cryptkeeper s3 put backup.tar s3://backups/backup.tar --wrapping-keys key=$ARN
  cryptkeeper s3 get s3://backups/backup.tar backup.tar --wrapping-keys key=$ARN
  cryptkeeper s3 head s3://backups/backup.tar --wrapping-keys key=$ARN`,
	}
	f.register(s3cmd)
	put := &cobra.Command{
		Use:   "put FILE|- s3://BUCKET/KEY",
		Short: "Encrypt a file or standard input into an S3 object",
		Example: `  cryptkeeper s3 put backup.tar s3://backups/2026/backup.tar --wrapping-keys key=arn:aws:kms:us-west-2:111122223333:key/KEY-ID
  cryptkeeper s3 put --format s3ec-v3 report.pdf s3://reports/q3.pdf --wrapping-keys key=$ARN -c dept=finance`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s3Put(cmd.Context(), e, f, args[0], args[1])
		},
	}
	put.Flags().StringVar(&f.format, "format", "envelope", "object format: envelope, s3ec-v3 or s3ec-v2")
	put.Flags().BoolVar(&f.instruction, "instruction-file", false, "S3EC formats: store the wrapped key in KEY.instruction, not the metadata")
	put.Flags().Int64Var(&f.partSize, "part-size", 0, "multipart part size (default s3crypto's)")
	put.Flags().IntVar(&f.concurrency, "concurrency", 0, "parts uploaded in parallel (default s3crypto's)")
	get := &cobra.Command{
		Use:   "get s3://BUCKET/KEY FILE|-",
		Short: "Decrypt an S3 object into a file or standard output",
		Example: `  cryptkeeper s3 get s3://backups/2026/backup.tar backup.tar --wrapping-keys key=$ARN
  cryptkeeper s3 get --range bytes=0-1023 s3://logs/app.log - --raw-aes-key team.key`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s3Get(cmd.Context(), e, f, args[0], args[1])
		},
	}
	get.Flags().StringVar(&f.rng, "range", "", "plaintext byte range: bytes=A-B, bytes=A- or bytes=-N")
	get.Flags().BoolVar(&f.unauthRanges, "unauthenticated-s3ec-ranges", false, "allow ranges of S3EC objects (decrypted without authentication)")
	head := &cobra.Command{
		Use:     "head s3://BUCKET/KEY",
		Short:   "Print an encrypted object's plaintext length and metadata as JSON",
		Example: `  cryptkeeper s3 head s3://backups/2026/backup.tar --wrapping-keys key=$ARN`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s3Head(cmd.Context(), e, f, args[0])
		},
	}
	cp := &cobra.Command{
		Use:     "cp s3://BUCKET/KEY s3://BUCKET/KEY",
		Short:   "Copy an encrypted object (envelope objects are re-encrypted for their new key)",
		Example: `  cryptkeeper s3 cp s3://backups/a.tar s3://archive/a.tar --wrapping-keys key=$ARN`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s3Copy(cmd.Context(), f, args[0], args[1])
		},
	}
	cp.Flags().StringVar(&f.format, "format", "envelope", "format of re-encrypted copies: envelope, s3ec-v3 or s3ec-v2")
	s3cmd.AddCommand(put, get, head, cp)
	return s3cmd
}

// checkAbsent returns errExists if the object exists, so that put and cp
// do not replace it without --force. Only a 404 answer means absent: any
// other failure (access denied, throttling, a network error) is returned,
// never taken for leave to overwrite.
func checkAbsent(ctx context.Context, c *s3Clients, bucket, key string) error {
	_, err := c.raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return errExists
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return nil
	}
	if awserr.Transient(err) {
		err = fmt.Errorf("%w: %w", envelope.ErrTransient, err)
	}
	return fmt.Errorf("checking whether the object exists: %w", err)
}

func s3Put(ctx context.Context, e *env, f *s3Flags, src, dst string) error {
	bucket, key, err := parseS3URL(dst)
	if err != nil {
		return err
	}
	c, ctx, err := f.client(ctx, true)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key}
	var body io.Reader = e.stdin
	size := int64(-1)
	if src != "-" {
		fh, err := os.Open(src)
		if err != nil {
			return &fileError{op: "s3 put", name: src, err: err}
		}
		defer fh.Close()
		fi, err := fh.Stat()
		if err != nil {
			return &fileError{op: "s3 put", name: src, err: err}
		}
		if fi.Mode().IsRegular() {
			size = fi.Size()
			in.ContentLength = aws.Int64(size)
		}
		body = fh
	}
	if !f.force {
		if err := checkAbsent(ctx, c, bucket, key); err != nil {
			return &fileError{op: "s3 put", name: dst, err: err}
		}
	}
	p := newProgress(e.stderr, f.quiet, []job{{size: size}}, false)
	in.Body = p.reader(ctxReader{ctx, body}, size)
	_, err = c.enc.PutObject(ctx, in)
	p.finish()
	if err != nil {
		return &fileError{op: "s3 put", name: dst, err: err}
	}
	return nil
}

func s3Get(ctx context.Context, e *env, f *s3Flags, src, dst string) error {
	bucket, key, err := parseS3URL(src)
	if err != nil {
		return err
	}
	c, ctx, err := f.client(ctx, false)
	if err != nil {
		return err
	}
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if f.rng != "" {
		in.Range = &f.rng
	}
	if dst != "-" && !f.force {
		if _, err := os.Lstat(dst); err == nil {
			return &fileError{op: "s3 get", name: src, err: errExists}
		}
	}
	out, err := c.enc.GetObject(ctx, in)
	if err != nil {
		return &fileError{op: "s3 get", name: src, err: err}
	}
	defer out.Body.Close()
	p := newProgress(e.stderr, f.quiet, []job{{size: aws.ToInt64(out.ContentLength)}}, false)
	defer p.finish()
	body := p.reader(ctxReader{ctx, out.Body}, 0)
	if dst == "-" {
		_, err = io.Copy(e.stdout, body)
	} else {
		err = writeAtomic(ctx, dst, f.force, func(fh *os.File) error {
			_, err := io.Copy(fh, body)
			return err
		})
	}
	if err != nil {
		return &fileError{op: "s3 get", name: src, err: err}
	}
	return nil
}

// headOutput is what s3 head prints.
type headOutput struct {
	Bucket          string            `json:"bucket"`
	Key             string            `json:"key"`
	PlaintextLength int64             `json:"plaintext_length"`
	ETag            string            `json:"etag,omitempty"`
	LastModified    *time.Time        `json:"last_modified,omitempty"`
	ContentType     string            `json:"content_type,omitempty"`
	Metadata        map[string]string `json:"metadata"`
}

func s3Head(ctx context.Context, e *env, f *s3Flags, src string) error {
	bucket, key, err := parseS3URL(src)
	if err != nil {
		return err
	}
	c, ctx, err := f.client(ctx, false)
	if err != nil {
		return err
	}
	out, err := c.enc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return &fileError{op: "s3 head", name: src, err: err}
	}
	h := headOutput{Bucket: bucket, Key: key, PlaintextLength: aws.ToInt64(out.ContentLength),
		ETag: aws.ToString(out.ETag), LastModified: out.LastModified, ContentType: aws.ToString(out.ContentType), Metadata: out.Metadata}
	if h.Metadata == nil {
		h.Metadata = map[string]string{}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(h)
}

func s3Copy(ctx context.Context, f *s3Flags, src, dst string) error {
	sb, sk, err := parseS3URL(src)
	if err != nil {
		return err
	}
	db, dk, err := parseS3URL(dst)
	if err != nil {
		return err
	}
	c, ctx, err := f.client(ctx, true)
	if err != nil {
		return err
	}
	if !f.force {
		if err := checkAbsent(ctx, c, db, dk); err != nil {
			return &fileError{op: "s3 cp", name: dst, err: err}
		}
	}
	_, err = c.enc.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &db, Key: &dk, CopySource: aws.String(sb + "/" + sk)})
	if err != nil {
		return &fileError{op: "s3 cp", name: fmt.Sprintf("%s to %s", src, dst), err: err}
	}
	return nil
}
