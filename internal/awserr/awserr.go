// Package awserr classifies the errors of AWS SDK calls for the packages
// that make them (keyring/awskms, s3crypto).
package awserr

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Transient reports whether the error of an AWS SDK call may pass: the
// context ended, the network failed as keyring.IsTransient judges it (a
// TLS certificate that fails verification will not pass, though the SDK
// retries it), or the service throttled or answered with a server error,
// as the SDK's standard retryer classifies it once its attempts ran out.
func Transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if ne := net.Error(nil); errors.As(err, &ne) {
		return keyring.IsTransient(err)
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}
