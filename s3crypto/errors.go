package s3crypto

import (
	"errors"
	"fmt"
)

// Sentinels of the errors s3crypto adds to those of envelope. Errors from
// decryption keep their envelope category (errors.Is(err,
// envelope.ErrAuthentication), envelope.ErrContext, ...), and errors from
// S3 keep the SDK's error in the chain for errors.As.
var (
	// ErrInvalidOption means New was given an invalid option or a nil
	// client or keyring.
	ErrInvalidOption = errors.New("s3crypto: invalid option")
	// ErrInvalidRequest means a request sets a field that cannot hold for
	// the encrypted object (a checksum or Content-MD5 of the plaintext, a
	// metadata key or encryption context key in the reserved namespace, a
	// negative ContentLength) or that s3crypto cannot honour safely.
	ErrInvalidRequest = errors.New("s3crypto: invalid request")
	// ErrNotEncrypted means the object carries no s3crypto metadata: it was
	// stored without client-side encryption (or its metadata was removed).
	// s3crypto never returns such an object's body.
	ErrNotEncrypted = errors.New("s3crypto: object is not client-side encrypted")
	// ErrUnsupported means the request asks for something this version
	// does not do yet: a ranged GET (Range or PartNumber) or an object
	// format other than FormatEnvelope.
	ErrUnsupported = errors.New("s3crypto: not supported")
)

// Error is the error of an operation on one object. It names the bucket
// and key (never key material) and wraps the cause.
type Error struct {
	Op     string // the Client method, such as "PutObject"
	Bucket string
	Key    string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("s3crypto: %s s3://%s/%s: %v", e.Op, e.Bucket, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func opErr(op string, bucket, key *string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Bucket: deref(bucket), Key: deref(key), Err: err}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}
