package s3crypto

import (
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/awserr"
)

// Sentinels of the errors s3crypto adds to those of envelope. Errors from
// decryption keep their envelope category (errors.Is(err,
// envelope.ErrAuthentication), envelope.ErrContext, ...), and errors from
// S3 keep the SDK's error in the chain for errors.As; those that may pass
// (an ended context, a network failure, throttling, a server error) also
// match envelope.ErrTransient.
var (
	// ErrInvalidOption means New was given an invalid option or a nil
	// client or keyring.
	ErrInvalidOption = errors.New("s3crypto: invalid option")
	// ErrInvalidRequest means a request sets a field that cannot hold for
	// the encrypted object (a checksum or Content-MD5 of the plaintext, a
	// metadata key or encryption context key in the reserved namespace, a
	// negative ContentLength) or that s3crypto cannot honour safely.
	ErrInvalidRequest = errors.New("s3crypto: invalid request")
	// ErrNotEncrypted means the object carries neither s3crypto nor S3
	// Encryption Client metadata and has no instruction file (or is an
	// instruction file): it was stored without client-side encryption (or
	// its metadata was removed). s3crypto never returns such an object's
	// body.
	ErrNotEncrypted = errors.New("s3crypto: object is not client-side encrypted")
	// ErrUnsupported means the request asks for something this version
	// does not do: a GET of one part (PartNumber), a ranged GET of an
	// object of a signed suite, an S3 Encryption Client object of a
	// legacy wrap algorithm other than kms (AESWrap, AES, RSA,
	// RSA/ECB/OAEPWithSHA-256AndMGF1Padding) or a V1 object not wrapped
	// by KMS, an S3EC ranged GET without its opt-in, or an S3EC put with
	// a keyring that cannot write the format.
	ErrUnsupported = errors.New("s3crypto: not supported")
	// ErrInstructionFile means the instruction file of an S3 Encryption
	// Client object is missing (for a V3 object whose metadata holds
	// only its commitment), malformed or inconsistent with the object, or
	// could not be written.
	ErrInstructionFile = errors.New("s3crypto: instruction file missing or invalid")
	// ErrInvalidRange means the Range of a GetObject request selects no
	// byte of the plaintext: it starts at or past its end, or the object
	// is empty (S3's InvalidRange, in plaintext terms).
	ErrInvalidRange = errors.New("s3crypto: requested range not satisfiable")
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

// apiErr returns the error of an S3 call, marked envelope.ErrTransient
// (with the cause kept) when it may pass: the context ended, the network
// failed (but for a TLS certificate that failed verification), or S3
// throttled or answered with a server error, as the SDK's standard
// retryer classifies it once its attempts have run out.
func apiErr(err error) error {
	if err == nil || errors.Is(err, envelope.ErrTransient) || !awserr.Transient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", envelope.ErrTransient, err)
}

// getErr is err, from a GetObject body (any format, whole or ranged) of
// the object bucket/key, naming it.
func getErr(bucket, key string, err error) error {
	return &Error{Op: "GetObject", Bucket: bucket, Key: key, Err: err}
}

// errInvalidWrite is what a body's WriteTo returns for a writer that
// reports having written more than it was given, as io.Copy does.
var errInvalidWrite = errors.New("s3crypto: invalid count from the writer")
