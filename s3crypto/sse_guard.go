package s3crypto

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var (
	// ErrInsecureEndpoint means a request carrying an SSE-C key (or a
	// copy-source SSE-C key) was about to go to an endpoint that is not
	// HTTPS. It is refused before a byte is sent: S3 rejects SSE-C over
	// HTTP, and a key sent in the clear must be taken as compromised.
	// The check runs in the middleware stack of the *s3.Client, which
	// Client reaches through the optFns of each call; an API that sends
	// requests without applying them gets no check.
	ErrInsecureEndpoint = errors.New("s3crypto: SSE-C key refused over plain HTTP")
	// ErrSSECDenied means S3 answered 403 AccessDenied to a write carrying
	// an SSE-C key (PutObject, CreateMultipartUpload, CopyObject). S3
	// blocks SSE-C writes by default on general purpose buckets created
	// from April 2026 and on the buckets of accounts that held no SSE-C
	// object; the bucket owner re-enables them with PutBucketEncryption
	// (BlockedEncryptionTypes NONE). The same answer also comes from
	// missing permissions, so the SDK's error stays in the chain.
	ErrSSECDenied = errors.New("s3crypto: S3 denied a write with an SSE-C key (the bucket may block SSE-C)")
	// ErrSSECKey means S3 refused to read an object for its SSE-C key: a
	// GET or HEAD with a key was answered 403 (the key is not the
	// object's, or the credentials lack permission), or a GET without a
	// key was answered that the object is stored with SSE-C. The SDK's
	// error stays in the chain.
	ErrSSECKey = errors.New("s3crypto: SSE-C key refused or missing")
)

// sseGuard is the API a Client calls through: requests that carry an
// SSE-C key get the plain-HTTP check, and S3's refusals of SSE-C writes
// and reads are explained. Operations it does not list pass through the embedded API.
type sseGuard struct{ API }

func guardSSE(api API) API { return sseGuard{api} }

func hasKey(keys ...*string) bool {
	return slices.ContainsFunc(keys, func(k *string) bool { return k != nil })
}

// withTLS returns optFns plus the option that adds the HTTPS check when
// need holds. optFns is never appended to in place: parts share it.
func withTLS(optFns []func(*s3.Options), need bool) []func(*s3.Options) {
	if !need {
		return optFns
	}
	return append(slices.Clip(optFns), requireTLS)
}

// denied explains an AccessDenied answer to an SSE-C write.
func denied(err error, ssec bool) error {
	var ae smithy.APIError
	if err != nil && ssec && errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
		return fmt.Errorf("%w; S3 blocks SSE-C by default on buckets created from April 2026 (re-enable with PutBucketEncryption, BlockedEncryptionTypes NONE), or the credentials lack permission: %w", ErrSSECDenied, err)
	}
	return err
}

func (g sseGuard) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	ssec := hasKey(in.SSECustomerKey)
	out, err := g.API.PutObject(ctx, in, withTLS(optFns, ssec)...)
	return out, denied(err, ssec)
}

// keyErr explains the answers S3 gives to a read with the wrong SSE-C
// key (403; HEAD has no body, so its code is Forbidden) or without the
// key of an SSE-C object (400 InvalidRequest, said in the message).
func keyErr(err error, ssec bool) error {
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	switch code := ae.ErrorCode(); {
	case ssec && (code == "AccessDenied" || code == "Forbidden"):
		return fmt.Errorf("%w: S3 answered %s to a read with an SSE-C key: the key is not the object's, or the credentials lack permission: %w", ErrSSECKey, code, err)
	case !ssec && code == "InvalidRequest" && strings.Contains(ae.ErrorMessage(), "Server Side Encryption"):
		return fmt.Errorf("%w: the object is stored with server-side encryption that needs its key (SSE-C; see SSE.GetObject): %w", ErrSSECKey, err)
	}
	return err
}

func (g sseGuard) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	ssec := hasKey(in.SSECustomerKey)
	out, err := g.API.GetObject(ctx, in, withTLS(optFns, ssec)...)
	return out, keyErr(err, ssec)
}

func (g sseGuard) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	ssec := hasKey(in.SSECustomerKey)
	out, err := g.API.HeadObject(ctx, in, withTLS(optFns, ssec)...)
	return out, keyErr(err, ssec)
}

func (g sseGuard) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	ssec := hasKey(in.SSECustomerKey)
	out, err := g.API.CopyObject(ctx, in, withTLS(optFns, ssec || hasKey(in.CopySourceSSECustomerKey))...)
	return out, denied(err, ssec)
}

func (g sseGuard) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	ssec := hasKey(in.SSECustomerKey)
	out, err := g.API.CreateMultipartUpload(ctx, in, withTLS(optFns, ssec)...)
	return out, denied(err, ssec)
}

func (g sseGuard) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	return g.API.UploadPart(ctx, in, withTLS(optFns, hasKey(in.SSECustomerKey))...)
}

func (g sseGuard) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	return g.API.CompleteMultipartUpload(ctx, in, withTLS(optFns, hasKey(in.SSECustomerKey))...)
}

// requireTLS adds the HTTPS check at the end of the Finalize step: after
// the endpoint is resolved and the request signed, before it is sent.
func requireTLS(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		if _, ok := st.Finalize.Get(tlsCheck{}.ID()); ok {
			return nil
		}
		return st.Finalize.Add(tlsCheck{}, middleware.After)
	})
}

type tlsCheck struct{}

func (tlsCheck) ID() string { return "cryptkeeper.s3crypto.RequireTLSForSSEC" }

func (tlsCheck) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok || req.URL == nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("%w: cannot see the request URL", ErrInsecureEndpoint)
	}
	if !strings.EqualFold(req.URL.Scheme, "https") {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("%w: endpoint %s://%s is not HTTPS (S3 rejects SSE-C over HTTP; a key sent in the clear must be taken as compromised)", ErrInsecureEndpoint, req.URL.Scheme, req.URL.Host)
	}
	return next.HandleFinalize(ctx, in)
}
