package kmstest

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// ClientOption adjusts the *kms.Client made by Server.Client. Any
// func(*kms.Options) works; the helpers below cover the common cases.
type ClientOption = func(*kms.Options)

// ClientRegion makes the client call the server as Region region.
func ClientRegion(region string) ClientOption {
	return func(o *kms.Options) { o.Region = region }
}

// ClientAccessKey makes the client sign with access key id akid, the
// identity that key allow-lists are checked against.
func ClientAccessKey(akid string) ClientOption {
	return func(o *kms.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(akid, DefaultSecretKey, "")
	}
}

// ClientRetries sets how many attempts the client makes per call
// (1 = no retry) with a backoff of at most a few milliseconds.
func ClientRetries(attempts int) ClientOption {
	return func(o *kms.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.MaxBackoff = 5 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	}
}

// Client returns a real *kms.Client that talks to the server: base
// endpoint = URL, the server's default Region, static credentials with
// access key DefaultAccessKey, and three attempts per call with a
// millisecond backoff. Options apply in order after these defaults.
func (s *Server) Client(opts ...ClientOption) *kms.Client {
	base := []ClientOption{
		func(o *kms.Options) {
			o.BaseEndpoint = aws.String(s.URL)
			o.Region = s.region
			o.HTTPClient = s.http.Client()
		},
		ClientAccessKey(DefaultAccessKey),
		ClientRetries(3),
	}
	return kms.New(kms.Options{}, append(base, opts...)...)
}
